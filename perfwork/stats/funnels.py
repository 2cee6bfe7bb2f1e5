"""Funnel plots: significance of many units against one benchmark, funnel limits, overdispersion."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from ._common import (
    LABELS,
    NOT_APPLICABLE_DSR,
    _arrays,
    _check,
    _frame,
    _labels,
    _positions,
    _validate,
    z_value,
)
from .benchmark import _significance_codes, significance_reading
from .rates import poisson_limits


def _sigma_adjustment(p: float, population: np.ndarray, average: float, side: str,
                      multiplier: float) -> np.ndarray:
    """PHE proportion funnel limit at a population: where the Wilson interval touches the average.

    Transcribed from PHEindicatormethods' internal ``sigma_adjustment`` so labels and curves agree
    with Fingertips to the last digit.
    """
    q2 = special.ndtri(p) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        first = average * (population / q2 + 1.0)
        adj = np.sqrt((-8.0 * average * (population / q2 + 1.0)) ** 2
                      - 64.0 * (1.0 / q2 + 1.0 / population) * average
                      * (population * (average * (population / q2 + 2.0) - 1.0) + q2 * (average - 1.0)))
        last = 1.0 / q2 + 1.0 / population
        if side == "low":
            res = (first - adj / 8.0) / last
        else:
            res = (first + adj / 8.0) / last
        return res / population * multiplier


def _derive_rate_denominator(x: np.ndarray, n: np.ndarray | None, value: np.ndarray | None,
                             multiplier: float, rate_type: str, func: str,
                             index: pd.Index | None) -> np.ndarray:
    """PHE's derived denominators for rate funnels.

    With a rate value given (a DSR, or a published crude rate), the denominator is
    count / value * multiplier where the count is positive (PHE ``calculate_funnel_limits``); zero
    counts use the given denominator for crude rates and are left out (NaN) for DSRs.
    """
    if rate_type not in ("crude", "dsr"):
        raise ValueError(f"{func}: rate_type must be 'crude' or 'dsr'; got {rate_type!r}")
    if value is None:
        if n is None:
            raise ValueError(f"{func}: rates need a denominator or a rate value to derive one from")
        return n
    with np.errstate(divide="ignore", invalid="ignore"):
        derived = multiplier * x / value
    zero = x == 0
    if rate_type == "dsr":
        derived[zero] = np.nan
    elif zero.any():
        if n is None:
            raise ValueError(f"{func}: where there are 0 events a denominator is needed "
                             f"(crude rate); {_positions(zero, index)}")
        derived[zero] = n[zero]
    return derived


def funnel_significance(count: Any, denominator: Any = None, kind: str = "rate",
                        multiplier: float | None = None, benchmark: Any = None,
                        polarity: str | None = None, value: Any = None,
                        rate_type: str = "crude") -> pd.DataFrame:
    """Funnel-plot significance of each unit against a benchmark (PHE ``assign_funnel_significance``).

    kind:
      * "proportion": p = x/n against PHE's Wilson-consistent funnel limits around the benchmark at
        the unit's own denominator (strict inequalities; Low tests before High, as PHE).
      * "rate": the benchmark against the unit's own Poisson limits on x/n (exact below 10
        events, Byar from 10), as PHE does. Below 10 events this is exactly "outside the exact
        Poisson funnel at the unit's denominator"; from 10 Byar approximates that funnel (both
        readings give every reference label). ``value`` (a DSR or published rate)
        makes denominators count / value * multiplier as PHE does; ``rate_type="dsr"`` labels units
        with fewer than 10 events "Not applicable for events less than 10 for dsrs".
      * "ratio": observed ``count`` over expected ``denominator``; 1 against the O/E limits.

    benchmark: None = the pooled value sum(x) / sum(n) * multiplier (for ratios: 1); otherwise on
    the multiplier scale, one value for all units or one per unit (e.g. each area's MSG
    benchmark). Returns columns value, benchmark, significance, reading (see
    :func:`significance_reading`) and method.
    """
    if kind not in ("rate", "proportion", "ratio"):
        raise ValueError(f"kind must be 'rate', 'proportion' or 'ratio'; got {kind!r}")
    if multiplier is None:
        multiplier = {"rate": 1000, "proportion": 100, "ratio": 1}[kind]
    names = ["count", "denominator", "value"]
    given = [count, denominator, value]
    present = [(nm, v) for nm, v in zip(names, given) if v is not None]
    arrs, index = _arrays([nm for nm, _ in present], *[v for _, v in present])
    got = dict(zip([nm for nm, _ in present], arrs))
    x = got["count"]
    n = got.get("denominator")
    val = got.get("value")
    func = "funnel_significance"
    _validate(func, index, x, n, proportion=(kind == "proportion"))
    if kind in ("proportion", "ratio") and n is None:
        raise ValueError(f"{func}: kind={kind!r} needs a denominator")
    if benchmark is not None:
        benchmark = np.asarray(benchmark, dtype="float64")
        if benchmark.ndim and benchmark.shape != x.shape:
            raise ValueError(f"{func}: benchmark has {benchmark.size} values for {x.size} units; expected one "
                             f"value, or one per unit")

    if kind == "proportion":
        ok = ~(np.isnan(x) | np.isnan(n))
        avg = (x[ok].sum() / n[ok].sum()) if benchmark is None else benchmark / multiplier
        p = x / n
        with np.errstate(invalid="ignore"):
            code = np.select(
                [p < _sigma_adjustment(0.999, n, avg, "low", 1.0),
                 p < _sigma_adjustment(0.975, n, avg, "low", 1.0),
                 p > _sigma_adjustment(0.999, n, avg, "high", 1.0),
                 p > _sigma_adjustment(0.975, n, avg, "high", 1.0)],
                [2, 3, 0, 1], default=4).astype("int8")
        code[~ok] = -1
        out_value = p * multiplier
        method = "Funnel (Wilson score), 95% and 99.8%"
        categories = list(LABELS)
    else:
        if kind == "ratio":
            den = n
            avg = 1.0 if benchmark is None else benchmark / multiplier
            method = "Funnel (Poisson: exact < 10 events, Byar >= 10), 95% and 99.8%, O/E"
        else:
            den = _derive_rate_denominator(x, n, val, multiplier, rate_type, func, index)
            okd = ~np.isnan(den)
            avg = (np.nansum(x) / den[okd].sum()) if benchmark is None else benchmark / multiplier
            method = "Funnel (Poisson: exact < 10 events, Byar >= 10), 95% and 99.8%"
        l95, u95, _ = poisson_limits(x, 0.95)
        l998, u998, _ = poisson_limits(x, 0.998)
        with np.errstate(invalid="ignore", divide="ignore"):
            code = _significance_codes(avg < l998 / den, avg < l95 / den,
                                       avg > u998 / den, avg > u95 / den)
            out_value = x / den * multiplier
        code[np.isnan(x)] = -1
        categories = list(LABELS)
        if kind == "rate" and rate_type == "dsr":
            categories.append(NOT_APPLICABLE_DSR)
            code[x < 10] = len(LABELS)
            out_value = val * 1.0 if val is not None else out_value
        if kind == "rate" and rate_type != "dsr":
            code[np.isnan(den)] = -1
    sig = pd.Series(_labels(code, categories), index=index)
    reading = significance_reading(sig, polarity)
    bench_out = avg * multiplier
    if benchmark is None or benchmark.ndim == 0:
        method += f"; benchmark {'pooled' if benchmark is None else 'given'} = {float(bench_out):.6g}"
    else:
        method += "; benchmark given per unit"
    res = _frame({"value": out_value, "benchmark": bench_out,
                  "significance": sig.array, "reading": reading.array}, index)
    res["method"] = method
    res.attrs.update({"benchmark": bench_out, "kind": kind, "multiplier": multiplier})
    return res


# --------------------------------------------------------------------------------------------
# funnel limits
# --------------------------------------------------------------------------------------------
def _r_nchar(v: float) -> int:
    """nchar(as.character(v)) in R for a whole number: R prints 1e+05 rather than 100000."""
    v = float(v)
    if v == 0:
        return 1
    neg = v < 0
    a = abs(v)
    fixed = len(str(int(round(a))))
    digits = f"{a:.14e}"  # mantissa to R's 15 significant digits
    mant, exp = digits.split("e")
    mant = mant.replace(".", "").rstrip("0") or "0"
    e = abs(int(exp))
    sci = (1 if len(mant) == 1 else len(mant) + 1) + 2 + max(2, len(str(e)))
    return (fixed if fixed <= sci else sci) + int(neg)


def _signif_floor(x: float, percentage_down: float = 0.95) -> float:
    if x == 0:
        return 0.0
    n = _r_nchar(math.floor(x * percentage_down)) - 1
    return math.floor(x * percentage_down / 10**n) * 10**n


def _signif_ceiling(x: float, percentage_up: float = 1.05) -> float:
    if x == 0:
        return 0.0
    n = _r_nchar(math.ceil(x * percentage_up)) - 2
    return math.ceil(x * percentage_up / 10.0**n) * 10.0**n


def _phe_grid(axis_minimum: float, axis_maximum: float, offset_shift: int) -> np.ndarray:
    """PHE's 100 funnel points, geometrically spaced from the axis minimum to the maximum."""
    col = np.empty(100)
    col[0] = max(1.0, axis_minimum)
    for j in range(2, 101):
        off = j - offset_shift
        prev = col[j - 2]
        col[j - 1] = max(np.round((axis_maximum / prev) ** (1.0 / (101 - off)) * prev), prev + 1.0)
    return col


