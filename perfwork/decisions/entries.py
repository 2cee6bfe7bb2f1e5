"""Decisions and actions: record, edit, withdraw and read them back.

    from perfwork import decisions as dec
    log = dec.open_log("board.sqlite")                       # or a postgresql+psycopg:// URL
    d = dec.record(ds, log, area="DK-C0123", indicator="burglary", decision="Target-harden repeat victims",
                   author="A. Chair", decided_on="2025-10-14",
                   actions=[{"action": "Fund 200 lock fits", "owner": "Housing", "due": "2026-01-31"}])
    dec.update_action(log, 1, by="Housing", status="done")
    dec.decisions(log, area="DK-C0123"); dec.open_actions(log, "DK-C0123"); dec.history(log)

A decision keeps a snapshot of the judgement it was based on (the area's assessment at ``period_end``: value,
benchmark, peer judgement, travel, SPC, target status, reasons, and the run record when the assessment has one).
Every input is checked before anything is written; an error names the field (``EntryError.field``).
"""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pandas as pd
import sqlalchemy as sa

from ..dataset import Dataset
from ..errors import UsageError
from ..targets import default_targets
from . import log as _log
from .log import ACTION_STATUSES, Log, open_log

MAX_TEXT = 20_000
MAX_NAME = 200
SNAPSHOT_FIELDS = ("label", "kind", "polarity", "value", "lower", "upper", "benchmark", "significance",
                   "peer_judgement", "group_rank", "group_size", "prev_value", "change_pct", "p_value", "travel",
                   "spc_variation", "spc_rule", "target", "target_value", "target_status", "exception", "reasons",
                   "notes", "value_method", "benchmark_method", "change_method", "spc_method")
DECISION_FIELDS = ("decision", "author", "meeting", "decided_on")
ACTION_FIELDS = ("action", "owner", "due", "review_on", "status")


class EntryError(UsageError):
    """An entry that cannot be recorded as given; ``field`` names the input at fault. Nothing was written."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(f"{field}: {message}")


# ------------------------------------------------------------------------------------------------ checking input
def _text(field: str, value, required: bool = True, limit: int = MAX_TEXT) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise EntryError(field, "is required and was empty")
        return None
    if not isinstance(value, str):
        raise EntryError(field, f"expected text, got {type(value).__name__}")
    if "\x00" in value:
        raise EntryError(field, "contains a NUL character")
    if len(value) > limit:
        raise EntryError(field, f"is {len(value):,} characters long; at most {limit:,}")
    return value.strip()


def _date(field: str, value, required: bool = False) -> date | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise EntryError(field, "is required (YYYY-MM-DD)")
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, date):
        return value if type(value) is date else value.date()
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise EntryError(field, f"{value!r} is not a date (expected YYYY-MM-DD)") from None


def _status(value) -> str:
    if value not in ACTION_STATUSES:
        raise EntryError("status", f"{value!r} is not one of {', '.join(ACTION_STATUSES)}")
    return value


def _action_values(raw: dict) -> dict:
    if not isinstance(raw, dict):
        raise EntryError("actions", f"each action is a dict with action, owner, due; got {type(raw).__name__}")
    unknown = set(raw) - set(ACTION_FIELDS)
    if unknown:
        raise EntryError("actions", f"unknown field(s) {', '.join(sorted(unknown))}; "
                                    f"expected {', '.join(ACTION_FIELDS)}")
    return {"action": _text("action", raw.get("action")), "owner": _text("owner", raw.get("owner"), limit=MAX_NAME),
            "due": _date("due", raw.get("due")), "review_on": _date("review_on", raw.get("review_on")),
            "status": _status(raw.get("status", "open"))}


def _plain(v):
    """A JSON-safe scalar: numbers as float/int, missing as None, times as ISO text."""
    if v is None or (not isinstance(v, (str, bytes, list, dict)) and pd.isna(v)):
        return None
    if isinstance(v, (np.bool_, bool)):
        return bool(v)
    if isinstance(v, (np.integer, int)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        return float(v)
    if isinstance(v, (pd.Timestamp, date)):
        return v.isoformat()[:10]
    return str(v)


def _run_record(used, dataset, framework, level: str, period_end: pd.Timestamp, targets) -> dict:
    """The run record the judgement came from: the Assessment's, or one made for the single-area assessment."""
    run = getattr(used, "run", None)
    if run is None and not isinstance(dataset, Dataset):        # the apps' stored assessment: what it says of itself
        meta = getattr(used, "meta", {})
        return {k: _plain(meta.get(k)) for k in ("dataset", "framework", "level", "period_end", "data")}
    if run is None:
        from ..framework import load_framework
        from ..provenance import record as run_record

        run = run_record(dataset, load_framework(framework), level=level, period="rolling12", period_end=period_end,
                         targets=targets if isinstance(targets, pd.DataFrame) else None,
                         options={"targets": targets if isinstance(targets, str) else None})
    return json.loads(json.dumps({**run.as_dict(), "inputs": run.inputs}, default=str))


