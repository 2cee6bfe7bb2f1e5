"""The assessment table: one row per area x indicator (x period end), every judgement with its method.

A partnership asks three questions of every indicator: is it better or worse than its peers (Most Similar
Group benchmark, PHE significance, rank), is it getting better or worse (last 12 months against the previous
12, SPC, Fingertips trend) and is it on track for its target? ``assess`` answers all three for every area of a
level at once, flags exceptions with the reasons in words and orders them by priority.

Exception rule (``EXCEPTION_RULE``), any of:

- worse than the MSG benchmark at 99.8% (the area's own 99.8% limits clear the benchmark) and beyond the
  iQuanta band (more than 1 SD of members' values from the group mean): significant and material. Crime rates
  vary between areas far more than Poisson allows, so the 99.8% test alone flags about a third of areas;
- deteriorating: a significant change (p < 0.05, exact test) the wrong way by at least ``min_change_pct``
  (default 10%) on the previous 12 months;
- SPC special cause of concern at the period end;
- off track for its target.

Outcome lag: the outcomes of recent crimes are still open (police.uk updates them for months), so outcome
indicators (numerators of ``<category>:<outcome>`` measures) always seem to fall in the latest months. For
12-month windows ending within ``outcome_lag_months`` (default 12) of the data's last month, their change and
SPC findings are reported in ``notes`` but raise no exception (the peer comparison stays: every area is
equally lagged).

Weaker findings (worse than MSG at 95% only or within the band, a smaller significant deterioration, at risk
for target, incomplete data, outcome lag) go in ``notes``, not in ``reasons``.

Priority (``PRIORITY_RULE``): framework weight x severity, severity = 3 (worse than MSG 99.8%) + 2 (deteriorating;
3 when p < 0.001) + 2 (SPC concern) + 3 (off track), x 1.5 for the framework's priority indicators; exceptions
first, highest priority first.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from . import peers as _peers
from . import periods
from . import targets as _targets
from . import trends as _trends
from .dataset import Dataset
from .errors import UsageError
from .frames import as_object, index_of, polarity_sign, row_keys
from .framework import load_framework
from .provenance import RunRecord
from .values import indicators
from .vocab import PeerJudgement, Significance, SpcVariation, TargetStatus, Travel

LEVELS = ("csp", "force")
MIN_CHANGE_PCT = 10.0
OUTCOME_LAG_MONTHS = 12
EXCEPTION_RULE = ("exception when any of: worse than the MSG benchmark at 99.8% and beyond the 1 SD band; "
                  "deteriorating (exact test p < 0.05) by at least {min}% on the previous 12 months; SPC special "
                  "cause of concern at the period end; off track for target (change and SPC of outcome "
                  "indicators within {lag} months of the data's end: notes only, outcome lag)")
PRIORITY_RULE = ("priority = framework weight x severity (worse than MSG 99.8%: 3; deteriorating: 2, 3 when "
                 "p < 0.001; SPC concern: 2; off track: 3) x 1.5 for priority indicators")
SEVERITY = {"msg": 3.0, "deteriorating": 2.0, "deteriorating_strong": 3.0, "spc": 2.0, "target": 3.0}

COLUMNS = [
    "area_code", "area_name", "level", "period_start", "period_end", "domain", "indicator", "label", "kind",
    "polarity", "weight", "exception", "priority", "reasons", "notes",
    "numerator", "denominator", "value", "lower", "upper", "value_method", "complete", "coverage",
    "period_basis",
    "benchmark", "band_lower", "band_upper", "significance", "peer_judgement", "group_rank", "group_size",
    "quartile", "best_quartile", "peers_n", "peers_with_data", "group_k", "benchmark_method",
    "significance_method", "band_method",
    "prev_value", "change_pct", "rate_ratio", "rr_lower", "rr_upper", "p_value", "direction", "travel",
    "change_method",
    "spc_variation", "spc_rule", "spc_shift", "spc_signals", "spc_assurance", "spc_method",
    "recent_trend", "trend_marker", "trend_method",
    "target", "target_value", "trajectory", "projection", "target_status", "target_rule",
    "gap_to_benchmark", "gap_months", "gap_status", "gap_to_best_quartile", "bq_months", "bq_status", "gap_method",
    "exception_rule", "priority_rule",
]


WITHIN_DATA = "within-data"


def groups_for(dataset: Dataset, peers, level: str, k, weights=None,
               method: str | None = None) -> pd.DataFrame:
    """The peer groups ``assess`` uses: built by ``method`` (None or "national"; "within-data": only among the
    areas with data), given (a frame) or loaded (a CSV path)."""
    if peers is None or (isinstance(peers, str) and peers == "national"):
        return _peers.most_similar(dataset, k=k, level=level, weights=weights, method=method)
    if isinstance(peers, str) and peers == WITHIN_DATA:
        return _peers.most_similar(dataset, k=k, level=level, weights=weights, method=method,
                                   among=_peers.areas_with_data(dataset, level))
    if isinstance(peers, pd.DataFrame):
        return peers
    if isinstance(peers, (str, Path)):
        return _peers.load_groups(peers, dataset=dataset, level=level, k=k)
    raise TypeError(f"peers: expected None (build Most Similar Groups), a groups frame or a CSV path; "
                    f"got {type(peers)}")


def assess(dataset: Dataset, area: str | None = None, period_end=None, level: str = "csp",
           framework="national", peers=None, targets=None, *, k: int | None = None, method: str | None = None,
           benchmark: str = "pooled",
           include_self: bool = True, overdispersion: str = "none", min_change_pct: float = MIN_CHANGE_PCT,
           outcome_lag_months: int = OUTCOME_LAG_MONTHS, spc_months: int | None = _trends.SPC_MONTHS,
           spc_mode: str = "chart", values: dict[str, pd.DataFrame] | None = None,
           min_peers: int = _peers.MIN_PEERS, partial: str | None = None, weights=None) -> pd.DataFrame:
    """The judgement table for one area (``area=`` code or name) or every area of ``level`` (csp or force).

    period_end: None (each area at the latest 12 months its own data allow: the latest period end with the most
    indicator values for that area, so an area whose force's files stop earlier is judged where they stop; the
    ``period_basis`` column says which and, without a complete window, names the missing months), "latest" (the
    latest period end of the data, for every area), a month ("2025-03"), a list of months, or "all" (every
    period end: the whole history). partial: None, or "annualise" to give windows touching missing months a value
    from the months with data (``indicators(partial=)``; flagged "11 of 12 months"). peers: None or "national"
    (Most Similar Groups built from the dataset's characteristics, ``k`` members chosen by
    ``method`` as ``peers.most_similar``, ``weights`` a weight set),
    "within-data" (groups only among the areas with data, labelled so), a groups frame (``peers.most_similar``
    / ``peers.load_groups``) or a CSV path for ``load_groups``. min_peers: peers with data a benchmark needs
    (default 5; the area itself never counts). targets: None, a frame from ``targets.load_targets``, or anything
    it accepts (a file, folder, name, or "demo"; the demo targets apply where their areas are in the data).
    benchmark "pooled" | "mean", include_self, overdispersion ("none" | "auto" | "always") choose the peer
    comparison (``peers.compare``); min_change_pct and outcome_lag_months tune the exception rule (module
    docstring); spc_months / spc_mode the SPC charts (``trends.spc``). values: optional precomputed
    ``indicators()`` frames, {"rolling12": ..., "month": ...}, for the same dataset, framework and level
    (saves recomputing them; frames of another level, period or framework are refused). ``pw.assess_all`` does
    this for every area at once and keeps the result.

    Returns one row per area, indicator and period end (``COLUMNS``), newest period end first, then exceptions
    first by priority; every judgement column comes with its method column. ``.attrs["method"]`` holds the
    method texts too (kept for readers of earlier versions; the run record of ``pw.assess_all`` carries them).
    All areas are judged at once: the peer comparison, change tests and SPC charts are vectorised over areas,
    indicators and period ends.
    """
    if level not in LEVELS:
        raise UsageError(f"level {level!r}: assess works for {' and '.join(LEVELS)}")
    fw = load_framework(framework)
    code = area_code(dataset, area, level)
    r12 = _given(values, "rolling12", fw, level)
    if r12 is None:
        r12 = indicators(dataset, fw, period="rolling12", level=level, partial=partial)
    r12 = r12.reset_index(drop=True)
    mine_mask = np.ones(len(r12), dtype=bool) if code is None else (r12["area_code"] == code).to_numpy()
    monthly = _given(values, "month", fw, level)
    if monthly is None:
        monthly = indicators(dataset, fw, period="month", level=level, areas=code)
    elif code is not None:
        monthly = monthly[monthly["area_code"] == code]
    if period_end is None:
        basis = _own_period_ends(dataset, r12, mine_mask, monthly, partial)
        chosen = r12["area_code"].map(basis["period_end"])
        cur_mask = (r12["period_end"] == chosen).to_numpy() & mine_mask
        ends = pd.DatetimeIndex(pd.unique(r12.loc[cur_mask, "period_end"])).sort_values()
    else:
        basis = None
        ends = periods.select(r12["period_end"], period_end)
        cur_mask = r12["period_end"].isin(ends).to_numpy() & mine_mask
    groups = groups_for(dataset, peers, level, k, weights, method)
    groups_used = groups
    if code is not None:
        groups_used = groups[groups["area_code"] == code]
        groups_used.attrs = groups.attrs
        if groups_used.empty:
            raise UsageError(f"no peer group for {code} in the groups given")

    # The rows to judge: the assessed areas at their period ends (positions in r12); peers at every such end.
    at_end = r12["period_end"].isin(ends).to_numpy()
    current = r12[at_end] if not at_end.all() else r12
    j = _Judged(r12[cur_mask].reset_index(drop=True) if not cur_mask.all() else r12, fw)

    # Peers: every area's value is needed for the benchmark; the assessed rows come back.
    cmask, ccols = _peers.compare_arrays(current, groups_used, benchmark=benchmark, include_self=include_self,
                                         overdispersion=overdispersion, min_peers=min_peers)
    pos = np.full(len(current), -1)
    pos[cmask] = np.arange(int(cmask.sum()))
    pos = pos[cur_mask[at_end]]                                     # judged row -> compared row (or -1)
    j.cols.update({c: _take(v, pos, j.n) for c, v in ccols.items()})

    # Change: last 12 months vs the previous 12 (tests only on the judged rows).
    mine = r12[mine_mask] if code is not None else r12
    ch = _trends.change_arrays(mine, rows=cur_mask[mine_mask] if code is not None else cur_mask)
    j.cols.update({c: ch[c] for c in ("prev_value", "change_pct", "monthly_change", "rate_ratio", "rr_lower",
                                      "rr_upper", "p_value", "direction", "travel", "change_method")})

    tg = None
    if targets is not None:
        tg = load_targets(targets, fw, dataset)
        tg = tg[tg["area_code"].isin(j.areas)].reset_index(drop=True)
    if tg is not None and len(tg):
        j.align(_targets.progress(mine, tg, period_end=ends).rename(columns={"description": "target"}),
                TARGET_COLUMNS)
    else:
        j.blank(TARGET_COLUMNS, numeric=("target_value", "trajectory", "projection"))

    sp = _trends.spc(monthly, period_end=ends, months=spc_months, mode=spc_mode,
                     targets=None if tg is None or not len(tg) else _targets.target_values(tg, mine))
    j.align(sp, ["spc_variation", "spc_rule", "spc_shift", "spc_signals", "spc_assurance", "spc_method"])
    j.align(_trends.fy_trend(mine, period_end=ends), ["recent_trend", "trend_marker", "trend_method"])
    _gaps(j)
    _exceptions(j.cols, j.cur, min_change_pct, j.weight * j.boost,
                j.lagged(periods.months_before(r12["period_end"].max(), outcome_lag_months)),
                _no_value_notes(dataset, fw, j.cur))
    if basis is not None:
        j.cols["period_basis"] = as_object(j.cur["area_code"].map(basis["period_basis"]))
    rule_txt = EXCEPTION_RULE.format(min=f"{min_change_pct:g}", lag=outcome_lag_months)
    j.cols["exception_rule"] = rule_txt
    j.cols["priority_rule"] = PRIORITY_RULE
    out = j.table()
    out.attrs["method"] = _methods(out, groups, j.cols["gap_method"], rule_txt)
    return out


TARGET_COLUMNS = ["target", "target_value", "trajectory", "projection", "target_status", "target_rule"]


def area_code(dataset: Dataset, area, level: str) -> str | None:
    """The code of ``area`` (code or name), which must be of ``level``; None for None."""
    if area is None:
        return None
    row = dataset.area(area)
    if row["level"] != level:
        raise UsageError(f"{row['area_code']} ({row['area_name']}) is a {row['level']}, not a {level}; "
                         f"pass level={row['level']!r}")
    return row["area_code"]


def _given(values: dict | None, period: str, fw, level: str) -> pd.DataFrame | None:
    """A precomputed indicators() frame from ``values``, refused when it was made for another level, period or
    framework (a cache must match what the result depends on)."""
    v = (values or {}).get(period)
    if v is None:
        return None
    got = {"level": set(pd.unique(v["level"])), "period": set(pd.unique(v["period"])),
           "indicators": set(pd.unique(v["indicator"]))}
    want = {"level": {level}, "period": {period}, "indicators": {i.id for i in fw}}
    for what in ("level", "period", "indicators"):
        if len(v) and got[what] != want[what]:
            raise ValueError(f"values[{period!r}]: {what} {', '.join(sorted(map(str, got[what])))[:200]}; "
                             f"expected {', '.join(sorted(want[what]))[:200]} (framework {fw.name!r}, level "
                             f"{level!r})")
    return v


class _Judged:
    """The rows being judged and the columns computed for them, aligned row by row."""

    def __init__(self, cur: pd.DataFrame, fw) -> None:
        self.cur, self.fw, self.n = cur, fw, len(cur)
        self.areas = pd.Index(pd.unique(cur["area_code"]))
        self.inds = pd.Index([i.id for i in fw])
        self.keys = pd.Index(row_keys(cur, self.areas, self.inds))
        self.ind_codes = index_of(cur["indicator"], self.inds)
        self.weight = np.array([i.weight for i in fw], dtype="float64")[self.ind_codes]
        self.boost = np.where(np.array([i.priority for i in fw])[self.ind_codes], 1.5, 1.0)
        self.cols: dict = {"weight": self.weight, "value_method": as_object(cur["method"])}

    def align(self, frame: pd.DataFrame, names) -> None:
        """Columns ``names`` of a frame keyed by area, indicator and period end, onto the judged rows."""
        if not len(frame):
            self.blank(names)
            return
        at = pd.Index(row_keys(frame, self.areas, self.inds)).get_indexer(self.keys)
        for c in names:
            if pd.api.types.is_numeric_dtype(frame[c]) or pd.api.types.is_bool_dtype(frame[c]):
                self.cols[c] = _take(frame[c].to_numpy(), at, self.n)
            else:
                self.cols[c] = _take(as_object(frame[c]), at, self.n)

    def blank(self, names, numeric=()) -> None:
        for c in names:
            self.cols[c] = np.full(self.n, np.nan) if c in numeric else np.full(self.n, None, dtype=object)

    def lagged(self, since: pd.Timestamp) -> np.ndarray:
        """Outcome indicators (numerators of outcome measures) in windows ending after ``since``."""
        outcome = np.array([any(":" in m for m in i.numerator) for i in self.fw])[self.ind_codes]
        return outcome & (self.cur["period_end"] > since).to_numpy()

    def table(self) -> pd.DataFrame:
        """The judged rows with their columns in ``COLUMNS`` order: newest period end first, then exceptions,
        highest priority first, then area and framework order."""
        cols, cur, n = self.cols, self.cur, self.n
        base = [c for c in COLUMNS if c in cur.columns and c not in cols]
        order = np.lexsort((self.ind_codes, index_of(cur["area_code"], self.areas), -cols["priority"],
                            ~cols["exception"], -cur["period_end"].to_numpy().astype("int64")))
        sorted_cols = {c: (v if np.isscalar(v) or v is None else v[order]) for c, v in cols.items()}
        table = pd.concat([cur[base].take(order).reset_index(drop=True),
                           pd.DataFrame({c: _full(v, n) for c, v in sorted_cols.items()})], axis=1)
        return table[[c for c in COLUMNS if c in table.columns]]


def _gaps(j: _Judged) -> None:
    """Gap closing at the current rate of change, to the MSG benchmark and to the group's best quartile."""
    pol = as_object(j.cur["polarity"])
    value = j.cur["value"].to_numpy(dtype="float64", na_value=np.nan)
    c = j.cols
    c["gap_months"], c["gap_status"] = _targets.gap_arrays(value, c["benchmark"], c["monthly_change"], pol,
                                                           "benchmark")
    c["bq_months"], c["bq_status"] = _targets.gap_arrays(value, c["best_quartile"], c["monthly_change"], pol,
                                                         "best quartile")
    c["gap_method"] = ("months to reach the MSG benchmark (and the group's best quartile) at the current rate "
                       "of change: (value - value 12 months before) / 12 per month")


