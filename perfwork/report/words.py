"""An assessment in words for people: the headline, one sentence per exception, numbers as a reader wants them.

Nothing here judges: every word reads a column the assessment already holds (``pw.assess`` / ``Assessment``).
"""

from __future__ import annotations

import math

import pandas as pd

from ..charts.style import decimals, number, short_label

# The assessment's judgement values as a reader says them.
WORDS = {
    "peer_judgement": {"better": "better than peers", "worse": "worse than peers", "similar": "similar to peers",
                       "higher": "higher than peers", "lower": "lower than peers", "incomplete": "not judged",
                       "too few peers with data": "too few peers"},
    "travel": {"improving": "improving", "deteriorating": "getting worse", "no significant change": "no clear change",
               "increasing": "increasing", "decreasing": "decreasing", "incomplete": "no value",
               "no previous period": "no previous 12 months"},
    "spc_variation": {"common_cause": "common cause", "special_cause_concern": "special cause: concern",
                      "special_cause_improvement": "special cause: improvement",
                      "special_cause_neutral_high": "special cause: high", "special_cause_neutral_low":
                      "special cause: low", "incomplete": "no value"},
    "target_status": {"on track": "on track", "at risk": "at risk", "off track": "off track",
                      "not started": "not started", "incomplete": "no value"},
}
NOT_JUDGED = "not judged"


def word(column: str, value) -> str:
    """The reader's word for one judgement value ('' where there is nothing to say)."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    return WORDS.get(column, {}).get(str(value), str(value).replace("_", " "))


def interval(lower, upper, kind: str = "rate", like=None) -> str:
    """'12.1 to 14.3' with the digits of ``like`` (the value), '' when either end is missing."""
    lo, hi = number(lower, kind), number(upper, kind)
    if not lo or not hi:
        return ""
    if like is not None and not (isinstance(like, float) and math.isnan(like)):
        d = decimals(float(like), kind)
        lo, hi = number(lower, kind, d), number(upper, kind, d)
    return f"{lo} to {hi}"


def p_value(p) -> str:
    """'< 0.001', '0.012', '' when no test was made."""
    if p is None or p is pd.NA or (isinstance(p, float) and math.isnan(p)):
        return ""
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def p_phrase(p) -> str:
    """'p < 0.001' / 'p = 0.012' ('' when no test was made)."""
    text = p_value(p)
    return "" if not text else f"p {text}" if text.startswith("<") else f"p = {text}"


def change(pct) -> str:
    """'+23%' / '-4.5%' on the previous 12 months ('' when none)."""
    if pct is None or pct is pd.NA or (isinstance(pct, float) and math.isnan(pct)):
        return ""
    return f"{pct:+.0f}%" if abs(pct) >= 10 else f"{pct:+.1f}%"


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def headline(rows: pd.DataFrame) -> str:
    """One sentence for the whole area: '3 of 21 indicators need attention: burglary, serious acquisitive crime and
    shoplifting.' (exceptions in priority order) or 'None of the 21 indicators needs attention ...'."""
    if rows.empty:
        return "There is nothing to report: no indicator has a value."
    name, n = rows["area_name"].iloc[0], len(rows)
    exc = rows[rows["exception"].astype(bool)].sort_values("priority", ascending=False, kind="stable")
    end = pd.Timestamp(rows["period_end"].iloc[0])
    when = f"in the 12 months to {end:%B %Y}"
    valued = int(rows["value"].notna().sum())
    if valued == 0:
        return (f"None of {name}'s {n} indicators has a value for the 12 months to {end:%B %Y} (months of data "
                "are missing), so nothing is judged.")
    if valued < n:
        when += f" ({n - valued} of {n} have no value: incomplete data)"
    if exc.empty:
        worse = int((rows["peer_judgement"] == "worse").sum())
        tail = f"; {worse} {'is' if worse == 1 else 'are'} worse than peers but within the usual range" if worse else ""
        return f"None of {name}'s {n} indicators needs attention {when}{tail}."
    names = [short_label(x) for x in exc["label"]]
    verb = "needs" if len(exc) == 1 else "need"
    return f"{len(exc)} of {name}'s {n} indicators {verb} attention {when}: {_join(names)}."


def exception_sentence(row) -> str:
    """Why one exception is one, in words, from its value, benchmark, change, SPC and target columns."""
    kind = row["kind"]
    parts = []
    if row.get("peer_judgement") in ("worse", "better") and pd.notna(row.get("benchmark")):
        size = row.get("group_size")
        rank = row.get("group_rank")
        rank_txt = f", ranked {int(rank)} of {int(size)}" if pd.notna(rank) and pd.notna(size) else ""
        parts.append(f"{number(row['value'], kind)} against {number(row['benchmark'], kind)} for its most similar "
                     f"areas ({word('peer_judgement', row['peer_judgement'])}{rank_txt})")
    elif pd.notna(row.get("value")):
        parts.append(f"{number(row['value'], kind)}, {word('peer_judgement', row.get('peer_judgement'))}")
    if row.get("travel") in ("deteriorating", "improving") and pd.notna(row.get("change_pct")):
        parts.append(f"{word('travel', row['travel'])}: {change(row['change_pct'])} on the previous 12 months "
                     f"({p_phrase(row['p_value'])})")
    if str(row.get("spc_variation") or "").startswith("special_cause"):
        parts.append(f"SPC {word('spc_variation', row['spc_variation'])}")
    if row.get("target_status") in ("off track", "at risk"):
        parts.append(f"{row['target_status']} for its target ({row.get('target')})")
    return f"{row['label']}: " + "; ".join(p for p in parts if p) + "."


def exception_sentences(rows: pd.DataFrame) -> list[str]:
    """One sentence per exception, highest priority first."""
    exc = rows[rows["exception"].astype(bool)].sort_values("priority", ascending=False, kind="stable")
    return [exception_sentence(r) for _, r in exc.iterrows()]


def months_text(months) -> str:
    """'July 2019 and March 2020' for a list of month timestamps; 'none' when empty."""
    ms = sorted({pd.Timestamp(m) for m in months})
    return _join([f"{m:%B %Y}" for m in ms]) if ms else "none"
