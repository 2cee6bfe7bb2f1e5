"""The decision log's storage: SQLAlchemy Core on an SQLite file (default) or a PostgreSQL server, append-only.

Where the log lives: ``open_log(target)`` with a file path or an SQLAlchemy URL (``postgresql+psycopg://...``),
else ``$PERFWORK_LOG``, else the demo's log ``data/decisions-demo.sqlite`` (git-ignored).

Append-only: a decision or action is an identity row (``decisions`` / ``actions``) plus version rows
(``decision_versions`` / ``action_versions``); an edit, a status change or a withdrawal inserts the next version
with who and when. Database triggers refuse UPDATE and DELETE on every log table, so nothing is overwritten even by
hand. The schema is versioned in ``schema_version``; ``MIGRATIONS`` bring an older log up to date when it is
opened, one transaction each, under a lock so several processes opening a new log at once create it once.

SQLite: WAL journal (readers never wait for the writer), a busy timeout, and write transactions begun with
``BEGIN IMMEDIATE`` so two writers queue for the lock instead of failing half-way; a write still refused as
"database is locked" is retried with backoff, so it never reaches the user.
"""

from __future__ import annotations

import os
import random
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from .._paths import demo_dir
from ..errors import UsageError


def _demo_log() -> Path:
    """Where the demo's decisions are kept: ``data/decisions-demo.sqlite`` beside ``data/demo`` in a checkout
    (git-ignored); for an installed perfwork the user's data folder (``$XDG_DATA_HOME`` or ``~/.local/share``,
    then ``perfwork/``), never inside the installed package, which an upgrade replaces and a user may not write."""
    demo = demo_dir()
    if demo.parent.name == "data" and (demo.parent.parent / "pyproject.toml").exists():
        return demo.parent / "decisions-demo.sqlite"
    home = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return home / "perfwork" / "decisions-demo.sqlite"


DEMO_LOG = _demo_log()
ENV = "PERFWORK_LOG"
SCHEMA_VERSION = 1
BUSY_TIMEOUT_S = 30.0
WRITE_ATTEMPTS = 12
ACTION_STATUSES = ("open", "done", "dropped")
APPEND_ONLY = "the decision log is append-only: record a new version instead"

metadata = sa.MetaData()
schema_version = sa.Table(
    "schema_version", metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("applied_at", sa.DateTime, nullable=False))
decisions = sa.Table(
    "decisions", metadata,
    sa.Column("decision_id", sa.Integer, primary_key=True),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("created_by", sa.Text, nullable=False))
decision_versions = sa.Table(
    "decision_versions", metadata,
    sa.Column("row_id", sa.Integer, primary_key=True),
    sa.Column("decision_id", sa.Integer, sa.ForeignKey("decisions.decision_id"), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("area_code", sa.Text, nullable=False),
    sa.Column("indicator", sa.Text),                     # none: an area-wide decision
    sa.Column("period_end", sa.Date),                    # the 12 months the decision was based on end here
    sa.Column("decided_on", sa.Date, nullable=False),    # the meeting's date
    sa.Column("meeting", sa.Text),
    sa.Column("decision", sa.Text, nullable=False),
    sa.Column("author", sa.Text, nullable=False),
    sa.Column("withdrawn", sa.Boolean, nullable=False),
    sa.Column("snapshot", sa.Text, nullable=False),      # JSON: the judgement at decision time
    sa.Column("recorded_by", sa.Text, nullable=False),
    sa.Column("recorded_at", sa.DateTime, nullable=False),  # UTC
    sa.Column("note", sa.Text),                          # why this version (edit, withdrawal)
    sa.UniqueConstraint("decision_id", "version", name="uq_decision_version"))
actions = sa.Table(
    "actions", metadata,
    sa.Column("action_id", sa.Integer, primary_key=True),
    sa.Column("decision_id", sa.Integer, sa.ForeignKey("decisions.decision_id"), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("created_by", sa.Text, nullable=False))
action_versions = sa.Table(
    "action_versions", metadata,
    sa.Column("row_id", sa.Integer, primary_key=True),
    sa.Column("action_id", sa.Integer, sa.ForeignKey("actions.action_id"), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("owner", sa.Text, nullable=False),
    sa.Column("due", sa.Date),
    sa.Column("review_on", sa.Date),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("withdrawn", sa.Boolean, nullable=False),
    sa.Column("recorded_by", sa.Text, nullable=False),
    sa.Column("recorded_at", sa.DateTime, nullable=False),
    sa.Column("note", sa.Text),
    sa.UniqueConstraint("action_id", "version", name="uq_action_version"),
    sa.CheckConstraint("status IN ('open', 'done', 'dropped')", name="ck_action_status"))
LOG_TABLES = ("decisions", "decision_versions", "actions", "action_versions", "schema_version")


class LogError(UsageError):
    """The log cannot be used as asked (cannot be reached, a newer schema, still busy after every retry)."""


def _append_only_ddl(dialect: str) -> list[str]:
    if dialect == "sqlite":
        return [f"CREATE TRIGGER {t}_append_only_{op.lower()} BEFORE {op} ON {t} "
                f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"
                for t in LOG_TABLES for op in ("UPDATE", "DELETE")]
    return [(f"CREATE FUNCTION perfwork_append_only() RETURNS trigger LANGUAGE plpgsql AS "
             f"$$ BEGIN RAISE EXCEPTION '{APPEND_ONLY}'; END $$")] + [
        f"CREATE TRIGGER {t}_append_only BEFORE UPDATE OR DELETE ON {t} "
        f"FOR EACH ROW EXECUTE FUNCTION perfwork_append_only()" for t in LOG_TABLES]


def _migration_1(conn: sa.Connection) -> None:
    metadata.create_all(conn)
    for ddl in _append_only_ddl(conn.dialect.name):
        conn.exec_driver_sql(ddl)


# (version, description, function): applied in order to bring a log to SCHEMA_VERSION.
MIGRATIONS = [(1, "decisions and actions with append-only version history", _migration_1)]


def now_utc() -> datetime:
    """The time stamp of a version: UTC, naive (both backends store it the same way), to the microsecond."""
    return datetime.now(UTC).replace(tzinfo=None)


def log_url(target=None) -> str:
    """The SQLAlchemy URL of a log: a URL as given, a file path as SQLite, else $PERFWORK_LOG, else the demo log."""
    target = target if target not in (None, "") else (os.environ.get(ENV) or DEMO_LOG)
    text = str(target)
    if "://" in text:
        return text
    path = Path(text).expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def _sqlite_engine(url: str) -> sa.Engine:
    engine = sa.create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_S})

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None      # we issue BEGIN ourselves (pysqlite's implicit BEGIN is too late)
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("perfwork_write") else "BEGIN")

    return engine