# Judgements whose method text can differ by row (e.g. the trend test of proportions): the table-level text is
# that of its first row, and the columns hold every row's.
FIRST_ROW_METHODS = {"benchmark": "benchmark_method", "band": "band_method", "spc": "spc_method",
                     "trend": "trend_method"}


def method_texts(rows: pd.DataFrame, base: dict[str, str],
                 groups: pd.DataFrame | None = None) -> dict[str, str]:
    """``base`` (the method of every judgement) with the row-dependent texts read from ``rows``, and with
    ``groups`` the balance of the groups of the areas in ``rows`` (one area: its group's, in words)."""
    def first(name):
        v = rows[name].dropna() if name in rows.columns else pd.Series(dtype=object)
        return str(v.iloc[0]) if len(v) else ""

    out = {**base, **{k: first(c) for k, c in FIRST_ROW_METHODS.items()}}
    if groups is not None:
        judged = groups[groups["area_code"].isin(rows["area_code"])]
        out["balance"] = _peers.balance_summary(_peers.balance_table(judged))
    return out


def _methods(out: pd.DataFrame, groups: pd.DataFrame, gap_method: str, rule_txt: str) -> dict[str, str]:
    """The method of every judgement, in words (one text per judgement; the columns have them row by row)."""
    return method_texts(out, {
        "groups": _peers.groups_method(groups), "balance": "",
        "benchmark": "", "band": "",
        "change": "exact conditional Poisson test, last 12 months vs previous 12; " + _trends.RECORDING_NOTE,
        "spc": "", "trend": "",
        "target": _targets.RAG_RULE.format(tol="tolerance_pct (default 5%)"),
        "gap": gap_method,
        "exception": rule_txt,
        "priority": PRIORITY_RULE,
    }, groups)


