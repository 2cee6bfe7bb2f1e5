"""Tables for people (great-tables): rounded values with their intervals, judgements as coloured words,
p-values as '< 0.001', labels instead of ids, and no None / NaN / True in any cell."""

from __future__ import annotations

import html

import pandas as pd

from ..charts import style as _style
from . import words as _w


def _pill(word: str, fill: str | None) -> str:
    text = html.escape(word)
    if not fill or not word:
        return text
    return (f'<span style="background:{fill};color:{_style.text_on(fill)};padding:1px 6px;border-radius:3px;'
            f'white-space:nowrap">{text}</span>')


def _styled(frame: pd.DataFrame, title: str, subtitle: str = "", colour: dict | None = None,
            notes: list[str] = ()):
    """A great-tables table of ``frame`` (strings) with judgement columns as coloured words: ``colour`` maps a
    display column to (its raw values, colour by raw value). One formatter per column: great-tables' per-cell
    styles cost five times the rendering."""
    from great_tables import GT

    t = GT(frame).tab_header(title=title, subtitle=subtitle or None)
    for col, (raw, colours) in (colour or {}).items():
        by_word = {w: colours.get(str(r)) for w, r in zip(frame[col], raw) if r is not None and r is not pd.NA}
        t = t.fmt(fns=lambda w, m=by_word: _pill(str(w), m.get(w)), columns=col)
    for note in notes:
        t = t.tab_source_note(note)
    return t.opt_align_table_header(align="left").tab_options(table_font_size="14px", table_width="100%")


def _value_cells(rows: pd.DataFrame) -> tuple[list[str], list[str]]:
    vals, cis = [], []
    for _, r in rows.iterrows():
        vals.append(_w.number(r["value"], r["kind"]) or "no value")
        cis.append(_w.interval(r["lower"], r["upper"], r["kind"], like=r["value"]))
    return vals, cis


def exceptions_table(rows: pd.DataFrame, title: str | None = None):
    """The area's exceptions, highest priority first: value and interval, benchmark and each judgement in words
    (the reasons in sentences are ``words.exception_sentences``). ``rows``: one area's assessment rows."""
    exc = rows[rows["exception"].astype(bool)].sort_values("priority", ascending=False, kind="stable")
    return judgement_table(exc, title or "Indicators that need attention")


def judgement_table(rows: pd.DataFrame, title: str = "Every indicator", subtitle: str = ""):
    """Every row of an assessment as a formatted table (one line per indicator)."""
    rows = rows.reset_index(drop=True)
    vals, cis = _value_cells(rows)
    frame = pd.DataFrame({
        "Indicator": rows["label"].astype(str),
        "Value": vals,
        "95% interval": cis,
        "MSG benchmark": [_w.number(b, k) for b, k in zip(rows["benchmark"], rows["kind"])],
        "Against peers": [_w.word("peer_judgement", v) or _w.NOT_JUDGED for v in rows["peer_judgement"]],
        "Rank": [f"{int(r)} of {int(s)}" if pd.notna(r) and pd.notna(s) else "" for r, s in
                 zip(rows["group_rank"], rows["group_size"])],
        "Change on last year": [_w.change(c) for c in rows["change_pct"]],
        "p": [_w.p_value(p) for p in rows["p_value"]],
        "Direction": [_w.word("travel", v) for v in rows["travel"]],
        "SPC": [_w.word("spc_variation", v) for v in rows["spc_variation"]],
        "Target": [_w.word("target_status", v) or "no target" for v in rows["target_status"]],
    })
    colour = {"Against peers": (rows["peer_judgement"].tolist(), _style.PEER),
              "Direction": (rows["travel"].tolist(), _style.TRAVEL),
              "SPC": (rows["spc_variation"].tolist(), _style.SPC),
              "Target": (rows["target_status"].tolist(), _style.RAG)}
    end = pd.Timestamp(rows["period_end"].iloc[0]) if len(rows) else None
    sub = subtitle or (f"12 months to {end:%B %Y}; peers: the area's Most Similar Group" if end is not None else "")
    return _styled(frame, title, sub, colour,
                   notes=["Values are rates or percentages with their 95% confidence interval; 'p' is the exact "
                          "test of the change on the previous 12 months."])


def peers_table(explained: pd.DataFrame, title: str = "Who the peers are and why"):
    """``peers.explain`` as a table: rank, peer, distance, what it differs most on and is closest on."""
    frame = pd.DataFrame({
        "Rank": explained["rank"].astype(int).astype(str),
        "Peer": explained["peer_name"].astype(str) + " (" + explained["peer_code"].astype(str) + ")",
        "Distance": [_w.number(d, digits=2) for d in explained["distance"]],
        "Differs most on": explained["differs_most_on"].astype(str).str.replace("_", " "),
        "Closest on": explained["closest_on"].astype(str).str.replace("_", " "),
    })
    return _styled(frame, title, "distance: Euclidean on z-scores of the area characteristics (0 = identical)")


def areas_table(table: pd.DataFrame, areas: pd.DataFrame, title: str):
    """Exceptions by area (a force's CSPs side by side): area, exceptions, which indicators, worse than peers."""
    rows = []
    for code, name in zip(areas["area_code"], areas["area_name"]):
        t = table[table["area_code"] == code]
        exc = t[t["exception"].astype(bool)].sort_values("priority", ascending=False, kind="stable")
        rows.append({"Area": f"{name} ({code})", "Indicators": str(len(t)), "Need attention": str(len(exc)),
                     "Which": ", ".join(_w.short_label(x) for x in exc["label"]) or "none",
                     "Worse than peers": str(int((t["peer_judgement"] == "worse").sum())),
                     "Better than peers": str(int((t["peer_judgement"] == "better").sum()))})
    return _styled(pd.DataFrame(rows), title)
