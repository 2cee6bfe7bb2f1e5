"""Statistical process control for monthly series: XmR charts, NHS "Making Data Count" rules.

Pure and vectorised (shared/METHODS.md section 4); imports nothing from perfwork. The rules and
their precedence follow NHSRplotthedots (the R package behind "Making Data Count"):

* centre = mean, moving ranges MR_i = |y_i - y_(i-1)|, AMR = mean(MR); with ``screen_outliers``
  (the NHSRplotthedots default) moving ranges >= 3.267 AMR are dropped once and AMR recomputed;
  process limits mean -/+ 2.66 AMR, "near" limits mean -/+ (2/3) 2.66 AMR;
* special-cause rules, each flagging every point of its run, taken in this precedence:
  1. outside the process limits; 2. a trend of 7 points (6 consecutive differences of one sign;
  a tie breaks it); 3. two of three points beyond a near limit (not outside), all three on the
  same side of the mean (only the near-limit points flagged); 4. a shift of 7 points on one side
  of the mean (a point exactly on the mean breaks the run).

Missing values (NaN, e.g. a month not yet published) are excluded from the mean, the moving
ranges either side of them are not formed (a range never bridges a gap), they break every run
(trend, shift, two-in-three), and their own flags and point type are missing.

Everything works on a flat array of points sorted by (series, segment, time) with integer segment
ids, so one pass of numpy handles thousands of series (:func:`xmr_frame`); :func:`xmr` is the
one-series wrapper over the same core.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .vocab import Assurance, Improvement, SpcRule, SpcVariation

__all__ = [
    "LIMIT",
    "SCREEN",
    "TRIAL_LIMIT_POINTS",
    "POINT_TYPES",
    "XmRResult",
    "xmr",
    "xmr_frame",
    "xmr_summary",
    "assurance",
    "seven_point_one_side_mean",
    "part_of_seven",
    "seven_point_trend",
    "two_in_three",
    "part_of_two_in_three",
]

LIMIT = 2.66  # 3 / d2 with d2 = 1.128 for moving ranges of two
NEAR = 2.0 * LIMIT / 3.0
SCREEN = 3.267  # D4 for n = 2: moving ranges at or above 3.267 AMR are screened out
TRIAL_LIMIT_POINTS = 13  # METHODS 4: fewer than 13 points in a segment -> "trial limits"
RUN = 7

# Codes index these tuples: the order is the vocabulary's (vocab.SpcVariation, vocab.SpcRule).
POINT_TYPES = tuple(v.value for v in SpcVariation if v is not SpcVariation.INCOMPLETE)
RULES = ("", *(r.value for r in SpcRule))
_DIRECTIONS = {Improvement.INCREASE.value: 1, Improvement.DECREASE.value: -1, Improvement.NEUTRAL.value: 0}


# --------------------------------------------------------------------------------------------
# helpers on flat arrays
# --------------------------------------------------------------------------------------------
def _shift(a: np.ndarray, k: int, fill: Any) -> np.ndarray:
    """out[i] = a[i - k] (k > 0 looks back, k < 0 looks ahead), ``fill`` off the ends."""
    out = np.full_like(a, fill)
    if k > 0:
        out[k:] = a[:-k]
    elif k < 0:
        out[:k] = a[-k:]
    else:
        out[:] = a
    return out


def _same(seg: np.ndarray, k: int) -> np.ndarray:
    """seg[i - k] == seg[i]: the point k steps away is in the same segment (segments contiguous)."""
    return _shift(seg, k, -1) == seg


def _seg_or_zeros(seg: np.ndarray | None, n: int) -> np.ndarray:
    return np.zeros(n, dtype=np.int64) if seg is None else np.asarray(seg, dtype=np.int64)


# --------------------------------------------------------------------------------------------
# the run rules (public so they can be tested one by one, as NHSRplotthedots does)
# --------------------------------------------------------------------------------------------
def seven_point_one_side_mean(relative_to_mean: Any, seg: np.ndarray | None = None) -> np.ndarray:
    """1 at the 7th (and later) point of a run of 7 on one side of the mean, else 0."""
    v = np.nan_to_num(np.asarray(relative_to_mean, dtype="float64"))
    s = _seg_or_zeros(seg, v.size)
    end = v != 0
    for k in range(1, RUN):
        end &= (_shift(v, k, 0.0) == v) & _same(s, k)
    return end.astype("int8")


def part_of_seven(flags: Any) -> np.ndarray:
    """1 where the point or one of the next 6 ends a run of 7 (so every point of the run is 1)."""
    f = np.abs(np.asarray(flags)) == 1
    out = f.copy()
    for k in range(1, RUN):
        out |= _shift(f, -k, False)
    return out.astype("int8")


def seven_point_trend(y: Any, seg: np.ndarray | None = None) -> np.ndarray:
    """+1 / -1 at the 7th (and later) point of 7 rising / falling points (ties break), else 0."""
    y = np.asarray(y, dtype="float64")
    s = _seg_or_zeros(seg, y.size)
    with np.errstate(invalid="ignore"):
        d = np.sign(y - _shift(y, 1, np.nan))
    d[~_same(s, 1)] = 0
    d = np.nan_to_num(d)
    up = d == 1
    down = d == -1
    for k in range(1, RUN - 1):
        up &= _shift(d, k, 0.0) == 1
        down &= _shift(d, k, 0.0) == -1
    ok = _same(s, RUN - 1)
    return (up & ok).astype("int8") - (down & ok).astype("int8")


def two_in_three(close_to_limits: Any, relative_to_mean: Any, seg: np.ndarray | None = None) -> np.ndarray:
    """1 where the point is in some window of 3 with >= 2 near-limit points all on one side."""
    c = np.asarray(close_to_limits, dtype="float64")
    c = np.nan_to_num(c)
    v = np.nan_to_num(np.asarray(relative_to_mean, dtype="float64"))
    s = _seg_or_zeros(seg, c.size)
    # window starting at k covers k, k+1, k+2
    csum = c + _shift(c, -1, 0.0) + _shift(c, -2, 0.0)
    vsum = v + _shift(v, -1, 0.0) + _shift(v, -2, 0.0)
    win = (csum >= 2) & (np.abs(vsum) == 3) & (_shift(s, -2, -1) == s)
    out = win | _shift(win, 1, False) | _shift(win, 2, False)
    return out.astype("int8")


def part_of_two_in_three(flags: Any, close_to_limits: Any) -> np.ndarray:
    """Of the two-in-three windows, only the near-limit points themselves are flagged."""
    f = np.asarray(flags)
    c = np.abs(np.nan_to_num(np.asarray(close_to_limits, dtype="float64")))
    return ((f == 1) & (c == 1)).astype("int8")


# --------------------------------------------------------------------------------------------
# the core
# --------------------------------------------------------------------------------------------
def _group_mean(values: np.ndarray, seg: np.ndarray, nseg: int) -> tuple[np.ndarray, np.ndarray]:
    ok = ~np.isnan(values)
    cnt = np.bincount(seg[ok], minlength=nseg)
    tot = np.bincount(seg[ok], weights=values[ok], minlength=nseg)
    with np.errstate(invalid="ignore", divide="ignore"):
        return tot / cnt, cnt


def _xmr_core(y: np.ndarray, seg: np.ndarray, nseg: int, direction: np.ndarray,
              screen_outliers: bool = True, fix_after: int | None = None) -> dict[str, np.ndarray]:
    """XmR over a flat array sorted by segment then time (segment ids 0..nseg-1, contiguous)."""
    n = y.size
    starts = np.searchsorted(seg, np.arange(nseg), side="left")
    pos = np.arange(n) - starts[seg]
    y_fix = y if fix_after is None else np.where(pos < fix_after, y, np.nan)

    mean_s, n_used = _group_mean(y_fix, seg, nseg)
    mr = np.abs(y_fix - _shift(y_fix, 1, np.nan))
    mr[~_same(seg, 1)] = np.nan
    amr_s, _ = _group_mean(mr, seg, nseg)
    if screen_outliers:
        # NHSRplotthedots keeps only MR < 3.267 AMR; when every MR is 0 that would drop them all
        # and leave no limits, so a flat segment keeps its zero ranges (limits = mean).
        with np.errstate(invalid="ignore"):
            keep = (mr < SCREEN * amr_s[seg]) | (amr_s[seg] == 0)
            mr = np.where(keep, mr, np.nan)
        amr_s, n_mr = _group_mean(mr, seg, nseg)
    else:
        n_mr = np.bincount(seg[~np.isnan(mr)], minlength=nseg)
    mean = mean_s[seg]
    amr = amr_s[seg]
    lower, upper = mean - LIMIT * amr, mean + LIMIT * amr
    near_lower, near_upper = mean - NEAR * amr, mean + NEAR * amr

    missing = np.isnan(y)
    with np.errstate(invalid="ignore"):
        outside = (y > upper) | (y < lower)
        rtm = np.sign(y - mean)
        rtm[np.isnan(rtm)] = 0.0
        close = ~outside & ((y < near_lower) | (y > near_upper))

    trend_end = seven_point_trend(y, seg)
    part_trend = part_of_seven(trend_end).astype(bool)
    part_23 = part_of_two_in_three(two_in_three(close, rtm, seg), close).astype(bool)
    part_shift = part_of_seven(seven_point_one_side_mean(rtm, seg)).astype(bool)

    # direction of a trend point: NHSRplotthedots uses the difference to the right when the next
    # point is also part of the trend, otherwise the difference to the left.
    with np.errstate(invalid="ignore"):
        right = np.sign(_shift(y, -1, np.nan) - y)
        left = np.sign(y - _shift(y, 1, np.nan))
    left[~_same(seg, 1)] = 0.0
    use_right = part_trend & _shift(part_trend, -1, False) & _same(seg, -1)
    sdy = np.nan_to_num(np.where(use_right, right, left))

    rule = np.select([outside, part_trend, part_23, part_shift], [1, 2, 3, 4], default=0).astype("int8")
    side = np.where(rtm > 0, 1, -1)
    v = np.select([rule == 1, rule == 2, rule >= 3],
                  [np.where(rtm == 1, 1, -1), np.where(sdy == 1, 1, -1), side], default=0)
    ptype = np.where(
        v == 0, 0,
        np.where(direction == 0, np.where(v > 0, 3, 4),
                 np.where(v * direction > 0, 1, 2))).astype("int8")
    ptype[missing] = -1
    rule[missing] = -1
    return {
        "mean": mean, "lower": lower, "upper": upper, "near_lower": near_lower, "near_upper": near_upper,
        "outside": outside, "rtm": rtm, "close": close, "rule": rule, "v": v, "ptype": ptype,
        "missing": missing, "n_used": n_used, "n_mr": n_mr, "starts": starts, "amr_s": amr_s,
    }


_SCT = ("Common Cause", "Above UCL", "Below LCL", "7 Point Trend (Increasing)",
        "7 Point Trend (Decreasing)", "2 in 3 Above CL", "2 in 3 Below CL", "7 Points Above CL",
        "7 Points Below CL")


def _special_cause_type(rule: np.ndarray, v: np.ndarray) -> pd.Categorical:
    """NHSRplotthedots' special_cause_type wording ("Above UCL", "7 Point Trend (Increasing)", ...)."""
    code = np.where(rule > 0, 2 * rule.astype(np.int64) - 1 + (v < 0), 0)
    code[rule < 0] = -1
    return pd.Categorical.from_codes(code.astype("int8"), categories=list(_SCT))