def _poisson_mean_for_tail(obs: np.ndarray, p: float, side: str) -> np.ndarray:
    """The Poisson mean z with P(X >= obs | z) = p ("low") or P(X <= obs | z) = p ("high").

    PHE's ``poisson_funnel`` finds these by bisection (to ~1e-7); they are the exact Poisson
    limits on ``obs``, so we compute them in closed form.
    """
    obs = np.asarray(obs, dtype="float64")
    if side == "low":
        safe = np.where(obs > 0, obs, 1.0)
        return np.where(obs > 0, special.gammaincinv(safe, p), 0.0)
    return special.gammaincinv(obs + 1.0, 1.0 - p)


def _solve_events(mu: np.ndarray, p: float, side: str) -> np.ndarray:
    """Continuous event count E whose Poisson tail mean equals mu (inverse of the curve above).

    side "lower": gammaincinv(E + 1, 1 - p) = mu (E = 0 floor); side "upper": gammaincinv(E, p) = mu.
    Vectorised bisection; the functions are monotone in E.
    """
    mu = np.asarray(mu, dtype="float64")
    lo = np.zeros_like(mu)
    hi = mu + 12.0 * np.sqrt(mu) + 40.0
    if side == "lower":
        f = lambda e: special.gammaincinv(e + 1.0, 1.0 - p) - mu  # noqa: E731
    else:
        f = lambda e: np.where(e > 0, special.gammaincinv(np.maximum(e, 1e-300), p), 0.0) - mu  # noqa: E731
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        pos = f(mid) > 0
        hi = np.where(pos, mid, hi)
        lo = np.where(pos, lo, mid)
    e = 0.5 * (lo + hi)
    if side == "lower":
        e = np.where(special.gammaincinv(1.0, 1.0 - p) >= mu, 0.0, e)
    return np.where(np.isnan(mu), np.nan, e)