def load_targets(targets, fw, dataset: Dataset) -> pd.DataFrame:
    """The targets ``assess`` uses. The shipped demo targets apply only where their areas are in the data (so
    "demo" works on any data); a user's own targets must name areas of the dataset."""
    demo = isinstance(targets, str) and targets == "demo"
    tg = _targets.load_targets(targets, framework=fw, dataset=None if demo else dataset)
    return tg[tg["area_code"].isin(set(dataset.areas["area_code"]))].reset_index(drop=True) if demo else tg


PARTIAL_OPTION = ("partial='annualise' (perfwork assess --partial annualise): the rate over the months with data, "
                  "flagged as such")


def _own_period_ends(dataset: Dataset, r12: pd.DataFrame, rows: np.ndarray, monthly: pd.DataFrame,
                     partial: str | None) -> pd.DataFrame:
    """Per area: the period end it is judged at when none is asked for, and ``period_basis``, the words saying so.

    Among the period ends up to the area's own last month with data (a later window would read months its
    force has no files for), the one with the most indicator values, then the most months of data, then the
    latest. Without a value anywhere the basis names the missing months and the options."""
    r = r12[rows]
    last = monthly[monthly["complete"].astype("boolean").fillna(False)].groupby("area_code")["period_end"].max()
    used = (pd.to_numeric(r["months_used"], errors="coerce") if "months_used" in r.columns
            else 12 - pd.to_numeric(r["months_missing"], errors="coerce"))
    score = (r.assign(v=r["value"].notna(), m=used).groupby(["area_code", "period_end"], sort=True)
             .agg(v=("v", "sum"), m=("m", "max")).reset_index())
    score = score[score["period_end"] <= score["area_code"].map(last).fillna(score["period_end"].max())]
    best = score.sort_values(["area_code", "v", "m", "period_end"]).drop_duplicates("area_code", keep="last")
    ends = best.set_index("area_code")["period_end"]
    # each area's rows at its end (in r's order): whether any is complete, any has a value, the first's coverage
    at = r.merge(ends.reset_index(), on=["area_code", "period_end"])
    at = at.assign(c=at["complete"].astype("boolean").fillna(False), hv=at["value"].notna())
    facts = at.groupby("area_code", sort=False).agg(c=("c", "any"), hv=("hv", "any"))
    coverage = at.drop_duplicates("area_code").set_index("area_code")["coverage"]
    parent = dict(zip(dataset.areas["area_code"], dataset.areas["parent_code"]))
    basis = {}
    for area, end in ends.items():
        if facts.at[area, "c"]:
            basis[area] = f"the latest 12 months with every month of its own data ({end:%b %Y})"
            continue
        gap = _missing_months(dataset, area, end, parent)
        if facts.at[area, "hv"]:
            basis[area] = (f"the latest 12 months of its own data ({end:%b %Y}), {coverage[area]} with "
                           f"data, annualised; missing: {gap}")
        else:
            basis[area] = (f"no complete 12 months in its own data (latest: {end:%b %Y}, missing: {gap}), so no "
                           f"values; options: {PARTIAL_OPTION}, or ingest the missing months' files")
    return pd.DataFrame({"period_end": ends, "period_basis": pd.Series(basis)})