def _points_frame(y: np.ndarray, core: dict[str, np.ndarray], seg_local: np.ndarray,
                  index: pd.Index | None, take: np.ndarray | None = None) -> pd.DataFrame:
    """Assemble the points frame; ``take`` reorders every column (back to the input order)."""
    t = (lambda a: a) if take is None else (lambda a: a[take])  # noqa: E731
    missing = t(core["missing"])
    outside = pd.array(t(core["outside"]), dtype="boolean")
    close = pd.array(t(core["close"]), dtype="boolean")
    outside[missing] = pd.NA
    close[missing] = pd.NA
    rtm = pd.array(t(core["rtm"]).astype("int8"), dtype="Int8")
    rtm[missing] = pd.NA
    rule, v = t(core["rule"]), t(core["v"])
    return pd.DataFrame(
        {
            "value": t(y),
            "segment": t(seg_local),
            "mean": t(core["mean"]),
            "lower": t(core["lower"]),
            "upper": t(core["upper"]),
            "near_lower": t(core["near_lower"]),
            "near_upper": t(core["near_upper"]),
            "outside_limits": outside,
            "relative_to_mean": rtm,
            "close_to_limits": close,
            "special_cause": pd.Categorical.from_codes(rule, categories=list(RULES)),
            "special_cause_type": _special_cause_type(rule, v),
            "point_type": pd.Categorical.from_codes(t(core["ptype"]), categories=list(POINT_TYPES)),
        },
        index=index,
    )


