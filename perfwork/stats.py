"""Pure, vectorised statistics for perfwork (shared/METHODS.md sections 1-3).

Arrays (or pandas Series) in, DataFrames out. Nothing here imports from perfwork, reads files or
keeps state, so every room can call it and it can be tested against the R reference packages alone.

Conventions
-----------
* ``level`` is a confidence level in (0, 1); 95 or 99.8 (percentages from 50) are accepted too.
* Outputs keep the index of the first pandas Series passed in (otherwise a RangeIndex).
* NaN in -> NaN out. Impossible inputs (negative counts, denominators <= 0, a proportion's count
  above its denominator) raise ``ValueError`` naming the positions and what was expected.
* Methods follow PHEindicatormethods (OHID/UKHSA Fingertips) exactly where the reference files
  in shared/reference pin them down; where they and METHODS.md differ the reference wins and the
  function's docstring says so.

Police recorded crime is a full count, not a survey: the Poisson models below describe random
variation around an underlying rate, not recording-practice changes. Say so wherever a judgement
from them is published.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import special
from scipy import stats as _st

__all__ = [
    "LABELS",
    "SIGNIFICANCE_LEVELS",
    "z_value",
    "byar",
    "exact_poisson",
    "poisson_limits",
    "wilson",
    "rate_ci",
    "proportion_ci",
    "dsr",
    "compare_to_benchmark",
    "significance_reading",
    "funnel_significance",
    "funnel_limits",
    "funnel_points",
    "overdispersion",
    "poisson_change_test",
    "trend_marker",
    "TREND_THRESHOLD",
]

# PHE significance labels, most significant first (the 0.001 tests are checked first).
LABELS = ("High (0.001)", "High (0.025)", "Low (0.001)", "Low (0.025)", "Not significant")
SIGNIFICANCE_LEVELS = (0.95, 0.998)
NOT_APPLICABLE_DSR = "Not applicable for events less than 10 for dsrs"
# chi-squared (1 df) critical value Fingertips uses for the recent-trend marker (p = 0.002).
TREND_THRESHOLD = 9.5495

_POLARITIES = ("low_is_good", "high_is_good", "none")


# --------------------------------------------------------------------------------------------
# input handling
# --------------------------------------------------------------------------------------------
def _level(level: float) -> float:
    """Accept 0.95 or 95 style levels (a percentage from 50 up); reject anything else."""
    lv = float(level)
    if 50.0 <= lv < 100.0:
        lv = lv / 100.0
    if not 0.0 < lv < 1.0:
        raise ValueError(f"level must be in (0, 1) (or a percentage in [50, 100)); got {level!r}")
    return lv


def z_value(level: float = 0.95) -> float:
    """Two-sided normal quantile for a confidence level (1.959964 at 95%, 3.090232 at 99.8%)."""
    return float(_st.norm.ppf(0.5 + _level(level) / 2.0))


def _first_index(*args: Any) -> pd.Index | None:
    for a in args:
        if isinstance(a, pd.Series):
            return a.index
    return None


def _to_float(x: Any, name: str) -> np.ndarray:
    if isinstance(x, (pd.Series, pd.Index)):
        x = x.to_numpy(dtype="float64", na_value=np.nan)
    try:
        arr = np.asarray(x, dtype="float64")
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric (array-like of numbers); {exc}") from None
    return arr


def _arrays(names: Sequence[str], *values: Any) -> tuple[list[np.ndarray], pd.Index | None]:
    """Convert inputs to float arrays of one common 1-D length (scalars broadcast)."""
    arrs = [_to_float(v, n) for v, n in zip(values, names)]
    try:
        arrs = [np.atleast_1d(a) for a in np.broadcast_arrays(*arrs)]
    except ValueError:
        shapes = ", ".join(f"{n}={a.shape}" for n, a in zip(names, arrs))
        raise ValueError(f"inputs must have the same length or be scalars; got {shapes}") from None
    if arrs and arrs[0].ndim != 1:
        raise ValueError(f"inputs must be one-dimensional; got shape {arrs[0].shape}")
    index = _first_index(*values)
    series = [(n, v) for n, v in zip(names, values) if isinstance(v, pd.Series)]
    for n, v in series[1:]:
        if not v.index.equals(index):
            raise ValueError(f"{series[0][0]} and {n} are Series with different indexes; "
                             "align them first (values are matched by position)")
    if index is not None and len(index) != len(arrs[0]):
        index = None
    return [np.array(a, dtype="float64") for a in arrs], index


def _positions(mask: np.ndarray, index: pd.Index | None, limit: int = 10) -> str:
    pos = np.flatnonzero(mask)
    shown = pos[:limit].tolist()
    more = f" (and {len(pos) - limit} more)" if len(pos) > limit else ""
    if index is not None and not isinstance(index, pd.RangeIndex):
        labels = [index[p] for p in shown]
        return f"position(s) {shown}{more}, index label(s) {labels}"
    return f"position(s) {shown}{more}"


def _check(mask: np.ndarray, index: pd.Index | None, func: str, what: str) -> None:
    if mask.any():
        raise ValueError(f"{func}: {what}; failed at {_positions(mask, index)}")


def _validate(func: str, index: pd.Index | None, count: np.ndarray | None = None,
              denominator: np.ndarray | None = None, proportion: bool = False) -> None:
    with np.errstate(invalid="ignore"):
        if count is not None:
            _check(count < 0, index, func, "counts must be >= 0 (negative count)")
            _check(np.isinf(count), index, func, "counts must be finite")
        if denominator is not None:
            _check(denominator <= 0, index, func, "denominators must be > 0 (zero or negative denominator)")
            _check(np.isinf(denominator), index, func, "denominators must be finite")
        if proportion and count is not None and denominator is not None:
            _check(count > denominator, index, func,
                   "for a proportion the count must be <= its denominator")


def _frame(data: dict[str, Any], index: pd.Index | None) -> pd.DataFrame:
    return pd.DataFrame(data, index=index if index is not None else None)


def _labels(codes: np.ndarray, categories: Sequence[str]) -> pd.Categorical:
    """Build a categorical from integer codes (-1 = missing) without touching Python strings."""
    return pd.Categorical.from_codes(codes.astype("int8", copy=False), categories=list(categories))


# --------------------------------------------------------------------------------------------
# confidence limits on counts and proportions
# --------------------------------------------------------------------------------------------
def byar(count: Any, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Byar's approximation to exact Poisson limits on a count.

    L = x (1 - 1/(9x) - z/(3 sqrt x))^3, U = (x+1) (1 - 1/(9(x+1)) + z/(3 sqrt(x+1)))^3.
    As in PHEindicatormethods' ``byars_lower``, a lower limit that would be negative (tiny counts
    at high confidence) is returned as NaN, as is the lower limit at x = 0. Use
    :func:`poisson_limits` for the exact/Byar hybrid that is defined everywhere.
    """
    (x,), _ = _arrays(["count"], count)
    z = z_value(level)
    with np.errstate(divide="ignore", invalid="ignore"):
        lower = x * (1.0 - 1.0 / (9.0 * x) - z / (3.0 * np.sqrt(x))) ** 3
        x1 = x + 1.0
        upper = x1 * (1.0 - 1.0 / (9.0 * x1) + z / (3.0 * np.sqrt(x1))) ** 3
    lower[~(lower >= 0)] = np.nan
    return lower, upper


