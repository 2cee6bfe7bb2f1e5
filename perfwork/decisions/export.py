"""The log and its history to CSV and Excel, text exactly as recorded.

CSV: one row per decision and per action (``kind``), the current versions, or every version with ``history``.
Excel: sheets Decisions and Actions (+ Decision history and Action history), and About (the log, the time of the
export, the schema version). Every text cell is written as text: a decision beginning with ``=`` is never a formula.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from . import log as _log
from .entries import actions, decisions, history

SNAPSHOT_COLUMNS = {"value": "value_then", "benchmark": "benchmark_then", "peer_judgement": "peer_judgement_then",
                    "travel": "travel_then", "spc_variation": "spc_then", "target_status": "target_status_then",
                    "reasons": "reasons_then"}
DECISION_ORDER = ["kind", "id", "version", "decision_id", "area_code", "indicator", "period_end", "decided_on",
                  "meeting", "decision", "author", "withdrawn", *SNAPSHOT_COLUMNS.values(), "recorded_by",
                  "recorded_at", "note", "snapshot"]
ACTION_ORDER = ["kind", "id", "version", "action_id", "decision_id", "area_code", "indicator", "action", "owner",
                "due", "review_on", "status", "overdue", "withdrawn", "recorded_by", "recorded_at", "note"]


def _flatten(df: pd.DataFrame) -> pd.DataFrame:
    """Snapshot fields a reader wants as columns, and the whole snapshot as JSON text."""
    snaps = [s if isinstance(s, dict) else json.loads(s) for s in df["snapshot"]]
    for key, col in SNAPSHOT_COLUMNS.items():
        df[col] = [(s.get("indicator") or {}).get(key) for s in snaps]
    df["snapshot"] = [json.dumps(s, ensure_ascii=False, sort_keys=True) for s in snaps]
    return df


def tables(log, with_history: bool = False) -> dict[str, pd.DataFrame]:
    """The frames an export writes: Decisions, Actions (current versions) and, with history, every version."""
    d = _flatten(decisions(log).assign(kind="decision"))
    d["id"] = "D" + d["decision_id"].astype(str)
    a = actions(log).assign(kind="action")
    a["id"] = "A" + a["action_id"].astype(str)
    out = {"Decisions": d[DECISION_ORDER], "Actions": a[ACTION_ORDER]}
    if with_history:
        h = history(log)
        hd = _flatten(h[h["kind"] == "decision"].copy())
        ha = h[h["kind"] == "action"].copy()
        ha["area_code"] = ha["decision_id"].map(d.set_index("decision_id")["area_code"])
        ha["indicator"] = ha["decision_id"].map(d.set_index("decision_id")["indicator"])
        out["Decision history"] = hd[DECISION_ORDER]
        out["Action history"] = ha[[c for c in ACTION_ORDER if c != "overdue"]]
    return out


def to_csv(log, path, with_history: bool = False) -> Path:
    """One CSV: decisions then actions (current versions; every version with ``with_history``)."""
    t = tables(log, with_history)
    parts = [t["Decision history"], t["Action history"]] if with_history else [t["Decisions"], t["Actions"]]
    frame = pd.concat(parts, ignore_index=True)
    for col in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[col]):
            fmt = "%Y-%m-%d %H:%M:%S.%f" if col == "recorded_at" else "%Y-%m-%d"
            frame[col] = frame[col].dt.strftime(fmt).astype(object).where(frame[col].notna(), None)
    frame.to_csv(path, index=False)
    return Path(path)


def to_xlsx(log, path, with_history: bool = False) -> Path:
    """An Excel workbook, one sheet per table and an About sheet; text cells typed as text."""
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    lg = _log.open_log(log)
    wb = Workbook()
    about = wb.active
    about.title = "About"
    for row in (("log", repr(lg)), ("exported at (UTC)", f"{_log.now_utc():%Y-%m-%d %H:%M:%S}"),
                ("schema version", _log.SCHEMA_VERSION), ("history", "every version" if with_history else
                                                          "current versions; export with history for every version")):
        about.append(row)
    for name, frame in tables(lg, with_history).items():
        ws = wb.create_sheet(name)
        ws.append(list(frame.columns))
        for values in frame.itertuples(index=False):
            ws.append([_cell(v) for v in values])
            for cell in ws[ws.max_row]:
                if isinstance(cell.value, str):
                    cell.data_type = "s"          # never a formula, whatever the text begins with
        for i, col in enumerate(frame.columns, start=1):
            ws.column_dimensions[get_column_letter(i)].width = min(60, max(10, len(col) + 2))
        ws.freeze_panes = "A2"
    wb.save(path)
    return Path(path)


def _cell(v):
    if v is None or (not isinstance(v, (str, list, dict)) and pd.isna(v)):
        return None
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime() if (v.hour or v.minute or v.second or v.microsecond) else v.date()
    if hasattr(v, "item"):
        return v.item()
    return v