def _direction_codes(direction: np.ndarray) -> np.ndarray:
    """+1 / -1 / 0 -> codes into ("increase", "decrease", "neutral")."""
    return np.select([direction > 0, direction < 0], [0, 1], default=2).astype("int8")


def _direction(improvement: str) -> int:
    if improvement not in _DIRECTIONS:
        raise ValueError(f"improvement must be one of {tuple(_DIRECTIONS)}; got {improvement!r}")
    return _DIRECTIONS[improvement]


def assurance(target: float | None, lower: float, upper: float, improvement: str) -> str | None:
    """Making Data Count assurance from the latest process limits and a target.

    "decrease" is good: target above the upper limit = consistent_pass, below the lower limit =
    consistent_fail, otherwise inconsistent (mirrored for "increase"). None with no target, a
    neutral indicator, or no limits.
    """
    d = _direction(improvement)
    if target is None or d == 0 or _isnan(target) or _isnan(lower) or _isnan(upper):
        return None
    if target > upper:
        return (Assurance.FAIL if d > 0 else Assurance.PASS).value
    if target < lower:
        return (Assurance.PASS if d > 0 else Assurance.FAIL).value
    return Assurance.INCONSISTENT.value


def _isnan(v: Any) -> bool:
    try:
        return bool(np.isnan(v))
    except TypeError:
        return v is None