def overdispersion(count: Any, denominator: Any, kind: str = "rate", benchmark: float | None = None,
                   multiplier: float = 1.0, winsorise: float = 0.0) -> dict[str, float]:
    """Spiegelhalter (2005) additive random-effects overdispersion estimate (METHODS 2).

    z-scores on a variance-stabilised scale: proportions y = p with s^2 = p0 (1 - p0) / n; rates
    and ratios (Poisson) y = sqrt(x / n) with s^2 = 1 / (4 n) (the square-root transform
    Spiegelhalter recommends for counts). phi = sum z^2 / k; tau^2 = (k phi - (k - 1)) /
    (sum w - sum w^2 / sum w), w = 1 / s^2, floored at 0. ``winsorise`` (e.g. 0.1) pulls the
    z-scores in to that tail quantile before phi is estimated (Spiegelhalter's option; default off).

    Returns dict(k, phi, tau2, chi2_95 (the chi-squared 95% point on k - 1 df), exceeds).
    """
    (x, n), index = _arrays(["count", "denominator"], count, denominator)
    _validate("overdispersion", index, x, n, proportion=(kind == "proportion"))
    ok = ~(np.isnan(x) | np.isnan(n))
    x, n = x[ok], n[ok]
    k = int(x.size)
    if k < 2:
        return {"k": k, "phi": float("nan"), "tau2": 0.0, "chi2_95": float("nan"), "exceeds": False}
    if kind == "proportion":
        p0 = x.sum() / n.sum() if benchmark is None else benchmark / multiplier
        s2 = p0 * (1.0 - p0) / n
        y, target = x / n, p0
    else:
        r0 = (x.sum() / n.sum() if kind == "rate" else 1.0) if benchmark is None else benchmark / multiplier
        s2 = 1.0 / (4.0 * n)
        y, target = np.sqrt(x / n), math.sqrt(r0)
    z = (y - target) / np.sqrt(s2)
    if winsorise:
        lo_q, hi_q = np.quantile(z, [winsorise, 1.0 - winsorise])
        z = np.clip(z, lo_q, hi_q)
    phi = float(np.sum(z**2) / k)
    w = 1.0 / s2
    tau2 = max(0.0, (k * phi - (k - 1)) / (w.sum() - (w**2).sum() / w.sum()))
    crit = float(special.chdtri(k - 1, 0.05))   # chi-squared 95th percentile
    return {"k": k, "phi": phi, "tau2": float(tau2), "chi2_95": crit, "exceeds": bool(k * phi > crit)}


