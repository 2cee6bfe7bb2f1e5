"""Manage: the decision and action log, and whether the actions worked.

    from perfwork import decisions as dec
    log = dec.open_log()                           # $PERFWORK_LOG, else data/decisions-demo.sqlite; or a path / URL
    dec.record(ds, log, area="DK-C0123", indicator="burglary", decision="...", author="...", decided_on="2025-10-14")
    dec.open_actions(log, "DK-C0123")              # what is still to do, overdue first
    dec.review(ds, log)                            # for every decision: the indicator since against before, in words

The log is append-only (every edit is a new version with who and when; withdrawals stay visible) and lives in an
SQLite file or on a PostgreSQL server (``log.py``); entries are checked and recorded with a snapshot of the
judgement they were based on (``entries.py``); ``review.py`` asks whether the indicator moved since; ``export.py``
writes CSV and Excel; ``render.py`` the escaped HTML the dashboard and the profile show; ``demo.py`` seeds the demo.
"""

from __future__ import annotations

from .entries import (
                      EntryError,
                      actions,
                      add_action,
                      decisions,
                      history,
                      open_actions,
                      parse_ref,
                      record,
                      show,
                      snapshot,
                      update_action,
                      update_decision,
                      with_open_actions,
                      withdraw,
)
from .log import ACTION_STATUSES, DEMO_LOG, ENV, Log, LogError, find_log, open_log
from .review import CAVEAT, review, review_text

__all__ = ["ACTION_STATUSES", "CAVEAT", "DEMO_LOG", "ENV", "EntryError", "Log", "LogError", "actions", "add_action",
           "decisions", "find_log", "history", "open_actions", "open_log", "parse_ref", "record", "review",
           "review_text", "show", "snapshot", "update_action", "update_decision", "with_open_actions", "withdraw"]