def _segment_warnings(n_used: np.ndarray, n_mr: np.ndarray, starts: np.ndarray, ends: np.ndarray,
                      fix_after: int | None, threshold: int) -> list[str]:
    out = []
    for k in range(len(n_used)):
        where = f"segment {k} (points {starts[k]}-{ends[k] - 1})"
        basis = "fixed after the first " + str(fix_after) + " points, " if fix_after is not None else ""
        if n_mr[k] == 0:
            out.append(f"{where}: no moving range to estimate variation from ({int(n_used[k])} "
                       f"usable point(s)); limits not calculated")
        elif n_used[k] < threshold:
            out.append(f"{where}: limits {basis}based on {int(n_used[k])} points (fewer than "
                       f"{threshold}): trial limits")
    return out


# --------------------------------------------------------------------------------------------
# one series
# --------------------------------------------------------------------------------------------
@dataclass
class XmRResult:
    """An XmR chart for one series.

    points: one row per point (value, segment, mean, lower, upper, near_lower, near_upper,
    outside_limits, relative_to_mean, close_to_limits, special_cause, special_cause_type,
    point_type). variation: the last observed point's type (the variation icon). assurance:
    consistent_pass / consistent_fail / inconsistent, or None without a target. warnings: text.
    """

    points: pd.DataFrame
    variation: str | None
    assurance: str | None
    improvement: str
    warnings: list[str] = field(default_factory=list)
    method: str = ""


def xmr(values: Any, improvement: str = "increase", screen_outliers: bool = True,
        rebase_at: Sequence[int] | None = None, fix_after: int | None = None,
        target: float | None = None, trial_threshold: int = TRIAL_LIMIT_POINTS) -> XmRResult:
    """XmR chart of one series in time order (see module docstring for the rules).

    rebase_at: 0-based positions where a new segment (with its own limits) starts.
    fix_after: each segment's limits come from its first ``fix_after`` points only.
    target: for the assurance icon (from the last segment's limits).
    """
    d = _direction(improvement)
    index = values.index if isinstance(values, pd.Series) else None
    if isinstance(values, pd.Series):
        y = values.to_numpy(dtype="float64", na_value=np.nan)
    else:
        y = np.asarray(values, dtype="float64").reshape(-1)
    n = y.size
    if fix_after is not None and int(fix_after) < 1:
        raise ValueError(f"fix_after must be a positive number of points; got {fix_after!r}")
    seg = np.zeros(n, dtype=np.int64)
    if rebase_at is not None and n:
        at = np.unique(np.asarray(list(rebase_at), dtype=np.int64))
        bad = (at < 0) | (at >= n)
        if bad.any():
            raise ValueError(f"rebase_at positions must be within 0..{n - 1}; got {at[bad].tolist()}")
        starts_flag = np.zeros(n, dtype=np.int64)
        starts_flag[at[at > 0]] = 1
        seg = np.cumsum(starts_flag)
    nseg = int(seg.max()) + 1 if n else 0
    core = _xmr_core(y, seg, nseg, np.full(n, d), screen_outliers, fix_after)
    pts = _points_frame(y, core, seg, index)
    ends = np.append(core["starts"][1:], n)
    warnings = _segment_warnings(core["n_used"], core["n_mr"], core["starts"], ends, fix_after,
                                 trial_threshold)
    observed = np.flatnonzero(~core["missing"])
    variation = POINT_TYPES[core["ptype"][observed[-1]]] if observed.size else None
    if observed.size and observed[-1] != n - 1:
        warnings.append(f"the last {n - 1 - observed[-1]} point(s) are missing; the variation icon "
                        f"uses the last observed point")
    last = n - 1
    assure = assurance(target, core["lower"][last], core["upper"][last], improvement) if n else None
    method = (f"XmR (mean +/- {LIMIT} x AMR"
              + (", moving ranges >= 3.267 AMR screened" if screen_outliers else ", unscreened")
              + (f", limits fixed after {fix_after} points" if fix_after else "")
              + "); NHS Making Data Count rules")
    return XmRResult(points=pts, variation=variation, assurance=assure, improvement=improvement,
                     warnings=warnings, method=method)