def funnel_limits(count: Any = None, denominator: Any = None, kind: str = "rate",
                  multiplier: float | None = None, benchmark: float | None = None, at: Any = None,
                  value: Any = None, rate_type: str = "crude", years_of_data: float = 1,
                  ratio_type: str = "ratio", overdispersion: str = "none",
                  winsorise: float = 0.0) -> pd.DataFrame:
    """Funnel-plot control limits at 95% and 99.8% around a benchmark.

    Without ``at`` (and with no overdispersion adjustment applied) this reproduces
    PHEindicatormethods ``calculate_funnel_limits``: 100 points spread geometrically over the
    units' denominators, with PHE's axis rounding, and the table shape PHE uses --

    * proportion: denominator, lower_95, upper_95, lower_99_8, upper_99_8, baseline (limits clipped
      to [0, multiplier]);
    * rate: events, then for each limit the denominator (per year when ``years_of_data`` > 1) at
      which that many events sits on it and the rate limit there: lower_95_denominator,
      lower_95, upper_95_denominator, upper_95, ... , baseline. Exact Poisson, as PHE (which
      bisects to ~1e-7; we use the closed form, so agreement is ~1e-7 relative);
    * ratio: observed, lower_95_expected, lower_95, ... with limits as O/E (``ratio_type="ratio"``),
      O/E - 1 ("count", as PHE) or 100 O/E ("isr").

    With ``at`` (denominators; for rates on the scale of ``denominator``, for ratios expected
    counts) the limits are evaluated at those denominators on the same exact curves: columns
    denominator, lower_95, upper_95, lower_99_8, upper_99_8, baseline.

    overdispersion: "none", "auto" (apply when k phi exceeds the chi-squared 95% point on k - 1
    df) or "always" (apply whenever tau^2 > 0). When applied the limits are normal on the scale
    of :func:`overdispersion`, widened to sqrt(s^2 + tau^2), at ``at`` or on a 100-point
    denominator grid. The result's ``attrs`` carry overdispersion_applied, phi, tau2, k, benchmark;
    the ``method`` column says which limits were drawn.

    Long on purpose: it mirrors PHEindicatormethods' calculate_funnel_limits argument by argument, to be read
    against it.
    """
    if kind not in ("rate", "proportion", "ratio"):
        raise ValueError(f"kind must be 'rate', 'proportion' or 'ratio'; got {kind!r}")
    if overdispersion not in ("none", "auto", "always"):
        raise ValueError(f"overdispersion must be 'none', 'auto' or 'always'; got {overdispersion!r}")
    if ratio_type not in ("ratio", "count", "isr"):
        raise ValueError(f"ratio_type must be 'ratio', 'count' or 'isr'; got {ratio_type!r}")
    if multiplier is None:
        multiplier = {"rate": 1000, "proportion": 100, "ratio": 1}[kind]
    func = "funnel_limits"

    den = None
    x = None
    index = None
    if count is not None:
        names = ["count", "denominator", "value"]
        present = [(nm, v) for nm, v in zip(names, (count, denominator, value)) if v is not None]
        arrs, index = _arrays([nm for nm, _ in present], *[v for _, v in present])
        got = dict(zip([nm for nm, _ in present], arrs))
        x = got["count"]
        _validate(func, index, x, got.get("denominator"), proportion=(kind == "proportion"))
        if kind == "rate":
            den = _derive_rate_denominator(x, got.get("denominator"), got.get("value"), multiplier,
                                           rate_type, func, index)
        else:
            den = got.get("denominator")
            if den is None:
                raise ValueError(f"{func}: kind={kind!r} needs a denominator")
    elif benchmark is None or at is None:
        raise ValueError(f"{func}: give count and denominator, or a benchmark and `at` denominators")

    if benchmark is not None:
        av = benchmark / multiplier
    elif kind == "ratio":
        av = 1.0
    else:
        okd = ~np.isnan(den) & ~np.isnan(x)
        av = float(np.nansum(x) / np.nansum(den[okd] if kind == "proportion" else den))

    od = {"k": 0, "phi": float("nan"), "tau2": 0.0, "chi2_95": float("nan"), "exceeds": False}
    applied = False
    if overdispersion != "none":
        if x is None:
            raise ValueError(f"{func}: overdispersion needs the units' counts and denominators")
        od = globals()["overdispersion"](x, den, kind=kind, benchmark=av * multiplier,
                                         multiplier=multiplier, winsorise=winsorise)
        applied = od["tau2"] > 0 and (overdispersion == "always" or od["exceeds"])

    if at is None:
        okd = den[~np.isnan(den)]
        mn, mx = float(okd.min()), float(okd.max())

    if at is None and not applied:
        res = _phe_funnel_table(kind, av, mn, mx, multiplier, years_of_data, ratio_type)
    else:
        if at is None:
            axis_min = 0.0 if mx > 2 * mn else _signif_floor(mn)
            at_arr = _phe_grid(axis_min, _signif_ceiling(mx), 0)
        else:
            (at_arr,), _ = _arrays(["at"], at)
            _check(~(at_arr > 0) & ~np.isnan(at_arr), None, func, "`at` denominators must be > 0")
        res = _funnel_at(kind, av, at_arr, multiplier, od["tau2"] if applied else 0.0, applied, ratio_type)
    base = "Wilson score" if kind == "proportion" else "exact Poisson"
    if applied:
        res["method"] = (f"{'normal' if kind == 'proportion' else 'normal (square-root scale)'} with "
                         f"Spiegelhalter random effects, tau2={od['tau2']:.4g}, phi={od['phi']:.4g}")
    else:
        res["method"] = base
    res.attrs.update({"overdispersion_applied": bool(applied), "phi": od["phi"], "tau2": od["tau2"] if applied else 0.0,
                      "tau2_estimate": od["tau2"], "k": od["k"], "benchmark": av * multiplier,
                      "overdispersion": overdispersion})
    return res