@dataclass
class Log:
    """An open decision log: its URL and engine. Get one with ``open_log``."""

    url: str
    engine: sa.Engine

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def __repr__(self) -> str:
        return f"Log({self.engine.url.render_as_string(hide_password=True)})"

    def read(self):
        """A connection in a read transaction (a consistent view of the log)."""
        return self.engine.begin()

    def write(self, work):
        """Run ``work(conn)`` in one write transaction, retried when the database is busy or a concurrent writer
        took the same version number; either everything in it is stored or nothing."""
        for attempt in range(WRITE_ATTEMPTS):
            try:
                with self.engine.connect().execution_options(perfwork_write=True) as conn, conn.begin():
                    if self.dialect == "postgresql":
                        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(4719)")   # one writer at a time
                    return work(conn)
            except (OperationalError, IntegrityError, DBAPIError) as exc:
                if not _retryable(exc) or attempt == WRITE_ATTEMPTS - 1:
                    if _retryable(exc):
                        raise LogError(f"the decision log {self!r} stayed busy after {WRITE_ATTEMPTS} attempts; "
                                       "nothing was written, try again") from exc
                    raise
            time.sleep(min(2.0, 0.02 * 2 ** attempt) * (0.5 + random.random()))
        raise AssertionError("unreachable")


def _retryable(exc: Exception) -> bool:
    text = str(getattr(exc, "orig", exc)).lower()
    if "database is locked" in text or "database is busy" in text:
        return True
    if "uq_decision_version" in text or "uq_action_version" in text:
        return True
    code = getattr(getattr(exc, "orig", None), "sqlstate", None)
    return code in ("40001", "40P01")          # serialization failure, deadlock


_OPEN: dict[str, Log] = {}
_OPEN_LOCK = threading.Lock()


def open_log(target=None) -> Log:
    """Open (creating or upgrading if needed) the log at a path or URL; ``None``: $PERFWORK_LOG or the demo log.
    A ``Log`` passes through. Logs are kept open per URL for the life of the process."""
    if isinstance(target, Log):
        return target
    url = log_url(target)
    with _OPEN_LOCK:
        if url not in _OPEN:
            try:
                engine = _sqlite_engine(url) if url.startswith("sqlite") else sa.create_engine(url, pool_pre_ping=True)
                log = Log(url=url, engine=engine)
                migrate(log)
            except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, OperationalError) as exc:
                shown = sa.engine.make_url(url).render_as_string(hide_password=True) if "://" in url else url
                raise LogError(f"--log: cannot open the decision log {shown}: "
                               f"{getattr(exc, 'orig', None) or exc}") from None
            _OPEN[url] = log
        return _OPEN[url]


def find_log(target=None) -> Log | None:
    """The log to read for a report: as ``open_log``, but ``None`` (rather than a new empty file) when no log is
    named, $PERFWORK_LOG is unset and the demo's log has not been made."""
    if target in (None, "") and not os.environ.get(ENV) and not DEMO_LOG.exists():
        return None
    return open_log(target)


def close_logs() -> None:
    """Close every open log's connections (tests; a process about to fork)."""
    with _OPEN_LOCK:
        for log in _OPEN.values():
            log.engine.dispose()
        _OPEN.clear()


def _current_version(conn: sa.Connection) -> int:
    if not sa.inspect(conn).has_table("schema_version"):
        return 0
    return int(conn.execute(sa.select(sa.func.max(schema_version.c.version))).scalar() or 0)


def migrate(log: Log) -> int:
    """Bring the log's schema to ``SCHEMA_VERSION``; returns the version. A log written by a newer perfwork is
    refused rather than read wrongly."""
    with log.read() as conn:
        have = _current_version(conn)
    if have == SCHEMA_VERSION:
        return have
    if have > SCHEMA_VERSION:
        raise LogError(f"the decision log {log!r} has schema version {have}; this perfwork knows up to "
                       f"{SCHEMA_VERSION}: upgrade perfwork")

    def work(conn):
        done = _current_version(conn)               # re-read under the write lock: another process may have won
        for version, description, apply in MIGRATIONS:
            if version > done:
                apply(conn)
                conn.execute(schema_version.insert().values(version=version, description=description,
                                                            applied_at=now_utc()))
        return max(done, SCHEMA_VERSION)

    return log.write(work)