def _judged(source) -> bool:
    """Whether ``source`` is an assessment (``pw.Assessment`` or the apps' stored one) rather than a Dataset."""
    return hasattr(source, "for_area") and hasattr(source, "table")


def _period_end(source, decided_on: date, period_end) -> pd.Timestamp:
    """The 12 months a decision rests on: as given, else those ending the month before the meeting (or the data's
    last month, if earlier). A stored assessment without its Dataset (the apps') offers only its own periods."""
    ds = getattr(source, "dataset", source)
    if isinstance(ds, Dataset):
        months = ds.months
        ends = pd.date_range(months[0] + pd.DateOffset(months=11), months[-1], freq="MS")
    else:
        ends = pd.DatetimeIndex(sorted(source.table["period_end"].unique()))
    if period_end is not None:
        try:
            pe = pd.Timestamp(str(period_end)[:7] + "-01")
        except ValueError:
            raise EntryError("period_end", f"{period_end!r} is not a month (expected YYYY-MM)") from None
        if pe not in ends:
            raise EntryError("period_end", f"{pe:%Y-%m} is not one of the 12-month periods judged here "
                                           f"({ends[0]:%Y-%m} to {ends[-1]:%Y-%m})")
        return pe
    want = pd.Timestamp(decided_on).to_period("M").to_timestamp() - pd.DateOffset(months=1)
    if want < ends[0]:
        raise EntryError("decided_on", f"{decided_on} is before the first 12 months judged here end "
                                       f"({ends[0]:%Y-%m}): there was no judgement to base it on")
    return ends[ends <= want][-1]


def _area_rows(source, code: str, level: str, period_end: pd.Timestamp, targets,
               framework) -> tuple[pd.DataFrame, object]:
    """The area's assessment at ``period_end``: read from the Assessment given when it holds that period (the
    latest, or every period end with ``assess_all(..., period_end="all")``), else assessed for that area and period."""
    from ..judgement import assess

    if _judged(source) and source.level == level and (source.table["period_end"] == period_end).any():
        rows = source.for_area(code)
        if rows["period_end"].nunique() > 1:                  # an assessment of every period end (period_end="all")
            rows = rows[rows["period_end"] == period_end].reset_index(drop=True)
            rows.attrs = dict(source.table.attrs)
        return rows, source
    ds, fw = (source.dataset, source.framework) if _judged(source) else (source, framework)
    if not isinstance(ds, Dataset):
        raise EntryError("period_end", f"this assessment holds the 12 months to "
                                       f"{source.table['period_end'].max():%Y-%m} only")
    return assess(ds, area=code, period_end=period_end, level=level, framework=fw, targets=targets), None