def funnel_points(count: Any, value: Any, denominator: Any = None, rate_type: str = "crude",
                  years_of_data: float = 1, multiplier: float = 100000) -> pd.DataFrame:
    """Points to plot on a rate funnel (PHEindicatormethods ``calculate_funnel_points``).

    Columns value_chart (the rate; missing for DSRs on fewer than 10 events, which PHE does not
    plot) and denominator_derived (multiplier * count / value / years_of_data, the per-year
    population the rate implies; the given denominator / years_of_data where the count is 0).
    """
    names = ["count", "value", "denominator"]
    present = [(nm, v) for nm, v in zip(names, (count, value, denominator)) if v is not None]
    arrs, index = _arrays([nm for nm, _ in present], *[v for _, v in present])
    got = dict(zip([nm for nm, _ in present], arrs))
    x, val = got["count"], got["value"]
    _validate("funnel_points", index, x, got.get("denominator"))
    den = _derive_rate_denominator(x, got.get("denominator"), val, multiplier, rate_type,
                                   "funnel_points", index) / years_of_data
    chart = val.copy()
    if rate_type == "dsr":
        few = x < 10
        chart[few] = np.nan
        den[few] = np.nan
    return _frame({"value_chart": chart, "denominator_derived": den}, index)


def _phe_funnel_table(kind: str, av: float, mn: float, mx: float, multiplier: float,
                      years: float, ratio_type: str) -> pd.DataFrame:
    if kind == "rate":
        axis_min = 0.0 if mx > 2 * mn else _signif_floor(mn / years) * years
        axis_max = _signif_ceiling(mx / years) * years
        axis_min = math.floor(axis_min * av)
        axis_max = math.ceil(axis_max * av)
        ev = _phe_grid(axis_min, axis_max, 0)
        out: dict[str, Any] = {"events": ev}
        for lv, p in (("95", 0.025), ("99_8", 0.001)):
            pop_lo = _poisson_mean_for_tail(ev, p, "high") / av
            pop_hi = _poisson_mean_for_tail(ev, p, "low") / av
            out[f"lower_{lv}_denominator"] = pop_lo / years
            out[f"lower_{lv}"] = ev / pop_lo * multiplier
            out[f"upper_{lv}_denominator"] = pop_hi / years
            out[f"upper_{lv}"] = ev / pop_hi * multiplier
        out["baseline"] = av * multiplier
        return pd.DataFrame(out)
    axis_min = 0.0 if mx > 2 * mn else _signif_floor(mn)
    axis_max = _signif_ceiling(mx)
    if kind == "proportion":
        popn = _phe_grid(axis_min, axis_max, 0)
        out = {"denominator": popn}
        for lv, p in (("95", 0.975), ("99_8", 0.999)):
            out[f"lower_{lv}"] = np.maximum(0.0, _sigma_adjustment(p, popn, av, "low", multiplier))
            out[f"upper_{lv}"] = np.minimum(multiplier, _sigma_adjustment(p, popn, av, "high", multiplier))
        out["baseline"] = av * multiplier
        return pd.DataFrame(out)
    obs = _phe_grid(axis_min, axis_max, 1)
    out = {"observed": obs}
    for lv, p in (("95", 0.025), ("99_8", 0.001)):
        e_lo = _poisson_mean_for_tail(obs, p, "high") / av
        e_hi = _poisson_mean_for_tail(obs, p, "low") / av
        out[f"lower_{lv}_expected"] = e_lo
        out[f"lower_{lv}"] = _ratio_scale(obs / e_lo, ratio_type)
        out[f"upper_{lv}_expected"] = e_hi
        out[f"upper_{lv}"] = _ratio_scale(obs / e_hi, ratio_type)
    out["baseline"] = _ratio_scale(np.full(obs.size, av), ratio_type)
    return pd.DataFrame(out)