def _missing_months(dataset: Dataset, area: str, end: pd.Timestamp, parent: dict | None = None) -> str:
    """The missing months of the 12 months to ``end`` for ``area`` (and the areas above it), with the reason.
    ``parent``: area code -> parent code, when the caller has it."""
    miss = dataset.missing
    if not len(miss):
        return ""
    chain, a = [area], area
    if parent is None:
        parent = dict(zip(dataset.areas["area_code"], dataset.areas["parent_code"]))
    while parent.get(a) is not None and not pd.isna(parent.get(a)):
        a = parent[a]
        chain.append(a)
    start = periods.months_before(end, 11)
    hit = miss[miss["area_code"].isin(chain) & (miss["month"] >= start) & (miss["month"] <= end)
               & miss["measure"].isna()]
    if hit.empty:
        return ""
    parts = hit.drop_duplicates("month").sort_values("month")
    out = []
    for why, g in parts.groupby("reason", sort=False):
        ms = list(g["month"])
        when = f"{ms[0]:%Y-%m}" + (f" to {ms[-1]:%Y-%m}" if len(ms) > 1 else "")
        out.append(why if f"{ms[0]:%Y-%m}" in str(why) and len(ms) == 1 else f"{when}: {why}")
    return "; ".join(out)


HOUSEHOLDS_HINT = ("no household estimates for this area: ingest ONS household estimates by district "
                   "(perfwork ingest police-uk --households FILE, see the README)")