# --------------------------------------------------------------------------------------------
# many series
# --------------------------------------------------------------------------------------------
def xmr_frame(df: pd.DataFrame, by: str | Sequence[str] | None = None, value: str = "value",
              improvement: str = "increase", order_by: str | None = None,
              screen_outliers: bool = True, rebase: str | None = None,
              fix_after: int | None = None) -> pd.DataFrame:
    """XmR for every series in a long frame at once (one numpy pass, no per-series loop).

    by: column(s) identifying a series. order_by: the time column (rows are taken in their
    existing order within a series when None). improvement: "increase" / "decrease" / "neutral"
    or the name of a column holding one of those per row. rebase: optional column of 0/1 (or
    booleans) marking the first point of a new segment (NHSRplotthedots' rebase column).

    Returns a frame aligned with ``df`` (same index and row order) holding the ``by`` (and
    ``order_by``) columns, then value, improvement, segment (within its series), mean, lower,
    upper, near_lower, near_upper, outside_limits, relative_to_mean, close_to_limits,
    special_cause, special_cause_type, point_type. Use :func:`xmr_summary` for the per-series
    icons (variation, assurance, trial limits).
    """
    by_cols = [] if by is None else ([by] if isinstance(by, str) else list(by))
    need = by_cols + [value] + ([order_by] if order_by else []) + ([rebase] if rebase else [])
    if improvement not in _DIRECTIONS:
        need.append(improvement)
    miss = [c for c in need if c not in df.columns]
    if miss:
        raise ValueError(f"xmr_frame: columns not found: {miss} (improvement must be one of "
                         f"{tuple(_DIRECTIONS)} or a column name)")
    if fix_after is not None and int(fix_after) < 1:
        raise ValueError(f"fix_after must be a positive number of points; got {fix_after!r}")
    n = len(df)
    if by_cols:
        gid = df.groupby(by_cols, sort=False, dropna=False).ngroup().to_numpy(dtype=np.int64)
    else:
        gid = np.zeros(n, dtype=np.int64)
    if order_by:
        t = df[order_by]
        tkey = pd.factorize(t, sort=True)[0] if not pd.api.types.is_numeric_dtype(t) else t.to_numpy()
        order = np.lexsort((np.arange(n), tkey, gid))
    else:
        order = np.argsort(gid, kind="stable")
    g = gid[order]
    y = pd.to_numeric(df[value], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)[order]

    new_series = np.ones(n, dtype=bool)
    new_series[1:] = g[1:] != g[:-1]
    new_seg = new_series.copy()
    if rebase:
        rb = df[rebase].fillna(0).to_numpy().astype(bool)[order]
        new_seg |= rb
    seg = np.cumsum(new_seg) - 1
    nseg = int(seg[-1]) + 1 if n else 0
    first_seg_of_series = seg[new_series]
    series_idx = np.cumsum(new_series) - 1
    seg_local = seg - first_seg_of_series[series_idx]

    if improvement in _DIRECTIONS:
        direction = np.full(n, _DIRECTIONS[improvement], dtype=np.int64)
    else:
        imp = df[improvement].astype("str").to_numpy()[order]
        direction = np.zeros(n, dtype=np.int64)
        known = np.zeros(n, dtype=bool)
        for word, dv in _DIRECTIONS.items():
            m = imp == word
            direction[m] = dv
            known |= m
        if not known.all():
            bad = np.flatnonzero(~known)[:10]
            raise ValueError(f"xmr_frame: column {improvement!r} must hold one of {tuple(_DIRECTIONS)}; "
                             f"got {sorted(set(imp[bad]))} at row position(s) {order[bad].tolist()}")

    core = _xmr_core(y, seg, nseg, direction, screen_outliers, fix_after)
    inv = np.empty(n, dtype=np.int64)
    inv[order] = np.arange(n)
    pts = _points_frame(y, core, seg_local, df.index, take=inv)
    pts.insert(1, "improvement", pd.Categorical.from_codes(_direction_codes(direction[inv]),
                                                           categories=list(_DIRECTIONS)))
    keys = by_cols + ([order_by] if order_by and order_by not in by_cols else [])
    if keys:
        pts = pd.concat([df[keys], pts], axis=1)
    pts.attrs["method"] = ("XmR (mean +/- 2.66 x AMR"
                           + (", moving ranges >= 3.267 AMR screened" if screen_outliers else ", unscreened")
                           + (f", limits fixed after {fix_after} points" if fix_after else "")
                           + "); NHS Making Data Count rules")
    return pts