def exact_poisson(count: Any, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Exact (chi-squared) Poisson limits on a count.

    L = chi2.ppf(alpha/2, 2x)/2 (0 at x = 0), U = chi2.ppf(1 - alpha/2, 2x + 2)/2, computed as
    the equivalent inverse regularised gamma function (chi2.ppf(q, 2k)/2 == gammaincinv(k, q)).
    """
    (x,), _ = _arrays(["count"], count)
    alpha = 1.0 - _level(level)
    with np.errstate(invalid="ignore"):
        lower = np.where(x > 0, special.gammaincinv(np.where(x > 0, x, 1.0), alpha / 2.0), 0.0)
        upper = special.gammaincinv(x + 1.0, 1.0 - alpha / 2.0)
    lower[np.isnan(x)] = np.nan
    return lower, upper


def poisson_limits(count: Any, level: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """PHE hybrid limits on a count: exact Poisson below 10 events, Byar from 10.

    Returns (lower, upper, method_code) with method_code 0 = "Exact", 1 = "Byars", -1 = missing.
    The chi-squared quantile is evaluated only for counts below 10, and for whole-number counts
    through a 10-entry lookup table, so a million areas cost a few vectorised passes.
    """
    (x,), _ = _arrays(["count"], count)
    lv = _level(level)
    z = z_value(lv)
    # Byar everywhere (cheap, in place), then the exact limits overwrite counts below 10.
    with np.errstate(divide="ignore", invalid="ignore"):
        lower = _byar_part(x, -z)
        upper = _byar_part(x + 1.0, z)
    code = np.where(x >= 10, 1, -1).astype("int8")

    small = x < 10  # NaN compares False: stays missing
    if small.any():
        xs = x[small]
        table_l, table_u = exact_poisson(np.arange(10.0), lv)
        whole = xs == np.floor(xs)
        ls = np.empty(xs.size)
        us = np.empty(xs.size)
        k = xs[whole].astype(np.intp)
        ls[whole] = table_l[k]
        us[whole] = table_u[k]
        if not whole.all():
            ls[~whole], us[~whole] = exact_poisson(xs[~whole], lv)
        lower[small] = ls
        upper[small] = us
        code[small] = 0
    missing = code < 0
    lower[missing] = np.nan
    upper[missing] = np.nan
    return lower, upper, code


def _byar_part(x: np.ndarray, zs: float) -> np.ndarray:
    """x (1 - 1/(9x) + zs/(3 sqrt x))^3 with few temporaries (zs = -z lower, +z upper on x + 1)."""
    t = np.sqrt(x)
    t *= 3.0 / zs
    np.reciprocal(t, out=t)  # zs / (3 sqrt x)
    u = 9.0 * x
    np.reciprocal(u, out=u)
    t -= u
    t += 1.0
    u = t * t
    u *= t
    u *= x
    return u


def wilson(count: Any, denominator: Any, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score limits on the proportion scale (0-1).

    (2x + z^2 -/+ z sqrt(z^2 + 4x(1 - x/n))) / (2 (n + z^2)); no validation (see proportion_ci).
    """
    (x, n), _ = _arrays(["count", "denominator"], count, denominator)
    z = z_value(level)
    z2 = z * z
    with np.errstate(divide="ignore", invalid="ignore"):
        root = z * np.sqrt(z2 + 4.0 * x * (1.0 - x / n))
        den = 2.0 * (n + z2)
        lower = (2.0 * x + z2 - root) / den
        upper = (2.0 * x + z2 + root) / den
    return lower, upper


def rate_ci(count: Any, denominator: Any, multiplier: float = 1000, level: float = 0.95) -> pd.DataFrame:
    """Crude rate x / n * multiplier with PHE confidence limits.

    Exact Poisson limits below 10 events, Byar from 10 (PHEindicatormethods ``phe_rate``).
    Columns: value, lower, upper, method ("Exact" / "Byars"; missing where the count is missing).
    A count above its denominator is allowed (rates can exceed the multiplier).
    """
    (x, n), index = _arrays(["count", "denominator"], count, denominator)
    _validate("rate_ci", index, x, n)
    lo, up, code = poisson_limits(x, level)
    scale = multiplier / n
    return _frame(
        {"value": x * scale, "lower": lo * scale, "upper": up * scale,
         "method": _labels(code, ["Exact", "Byars"])},
        index,
    )


def proportion_ci(count: Any, denominator: Any, multiplier: float = 100, level: float = 0.95) -> pd.DataFrame:
    """Proportion x / n * multiplier with Wilson score limits (PHEindicatormethods ``phe_proportion``).

    Columns: value, lower, upper, method ("Wilson").
    """
    (x, n), index = _arrays(["count", "denominator"], count, denominator)
    _validate("proportion_ci", index, x, n, proportion=True)
    lo, up = wilson(x, n, level)
    method = _labels(np.zeros(x.size, dtype="int8"), ["Wilson"])
    return _frame({"value": x / n * multiplier, "lower": lo * multiplier, "upper": up * multiplier,
                   "method": method}, index)


# --------------------------------------------------------------------------------------------
# directly standardised rates
# --------------------------------------------------------------------------------------------
def dsr(count: Any, population: Any, standard_population: Any, group: Any = None,
        multiplier: float = 100000, level: float | Sequence[float] = 0.95) -> pd.DataFrame:
    """Directly standardised rate with Dobson limits (PHEindicatormethods ``phe_dsr``).

    One row per ``group`` (e.g. area), from long data with one row per standardisation category
    (age band); categories must line up across groups. A missing count in a category counts as 0.
    DSR = sum(w x / n) / sum(w) * multiplier; var = sum(x (w/n)^2) / sum(w)^2; limits
    DSR + sqrt(var / X) (Byar(X) - X) * multiplier with X the total count. Groups with a total
    count below 10 get NaN (PHE does not publish DSRs on fewer than 10 events).

    ``level`` may be one level (columns lower, upper) or several (columns lower95, upper95,
    lower99_8, upper99_8, ...). Columns also: total_count, total_pop, value, statistic, method.
    """
    (x, n, w), _ = _arrays(["count", "population", "standard_population"], count, population,
                           standard_population)
    _validate("dsr", None, x, n)
    g = np.zeros(x.size, dtype=np.intp) if group is None else None
    if group is None:
        keys = pd.Index(["all"], name="group")
    else:
        codes, uniques = pd.factorize(pd.Series(group).to_numpy(), sort=False)
        if (codes < 0).any():
            raise ValueError(f"dsr: group labels must not be missing; {_positions(codes < 0, None)}")
        g = codes
        keys = pd.Index(uniques, name=getattr(group, "name", None) or "group")
    k = len(keys)
    x0 = np.where(np.isnan(x), 0.0, x)
    total_count = np.bincount(g, weights=x0, minlength=k)
    total_pop = np.bincount(g, weights=n, minlength=k)
    sum_w = np.bincount(g, weights=w, minlength=k)
    wt_rate = np.bincount(g, weights=x0 * w / n, minlength=k)
    sq_rate = np.bincount(g, weights=x0 * (w / n) ** 2, minlength=k)
    value = wt_rate / sum_w * multiplier
    var = sq_rate / sum_w**2
    out: dict[str, Any] = {"total_count": total_count, "total_pop": total_pop, "value": value}
    levels = [level] if np.isscalar(level) else list(level)
    ok = total_count >= 10
    for lv in levels:
        bl, bu = byar(total_count, lv)
        with np.errstate(divide="ignore", invalid="ignore"):
            sd = np.sqrt(var / total_count)
            lo = value + sd * (bl - total_count) * multiplier
            hi = value + sd * (bu - total_count) * multiplier
        suffix = "" if len(levels) == 1 else _level_suffix(lv)
        out["lower" + suffix] = np.where(ok, lo, np.nan)
        out["upper" + suffix] = np.where(ok, hi, np.nan)
    out["value"] = np.where(ok, value, np.nan)
    per = f"{multiplier:,.0f}".replace(",", "")
    out["statistic"] = np.where(ok, f"dsr per {per}", "dsr NA for total count < 10")
    out["method"] = "Dobson"
    return pd.DataFrame(out, index=keys)


def _level_suffix(level: float) -> str:
    """0.95 -> '95', 0.998 -> '99_8' (the PHE column naming)."""
    pct = round(_level(level) * 100, 6)
    text = f"{pct:g}"
    return text.replace(".", "_")


# --------------------------------------------------------------------------------------------
# significance against a benchmark
# --------------------------------------------------------------------------------------------
def compare_to_benchmark(lower95: Any, upper95: Any, lower998: Any, upper998: Any, benchmark: Any) -> pd.Series:
    """PHE significance of a value's own confidence interval against a benchmark (METHODS 2).

    "High (0.001)" if the 99.8% lower limit is above the benchmark, else "High (0.025)" if the
    95% lower limit is; "Low (0.001)" / "Low (0.025)" for upper limits below it; otherwise
    "Not significant". Missing bounds are skipped (they cannot show a difference); the label is
    missing only where the benchmark or all four bounds are missing.
    """
    (l95, u95, l998, u998, b), index = _arrays(
        ["lower95", "upper95", "lower998", "upper998", "benchmark"],
        lower95, upper95, lower998, upper998, benchmark)
    code = _significance_codes(l998 > b, l95 > b, u998 < b, u95 < b)
    missing = np.isnan(b) | (np.isnan(l95) & np.isnan(u95) & np.isnan(l998) & np.isnan(u998))
    code[missing] = -1
    return pd.Series(_labels(code, LABELS), index=index, name="significance")


def _significance_codes(high001: np.ndarray, high025: np.ndarray, low001: np.ndarray,
                        low025: np.ndarray) -> np.ndarray:
    # np.select takes the first true condition: the PHE case_when order.
    return np.select([high001, high025, low001, low025], [0, 1, 2, 3], default=4).astype("int8")


def significance_reading(significance: Any, polarity: str | None = None) -> pd.Series:
    """Turn PHE labels into a reader's word.

    polarity "low_is_good": High -> "worse", Low -> "better"; "high_is_good": the reverse;
    "none" (or None): "higher" / "lower". "Not significant" -> "similar". Both significance
    levels (0.025 and 0.001) count; missing or "not applicable" labels give a missing reading.
    """
    pol = "none" if polarity is None else str(polarity)
    if pol not in _POLARITIES:
        raise ValueError(f"polarity must be one of {_POLARITIES} or None; got {polarity!r}")
    words = {"low_is_good": ("worse", "better"), "high_is_good": ("better", "worse"),
             "none": ("higher", "lower")}[pol]
    s = pd.Series(significance)
    text = s.astype("str")
    out = np.full(len(s), -1, dtype="int8")
    out[text.str.startswith("High").to_numpy(dtype=bool, na_value=False)] = 0
    out[text.str.startswith("Low").to_numpy(dtype=bool, na_value=False)] = 1
    out[(text == "Not significant").to_numpy(dtype=bool, na_value=False)] = 2
    cats = [words[0], words[1], "similar"]
    return pd.Series(_labels(out, cats), index=s.index, name="reading")


def _sigma_adjustment(p: float, population: np.ndarray, average: float, side: str,
                      multiplier: float) -> np.ndarray:
    """PHE proportion funnel limit at a population: where the Wilson interval touches the average.

    Transcribed from PHEindicatormethods' internal ``sigma_adjustment`` so labels and curves agree
    with Fingertips to the last digit.
    """
    q2 = _st.norm.ppf(p) ** 2
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
    crit = float(_st.chi2.ppf(0.95, k - 1))
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


# --------------------------------------------------------------------------------------------
# change between two periods
# --------------------------------------------------------------------------------------------
def poisson_change_test(prev_count: Any, curr_count: Any, prev_exposure: Any = 1, curr_exposure: Any = 1,
                        level: float = 0.95) -> pd.DataFrame:
    """Exact conditional test of a change in a Poisson rate between two periods (METHODS 3).

    Given x1 + x2, x2 ~ Binomial(x1 + x2, t2 / (t1 + t2)). Two-sided p-value by the "minlike"
    rule of R's binom.test / scipy (sum of the probabilities no larger than the observed one,
    relative tolerance 1e-7), vectorised; the rate-ratio (curr / prev) interval transforms the
    Clopper-Pearson limits p of that binomial: RR = p / (1 - p) * t1 / t2.

    Zero counts: x2 = 0 gives rate_ratio 0 with lower 0; x1 = 0 gives an infinite rate ratio and
    upper limit; both zero give NaN rate ratio, limits (0, inf) and p-value 1.
    Columns: prev_count, curr_count, rate_ratio, lower, upper, p_value, method.
    """
    (x1, x2, t1, t2), index = _arrays(["prev_count", "curr_count", "prev_exposure", "curr_exposure"],
                                      prev_count, curr_count, prev_exposure, curr_exposure)
    func = "poisson_change_test"
    _validate(func, index, x1, None)
    _validate(func, index, x2, t1)
    _validate(func, index, None, t2)
    with np.errstate(invalid="ignore"):
        _check((x1 != np.round(x1)) | (x2 != np.round(x2)), index, func,
               "the exact test needs whole-number counts")
    alpha = 1.0 - _level(level)
    n = x1 + x2
    prob = t2 / (t1 + t2)
    ok = ~np.isnan(n) & ~np.isnan(prob)
    pval = np.full(n.size, np.nan)
    pval[ok] = _binom_two_sided(x2[ok], n[ok], prob[ok])
    with np.errstate(divide="ignore", invalid="ignore"):
        p_lo = np.where(x2 > 0, special.betaincinv(np.maximum(x2, 1e-300), n - x2 + 1, alpha / 2), 0.0)
        p_hi = np.where(x2 < n, special.betaincinv(x2 + 1, np.maximum(n - x2, 1e-300), 1 - alpha / 2), 1.0)
        odds = t1 / t2
        lower = p_lo / (1 - p_lo) * odds
        upper = np.where(p_hi >= 1.0, np.inf, p_hi / (1 - p_hi) * odds)
        rr = (x2 / t2) / (x1 / t1)
    rr[(x1 == 0) & (x2 == 0)] = np.nan
    for a in (lower, upper):
        a[~ok] = np.nan
    res = _frame({"prev_count": x1, "curr_count": x2, "rate_ratio": rr, "lower": lower,
                  "upper": upper, "p_value": pval}, index)
    res["method"] = "Exact conditional binomial test (two-sided, minlike); Clopper-Pearson rate-ratio CI"
    return res


def _binom_two_sided(x: np.ndarray, n: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Vectorised two-sided binomial p-value, same algorithm as R's binom.test.

    The pmf is unimodal with its mode within one of n p, so the set of outcomes on the far side
    whose probability is <= d (1 + 1e-7) is a tail; its edge is found by bisection on k.
    """
    rel = 1.0 + 1e-7
    # Reflecting k -> n - k, p -> 1 - p maps an outcome above the mean onto one below it with the same
    # p-value, so only the lower side needs a search.
    flip = x > n * p
    x, p = np.where(flip, n - x, x), np.where(flip, 1.0 - p, p)
    d = _st.binom.pmf(x, n, p)
    m = n * p
    out = np.ones(x.size)
    below = x < m
    if below.any():
        # count y of i in [ceil(m), n] with pmf(i) <= d*rel; pmf decreasing there: bisect for the first such k
        xb, nb, pb, db, mb = x[below], n[below], p[below], d[below], m[below]
        lo = np.ceil(mb)
        hi = nb + 1.0  # n + 1 when there is none
        for _ in range(64):
            active = lo < hi
            if not active.any():
                break
            mid = np.floor((lo + hi) / 2.0)
            good = _st.binom.pmf(mid, nb, pb) <= db * rel
            hi = np.where(active & good, mid, hi)
            lo = np.where(active & ~good, mid + 1.0, lo)
        y = nb - lo + 1.0
        out[below] = _st.binom.cdf(xb, nb, pb) + _st.binom.sf(nb - y, nb, pb)
    return np.minimum(1.0, out)


# --------------------------------------------------------------------------------------------
# Fingertips recent trend
# --------------------------------------------------------------------------------------------
_TREND_POLARITY = {
    ("Increasing", "high_is_good"): "Increasing and getting better",
    ("Increasing", "low_is_good"): "Increasing and getting worse",
    ("Decreasing", "high_is_good"): "Decreasing and getting worse",
    ("Decreasing", "low_is_good"): "Decreasing and getting better",
}


def trend_marker(data: pd.DataFrame, year: str = "year", kind: str = "other", value: str | None = "value",
                 lower: str | None = "lower", upper: str | None = "upper", numerator: str | None = None,
                 denominator: str | None = None, by: str | Sequence[str] | None = None,
                 polarity: str | None = None, multiplier: float = 1, level: float = 0.95,
                 points: int = 5) -> pd.DataFrame:
    """Fingertips "recent trend" marker for annual series (PHEindicatormethods ``assign_trend_markers``).

    For each series (``by`` groups) the last ``points`` (5) years are tested:

    * kind="proportion": chi-squared test for trend on numerator / denominator (value and CI
      columns not needed); direction = least-squares slope of logit(p) on the year.
    * kind="other": inverse-variance weighted least squares of value / multiplier on the year,
      sigma = (upper - lower) / (2 z) from the ``level`` limits; chi^2 = beta^2 / var(beta).
      ``multiplier`` rescales value and limits alike, so it changes only the gradient's units.

    Significant when chi^2 > 9.5495, unless dropping any one point flips the slope's sign
    ("Outlier found"). One row per series with: <by columns>, year (the latest), n_points,
    recent_trend ("Increasing" / "Decreasing" / "No significant change" / "Cannot be
    calculated"), recent_trend_reason, significance (chi^2), gradient (slope per year),
    trend_marker (with polarity: e.g. "Increasing and getting better"; "none" / None keeps the
    direction only). Years are used as given (gaps are real gaps). Not for monthly data.
    """
    if kind not in ("proportion", "other"):
        raise ValueError(f"kind must be 'proportion' or 'other'; got {kind!r}")
    pol = "none" if polarity is None else polarity
    if pol not in _POLARITIES:
        raise ValueError(f"polarity must be one of {_POLARITIES} or None; got {polarity!r}")
    if kind == "proportion":
        need = [year, numerator, denominator]
        if numerator is None or denominator is None:
            raise ValueError("trend_marker(kind='proportion') needs numerator and denominator columns")
    else:
        need = [year, value, lower, upper]
        if value is None or lower is None or upper is None:
            raise ValueError("trend_marker(kind='other') needs value, lower and upper columns")
    by_cols = [] if by is None else ([by] if isinstance(by, str) else list(by))
    missing_cols = [c for c in need + by_cols if c not in data.columns]
    if missing_cols:
        raise ValueError(f"trend_marker: columns not found in data: {missing_cols}")
    df = data[by_cols + need].copy()
    df["_row"] = np.arange(len(df))
    df["_year_as_given"] = data[year].to_numpy()
    yr = pd.to_numeric(df[year], errors="coerce")
    if yr.isna().any():
        raise ValueError(f"trend_marker: {year!r} must be numeric years with no gaps in the column; "
                         f"{_positions(yr.isna().to_numpy(), data.index)}")
    df[year] = yr.astype("float64")
    df = df.sort_values(by_cols + [year, "_row"], kind="stable")
    if by_cols:
        gid = df.groupby(by_cols, sort=False, dropna=False).ngroup().to_numpy()
    else:
        gid = np.zeros(len(df), dtype=np.intp)
    if len(df) == 0:
        raise ValueError("trend_marker: no rows to assess")
    G = int(gid.max()) + 1
    sizes = np.bincount(gid, minlength=G)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    ends = starts + sizes

    years = df[year].to_numpy()
    dup = np.zeros(G, dtype=bool)
    same = (years[1:] == years[:-1]) & (gid[1:] == gid[:-1])
    dup[gid[1:][same]] = True

    P = points
    enough = sizes >= P
    # index of the last P rows of each group (clipped for short groups, masked later)
    offs = np.arange(-P, 0)
    idx = np.clip(ends[:, None] + offs[None, :], 0, len(df) - 1)
    t = years[idx]

    trend = np.full(G, "", dtype=object)
    reason = np.full(G, "", dtype=object)
    stat = np.full(G, np.nan)
    grad = np.full(G, np.nan)

    def col(name: str) -> np.ndarray:
        return pd.to_numeric(df[name], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)

    if kind == "proportion":
        num, den = col(numerator)[idx], col(denominator)[idx]
        miss = np.isnan(num).any(axis=1) | np.isnan(den).any(axis=1)
        miss_ci = np.zeros(G, dtype=bool)
        with np.errstate(divide="ignore", invalid="ignore"):
            chi = _trend_chi2_proportion(num, den, t)
            pr = num / den
            ylog = np.log(pr / (1.0 - pr))
            beta = _ols_slope(ylog, t, np.ones_like(t))
            loo = _leave_one_out(ylog, t, np.ones_like(t))
    else:
        val = col(value)[idx] / multiplier
        # PHE's assign_trend_markers divides only the values by the multiplier, which makes chi^2
        # shrink by multiplier^2; we scale the limits too, so the test is unit-free and only the
        # gradient's units change (identical to PHE at its default multiplier of 1).
        lo, hi = col(lower)[idx] / multiplier, col(upper)[idx] / multiplier
        miss = np.isnan(val).any(axis=1)
        miss_ci = np.isnan(lo).any(axis=1) | np.isnan(hi).any(axis=1)
        z2 = 2.0 * z_value(level)
        with np.errstate(divide="ignore", invalid="ignore"):
            w = 1.0 / ((hi - lo) / z2) ** 2
            beta = _ols_slope(val, t, w)
            sw, swt, swt2 = w.sum(1), (w * t).sum(1), (w * t * t).sum(1)
            var_beta = sw / (sw * swt2 - swt**2)
            chi = beta**2 / var_beta
            loo = _leave_one_out(val, t, w)

    # precedence exactly as PHE: duplicates, too few points, missing values, missing CIs
    for mask, why in ((miss_ci & ~miss, "Missing at least one confidence interval value"),
                      (miss, "Missing values"),
                      (~enough, "Not enough data points"),
                      (dup, "Duplicate years in group")):
        trend[mask] = "Cannot be calculated"
        reason[mask] = why
    todo = (trend == "")
    bad = todo & ~(np.isfinite(chi) & np.isfinite(beta))
    trend[bad] = "Cannot be calculated"
    reason[bad] = "Trend statistic not defined (e.g. zero-width intervals or a proportion of 0 or 1)"
    todo &= ~bad
    sig = todo & (chi > TREND_THRESHOLD)
    flip = (np.sign(loo) != np.sign(beta)[:, None]).any(axis=1)
    trend[todo & ~sig] = "No significant change"
    reason[todo & ~sig] = "No significant trend"
    trend[sig & flip] = "No significant change"
    reason[sig & flip] = "Outlier found"
    good = sig & ~flip
    trend[good] = np.where(beta[good] < 0, "Decreasing", "Increasing")
    reason[good] = "No outliers and significant trend"
    stat[todo] = chi[todo]
    grad[todo] = beta[todo]

    marker = trend.copy()
    if pol != "none":
        for i in np.flatnonzero(good):
            marker[i] = _TREND_POLARITY[(trend[i], pol)]

    last = df.iloc[ends - 1]
    out = last[by_cols].reset_index(drop=True)
    out[year] = last["_year_as_given"].to_numpy()
    out["n_points"] = sizes
    out["recent_trend"] = pd.array(trend, dtype="str")
    out["recent_trend_reason"] = pd.array(reason, dtype="str")
    out["significance"] = stat
    out["gradient"] = grad
    out["trend_marker"] = pd.array(marker, dtype="str")
    out.attrs["method"] = (f"Fingertips recent trend: last {P} points, "
                           + ("chi-squared test for trend (logit direction)" if kind == "proportion"
                              else "weighted least squares, sigma from 95% limits")
                           + f", chi2 > {TREND_THRESHOLD}, leave-one-out sign check")
    return out


def _ols_slope(y: np.ndarray, t: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Row-wise weighted least-squares slope (weights w; all ones for OLS)."""
    sw = w.sum(-1)
    swt = (w * t).sum(-1)
    swy = (w * y).sum(-1)
    swty = (w * t * y).sum(-1)
    swt2 = (w * t * t).sum(-1)
    return (sw * swty - swt * swy) / (sw * swt2 - swt**2)


def _leave_one_out(y: np.ndarray, t: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Slopes with each point dropped in turn: shape (groups, points)."""
    P = y.shape[1]
    keep = ~np.eye(P, dtype=bool)  # row j drops point j
    sel = lambda a: np.stack([a[:, keep[j]] for j in range(P)], axis=1)  # noqa: E731
    return _ols_slope(sel(y), sel(t), sel(w))


def _trend_chi2_proportion(num: np.ndarray, den: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Chi-squared test for trend in proportions (as PHE's calculate_trend_logistic_regression)."""
    sd, sc = den.sum(1), num.sum(1)
    sct, sdt, sdt2 = (num * t).sum(1), (den * t).sum(1), (den * t * t).sum(1)
    return sd * (sd * sct - sc * sdt) ** 2 / (sc * (sd - sc) * (sd * sdt2 - sdt**2))
