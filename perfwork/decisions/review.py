"""Did it work? Every standing decision's indicator since the decision against before it, in numbers and words.

For each decision on an indicator, from the monthly indicator values (computed once per level, never per decision):

- change: the exact conditional Poisson test (``stats.poisson_change_test``, as ``trends.change`` uses) of the
  months since the decision month against the 12 months before it; the decision's own month is in neither (it is
  split, and an action cannot act on it). Exposures: the summed monthly denominators (population, households or,
  for outcome proportions, the crimes), or the months for counts. Months with no data are left out of both windows
  and counted: a missing month is never a zero;
- SPC: the special causes on the indicator's XmR chart (all months to the data's end, as ``Assessment.spc`` draws
  it) after the decision month; a shift after it is the strongest sign, then a trend, points beyond the limits, two
  of three near a limit;
- peers and target: the peer judgement and target status recorded in the decision's snapshot against now.

An area-wide decision is reviewed by its area's exceptions then and now. This is association in time, not proof
that the action caused the change: other things happen at the same time, and the months since cover one season
only until a year has passed.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from .. import spc as _spc
from .. import stats
from ..dataset import Dataset
from ..frames import polarity_sign
from ..trends import IMPROVEMENT, p_text
from .entries import decisions as _decisions

CAVEAT = ("Association in time, not proof that the action caused it: other things change at the same time, "
          "recorded crime also moves with recording practice, and until a year has passed the months since a "
          "decision cover only some seasons.")
ALPHA = 0.05
BEFORE_MONTHS = 12
RULE_STRENGTH = ("shift", "trend", "outside_limits", "two_of_three")     # the strongest sign first
JUDGEMENT_WORDS = {"worse": "worse than peers", "better": "better than peers", "similar": "similar to peers",
                   "higher": "higher than peers", "lower": "lower than peers"}
COLUMNS = ["decision_id", "area_code", "area_name", "indicator", "label", "decided_on", "decision", "author",
           "period_end_then", "period_end_now", "months_before", "months_after", "months_missing", "count_before",
           "count_after", "rate_ratio", "rr_lower", "rr_upper", "change_pct", "p_value", "direction", "travel",
           "spc_since", "spc_rule", "spc_from", "peer_then", "peer_now", "target_then", "target_now",
           "exceptions_then", "exceptions_now", "words", "method"]


def _assessments(source, levels, options) -> dict:
    """One assessment per level needed: the one given (for its level), the others computed once."""
    from ..assessment import assess_all
    from ..targets import default_targets

    out = {}
    if hasattr(source, "table") and hasattr(source, "values"):     # pw.Assessment, or the apps' stored one
        out[source.level] = source
        ds = source.dataset
        if not isinstance(ds, Dataset):                             # no data to assess other levels with
            return out
        options = dict({"targets": getattr(source, "targets", None)}, **options)
    else:
        ds = source
        options = dict({"targets": default_targets(ds)}, **options)
    for level in levels:
        if level not in out:
            out[level] = assess_all(ds, level=level, **options)
    return out


def review(source, log, area: str | None = None, today: date | None = None, **assess_options) -> pd.DataFrame:
    """Review every standing (not withdrawn) decision of the log, or of one area: one row per decision with the
    change test, the SPC signal, peer position and target status then and now, and ``words``.

    ``source``: a Dataset (assessed once per level, with the demo targets on the demo) or an Assessment (used for
    its level). ``.attrs``: ``caveat``, ``method``, ``withdrawn`` (how many decisions were left out as withdrawn).
    """
    every = _decisions(log, area=area)
    dec = every[~every["withdrawn"]].reset_index(drop=True)
    ds = getattr(source, "dataset", source)
    code_level = ds.areas.set_index("area_code")["level"]
    dec = dec[dec["area_code"].isin(code_level.index)].reset_index(drop=True)
    levels = sorted(set(code_level.reindex(dec["area_code"]).dropna()))
    parts = []
    if len(dec):
        found = _assessments(source, levels, assess_options)
        for level in [lv for lv in levels if lv in found]:
            mine = dec[code_level.reindex(dec["area_code"]).to_numpy() == level].reset_index(drop=True)
            parts.append(_review_level(found[level], mine))
    out = (pd.concat(parts, ignore_index=True).sort_values(["decided_on", "decision_id"]).reset_index(drop=True)
           if parts else pd.DataFrame(columns=COLUMNS))
    out.attrs = {"caveat": CAVEAT, "method": _method_text(), "withdrawn": int(every["withdrawn"].sum())}
    return out[COLUMNS]


def _method_text() -> str:
    return (f"change: exact conditional Poisson test (two-sided, p < {ALPHA:g}) of the months since the decision "
            f"month against the {BEFORE_MONTHS} months before it, the decision's month in neither; exposures = the "
            "summed monthly denominators (months for counts); months without data left out and counted. SPC: "
            "special causes after the decision month on the XmR chart of all months (Making Data Count rules). "
            "Peers and target: the decision's snapshot against the latest assessment.")


def _series_arrays(monthly: pd.DataFrame, pairs: pd.DataFrame):
    """Numerators, exposures and values of each (area, indicator) pair as [pair x month] arrays (NaN = no data)."""
    months = pd.DatetimeIndex(sorted(monthly["period_end"].unique()))
    key = pd.MultiIndex.from_frame(pairs[["area_code", "indicator"]])
    m = monthly[pd.MultiIndex.from_frame(monthly[["area_code", "indicator"]]).isin(key)]
    row = key.get_indexer(pd.MultiIndex.from_frame(m[["area_code", "indicator"]]))
    col = months.get_indexer(m["period_end"])
    shape = (len(key), len(months))
    num, den, val = (np.full(shape, np.nan) for _ in range(3))

    def arr(c):
        return pd.to_numeric(m[c], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)

    ok = m["complete"].to_numpy(dtype=bool) & ~np.isnan(arr("numerator")) & ~np.isnan(arr("value"))
    count = (m["kind"] == "count").to_numpy()
    num[row, col] = np.where(ok, arr("numerator"), np.nan)
    den[row, col] = np.where(ok, np.where(count, 1.0, arr("denominator")), np.nan)
    val[row, col] = np.where(ok, arr("value"), np.nan)
    meta = m.drop_duplicates(["area_code", "indicator"]).set_index(["area_code", "indicator"]).reindex(key)
    return months, num, den, val, meta


def _windows(months: pd.DatetimeIndex, decided_on: pd.Series):
    """Month positions [b0, b1) before and [a0, n) after each decision month."""
    dmonth = pd.DatetimeIndex(decided_on).to_period("M").to_timestamp()
    at = months.searchsorted(dmonth)                      # the decision month's position (or where it would be)
    on = (at < len(months)) & (months[np.minimum(at, len(months) - 1)] == dmonth)
    a0 = np.where(on, at + 1, at)
    b1 = at
    b0 = np.maximum(at - BEFORE_MONTHS, 0)
    return b0, b1, a0


def _sums(x: np.ndarray, s: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    c = np.concatenate([np.zeros((x.shape[0], 1)), np.nancumsum(x, axis=1)], axis=1)
    return c[s, hi] - c[s, lo]


def _review_level(a, dec: pd.DataFrame) -> pd.DataFrame:
    # "now": each area as the assessment judges it, at its own period end (an area whose force's files stop
    # earlier is judged earlier, never against months it has no data for)
    ends = a.table.groupby("area_code")["period_end"].max()
    table = a.table[a.table["period_end"] == a.table["area_code"].map(ends)]
    now = table.set_index(["area_code", "indicator"])
    names = a.dataset.areas.set_index("area_code")["area_name"]
    out = pd.DataFrame({"decision_id": dec["decision_id"], "area_code": dec["area_code"],
                        "area_name": dec["area_code"].map(names), "indicator": dec["indicator"],
                        "decided_on": dec["decided_on"], "decision": dec["decision"], "author": dec["author"],
                        "period_end_then": dec["period_end"], "period_end_now": dec["area_code"].map(ends)})
    on_ind = dec["indicator"].notna().to_numpy()
    for c in COLUMNS:
        if c not in out.columns:
            out[c] = None
    if on_ind.any():
        _indicator_reviews(a, dec[on_ind], out, np.flatnonzero(on_ind), now, ends)
    wide = np.flatnonzero(~on_ind)
    exc_now = table[table["exception"]].groupby("area_code")["label"].agg(list)
    for i in wide:
        snap = dec["snapshot"].iloc[i]
        then = [e["label"] for e in snap.get("exceptions", [])]
        later = exc_now.get(dec["area_code"].iloc[i], [])
        out.loc[i, ["exceptions_then", "exceptions_now"]] = [len(then), len(later)]
        out.loc[i, "label"] = "area-wide"
        out.loc[i, "words"] = _area_words(out.iloc[i], then, later)
    return out


def _indicator_reviews(a, dec: pd.DataFrame, out: pd.DataFrame, at: np.ndarray, now: pd.DataFrame,
                       ends: pd.Series) -> None:
    pairs = dec[["area_code", "indicator"]].drop_duplicates().reset_index(drop=True)
    months, num, den, val, meta = _series_arrays(a.values["month"], pairs)
    s = pd.MultiIndex.from_frame(pairs).get_indexer(pd.MultiIndex.from_frame(dec[["area_code", "indicator"]]))
    b0, b1, a0 = _windows(months, dec["decided_on"])
    # "after" runs to the area's own period end: later months are beyond its data, not missing from it
    end = pd.DatetimeIndex(dec["area_code"].map(ends))
    n = np.where(end.isna(), len(months), months.searchsorted(end, side="right"))
    n = np.maximum(n, a0)
    have = ~np.isnan(num)
    k_before, k_after = _sums(have, s, b0, b1), _sums(have, s, a0, n)
    x1, x2 = _sums(num, s, b0, b1), _sums(num, s, a0, n)
    t1, t2 = _sums(den, s, b0, b1), _sums(den, s, a0, n)
    testable = (k_before > 0) & (k_after > 0) & (t1 > 0) & (t2 > 0)
    rr, lo, hi, p = (np.full(len(dec), np.nan) for _ in range(4))
    if testable.any():
        t = stats.poisson_change_test(x1[testable], x2[testable], t1[testable], t2[testable])
        rr[testable], lo[testable], hi[testable], p[testable] = (t[c].to_numpy() for c in
                                                                 ("rate_ratio", "lower", "upper", "p_value"))
    polarity = meta["polarity"].to_numpy(dtype=object)[s]
    with np.errstate(invalid="ignore"):
        sig = testable & (p < ALPHA)
        up, down = sig & (rr > 1), sig & (rr < 1)
    good_way = polarity_sign(polarity) * (up.astype(float) - down)              # > 0 improving
    direction = np.select([~testable, up, down], ["no data to compare", "increase", "decrease"],
                          "no significant change")
    travel = np.select([~testable, good_way > 0, good_way < 0, up, down],
                       ["no data to compare", "improving", "deteriorating", "increasing", "decreasing"],
                       "no significant change")
    spc = _spc_since(months, val, meta, s, a0)
    cols = {"label": meta["label"].to_numpy(dtype=object)[s],
            "months_before": k_before.astype(int), "months_after": k_after.astype(int),
            "months_missing": ((b1 - b0) - k_before + (n - a0) - k_after).astype(int),
            "count_before": x1, "count_after": x2, "rate_ratio": rr, "rr_lower": lo, "rr_upper": hi,
            "change_pct": (rr - 1) * 100, "p_value": p, "direction": direction, "travel": travel,
            "spc_since": spc["text"], "spc_rule": spc["rule"], "spc_from": spc["from"]}
    for c, v in cols.items():
        out.loc[at, c] = pd.Series(list(v), index=at, dtype=object)
    snaps = [d.get("indicator") or {} for d in dec["snapshot"]]
    keys = list(zip(dec["area_code"], dec["indicator"]))
    cur = now.reindex(pd.MultiIndex.from_tuples(keys))
    out.loc[at, "peer_then"] = [sn.get("peer_judgement") for sn in snaps]
    out.loc[at, "peer_now"] = list(cur["peer_judgement"].astype(object))
    out.loc[at, "target_then"] = [sn.get("target_status") for sn in snaps]
    out.loc[at, "target_now"] = list(cur["target_status"].astype(object))
    out.loc[at, "method"] = _method_text()
    out.loc[at, "words"] = [_indicator_words(out.loc[i], months) for i in at]


def _spc_since(months: pd.DatetimeIndex, val: np.ndarray, meta: pd.DataFrame, s: np.ndarray, a0: np.ndarray) -> dict:
    """The strongest SPC signal after each decision month (one XmR pass over every series involved)."""
    n_pairs, n_months = val.shape
    improvement = meta["polarity"].map(IMPROVEMENT).to_numpy(dtype=object)
    frame = pd.DataFrame({"series": np.repeat(np.arange(n_pairs), n_months), "value": val.ravel(),
                          "improvement": np.repeat(improvement, n_months)})
    pts = _spc.xmr_frame(frame, by="series", value="value", improvement="improvement")
    rule = pts["special_cause"].astype(object).to_numpy().reshape(n_pairs, n_months)
    kind = pts["point_type"].astype(object).to_numpy().reshape(n_pairs, n_months)
    above = (pts["value"] > pts["mean"]).to_numpy().reshape(n_pairs, n_months)
    found = [_signal(rule[si], kind[si], above[si], start, months) for si, start in zip(s, a0)]
    return {"text": [f[0] for f in found], "rule": [f[1] for f in found], "from": [f[2] for f in found]}


def _signal(r: np.ndarray, k: np.ndarray, up: np.ndarray, start: int, months: pd.DatetimeIndex) -> tuple:
    """(words, rule, first month) of the strongest special cause on one chart from position ``start`` on."""
    if start >= len(months):
        return "no months since the decision yet", None, None
    flagged = [j for j in range(start, len(months)) if r[j] in RULE_STRENGTH]
    if not flagged:
        return "no special cause since the decision (common-cause variation)", None, None
    best = min(flagged, key=lambda j: (RULE_STRENGTH.index(r[j]), j))
    first = best
    while first - 1 >= 0 and k[first - 1] == k[best]:
        first -= 1                              # where this run of special causes began, perhaps before
    when = months[first]
    what = f"{_rule_words(r[best], bool(up[best]))} ({_type_words(k[best])})"
    if first >= start:
        return f"{what} from {when:%Y-%m}", r[best], when
    return f"{what}, continuing special causes that began before the decision, in {when:%Y-%m}", r[best], when


def _rule_words(rule: str, above: bool) -> str:
    side = "above" if above else "below"
    return {"shift": f"a run {side} the mean",
            "trend": f"a {'rising' if above else 'falling'} trend",
            "outside_limits": f"points {side} the {'upper' if above else 'lower'} limit",
            "two_of_three": f"two of three months near the {'upper' if above else 'lower'} limit"}[rule]


def _type_words(point_type: str) -> str:
    return {"special_cause_improvement": "improvement", "special_cause_concern": "concern"}.get(
        point_type, "no judgement: polarity none")


def _pct(x: float) -> str:
    return "less than 1%" if abs(x) < 1 else f"{abs(x):.0f}%"


def _indicator_words(r: pd.Series, months: pd.DatetimeIndex) -> str:
    when = f"the decision of {r['decided_on']:%Y-%m-%d}"
    if r["months_after"] == 0:
        to = r["period_end_now"] if pd.notna(r["period_end_now"]) else months[-1]
        head = f"{r['label']}: no months of data since {when} yet (data to {to:%Y-%m})"
    elif r["months_before"] == 0:
        head = f"{r['label']}: no data in the 12 months before {when}"
    else:
        span = (f"{r['months_after']} month{'s' if r['months_after'] != 1 else ''} since against the "
                f"{r['months_before']} before" + (f", {r['months_missing']} without data" if r["months_missing"]
                                                  else ""))
        pct, pv = float(r["change_pct"]), p_text(r["p_value"])
        if r["direction"] in ("increase", "decrease"):
            head = (f"{r['label']} has {'risen' if pct > 0 else 'fallen'} {_pct(pct)} since {when} ({span}; {pv})")
        else:
            more = "higher" if pct > 0 else "lower"
            head = (f"{r['label']} is {_pct(pct)} {more} since {when}, not a significant change ({span}; {pv})")
    parts = [head, f"SPC: {r['spc_since']}", _peer_words(r["peer_then"], r["peer_now"])]
    if isinstance(r["target_then"], str) or isinstance(r["target_now"], str):
        parts.append(_then_now("target", r["target_then"], r["target_now"]))
    return "; ".join(p for p in parts if p)


def _peer_words(then, now) -> str:
    t, n = JUDGEMENT_WORDS.get(then), JUDGEMENT_WORDS.get(now)
    if n is None:
        return "no peer comparison now" + (f" (was {t})" if t else "")
    if t is None:
        return f"now {n}"
    return f"still {n}" if t == n else f"now {n} (was {t})"


def _then_now(what: str, then, now) -> str:
    then = then if isinstance(then, str) else "none"
    now = now if isinstance(now, str) else "none"
    return f"{what}: still {now}" if then == now else f"{what}: {then} then, {now} now"


def _area_words(r: pd.Series, then: list, later: list) -> str:
    def listing(labels):
        return f" ({', '.join(labels[:4])}{', ...' if len(labels) > 4 else ''})" if labels else ""

    return (f"Area-wide decision of {r['decided_on']:%Y-%m-%d}: {len(then)} exception{'s' if len(then) != 1 else ''}"
            f" in the 12 months to {r['period_end_then']:%Y-%m}{listing(then)}; {len(later)} now, to "
            f"{r['period_end_now']:%Y-%m}{listing(later)}")


def review_text(frame: pd.DataFrame) -> str:
    """The review as plain text: one paragraph per decision, then the caveat and the method."""
    if frame.empty:
        lines = ["No standing decisions to review."]
    else:
        lines = [f"D{r.decision_id} {r.area_code} {r.area_name}: {r.words}." for r in frame.itertuples()]
    if frame.attrs.get("withdrawn"):
        lines.append(f"({frame.attrs['withdrawn']} withdrawn decision(s) not reviewed.)")
    lines += ["", frame.attrs.get("caveat", CAVEAT), "Method: " + frame.attrs.get("method", _method_text())]
    return "\n".join(lines)
