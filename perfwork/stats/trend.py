"""The Fingertips recent-trend marker."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..vocab import RecentTrend, TrendMarker
from ._common import (
    _POLARITIES,
    TREND_THRESHOLD,
    _positions,
    z_value,
)

# --------------------------------------------------------------------------------------------
# Fingertips recent trend
# --------------------------------------------------------------------------------------------
_TREND_POLARITY = {
    (RecentTrend.INCREASING, "high_is_good"): TrendMarker.INCREASING_BETTER.value,
    (RecentTrend.INCREASING, "low_is_good"): TrendMarker.INCREASING_WORSE.value,
    (RecentTrend.DECREASING, "high_is_good"): TrendMarker.DECREASING_WORSE.value,
    (RecentTrend.DECREASING, "low_is_good"): TrendMarker.DECREASING_BETTER.value,
}
_CANNOT, _NO_CHANGE = RecentTrend.CANNOT.value, RecentTrend.NO_CHANGE.value


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

    Long on purpose: it follows PHE's assign_trend_markers step by step, checks in the same precedence, to be
    read against it.
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
        trend[mask] = _CANNOT
        reason[mask] = why
    todo = (trend == "")
    bad = todo & ~(np.isfinite(chi) & np.isfinite(beta))
    trend[bad] = _CANNOT
    reason[bad] = "Trend statistic not defined (e.g. zero-width intervals or a proportion of 0 or 1)"
    todo &= ~bad
    sig = todo & (chi > TREND_THRESHOLD)
    flip = (np.sign(loo) != np.sign(beta)[:, None]).any(axis=1)
    trend[todo & ~sig] = _NO_CHANGE
    reason[todo & ~sig] = "No significant trend"
    trend[sig & flip] = _NO_CHANGE
    reason[sig & flip] = "Outlier found"
    good = sig & ~flip
    trend[good] = np.where(beta[good] < 0, RecentTrend.DECREASING.value, RecentTrend.INCREASING.value)
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