def xmr_summary(points: pd.DataFrame, by: str | Sequence[str] | None = None, order_by: str | None = None,
                improvement: str | None = None, target: float | str | None = None,
                trial_threshold: int = TRIAL_LIMIT_POINTS) -> pd.DataFrame:
    """Per-series icons from an :func:`xmr_frame` result (one row per series).

    Columns: <by>, n, variation (the last observed point's type: the variation icon), assurance,
    n_improvement, n_concern, trial_limits (the latest segment has fewer than ``trial_threshold``
    observed points). ``improvement`` defaults to the frame's ``improvement`` column; it and
    ``target`` may be scalars or column names of ``points`` (the last row of a series is used).
    Rows must be in time order within a series unless ``order_by`` is given.
    """
    by_cols = [] if by is None else ([by] if isinstance(by, str) else list(by))
    p = points
    if order_by is not None:
        p = p.sort_values(by_cols + [order_by], kind="stable")
    elif by_cols:
        p = p.sort_values(by_cols, kind="stable")
    n = len(p)
    if by_cols:
        gid = p.groupby(by_cols, sort=False, dropna=False).ngroup().to_numpy(dtype=np.int64)
    else:
        gid = np.zeros(n, dtype=np.int64)
    G = int(gid.max()) + 1 if n else 0
    size = np.bincount(gid, minlength=G)
    last = np.cumsum(size) - 1  # rows are contiguous per series after the sort
    observed = p["value"].notna().to_numpy()
    pos = np.arange(n)
    last_obs = np.full(G, -1, dtype=np.int64)
    np.maximum.at(last_obs, gid[observed], pos[observed])
    ptype = p["point_type"].astype("str").to_numpy(dtype=object)
    variation = np.where(last_obs >= 0, ptype[np.maximum(last_obs, 0)], None)
    n_imp = np.bincount(gid[ptype == "special_cause_improvement"], minlength=G)
    n_con = np.bincount(gid[ptype == "special_cause_concern"], minlength=G)
    seg = p["segment"].to_numpy()
    in_latest = observed & (seg == seg[last][gid])
    latest_n = np.bincount(gid[in_latest], minlength=G)

    if improvement is None:
        improvement = "improvement" if "improvement" in p.columns else "increase"
    imp = (p[improvement].astype("str").to_numpy()[last] if improvement in p.columns
           else np.full(G, improvement, dtype=object))
    if isinstance(target, str):
        tgt = pd.to_numeric(p[target], errors="coerce").to_numpy(dtype="float64")[last]
    else:
        tgt = np.full(G, np.nan if target is None else float(target))
    lo, up = p["lower"].to_numpy()[last], p["upper"].to_numpy()[last]
    assure = [assurance(None if np.isnan(t) else t, a, b, str(i)) for t, a, b, i in zip(tgt, lo, up, imp)]

    out = p.iloc[last][by_cols].reset_index(drop=True) if by_cols else pd.DataFrame(index=range(G))
    out["n"] = size
    out["variation"] = pd.array(variation, dtype="str")
    out["assurance"] = pd.array(assure, dtype="str")
    out["n_improvement"] = n_imp
    out["n_concern"] = n_con
    out["trial_limits"] = latest_n < trial_threshold
    return out
