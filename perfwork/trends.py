"""Change over time: direction of travel, SPC on the monthly series, and the Fingertips recent trend.

Three views of the same question, "is it getting better or worse?":

- ``change``: the latest 12 months against the 12 before (rolling 12-month values), with the exact
  conditional Poisson test (``stats.poisson_change_test``: given x1 + x2, x2 ~ Binomial(x1 + x2, t2 / (t1 + t2));
  exposures t = the denominators, i.e. populations or households for rates per head, the crimes for
  outcome proportions, 1 for counts). Direction of travel with polarity: improving / deteriorating / no
  significant change (increasing / decreasing for indicators without a judgement). A window that touches a
  missing month is "incomplete" and is never read as a drop.
- ``spc``: an XmR chart (NHS "Making Data Count" rules, ``spc.xmr_frame``) of the monthly values (all months
  to the period end by default), improvement from polarity (low is good -> "decrease"). Missing months are
  gaps: no moving range bridges them and they break every run. Variation icon = the period-end point's type
  ("incomplete" when that month is missing); assurance when a target is set.
- ``fy_trend``: the Fingertips recent-trend marker (``stats.trend_marker``) on financial-year values, the last
  5 years to each period end (financial-year values are the rolling 12 months ending in March).

Police recorded crime is a full count, not a sample: these tests model random (Poisson) variation, and a
change in recording practice is not random. A significant change says "this is not noise", not "crime rose".
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import periods, stats
from . import spc as _spc
from .errors import NotFound
from .frames import as_object, polarity_sign, row_keys
from .vocab import Direction, Improvement, SpcVariation, Travel

IMPROVEMENT = {"low_is_good": Improvement.DECREASE.value, "high_is_good": Improvement.INCREASE.value,
               "none": Improvement.NEUTRAL.value}
CHANGE_LEVEL = 0.95
SPC_MONTHS: int | None = None  # all months to the period end (NHS practice: use all the data unless rebased)
RECORDING_NOTE = ("recorded crime is a full count: the tests model random (Poisson) variation, not changes in "
                  "recording practice")


# ---------------------------------------------------------------------------------------------------- change
def change(values: pd.DataFrame, level: float = CHANGE_LEVEL) -> pd.DataFrame:
    """Last 12 months against the previous 12, for every row of a rolling-12 ``indicators()`` frame.

    Adds prev_value, prev_numerator, prev_denominator, change_pct ((value / prev_value - 1) x 100),
    monthly_change ((value - prev_value) / 12: the current rate of change per month, used for projections),
    rate_ratio, rr_lower, rr_upper (the ``level`` interval), p_value, direction (increase / decrease /
    no significant change / incomplete / no previous period), travel (improving / deteriorating / no significant
    change / increasing / decreasing / incomplete / no previous period) and change_method.
    """
    cols = change_arrays(values, level=level)
    out = values.reset_index(drop=True)
    for c, v in cols.items():
        out[c] = v
    return out


def change_arrays(values: pd.DataFrame, rows: np.ndarray | None = None, level: float = CHANGE_LEVEL) -> dict:
    """The work of ``change`` as {column: array}; with ``rows`` (a boolean mask) only for those rows."""
    if "period" in values.columns and not (values["period"] == "rolling12").all():
        raise ValueError("change() needs rolling 12-month values (indicators(period='rolling12'))")
    areas = pd.Index(pd.unique(values["area_code"]))
    inds = pd.Index(pd.unique(values["indicator"]))
    keys = pd.Index(row_keys(values, areas, inds))
    if not keys.is_unique:
        raise ValueError("change(): values hold the same area, indicator and period end twice")
    sel = np.arange(len(values)) if rows is None else np.flatnonzero(rows)
    prev_at = keys.get_indexer(keys.to_numpy()[sel] - 12)       # the row 12 months before, or -1
    has_prev = prev_at >= 0
    pa = np.where(has_prev, prev_at, 0)

    def col(name):
        return pd.to_numeric(values[name], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)

    def prev(x):
        return np.where(has_prev, x[pa], np.nan)

    kind = as_object(values["kind"])[sel]
    num, den, val = col("numerator"), col("denominator"), col("value")
    x1, x2 = prev(num), num[sel]
    # a count's exposure is 1 (or the share of its months with data, when annualised: indicators(partial=))
    t1 = np.where((kind == "count") & np.isnan(prev(den)), 1.0, prev(den))
    t2 = np.where((kind == "count") & np.isnan(den[sel]), 1.0, den[sel])
    ok = has_prev & ~np.isnan(x1) & ~np.isnan(x2) & (t1 > 0) & (t2 > 0)
    rr = np.full(len(sel), np.nan)
    lo, hi, p = rr.copy(), rr.copy(), rr.copy()
    if ok.any():
        test = stats.poisson_change_test(x1[ok], x2[ok], t1[ok], t2[ok], level=level)
        rr[ok], lo[ok], hi[ok], p[ok] = (test[c].to_numpy() for c in ("rate_ratio", "lower", "upper", "p_value"))
    value, pv = val[sel], prev(val)
    out: dict = {"prev_value": pv, "prev_numerator": x1, "prev_denominator": np.where(kind == "count", np.nan, t1)}
    with np.errstate(invalid="ignore", divide="ignore"):
        out["change_pct"] = (value / pv - 1) * 100
        out["monthly_change"] = (value - pv) / 12
    out["rate_ratio"], out["rr_lower"], out["rr_upper"], out["p_value"] = rr, lo, hi, p
    alpha = 1 - level
    with np.errstate(invalid="ignore"):
        sig = ok & (p < alpha)
    up = sig & (value > pv)
    down = sig & (value < pv)
    out["direction"] = np.select([~has_prev, ~ok, up, down],
                                 _words(Direction.NO_PREVIOUS, Direction.INCOMPLETE, Direction.INCREASE,
                                        Direction.DECREASE), Direction.NO_CHANGE.value).astype(object)
    good_way = polarity_sign(as_object(values["polarity"])[sel]) * (up.astype(float) - down)  # > 0 improving
    out["travel"] = np.select([~has_prev, ~ok, good_way > 0, good_way < 0, up, down],
                              _words(Travel.NO_PREVIOUS, Travel.INCOMPLETE, Travel.IMPROVING, Travel.DETERIORATING,
                                     Travel.INCREASING, Travel.DECREASING), Travel.NO_CHANGE.value).astype(object)
    if "label" in values.columns:
        lab_code, lab_uni = pd.factorize(values["label"])
        per_house = np.array(["household" in str(x).lower() for x in lab_uni] + [False])[lab_code][sel]
    else:
        per_house = np.zeros(len(sel), dtype=bool)
    head = "exact conditional Poisson test, last 12 months vs previous 12, "
    tail = f", two-sided p < {alpha:g}"
    texts = np.array([head + e + tail for e in ("exposure 1", "exposures = the crimes", "exposures = households",
                                                 "exposures = population")], dtype=object)
    out["change_method"] = texts[np.select([kind == "count", kind == "proportion", per_house], [0, 1, 2], 3)]
    return out


def _words(*members) -> list[str]:
    return [m.value for m in members]


def p_text(p: float) -> str:
    if pd.isna(p):
        return ""
    if p < 0.001:
        return "p<0.001"
    if p < 0.01:
        return f"p={p:.3f}"
    return f"p={p:.2f}"


# ---------------------------------------------------------------------------------------------------- SPC
SPC_BLOCK = 1000   # charts per XmR pass in ``spc``: about 50,000 points


def spc(monthly: pd.DataFrame, period_end=None, months: int | None = SPC_MONTHS, targets: pd.DataFrame | None = None,
        screen_outliers: bool = True, mode: str = "chart") -> pd.DataFrame:
    """XmR on each area's monthly series of each indicator, read at each period end.

    ``monthly``: an ``indicators(period="month")`` frame (incomplete months have no value: gaps).
    ``period_end``: a month, a list of months, or None for the latest month in ``monthly``.
    ``months``: the chart's span, the months to its end (None = all months available).
    ``mode``: "chart" (default) draws one chart per series ending at the latest requested period end, and
    each period end reads its own month's point on it (as a reader of that chart would; with several period
    ends the limits of earlier ones use later months too); "asof" draws a separate chart ending at every
    period end (what was knowable then; slower). With a single period end both are the same chart.
    ``targets``: optional frame with area_code, indicator, target_value (rolling-12 scale) for the assurance
    icon; the monthly target is target_value / 12 for rates and counts (monthly rates are not annualised),
    target_value for proportions.

    One row per area, indicator and period end: spc_points (observed points on the chart to the period end),
    spc_mean, spc_lower, spc_upper, spc_variation (the period-end point's type: common_cause /
    special_cause_improvement / special_cause_concern / special_cause_neutral_high / _low; "incomplete" when
    that month is missing), spc_rule (the rule that flagged it: outside_limits / trend / two_of_three / shift),
    spc_shift (a 7-point shift anywhere on the chart up to the period end), spc_signals (special-cause points
    in the 12 months to the period end), spc_trial (fewer than 13 points), spc_improvement, spc_assurance and
    spc_method.

    Long on purpose: one vectorised pass over every series at once (the value matrix, the charts, reading them
    at each period end) whose steps share a dozen arrays.
    """
    if mode not in ("chart", "asof"):
        raise ValueError(f"mode {mode!r}: expected 'chart' or 'asof'")
    m = monthly[["area_code", "indicator", "period_end", "value", "polarity", "kind"]]
    all_months = pd.DatetimeIndex(sorted(m["period_end"].unique()))
    ends = periods.select(all_months, period_end, kind="monthly")
    pos = all_months.get_indexer(ends)
    span = len(all_months) if months is None else int(months)

    sid = m.groupby(["area_code", "indicator"], sort=False).ngroup().to_numpy()
    keys = m[["area_code", "indicator", "polarity", "kind"]].drop_duplicates(["area_code", "indicator"])
    n_series = len(keys)
    Y = np.full((n_series, len(all_months)), np.nan)
    Y[sid, all_months.get_indexer(m["period_end"])] = m["value"].to_numpy(dtype="float64", na_value=np.nan)
    improvement = keys["polarity"].map(IMPROVEMENT).to_numpy(dtype=object)

    # Charts: (series, first month, last month). chart mode: one per series; asof: one per series and end.
    chart_ends = pos[-1:] if mode == "chart" else pos
    c_series = np.repeat(np.arange(n_series), len(chart_ends))
    c_end = np.tile(chart_ends, n_series)
    c_start = np.maximum(c_end - span + 1, 0)
    length = c_end - c_start + 1
    offset = np.concatenate([[0], np.cumsum(length)[:-1]])
    n_pts = int(length.sum())
    chart = np.repeat(np.arange(len(c_series)), length)
    month = c_start[chart] + (np.arange(n_pts) - offset[chart])
    y = Y[c_series[chart], month]

    ptype = np.full(n_pts, -1, dtype=np.int64)
    rule = np.full(n_pts, -1, dtype=np.int64)
    mean, lower, upper = (np.full(n_pts, np.nan) for _ in range(3))
    method = "XmR"
    imp_pt = improvement[c_series[chart]]
    for direction in ("increase", "decrease", "neutral"):
        every = np.flatnonzero(imp_pt == direction)
        # charts are independent: read them SPC_BLOCK at a time, so that the working frames stay small
        blocks = chart[every] // SPC_BLOCK
        for sel in np.split(every, np.flatnonzero(np.diff(blocks)) + 1) if every.size else ():
            pts = _spc.xmr_frame(pd.DataFrame({"chart": chart[sel], "value": y[sel]}), by="chart", value="value",
                                 improvement=direction, screen_outliers=screen_outliers)
            method = pts.attrs.get("method", method)
            ptype[sel] = pts["point_type"].cat.codes.to_numpy()
            rule[sel] = pts["special_cause"].cat.codes.to_numpy()
            mean[sel], lower[sel], upper[sel] = (pts[c].to_numpy() for c in ("mean", "lower", "upper"))

    # Read each chart at each of its period ends with cumulative sums along the chart.
    obs = ~np.isnan(y)
    special = ptype >= 1
    shift_code = list(_spc.RULES).index("shift")
    cum = lambda a: np.cumsum(a.astype(np.int64))  # noqa: E731
    c_obs, c_special, c_shift = cum(obs), cum(special), cum(rule == shift_code)
    if mode == "chart":
        r_chart = np.repeat(np.arange(n_series), len(ends))
        r_end = np.tile(pos, n_series)
    else:
        r_chart = np.arange(len(c_series))
        r_end = c_end
    at = offset[r_chart] + (r_end - c_start[r_chart])          # flat index of the period-end point
    first = offset[r_chart]
    on_chart = r_end >= c_start[r_chart]
    at = np.where(on_chart, at, first)

    def upto(c, i):                                               # sum over chart points first..i
        return c[i] - np.where(first > 0, c[first - 1], 0)

    recent_from = np.maximum(at - 11, first)
    signals = c_special[at] - np.where(recent_from > 0, c_special[recent_from - 1], 0)
    types = np.array(list(_spc.POINT_TYPES) + [None], dtype=object)
    rules = np.array(list(_spc.RULES) + [None], dtype=object)
    variation = np.where(obs[at], types[ptype[at]], SpcVariation.INCOMPLETE.value).astype(object)
    last_rule = np.where(obs[at], rules[rule[at]], None).astype(object)
    last_rule = np.where(last_rule == "", None, last_rule)
    n_obs = upto(c_obs, at)
    s_of_row = c_series[r_chart]
    out = pd.DataFrame({
        "area_code": keys["area_code"].to_numpy()[s_of_row],
        "indicator": keys["indicator"].to_numpy()[s_of_row],
        "period_end": all_months[r_end],
        "spc_points": n_obs,
        "spc_mean": mean[at],
        "spc_lower": lower[at],
        "spc_upper": upper[at],
        "spc_variation": variation,
        "spc_rule": last_rule,
        "spc_shift": upto(c_shift, at) > 0,
        "spc_signals": signals,
        "spc_trial": n_obs < _spc.TRIAL_LIMIT_POINTS,
        "spc_improvement": improvement[s_of_row],
    })
    out = out[on_chart].reset_index(drop=True)
    out["spc_assurance"] = None
    if targets is not None and len(targets):
        t = out[["area_code", "indicator"]].merge(
            targets[["area_code", "indicator", "target_value"]].drop_duplicates(["area_code", "indicator"]),
            how="left", on=["area_code", "indicator"])
        kind = out["indicator"].map(keys.drop_duplicates("indicator").set_index("indicator")["kind"]).to_numpy()
        tv = t["target_value"].to_numpy(dtype="float64", na_value=np.nan)
        monthly_target = np.where(kind == "proportion", tv, tv / 12)
        has = ~np.isnan(monthly_target)
        out.loc[has, "spc_assurance"] = [
            _spc.assurance(tv_, lo, up, imp) for tv_, lo, up, imp in
            zip(monthly_target[has], out["spc_lower"][has], out["spc_upper"][has], out["spc_improvement"][has])]
    span_txt = "all months" if months is None else f"up to {span} months"
    how = ("one chart per period end" if mode == "asof" or len(ends) == 1
           else f"one chart to {ends[-1]:%b %Y}, read at each period end")
    out["spc_method"] = f"{method}; {span_txt} to period end, {how}; improvement from polarity"
    return out


# ---------------------------------------------------------------------------------------------------- FY trend
def fy_values(rolling12: pd.DataFrame) -> pd.DataFrame:
    """Financial-year values from a rolling-12 frame: the windows ending in March (April to March)."""
    fy = rolling12[rolling12["period_end"].dt.month == 3]
    return fy.assign(period="fy", fy_end_year=fy["period_end"].dt.year)


def fy_trend(rolling12: pd.DataFrame, period_end=None, points: int = 5) -> pd.DataFrame:
    """The Fingertips recent-trend marker on financial-year values, as at each period end.

    Uses the last ``points`` complete-or-not financial years ending on or before each period end (a year
    touching a missing month has no value, so the trend "Cannot be calculated"). Returns area_code,
    indicator, period_end, trend_points, recent_trend (Increasing / Decreasing / No significant change /
    Cannot be calculated), trend_marker (with polarity: "Increasing and getting worse"...), trend_reason
    and trend_method.
    """
    fy = fy_values(rolling12)
    ends = periods.months(rolling12["period_end"] if period_end is None else period_end)
    cols = ["area_code", "indicator", "period_end", "trend_points", "recent_trend", "trend_marker",
            "trend_reason", "trend_method"]
    if fy.empty:
        return pd.DataFrame(columns=cols)
    fy_ends = pd.DatetimeIndex(sorted(fy["period_end"].unique()))
    # each period end reads the latest financial year ending on or before it
    asof = pd.Series(fy_ends[np.maximum(fy_ends.searchsorted(ends, side="right") - 1, 0)], index=ends)
    asof = asof[asof.index >= fy_ends[0]]
    frames = []
    for e in asof.drop_duplicates():
        frames.append(fy[fy["period_end"] <= e].assign(asof=e))
    data = pd.concat(frames, ignore_index=True)
    results = []
    # stats.trend_marker reads the trend with one polarity per call ("Increasing and getting worse" ...)
    for (proportion, polarity), part in data.groupby([data["kind"] == "proportion", data["polarity"]]):
        if proportion:
            r = stats.trend_marker(part, year="fy_end_year", kind="proportion", numerator="numerator",
                                   denominator="denominator", value=None, lower=None, upper=None,
                                   by=["area_code", "indicator", "asof"], polarity=polarity, points=points)
        else:
            r = stats.trend_marker(part, year="fy_end_year", kind="other", value="value", lower="lower",
                                   upper="upper", by=["area_code", "indicator", "asof"], polarity=polarity,
                                   points=points)
        results.append(r.assign(trend_method=r.attrs.get("method", "Fingertips recent trend")))
    res = pd.concat(results, ignore_index=True)
    res = res.rename(columns={"n_points": "trend_points", "recent_trend_reason": "trend_reason"})
    res["trend_points"] = np.minimum(res["trend_points"], points)
    link = pd.DataFrame({"period_end": asof.index, "asof": asof.to_numpy()})
    out = link.merge(res, on="asof")
    return out[cols]


def spc_points(monthly: pd.DataFrame, area: str, indicator: str, period_end=None,
               months: int | None = SPC_MONTHS, screen_outliers: bool = True) -> pd.DataFrame:
    """The points of one area's XmR chart for one indicator (for charts and reading a signal in detail):
    period_end, value, mean, limits, special_cause, point_type ... (``spc.xmr_frame`` columns)."""
    s = monthly[(monthly["area_code"] == area) & (monthly["indicator"] == indicator)].sort_values("period_end")
    if s.empty:
        raise NotFound(f"no monthly values for {area} {indicator}")
    if period_end is not None:
        s = s[s["period_end"] <= periods.month(period_end)]
    if months is not None:
        s = s.tail(int(months))
    improvement = IMPROVEMENT[str(s["polarity"].iloc[0])]
    pts = _spc.xmr_frame(s[["period_end", "value"]].reset_index(drop=True), value="value", improvement=improvement,
                         screen_outliers=screen_outliers)
    pts.insert(0, "period_end", s["period_end"].to_numpy())
    pts.attrs["improvement"] = improvement
    return pts


def spc_points_all(monthly: pd.DataFrame, period_end=None, months: int | None = SPC_MONTHS,
                   screen_outliers: bool = True) -> pd.DataFrame:
    """``spc_points`` for every area and indicator of ``monthly`` at once (one ``xmr_frame`` pass per improvement
    direction): area_code, indicator, then the ``spc_points`` columns, sorted by area, indicator and month.
    ``period_end``: one month for every area, or a Series of period ends by area code (each area's own, as
    ``Assessment.spc`` reads it; an area it does not name is not cut)."""
    s = monthly.sort_values(["area_code", "indicator", "period_end"], kind="stable")
    if isinstance(period_end, pd.Series):
        own = s["area_code"].map(period_end)
        s = s[own.isna() | (s["period_end"] <= own)]
    elif period_end is not None:
        s = s[s["period_end"] <= pd.Timestamp(period_end)]
    if months is not None:
        s = s.groupby(["area_code", "indicator"], sort=False).tail(int(months))
    s = s.assign(improvement=s["polarity"].astype(str).map(IMPROVEMENT)).reset_index(drop=True)
    parts = []
    for direction, rows in s.groupby("improvement", sort=False):
        pts = _spc.xmr_frame(rows[["area_code", "indicator", "value"]], by=["area_code", "indicator"],
                             value="value", improvement=direction, screen_outliers=screen_outliers)
        pts.insert(2, "period_end", rows["period_end"].to_numpy())
        parts.append(pts)
    out = pd.concat(parts).sort_index()
    return out.reset_index(drop=True)