def snapshot(source, area: str, indicator: str | None, period_end: pd.Timestamp, targets=None,
             framework="national") -> dict:
    """The judgement a decision is based on, as stored with it."""
    ds = source.dataset if _judged(source) else source
    row = ds.area(area)
    rows, used = _area_rows(source, row["area_code"], row["level"], period_end, targets, framework)
    fw = getattr(source, "framework", framework)
    snap = {"period_end": f"{period_end:%Y-%m}", "level": row["level"], "area_name": row["area_name"],
            "dataset": ds.name, "framework": getattr(fw, "name", str(fw)),
            "indicator": None,
            "exceptions": [{"indicator": i, "label": lab, "reasons": why} for i, lab, why in
                           rows.loc[rows["exception"].astype(bool), ["indicator", "label", "reasons"]].to_numpy()],
            "run": _run_record(used, ds, fw, row["level"], period_end, targets)}
    if indicator is not None:
        r = rows[rows["indicator"] == indicator]
        if r.empty:
            raise EntryError("indicator", f"{indicator!r} has no assessment for {area} at {period_end:%Y-%m}")
        rec = r.iloc[0].to_dict()
        snap["indicator"] = {f: _plain(rec[f]) for f in SNAPSHOT_FIELDS if f in rec}
    return snap


def _check_subject(source, area, indicator, framework):
    from ..framework import load_framework

    ds = source.dataset if _judged(source) else source
    if not hasattr(ds, "area"):
        raise TypeError("record() needs the Dataset or Assessment the decision is about")
    area = _text("area", area, limit=MAX_NAME)
    try:
        row = ds.area(area)
    except KeyError as exc:
        raise EntryError("area", exc.args[0]) from None
    if row["level"] not in ("csp", "force"):
        raise EntryError("area", f"{row['area_code']} is a {row['level']}; decisions are about CSPs or forces")
    indicator = _text("indicator", indicator, required=False, limit=MAX_NAME)
    if indicator is not None:
        fw = source.framework if _judged(source) else load_framework(framework)
        try:
            fw.get(indicator)
        except KeyError as exc:
            raise EntryError("indicator", exc.args[0]) from None
    return ds, str(row["area_code"]), indicator


# ------------------------------------------------------------------------------------------------ writing
def record(source, log, *, area: str, decision: str, author: str, indicator: str | None = None,
           decided_on=None, meeting: str | None = None, period_end=None, actions=(), targets=None,
           framework="national", recorded_by: str | None = None, today: date | None = None) -> int:
    """Record a decision (and its actions) against an area and indicator (``None``: area-wide); returns its id.

    ``source``: the Dataset or an Assessment (its framework, targets and, when at the decision's period, its
    rows are used; with a Dataset, ``framework`` and ``targets`` as ``pw.assess``). ``decided_on``: the
    meeting's date (default today); ``period_end``: the month the judgement's 12 months end (default the month
    before the meeting, or the data's latest). ``actions``: dicts with action, owner, due, review_on (optional)
    and status (default open). ``recorded_by`` defaults to the author.
    """
    today = today or date.today()
    ds, code, indicator = _check_subject(source, area, indicator, framework)
    values = {"decision": _text("decision", decision), "author": _text("author", author, limit=MAX_NAME),
              "meeting": _text("meeting", meeting, required=False, limit=MAX_NAME),
              "decided_on": _date("decided_on", decided_on) or today}
    if values["decided_on"] > today:
        raise EntryError("decided_on", f"{values['decided_on']} is in the future; record decisions once taken")
    who = _text("recorded_by", recorded_by, required=False, limit=MAX_NAME) or values["author"]
    planned = [_action_values(a) for a in (actions or ())]
    pe = _period_end(source, values["decided_on"], period_end)
    if targets is None:
        targets = getattr(source, "targets", None) if _judged(source) else default_targets(ds)
    snap = json.dumps(snapshot(source, code, indicator, pe, targets=targets, framework=framework),
                      ensure_ascii=False)

    def work(conn):
        stamp = _log.now_utc()
        did = conn.execute(_log.decisions.insert().values(created_at=stamp, created_by=who)).inserted_primary_key[0]
        conn.execute(_log.decision_versions.insert().values(
            decision_id=did, version=1, area_code=code, indicator=indicator, period_end=pe.date(), withdrawn=False,
            snapshot=snap, recorded_by=who, recorded_at=stamp, note=None, **values))
        for a in planned:
            _insert_action(conn, did, a, who, stamp)
        return int(did)

    return open_log(log).write(work)