def _no_value_notes(dataset: Dataset, fw, cur: pd.DataFrame) -> np.ndarray:
    """Why each row without a value has none (empty text where there is a value)."""
    n = len(cur)
    out = np.full(n, "", dtype=object)
    val = cur["value"].to_numpy(dtype="float64", na_value=np.nan)
    none = np.isnan(val)
    if not none.any():
        return out
    by_id = {i.id: i for i in fw}
    missing = pd.to_numeric(cur["months_missing"], errors="coerce").to_numpy() > 0
    used = pd.to_numeric(cur["months_used"], errors="coerce").to_numpy() if "months_used" in cur.columns else \
        np.full(n, 12)
    den = pd.to_numeric(cur["denominator"], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    coverage = as_object(cur["coverage"]) if "coverage" in cur.columns else np.full(n, "", dtype=object)
    pairs = pd.unique(pd.Series(list(zip(cur["area_code"][none & missing], cur["period_end"][none & missing]))))
    parent = dict(zip(dataset.areas["area_code"], dataset.areas["parent_code"]))
    gaps = {pr: _missing_months(dataset, *pr, parent) for pr in pairs[:2000]}
    for i in np.flatnonzero(none):
        ind = by_id.get(cur["indicator"].iloc[i])
        if ind is not None and ind.denominator == "households" and np.isnan(den[i]):
            out[i] = "no value: " + HOUSEHOLDS_HINT
        elif used[i] == 0 and not missing[i]:
            out[i] = "no value: the data record none of its measures (e.g. no police.uk outcomes files ingested)"
        elif missing[i]:
            gap = gaps.get((cur["area_code"].iloc[i], cur["period_end"].iloc[i])) or "a month"
            out[i] = (f"no value: {coverage[i]} with data, missing: {gap} (a missing month is never read as "
                      f"zero); options: {PARTIAL_OPTION}")
        elif ind is not None and ind.per_population and np.isnan(den[i]):
            out[i] = "no value: no population estimate for this area"
        else:
            out[i] = "no value: nothing to divide by (no events in the denominator)"
    return out


def _take(v, pos: np.ndarray, n: int):
    """Values at positions ``pos`` (-1 = none: NaN / None / NA); scalars pass through."""
    if np.isscalar(v) or v is None:
        return v
    arr = v.to_numpy() if isinstance(v, (pd.Series, pd.Index)) else v
    if isinstance(arr, pd.api.extensions.ExtensionArray):
        out = arr.take(pos, allow_fill=True)
        return out
    arr = np.asarray(arr)
    if arr.dtype.kind in "fc":
        fill = np.nan
    elif arr.dtype.kind in "iu":
        arr, fill = arr.astype("float64"), np.nan
    elif arr.dtype.kind == "b":
        arr, fill = arr.astype(object), None
    else:
        arr, fill = arr.astype(object), None
    safe = np.where(pos >= 0, pos, 0)
    out = arr[safe] if len(arr) else np.full(n, fill, dtype=object)
    if (pos < 0).any():
        out = out.copy()
        out[pos < 0] = fill
    return out


def _full(v, n: int):
    """A column for the table; text stays object dtype (building Arrow strings for ~30 columns of a full
    history costs more than the whole assessment)."""
    if np.isscalar(v) or v is None:
        return pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), categories=[v]) if v is not None else \
            pd.Series(np.full(n, None, dtype=object), dtype=object)
    if isinstance(v, np.ndarray) and v.dtype == object:
        return pd.Series(v, dtype=object)
    return v


