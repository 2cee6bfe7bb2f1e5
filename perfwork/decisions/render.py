"""HTML for people: open actions (overdue marked in words, not colour alone), the review in words, and the
profile's "Decisions and actions since the last review" section. Every piece of log text is escaped: a decision
reading ``<script>alert(1)</script>`` or ``{{7*7}}`` shows as those characters."""

from __future__ import annotations

from html import escape

import pandas as pd

from .review import CAVEAT

OVERDUE_STYLE = "background:#fde9c9;border-left:4px solid #8a4b00;font-weight:600"   # amber, plus the word


def _e(v) -> str:
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return ""
    return escape(str(v), quote=True)


def _day(v) -> str:
    return "" if v is None or pd.isna(v) else f"{pd.Timestamp(v):%Y-%m-%d}"


def actions_html(acts: pd.DataFrame, labels: dict | None = None, title: str = "Open actions") -> str:
    """A table of actions (``decisions.open_actions`` rows), overdue ones first and marked "Overdue"."""
    labels = labels or {}
    if acts.empty:
        return f"<h4>{_e(title)}</h4><p>No open actions.</p>"
    n_over = int(acts["overdue"].sum())
    rows = []
    for r in acts.itertuples():
        what = labels.get(r.indicator, r.indicator) if isinstance(r.indicator, str) else "area-wide"
        style = f' style="{OVERDUE_STYLE}"' if r.overdue else ""
        state = "Overdue" if r.overdue else _e(r.status).capitalize()
        rows.append(f"<tr{style}><td>A{int(r.action_id)}</td><td>{_e(r.action)}</td><td>{_e(r.owner)}</td>"
                    f"<td>{_day(r.due)}</td><td>{state}</td><td>{_e(what)} (D{int(r.decision_id)}, "
                    f"{_day(r.decided_on)})</td></tr>")
    return (f"<h4>{_e(title)}: {len(acts)}, {n_over} overdue</h4>"
            '<table class="perfwork-actions"><caption>Actions still open, overdue first</caption>'
            "<thead><tr><th scope=\"col\">Id</th><th scope=\"col\">Action</th><th scope=\"col\">Owner</th>"
            "<th scope=\"col\">Due</th><th scope=\"col\">Status</th><th scope=\"col\">For</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def review_html(frame: pd.DataFrame, title: str = "Did it work? The review of past decisions") -> str:
    """The review (``decisions.review``) as a list: each decision, its text, and the words; then the caveat."""
    if frame.empty:
        items = "<p>No decisions recorded yet.</p>"
    else:
        lis = [f"<li><p><strong>D{int(r.decision_id)}, {_day(r.decided_on)}, {_e(r.label)}</strong>: "
               f"&ldquo;{_e(r.decision)}&rdquo; ({_e(r.author)})</p><p>{_e(r.words)}.</p></li>"
               for r in frame.itertuples()]
        items = f"<ul class=\"perfwork-review\">{''.join(lis)}</ul>"
    withdrawn = frame.attrs.get("withdrawn", 0)
    note = f"<p>{withdrawn} withdrawn decision(s) are not reviewed.</p>" if withdrawn else ""
    return (f"<h4>{_e(title)}</h4>{items}{note}<p><em>{_e(frame.attrs.get('caveat', CAVEAT))}</em></p>"
            f"<details><summary>Method</summary><p>{_e(frame.attrs.get('method', ''))}</p></details>")


def section_html(frame: pd.DataFrame, acts: pd.DataFrame, area_name: str, since=None) -> str:
    """The profile's section: decisions since ``since`` (all when None) reviewed, and the open actions."""
    if since is not None and len(frame):
        frame = frame[frame["decided_on"] >= pd.Timestamp(since)]
    heading = "Decisions and actions since the last review"
    return (f"<section aria-label=\"{heading}\"><h3>{heading}: {_e(area_name)}</h3>"
            f"{review_html(frame, title='The indicators since each decision')}{actions_html(acts)}</section>")


def decision_events(frame: pd.DataFrame, indicator: str | None = None) -> pd.DataFrame:
    """The decision dates to mark on a chart (e.g. the SPC chart's ``events=``): date, label (plain text; the
    chart escapes it) and decision_id, for one indicator (area-wide decisions included) or all."""
    f = frame if indicator is None else frame[(frame["indicator"] == indicator) | frame["indicator"].isna()]
    return pd.DataFrame({"date": pd.to_datetime(f["decided_on"]).to_numpy(),
                         "label": [f"D{int(i)} decision {d:%Y-%m-%d}" for i, d in zip(f["decision_id"],
                                                                                  f["decided_on"])],
                         "decision_id": f["decision_id"].to_numpy()})