def _insert_action(conn, decision_id: int, values: dict, who: str, stamp) -> int:
    aid = conn.execute(_log.actions.insert().values(decision_id=decision_id, created_at=stamp,
                                                    created_by=who)).inserted_primary_key[0]
    conn.execute(_log.action_versions.insert().values(action_id=aid, version=1, withdrawn=False, recorded_by=who,
                                                      recorded_at=stamp, note=None, **values))
    return int(aid)


def _latest(conn, table: sa.Table, key: str, ident: int) -> dict:
    row = conn.execute(sa.select(table).where(table.c[key] == ident).order_by(table.c.version.desc())
                       .limit(1)).mappings().first()
    if row is None:
        raise EntryError(key, f"there is no {'decision' if key == 'decision_id' else 'action'} {ident} in the log")
    return dict(row)


def _new_version(log, table: sa.Table, key: str, ident: int, by: str, changes: dict, note,
                 must_change: bool = False) -> int:
    by = _text("by", by, limit=MAX_NAME)
    note = _text("note", note, required=False)

    def work(conn):
        row = _latest(conn, table, key, ident)
        if not any(row[k] != v for k, v in changes.items()) and (must_change or note is None):
            raise EntryError("changes", f"nothing to change: {key.split('_')[0]} {ident} already says that")
        row.update(changes)
        row.pop("row_id")
        row.update(version=row["version"] + 1, recorded_by=by, recorded_at=_log.now_utc(), note=note)
        conn.execute(table.insert().values(**row))
        return row["version"]

    return open_log(log).write(work)


def update_decision(log, decision_id: int, by: str, *, decision=None, meeting=None, decided_on=None, author=None,
                    note=None) -> int:
    """Edit a decision: a new version with ``by`` and the time; the earlier versions stay. Returns the version."""
    changes = {}
    if decision is not None:
        changes["decision"] = _text("decision", decision)
    if author is not None:
        changes["author"] = _text("author", author, limit=MAX_NAME)
    if meeting is not None:
        changes["meeting"] = _text("meeting", meeting, required=False, limit=MAX_NAME)
    if decided_on is not None:
        changes["decided_on"] = _date("decided_on", decided_on)
    if not changes and note is None:
        raise EntryError("changes", "give at least one of decision, author, meeting, decided_on, note")
    return _new_version(log, _log.decision_versions, "decision_id", int(decision_id), by, changes, note)


def update_action(log, action_id: int, by: str, *, status=None, action=None, owner=None, due=None, review_on=None,
                  note=None) -> int:
    """Change an action's status (open, done, dropped), text, owner or dates: a new version. Returns the version."""
    changes = {}
    if status is not None:
        changes["status"] = _status(status)
    if action is not None:
        changes["action"] = _text("action", action)
    if owner is not None:
        changes["owner"] = _text("owner", owner, limit=MAX_NAME)
    if due is not None:
        changes["due"] = _date("due", due)
    if review_on is not None:
        changes["review_on"] = _date("review_on", review_on)
    if not changes and note is None:
        raise EntryError("changes", "give at least one of status, action, owner, due, review_on, note")
    return _new_version(log, _log.action_versions, "action_id", int(action_id), by, changes, note)


def add_action(log, decision_id: int, *, action: str, owner: str, due=None, review_on=None,
               by: str | None = None) -> int:
    """Add an action to a recorded decision; returns the action's id."""
    values = _action_values({"action": action, "owner": owner, "due": due, "review_on": review_on})
    who = _text("by", by, required=False, limit=MAX_NAME) or values["owner"]

    def work(conn):
        _latest(conn, _log.decision_versions, "decision_id", int(decision_id))
        return _insert_action(conn, int(decision_id), values, who, _log.now_utc())

    return open_log(log).write(work)