def _ratio_scale(r: np.ndarray, ratio_type: str) -> np.ndarray:
    if ratio_type == "count":
        return r - 1.0
    if ratio_type == "isr":
        return r * 100.0
    return r


def _funnel_at(kind: str, av: float, at: np.ndarray, multiplier: float, tau2: float,
               applied: bool, ratio_type: str) -> pd.DataFrame:
    out: dict[str, Any] = {"denominator": at}
    for lv, level in (("95", 0.95), ("99_8", 0.998)):
        z = z_value(level)
        p = (1.0 - level) / 2.0
        if applied:
            if kind == "proportion":
                half = z * np.sqrt(av * (1 - av) / at + tau2)
                lo, hi = np.clip(av - half, 0, 1), np.clip(av + half, 0, 1)
            else:
                half = z * np.sqrt(1.0 / (4.0 * at) + tau2)
                lo = np.maximum(0.0, math.sqrt(av) - half) ** 2
                hi = (math.sqrt(av) + half) ** 2
        elif kind == "proportion":
            lo = np.maximum(0.0, _sigma_adjustment(1 - p, at, av, "low", 1.0))
            hi = np.minimum(1.0, _sigma_adjustment(1 - p, at, av, "high", 1.0))
        else:
            mu = av * at
            with np.errstate(divide="ignore", invalid="ignore"):
                lo = _solve_events(mu, p, "lower") / at
                hi = _solve_events(mu, p, "upper") / at
        if kind == "ratio":
            out[f"lower_{lv}"], out[f"upper_{lv}"] = _ratio_scale(lo, ratio_type), _ratio_scale(hi, ratio_type)
        else:
            out[f"lower_{lv}"], out[f"upper_{lv}"] = lo * multiplier, hi * multiplier
    out["baseline"] = _ratio_scale(np.full(at.size, av), ratio_type) if kind == "ratio" else av * multiplier
    return pd.DataFrame(out)
