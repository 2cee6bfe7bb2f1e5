"""``perfwork decisions add|list|show|update|review|export|seed-demo``: the decision and action log from the shell.

Every verb takes ``--log FILE_OR_URL`` (default: $PERFWORK_LOG, else the demo's log under data/). On data other
than the demo (--data / --store) the log must be named, so real decisions never land in the demo's file.
"""

from __future__ import annotations

import argparse
import os

import pandas as pd

from ..errors import UsageError
from ._common import add_data_options, load_dataset


def _log_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--log", metavar="FILE_OR_URL", default=None,
                   help="the decision log: an SQLite file or an SQLAlchemy URL such as "
                        "postgresql+psycopg://user@host/db (default: $PERFWORK_LOG, else the demo's log)")


def add_decisions_commands(subparsers) -> argparse.ArgumentParser:
    """Register ``perfwork decisions`` and its verbs."""
    top = subparsers.add_parser(
        "decisions", help="the decision and action log: record, update, review whether actions worked, export",
        description="What the partnership decided about an exception, who owns each action and when it is due, "
                    "and whether the indicator has moved since. The log is append-only: every change is a new "
                    "version with who and when.")
    verbs = top.add_subparsers(dest="verb", required=True, metavar="VERB")

    p = verbs.add_parser("add", help="record a decision (and an action) against an area and indicator",
                         description="Record a decision with a snapshot of the judgement it was based on.")
    p.add_argument("--area", required=True, help="area code or name")
    p.add_argument("--indicator", default=None, help="indicator id (e.g. burglary); none: an area-wide decision")
    p.add_argument("--decision", required=True, help="what was decided")
    p.add_argument("--author", required=True, help="who decided (the chair or the board)")
    p.add_argument("--date", default=None, metavar="YYYY-MM-DD", help="the meeting's date (default: today)")
    p.add_argument("--meeting", default=None, help="the meeting, e.g. 'Board, October 2025'")
    p.add_argument("--period-end", default=None, metavar="YYYY-MM",
                   help="the month the judged 12 months end (default: the month before the meeting)")
    p.add_argument("--action", action="append", default=[], help="an action (repeat for several)")
    p.add_argument("--owner", action="append", default=[], help="the action's owner (one per --action)")
    p.add_argument("--due", action="append", default=[], metavar="YYYY-MM-DD", help="the action's due date")
    p.add_argument("--framework", default="national", help="framework of the judgement (default: %(default)s)")
    _log_option(p)
    add_data_options(p)
    p.set_defaults(func=cmd_add)

    p = verbs.add_parser("list", help="decisions and their actions", description="The current version of each "
                         "decision with its actions; overdue actions marked.")
    p.add_argument("--area", default=None, help="only this area (code)")
    p.add_argument("--open", action="store_true", help="only open actions")
    p.add_argument("--standing", action="store_true", help="leave out withdrawn decisions (shown, marked, otherwise)")
    _log_option(p)
    p.set_defaults(func=cmd_list)

    p = verbs.add_parser("show", help="one decision or action with its whole history",
                         description="One decision (D3) or action (A5): the current version, then every version.")
    p.add_argument("id", help="D<number> for a decision, A<number> for an action")
    _log_option(p)
    p.set_defaults(func=cmd_show)

    p = verbs.add_parser("update", help="edit, change the status of, add an action to or withdraw an entry",
                         description="A new version of a decision (D3) or action (A5), with who and when; "
                                     "the earlier versions stay in the log.")
    p.add_argument("id", help="D<number> or A<number>")
    p.add_argument("--by", required=True, help="who makes this change")
    p.add_argument("--decision", default=None, help="new decision text (decisions)")
    p.add_argument("--meeting", default=None, help="new meeting (decisions)")
    p.add_argument("--status", default=None, help="open, done or dropped (actions)")
    p.add_argument("--action", default=None, help="new action text (actions); with --add-action on a decision")
    p.add_argument("--owner", default=None, help="new owner (actions, or the added action)")
    p.add_argument("--due", default=None, metavar="YYYY-MM-DD", help="new due date (actions, or the added action)")
    p.add_argument("--add-action", action="store_true", help="add --action/--owner/--due to decision ID")
    p.add_argument("--withdraw", action="store_true", help="withdraw the entry (it stays visible as withdrawn)")
    p.add_argument("--note", default=None, help="why (required with --withdraw)")
    _log_option(p)
    p.set_defaults(func=cmd_update)

    p = verbs.add_parser("review", help="did it work? the indicator since each decision, in words",
                         description="For every standing decision: the exact change test of the months since "
                                     "against the 12 months before, SPC special causes since, peer position and "
                                     "target status then and now.")
    p.add_argument("--area", default=None, help="only this area (code or name)")
    p.add_argument("--csv", metavar="FILE", help="also write the review table to a CSV file")
    _log_option(p)
    add_data_options(p)
    p.set_defaults(func=cmd_review)

    p = verbs.add_parser("export", help="the whole log to CSV or Excel",
                         description="Decisions and actions (current versions, or every version with --history).")
    out = p.add_mutually_exclusive_group(required=True)
    out.add_argument("--csv", metavar="FILE")
    out.add_argument("--xlsx", metavar="FILE")
    p.add_argument("--history", action="store_true", help="every version, not only the current ones")
    _log_option(p)
    p.set_defaults(func=cmd_export)

    p = verbs.add_parser("seed-demo", help="record the demo's example decisions (once; running it again adds nothing)",
                         description="Decisions on the Demo Kingdom's planted stories, for the review to find.")
    _log_option(p)
    p.set_defaults(func=cmd_seed_demo)
    return top