def withdraw(log, ref, by: str, reason: str) -> int:
    """Withdraw a decision (``"D3"`` or 3) or an action (``"A5"``): a new version marked withdrawn, with the reason;
    it stays in the log and its history, shown as withdrawn."""
    kind, ident = parse_ref(ref)
    reason = _text("reason", reason)
    table, key = ((_log.decision_versions, "decision_id") if kind == "decision"
                  else (_log.action_versions, "action_id"))
    return _new_version(log, table, key, ident, by, {"withdrawn": True}, reason, must_change=True)


def parse_ref(ref) -> tuple[str, int]:
    """``"D3"`` / ``3`` -> ("decision", 3); ``"A5"`` -> ("action", 5)."""
    text = str(ref).strip().upper()
    kind = "action" if text.startswith("A") else "decision"
    digits = text[1:] if text[:1] in ("A", "D") else text
    if not digits.isdigit():
        raise EntryError("id", f"{ref!r} is not a decision (D12) or action (A7) id")
    return kind, int(digits)


# ------------------------------------------------------------------------------------------------ reading
def _frame(conn, query) -> pd.DataFrame:
    res = conn.execute(query)
    return pd.DataFrame(res.mappings().all(), columns=list(res.keys()))


def _latest_of(table: sa.Table, key: str):
    last = sa.select(table.c[key], sa.func.max(table.c.version).label("v")).group_by(table.c[key]).subquery()
    return sa.select(table).join(last, sa.and_(table.c[key] == last.c[key], table.c.version == last.c.v))


def _dates(df: pd.DataFrame, cols) -> pd.DataFrame:
    for c in cols:
        if c in df.columns:
            df[c] = pd.to_datetime(df[c])
    return df


def decisions(log, area: str | None = None, include_withdrawn: bool = True) -> pd.DataFrame:
    """The current version of every decision (oldest first), with its snapshot parsed and counts of its actions."""
    log = open_log(log)
    q = _latest_of(_log.decision_versions, "decision_id")
    if area is not None:
        q = q.where(_log.decision_versions.c.area_code == area)
    with log.read() as conn:
        df = _frame(conn, q.order_by(_log.decision_versions.c.decision_id))
    df = _dates(df.drop(columns=["row_id"]), ["period_end", "decided_on", "recorded_at"])
    df["snapshot"] = [json.loads(s) for s in df["snapshot"]]
    df["withdrawn"] = df["withdrawn"].astype(bool)
    if not include_withdrawn:
        df = df[~df["withdrawn"]].reset_index(drop=True)
    acts = actions(log, area=area)
    live = acts[~acts["withdrawn"]]
    df["actions"] = df["decision_id"].map(live.groupby("decision_id").size()).fillna(0).astype(int)
    df["open_actions"] = df["decision_id"].map(live[live["status"] == "open"].groupby("decision_id").size()) \
        .fillna(0).astype(int)
    return df


def actions(log, area: str | None = None, today: date | None = None) -> pd.DataFrame:
    """The current version of every action with its decision's area, indicator, date and withdrawal, and
    ``overdue`` (open, due before today, decision not withdrawn)."""
    log = open_log(log)
    av, dv = _log.action_versions, _log.decision_versions
    cur_d = _latest_of(dv, "decision_id").subquery()
    q = (_latest_of(av, "action_id").add_columns(_log.actions.c.decision_id, cur_d.c.area_code, cur_d.c.indicator,
                                                  cur_d.c.decided_on, cur_d.c.withdrawn.label("decision_withdrawn"))
         .join(_log.actions, _log.actions.c.action_id == av.c.action_id)
         .join(cur_d, cur_d.c.decision_id == _log.actions.c.decision_id))
    if area is not None:
        q = q.where(cur_d.c.area_code == area)
    with log.read() as conn:
        df = _frame(conn, q.order_by(av.c.action_id))
    df = _dates(df.drop(columns=["row_id"]), ["due", "review_on", "decided_on", "recorded_at"])
    for c in ("withdrawn", "decision_withdrawn"):
        df[c] = df[c].astype(bool)
    today = pd.Timestamp(today or date.today())
    live = ~df["withdrawn"] & ~df["decision_withdrawn"]
    df["overdue"] = (live & (df["status"] == "open") & df["due"].notna() & (df["due"] < today)).astype(bool)
    return df


