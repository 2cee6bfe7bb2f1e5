"""The demo's decisions: what the Demo Kingdom's boards decided about its planted stories (data/demo/README.md),
recorded through the log's own functions so the review has something true to find.

- DK-C0123 Dalworth, burglary surge from 2025-04: decided in October 2025; burglary has kept rising since;
- DK-C0201 Falmarsh, improving all along: a decision to keep going in July 2024; crime fell after it, as before it
  (the review's caveat in one example);
- DK-C0067 Mid Bramcombe, violence stepping up 2024-04 with a recording change: an audit decided in July 2024;
  the special causes began before the decision;
- DK-F21 Shepstoke Police, violence above its peers all along: a force plan with an action now overdue;
- DK-C0258 Woldwood, two missing months: an area-wide decision, its action dropped;
- and one decision withdrawn, visibly, as recorded against the wrong indicator.

``seed(log)`` is idempotent: a decision already in the log (same area, indicator, date and text) is not added
again, and each action's status and each withdrawal are brought to the story's state only where they differ.
"""

from __future__ import annotations

from .entries import actions, decisions, record, update_action, withdraw

STORIES = [
    {"area": "DK-C0123", "indicator": "burglary", "decided_on": "2025-10-14",
     "meeting": "Dalworth CSP board, October 2025",
     "author": "Dalworth CSP board (chair R. Amersham)",
     "decision": "Burglary is up a quarter on last year and off track: target-harden repeat victims' homes and "
                 "patrol the three worst wards at the peak hours.",
     "actions": [{"action": "Fit locks and door chains for 200 repeat-victim households", "owner": "Dalworth Homes",
                  "due": "2026-01-31", "status": "done"},
                 {"action": "Weekly hot-spot patrols in the three worst wards", "owner": "Neighbourhood inspector",
                  "due": "2026-03-31", "status": "open"}]},
    {"area": "DK-C0123", "indicator": "shoplifting", "decided_on": "2025-10-14",
     "meeting": "Dalworth CSP board, October 2025",
     "author": "Dalworth CSP board (chair R. Amersham)",
     "decision": "Shop-watch radio scheme for the town centre.",
     "withdrawn": "Recorded against shoplifting by mistake: the board discussed it but made no decision.",
     "actions": []},
    {"area": "DK-C0201", "indicator": "all_crime", "decided_on": "2024-07-10",
     "meeting": "Falmarsh CSP board, July 2024",
     "author": "Falmarsh CSP board (chair S. Idris)",
     "decision": "Crime keeps falling: keep the problem-solving neighbourhood teams for another two years.",
     "actions": [{"action": "Write up what the teams do for the other partnerships in the force",
                  "owner": "Community safety manager", "due": "2024-10-31", "status": "done"}]},
    {"area": "DK-C0067", "indicator": "violence", "decided_on": "2024-07-10",
     "meeting": "Mid Bramcombe CSP board, July 2024",
     "author": "Mid Bramcombe CSP board (chair P. Lowe)",
     "decision": "Violence stepped up in April and stayed up: audit how violence is recorded before commissioning "
                 "anything.",
     "actions": [{"action": "Recording audit of 200 violence reports from before and after April 2024",
                  "owner": "Force crime registrar", "due": "2024-10-31", "status": "done"}]},
    {"area": "DK-F21", "indicator": "violence", "decided_on": "2025-01-15",
     "meeting": "Shepstoke force performance board, January 2025",
     "author": "Shepstoke force performance board",
     "decision": "Violence is above our most similar forces in every CSP: a force-wide violence reduction plan.",
     "actions": [{"action": "Publish the violence reduction plan with each CSP's part in it", "owner": "ACC crime",
                  "due": "2025-06-30", "status": "open"}]},
    {"area": "DK-C0258", "indicator": None, "decided_on": "2024-01-15",
     "meeting": "Woldwood CSP board, January 2024",
     "author": "Woldwood CSP board (chair M. Tern)",
     "decision": "October and November 2023 have no crime data: ask the force for them before judging the year.",
     "actions": [{"action": "Ask the force for the October and November 2023 extracts", "owner": "CSP analyst",
                  "due": "2024-02-29", "status": "dropped"}]},
]


def _existing(log) -> dict:
    d = decisions(log)
    return {(r.area_code, r.indicator if isinstance(r.indicator, str) else None, f"{r.decided_on:%Y-%m-%d}",
             r.decision): r for r in d.itertuples()}


def seed(log, dataset=None) -> int:
    """Record the demo's decisions in ``log`` (once); returns how many decisions were added."""
    if dataset is None:
        from ..sources import demo as _demo
        dataset = _demo.load()
    have = _existing(log)
    added = 0
    for story in STORIES:
        key = (story["area"], story["indicator"], story["decided_on"], story["decision"])
        if key in have:
            did = int(have[key].decision_id)
        else:
            did = record(dataset, log, area=story["area"], indicator=story["indicator"], decision=story["decision"],
                         author=story["author"], decided_on=story["decided_on"], meeting=story["meeting"],
                         actions=[{k: v for k, v in a.items() if k != "status"} for a in story["actions"]])
            added += 1
        _bring_to_state(log, did, story)
    return added


def _bring_to_state(log, did: int, story: dict) -> None:
    acts = actions(log)
    mine = acts[acts["decision_id"] == did].set_index("action")
    for a in story["actions"]:
        if a["action"] in mine.index and mine.loc[a["action"], "status"] != a["status"]:
            update_action(log, int(mine.loc[a["action"], "action_id"]), by=a["owner"], status=a["status"])
    if story.get("withdrawn"):
        d = decisions(log)
        if not bool(d.loc[d["decision_id"] == did, "withdrawn"].iloc[0]):
            withdraw(log, did, by=story["author"], reason=story["withdrawn"])