def _log(args, dataset=None):
    from ..decisions import ENV, open_log

    if args.log is None and not os.environ.get(ENV) and dataset is not None and dataset.name != "demo":
        raise UsageError(f"--log: name the decision log for {dataset.name} (a file or URL, or set ${ENV}); the "
                         "default log belongs to the demo")
    return open_log(args.log)


def cmd_add(args) -> int:
    from .. import decisions as dec

    n = len(args.action)
    if len(args.owner) != n or len(args.due) not in (0, n):
        raise dec.EntryError("owner", f"give one --owner (and optionally one --due) per --action: {n} action(s), "
                                      f"{len(args.owner)} owner(s), {len(args.due)} due date(s)")
    dataset = load_dataset(args)
    log = _log(args, dataset)
    acts = [{"action": a, "owner": o, "due": args.due[i] if args.due else None}
            for i, (a, o) in enumerate(zip(args.action, args.owner))]
    did = dec.record(dataset, log, area=args.area, indicator=args.indicator, decision=args.decision,
                     author=args.author, decided_on=args.date, meeting=args.meeting, period_end=args.period_end,
                     actions=acts, framework=args.framework)
    print(f"recorded decision D{did} in {log!r}")
    return 0


def _table(df: pd.DataFrame) -> str:
    return df.to_string(index=False) if len(df) else "(none)"


def _words(v) -> str:
    return "" if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v)


def cmd_list(args) -> int:
    from .. import decisions as dec

    log = _log(args)
    if args.open:
        acts = dec.open_actions(log, area=args.area)
        print(f"{len(acts)} open action(s), {int(acts['overdue'].sum())} overdue")
        print(_table(_actions_view(acts)))
        return 0
    d = dec.decisions(log, area=args.area, include_withdrawn=not args.standing)
    acts = dec.actions(log, area=args.area)
    print(f"{len(d)} decision(s) in {log!r}")
    for r in d.itertuples():
        what = r.indicator if isinstance(r.indicator, str) else "area-wide"
        flag = " [WITHDRAWN]" if r.withdrawn else ""
        print(f"\nD{r.decision_id}{flag} {r.area_code} {what}, {r.decided_on:%Y-%m-%d}"
              f"{' (' + r.meeting + ')' if isinstance(r.meeting, str) else ''}, by {r.author} (v{r.version})")
        print(f"  {r.decision}")
        mine = acts[acts["decision_id"] == r.decision_id]
        if len(mine):
            print("  " + _table(_actions_view(mine)).replace("\n", "\n  "))
    return 0


def _actions_view(acts: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "id": "A" + acts["action_id"].astype(str),
        "area": acts["area_code"],
        "action": acts["action"],
        "owner": acts["owner"],
        "due": acts["due"].map(lambda d: "" if pd.isna(d) else f"{d:%Y-%m-%d}"),
        "status": [("withdrawn" if w else s) + (" OVERDUE" if o else "")
                   for s, w, o in zip(acts["status"], acts["withdrawn"], acts["overdue"])],
    })