def open_actions(log, area: str | None = None, today: date | None = None) -> pd.DataFrame:
    """Open actions of decisions still standing, overdue first then by due date: what the dashboard and the
    exceptions list mark. Columns as ``actions``."""
    df = actions(log, area=area, today=today)
    df = df[(df["status"] == "open") & ~df["withdrawn"] & ~df["decision_withdrawn"]]
    return df.sort_values(["overdue", "due"], ascending=[False, True], na_position="last").reset_index(drop=True)


def with_open_actions(table: pd.DataFrame, log, today: date | None = None) -> pd.DataFrame:
    """An assessment table with ``open_actions`` (how many open actions stand against each row's area and
    indicator; area-wide decisions count for every indicator of the area) and ``overdue_actions``."""
    acts = open_actions(log, today=today)
    out = table.copy()
    key = pd.MultiIndex.from_frame(out[["area_code", "indicator"]])
    for col, part in (("open_actions", acts), ("overdue_actions", acts[acts["overdue"]])):
        by_ind = part.dropna(subset=["indicator"]).groupby(["area_code", "indicator"]).size()
        area_wide = part[part["indicator"].isna()].groupby("area_code").size()
        out[col] = (by_ind.reindex(key).fillna(0).to_numpy()
                    + out["area_code"].map(area_wide).fillna(0).to_numpy()).astype(int)
    return out


def history(log) -> pd.DataFrame:
    """Every version of every decision and action, in the order recorded: kind, id (D3 / A5), version, the fields,
    recorded_by, recorded_at and note. Nothing in it is ever changed or removed."""
    log = open_log(log)
    with log.read() as conn:
        d = _frame(conn, sa.select(_log.decision_versions).order_by(_log.decision_versions.c.row_id))
        a = _frame(conn, sa.select(_log.action_versions, _log.actions.c.decision_id)
                   .join(_log.actions, _log.actions.c.action_id == _log.action_versions.c.action_id)
                   .order_by(_log.action_versions.c.row_id))
    d = d.assign(kind="decision", id="D" + d["decision_id"].astype(str))
    a = a.assign(kind="action", id="A" + a["action_id"].astype(str))
    a["decision_id"] = a["decision_id"].astype("Int64")
    both = pd.concat([d, a], ignore_index=True)
    both = _dates(both, ["period_end", "decided_on", "due", "review_on", "recorded_at"])
    both["_order"] = (both["kind"] == "action").astype(int)          # a decision before the actions stored with it
    both = both.sort_values(["recorded_at", "_order", "row_id"], kind="stable").drop(columns=["row_id", "_order"])
    first = ["kind", "id", "version", "decision_id", "action_id", "area_code", "indicator"]
    return both[first + [c for c in both.columns if c not in first]].reset_index(drop=True)


def show(log, ref) -> dict:
    """One decision (``"D3"``) or action (``"A5"``): its current version and every version before it."""
    kind, ident = parse_ref(ref)
    h = history(log)
    mine = h[(h["kind"] == kind) & (h[f"{kind}_id"] == ident)]
    if mine.empty:
        raise EntryError("id", f"there is no {kind} {ident} in the log")
    out = {"kind": kind, "id": ident, "current": mine.iloc[-1], "versions": mine.reset_index(drop=True)}
    if kind == "decision":
        out["actions"] = actions(log).query("decision_id == @ident").reset_index(drop=True)
    return out


__all__ = [
    "EntryError",
    "Log",
    "actions",
    "add_action",
    "decisions",
    "history",
    "open_actions",
    "parse_ref",
    "record",
    "show",
    "snapshot",
    "update_action",
    "update_decision",
    "with_open_actions",
    "withdraw",
]