def _exceptions(c: dict, cur: pd.DataFrame, min_change_pct: float, weight: np.ndarray, lagged: np.ndarray,
                why_none: np.ndarray) -> None:
    """Adds exception, priority, reasons and notes to ``c`` (vectorised; texts built only for flagged rows)."""
    n = len(cur)
    obj = lambda x: np.asarray(x, dtype=object)  # noqa: E731
    flt = lambda x: pd.to_numeric(pd.Series(x), errors="coerce").to_numpy(dtype="float64", na_value=np.nan)  # noqa: E731
    sig, judge = obj(c["significance"]), obj(c["peer_judgement"])
    val = cur["value"].to_numpy(dtype="float64", na_value=np.nan)
    worse = judge == PeerJudgement.WORSE
    strong = (sig == Significance.HIGH_001) | (sig == Significance.LOW_001)
    with np.errstate(invalid="ignore"):                 # beyond the band on the bad side
        beyond = np.where(polarity_sign(as_object(cur["polarity"])) > 0, val < flt(c["band_lower"]),
                          val > flt(c["band_upper"]))
    msg_ex = worse & strong & beyond
    travel = obj(c["travel"])
    pct, p = flt(c["change_pct"]), flt(c["p_value"])
    det = travel == Travel.DETERIORATING
    with np.errstate(invalid="ignore"):
        det_ex = det & (np.abs(pct) >= min_change_pct) & ~lagged
    spc_concern = obj(c["spc_variation"]) == SpcVariation.CONCERN
    spc_ex = spc_concern & ~lagged
    status = obj(c["target_status"])
    off, risk = status == TargetStatus.OFF_TRACK, status == TargetStatus.AT_RISK
    complete = cur["complete"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    incomplete = ~complete | (travel == Travel.INCOMPLETE)
    with np.errstate(invalid="ignore"):
        sev = (SEVERITY["msg"] * msg_ex
               + np.where(det_ex, np.where(p < 0.001, SEVERITY["deteriorating_strong"], SEVERITY["deteriorating"]), 0)
               + SEVERITY["spc"] * spc_ex + SEVERITY["target"] * off)
    has_value = ~np.isnan(val)
    c["priority"] = np.where(np.isnan(weight), 1.0, weight) * sev * has_value
    c["exception"] = (msg_ex | det_ex | spc_ex | off) & has_value  # never an exception without a value

    bench, rank, size = flt(c["benchmark"]), flt(c["group_rank"]), flt(c["group_size"])
    rule = obj(c["spc_rule"])
    reasons = np.full(n, "", dtype=object)
    notes = np.full(n, "", dtype=object)

    def add(target: np.ndarray, where: np.ndarray, texts) -> None:
        idx = np.flatnonzero(where)
        if not idx.size:
            return
        texts = np.asarray(texts, dtype=object) if not isinstance(texts, str) else np.full(idx.size, texts, object)
        old = target[idx]
        target[idx] = np.where(old == "", texts, old + "; " + texts)

    w = np.flatnonzero(worse)
    msg_txt = np.array([
        f"worse than MSG ({'99.8%' if strong[i] else '95%'}): {val[i]:.3g} vs {bench[i]:.3g}"
        + (f", rank {rank[i]:.0f} of {size[i]:.0f}" if rank[i] == rank[i] else "")
        + ("" if msg_ex[i] or not strong[i] else ", within the 1 SD band") for i in w], dtype=object)
    add(reasons, msg_ex, msg_txt[msg_ex[w]])
    add(notes, worse & ~msg_ex, msg_txt[~msg_ex[w]])
    d = np.flatnonzero(det)
    det_txt = np.array([f"deteriorating: {pct[i]:+.0f}% vs previous 12 months, {_trends.p_text(p[i])}" for i in d],
                       dtype=object)
    add(reasons, det_ex, det_txt[det_ex[d]])
    add(notes, det & ~det_ex, det_txt[~det_ex[d]])
    sc = np.flatnonzero(spc_concern)
    spc_txt = np.array(["SPC special cause concern" + (f" ({rule[i].replace('_', ' ')})" if isinstance(rule[i], str)
                                                       else "") for i in sc], dtype=object)
    add(reasons, spc_ex & has_value, spc_txt[(spc_ex & has_value)[sc]])
    add(notes, spc_concern & ~(spc_ex & has_value), spc_txt[~(spc_ex & has_value)[sc]])
    add(notes, lagged & (det | spc_concern), "outcome lag: recent crimes' outcomes are still open, so a fall over "
                                             "time is expected and not flagged")
    add(reasons, off & has_value, "off track for target")
    few = judge == PeerJudgement.TOO_FEW_PEERS
    if few.any():
        pw_, gk = flt(c["peers_with_data"]), flt(c["group_k"])
        add(notes, few, np.array([f"too few peers with data ({pw_[i]:.0f} of {gk[i]:.0f}): no MSG benchmark"
                                  for i in np.flatnonzero(few)], dtype=object))
    add(notes, risk, "at risk for target")
    partial = incomplete & has_value
    add(notes, partial, "partial: " + np.asarray(as_object(cur["coverage"]) if "coverage" in cur.columns
                                                 else np.full(n, "some months"), dtype=object)[partial]
        + " with data, annualised (change not tested)")
    add(notes, incomplete & ~has_value, why_none[incomplete & ~has_value])
    add(notes, ~incomplete & ~has_value, why_none[~incomplete & ~has_value])
    c["reasons"] = reasons
    c["notes"] = notes


# ---------------------------------------------------------------------------------------------------- output
def exception_table(table: pd.DataFrame, all_rows: bool = False) -> str:
    """A readable text table of exceptions (or every row) per area and period end."""
    lines = []
    rows = table if all_rows else table[table["exception"]]
    for (code, end), part in table.groupby(["area_code", "period_end"], sort=False):
        first = part.iloc[0]
        shown = rows[(rows["area_code"] == code) & (rows["period_end"] == end)]
        valued = int(part["value"].notna().sum())
        lines.append(f"{first['area_name']} ({code}), {first['level']}: 12 months to {end:%b %Y} - "
                     f"{int(part['exception'].sum())} exception(s) of {len(part)} indicators, {valued} with a value")
        if isinstance(first.get("period_basis"), str):
            lines.append(f"  judged at {first['period_basis']}")
        if shown.empty:
            lines.append("  no exceptions" if valued else "  no values, so nothing is judged (notes: --all)")
        for _, r in shown.iterrows():
            val = "no value" if pd.isna(r["value"]) else f"{r['value']:.3g}"
            cov = r.get("coverage")
            if isinstance(cov, str) and not pd.isna(r["value"]) and not bool(r["complete"]):
                val += f" [{cov}]"
            bm = "n/a" if pd.isna(r["benchmark"]) else f"{r['benchmark']:.3g}"
            lines.append(f"  [{r['priority']:.0f}] {r['label']}: {val} (MSG {bm}; {r['peer_judgement']}; "
                         f"{r['travel']}; SPC {str(r['spc_variation']).replace('_', ' ')}"
                         + (f"; target {r['target_status']}" if isinstance(r["target_status"], str) else "") + ")")
            if r["reasons"]:
                lines.append(f"      why: {r['reasons']}")
            if r["notes"]:
                lines.append(f"      note: {r['notes']}")
        lines.append("")
    if len(table):
        m = table.attrs.get("method", {})
        lines.append("Method: " + "; ".join(f"{k}: {v}" for k, v in m.items() if v))
    return "\n".join(lines)


def _sheet_name(name: str, used: set[str]) -> str:
    clean = "".join("_" if ch in '[]:*?/\\' else ch for ch in str(name))[:31] or "Sheet"
    base, i = clean, 2
    while clean in used:
        suffix = f" ({i})"
        clean = base[:31 - len(suffix)] + suffix
        i += 1
    used.add(clean)
    return clean


def to_xlsx(table: pd.DataFrame, path: str | Path, run: RunRecord | None = None) -> Path:
    """Write the assessment: one sheet per domain, plus "Method": the run record (``run``: what the numbers
    were based on; ``Assessment.to_xlsx`` passes its own), then every method text and rule."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    used: set[str] = set()
    out = table.copy()
    for c in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[c]):
            out[c] = out[c].dt.strftime("%Y-%m")
    method_cols = [c for c in out.columns if c.endswith(("_method", "_rule"))]
    with pd.ExcelWriter(path, engine="openpyxl") as xl:
        for domain, part in out.groupby("domain", sort=False):
            name = _sheet_name(domain, used)
            part.drop(columns=method_cols).to_excel(xl, sheet_name=name, index=False)
            ws = xl.sheets[name]
            ws.freeze_panes = "C2"
            for col in ws.columns:
                width = max(len(str(col[0].value or "")), *(len(str(c.value or "")) for c in col[1:50]))
                ws.column_dimensions[col[0].column_letter].width = min(max(width + 2, 8), 60)
        rows = [("what", "method")]
        rows += [(f"run: {k}", v) for k, v in run.rows()] if run is not None else []
        rows += [(k, v) for k, v in (table.attrs.get("method") or {}).items()]
        for c in method_cols:
            for v in out[c].dropna().astype(str).unique():
                rows.append((c, v))
        rows.append(("note", _trends.RECORDING_NOTE))
        meth = pd.DataFrame(rows[1:], columns=list(rows[0]))
        name = _sheet_name("Method", used)
        meth.to_excel(xl, sheet_name=name, index=False)
        ws = xl.sheets[name]
        ws.column_dimensions["A"].width = 22
        ws.column_dimensions["B"].width = 140
    return path