def cmd_show(args) -> int:
    from .. import decisions as dec

    got = dec.show(_log(args), args.id)
    cur = got["current"]
    tag = "D" if got["kind"] == "decision" else "A"
    print(f"{tag}{got['id']} ({got['kind']}), version {cur['version']}"
          f"{' - WITHDRAWN' if bool(cur['withdrawn']) else ''}")
    fields = (["area_code", "indicator", "decided_on", "meeting", "period_end", "decision", "author"]
              if got["kind"] == "decision" else ["decision_id", "action", "owner", "due", "review_on", "status"])
    for f in fields:
        v = cur[f]
        print(f"  {f}: {v:%Y-%m-%d}" if isinstance(v, pd.Timestamp) else f"  {f}: {_words(v)}")
    if got["kind"] == "decision":
        import json
        snap = json.loads(cur["snapshot"])
        ind = snap.get("indicator") or {}
        print(f"  judgement then (12 months to {snap['period_end']}): " + "; ".join(
            f"{k} {_words(ind.get(k)) if not isinstance(ind.get(k), float) else format(ind[k], '.3g')}"
            for k in ("value", "benchmark", "peer_judgement", "travel", "spc_variation", "target_status", "reasons"))
            if ind else f"  area-wide; exceptions then: {len(snap.get('exceptions', []))}")
        if len(got["actions"]):
            print("  actions:\n  " + _table(_actions_view(got["actions"])).replace("\n", "\n  "))
    print("history:")
    for v in got["versions"].itertuples():
        print(f"  v{v.version} {v.recorded_at:%Y-%m-%d %H:%M:%S} UTC by {v.recorded_by}"
              f"{' (withdrawn)' if bool(v.withdrawn) else ''}{': ' + v.note if isinstance(v.note, str) else ''}")
    return 0


def cmd_update(args) -> int:
    from .. import decisions as dec

    log = _log(args)
    kind, ident = dec.parse_ref(args.id)
    if args.withdraw:
        if not args.note:
            raise dec.EntryError("note", "say why with --note when withdrawing")
        v = dec.withdraw(log, args.id, by=args.by, reason=args.note)
        print(f"withdrew {args.id.upper()} (version {v})")
        return 0
    if args.add_action:
        if kind != "decision":
            raise dec.EntryError("id", "--add-action adds to a decision (D<number>)")
        aid = dec.add_action(log, ident, action=args.action, owner=args.owner, due=args.due, by=args.by)
        print(f"added action A{aid} to D{ident}")
        return 0
    if kind == "decision":
        if any(x is not None for x in (args.status, args.action, args.owner, args.due)):
            raise dec.EntryError("id", "--status/--action/--owner/--due change actions (A<number>); use "
                                       "--add-action to add one to a decision")
        v = dec.update_decision(log, ident, by=args.by, decision=args.decision, meeting=args.meeting, note=args.note)
    else:
        if args.decision is not None or args.meeting is not None:
            raise dec.EntryError("id", "--decision/--meeting change decisions (D<number>)")
        v = dec.update_action(log, ident, by=args.by, status=args.status, action=args.action, owner=args.owner,
                              due=args.due, note=args.note)
    print(f"{args.id.upper()} is now at version {v}")
    return 0


def cmd_review(args) -> int:
    from .. import decisions as dec

    dataset = load_dataset(args)
    log = _log(args, dataset)
    area = str(dataset.area(args.area)["area_code"]) if args.area else None
    r = dec.review(dataset, log, area=area)
    if args.csv:
        r.to_csv(args.csv, index=False, date_format="%Y-%m-%d")
        print(f"wrote {len(r)} rows to {args.csv}")
    print(dec.review_text(r))
    return 0


def cmd_export(args) -> int:
    from ..decisions import export

    log = _log(args)
    path = (export.to_csv if args.csv else export.to_xlsx)(log, args.csv or args.xlsx, with_history=args.history)
    print(f"wrote {path}")
    return 0


def cmd_seed_demo(args) -> int:
    from ..decisions import demo

    log = _log(args)
    added = demo.seed(log)
    print(f"demo decisions: {added} added to {log!r}" if added else f"demo decisions already in {log!r}")
    return 0
