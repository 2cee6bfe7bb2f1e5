"""The DuckDB store: real data kept at the grain it came in, with a ledger of every file, and the canonical
``Dataset`` derived from it on demand.

    >>> import perfwork as pw
    >>> from perfwork.store import Store
    >>> with Store("crime.duckdb") as st:
    ...     report = st.ingest_police_uk(["2019-archive.zip"], lookups=[...], population=[...])
    >>> ds = pw.open_store("crime.duckdb")

Schema (tables of the store file):

- ``ledger``: one row per ingested file: file_id, kind (street / outcomes / stop-and-search / lookup / population /
  characteristics), file_key (what the file *is*: e.g. ``street:E23000004:2019-01``, kind:force:month with the
  force as its PFA code; ``lookup:<file name>`` for reference files), source, sha256 of its bytes,
  force, month, rows, ingest_id. Re-ingesting a file with the same key and hash is a no-op; the same key with other
  content replaces the old file's rows.
- ``ingests``: one row per ingest run (start, end, command, files new / replaced / unchanged).
- ``street``: one row per street-file row, as published: file_id, crime_key, month, lsoa_code, crime_type
  ("Crime type" text), outcome ("Last outcome category" text), blank_fields (how many of the other seven columns
  are blank: reading them makes DuckDB check every field as UTF-8); mapped to measure slugs when read.
- ``outcomes``: outcomes-file rows: file_id, crime_key, outcome_group, n. ``crime_key`` (UHUGEINT) is the first
  128 bits of the police.uk Crime ID, a SHA-256 hex digest (an ID that is not hex is MD5-hashed instead); it only
  links outcomes to crimes.
- ``stop_search``: file_id, month (UK local month of the search), result, object_found, n.
- lookups as read: ``lsoa_lad``, ``lad_csp``, ``lad_successor``, ``area_names``; ``population_raw``;
  ``characteristics_raw``.
- derived, rebuilt by every ingest in the same transaction: ``geo_csp`` (the CSP geography), ``geo_lad`` (how
  each LAD code resolves), ``lsoa_map`` (each LSOA of the street data -> CSP or why not), ``force_map``
  (police.uk force -> PFA code) and ``accounting`` (file_id, bucket, detail, rows: every input row in exactly
  one bucket).

Every ingest is one DuckDB transaction: an error or Ctrl-C rolls it back and leaves the store as it was.
"""

from __future__ import annotations

import datetime as _dt
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import duckdb
import numpy as np
import pandas as pd

from .dataset import MONTH_DTYPE, DataError, Dataset
from .measures import (ASB, CRIME_LABELS, OUTCOME_GROUPS, OUTCOME_GROUPS_BY_TEXT, STOP_AND_SEARCH,
                       STOP_SEARCH_RESULTS, known_measures, stop_search_measure)
from .sources import ons, policeuk
from .sources.policeuk import sql_quote

SCHEMA_VERSION = "1"
NATION = ("K04000001", "England and Wales")
REGIONS = {"E": ("E92000001", "England"), "W": ("W92000004", "Wales")}
BUCKETS: tuple[str, ...] = ("counted", "asb", "no_location", "lsoa_not_in_lookup", "lad_not_mapped",
                            "ambiguous_lad_csp", "rejected")
BUCKET_LABELS = {
    "counted": "counted",
    "asb": "ASB (counted as its own measure)",
    "no_location": "no location",
    "lsoa_not_in_lookup": "LSOA not in the lookup",
    "lad_not_mapped": "LAD not mapped to a CSP",
    "ambiguous_lad_csp": "ambiguous LAD -> CSP",
    "rejected": "rejected",
}
POLICE_KINDS = policeuk.KINDS

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE TABLE IF NOT EXISTS ingests(ingest_id INTEGER PRIMARY KEY, started TIMESTAMP, finished TIMESTAMP,
    command VARCHAR, new_files INTEGER, replaced_files INTEGER, unchanged_files INTEGER, new_rows BIGINT);
CREATE TABLE IF NOT EXISTS ledger(file_id INTEGER PRIMARY KEY, kind VARCHAR NOT NULL, file_key VARCHAR NOT NULL,
    source VARCHAR, sha256 VARCHAR NOT NULL, bytes BIGINT, force VARCHAR, month DATE, rows BIGINT,
    ingest_id INTEGER, layout VARCHAR, notes VARCHAR);
CREATE TABLE IF NOT EXISTS street(file_id INTEGER, crime_key UHUGEINT, month VARCHAR, lsoa_code VARCHAR,
    crime_type VARCHAR, outcome VARCHAR, blank_fields TINYINT);
CREATE TABLE IF NOT EXISTS outcomes(file_id INTEGER, crime_key UHUGEINT, outcome_group VARCHAR, n BIGINT);
CREATE TABLE IF NOT EXISTS stop_search(file_id INTEGER, month DATE, result VARCHAR, object_found BOOLEAN,
    n BIGINT);
CREATE TABLE IF NOT EXISTS lsoa_lad(file_id INTEGER, lsoa_code VARCHAR, lad_code VARCHAR, lad_name VARCHAR,
    vintage INTEGER);
CREATE TABLE IF NOT EXISTS lad_csp(file_id INTEGER, vintage INTEGER, lad_code VARCHAR, lad_name VARCHAR,
    csp_code VARCHAR, csp_name VARCHAR, pfa_code VARCHAR, pfa_name VARCHAR);
CREATE TABLE IF NOT EXISTS lad_successor(file_id INTEGER, lad_code VARCHAR, active_code VARCHAR, lad_name VARCHAR);
CREATE TABLE IF NOT EXISTS area_names(file_id INTEGER, code VARCHAR, name VARCHAR);
CREATE TABLE IF NOT EXISTS population_raw(file_id INTEGER, area_code VARCHAR, area_name VARCHAR, year INTEGER,
    population DOUBLE, households DOUBLE);
CREATE TABLE IF NOT EXISTS characteristics_raw(file_id INTEGER, area_code VARCHAR, variable VARCHAR, value DOUBLE,
    agg VARCHAR);
CREATE TABLE IF NOT EXISTS geo_csp(csp_code VARCHAR, csp_name VARCHAR, pfa_code VARCHAR, pfa_name VARCHAR,
    vintage INTEGER);
CREATE TABLE IF NOT EXISTS geo_lad(lad_code VARCHAR, csp_code VARCHAR, status VARCHAR, detail VARCHAR);
CREATE TABLE IF NOT EXISTS lsoa_map(lsoa_code VARCHAR, csp_code VARCHAR, bucket VARCHAR, detail VARCHAR);
CREATE TABLE IF NOT EXISTS force_map(force VARCHAR, pfa_code VARCHAR, pfa_name VARCHAR);
CREATE TABLE IF NOT EXISTS accounting(file_id INTEGER, bucket VARCHAR, detail VARCHAR, rows BIGINT);
"""
_DATA_TABLES = ("street", "outcomes", "stop_search", "lsoa_lad", "lad_csp", "lad_successor", "area_names",
                "population_raw", "characteristics_raw")


# ------------------------------------------------------------------------------------------------ report
@dataclass
class IngestReport:
    """What one ingest did: per-file status and row accounting, totals, skipped inputs and notes."""

    store: str
    files: pd.DataFrame            # source, kind, force, month, status, rows + one column per bucket
    details: pd.DataFrame          # source, bucket, detail, rows (this ingest's police files)
    totals: dict[str, int]         # bucket -> rows over this ingest's new/replaced police files
    store_totals: dict[str, int]   # bucket -> rows over every police file in the store
    skipped: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        return int(self.files.loc[self.files["status"] != "unchanged", "rows"].sum()) if len(self.files) else 0

    def __str__(self) -> str:
        out = [f"ingest into {self.store} ({self.seconds:.1f} s)"]
        if len(self.files):
            st = self.files["status"].value_counts()
            out.append("files: " + ", ".join(f"{int(st.get(s, 0))} {s}" for s in ("new", "replaced", "unchanged")
                                             if st.get(s, 0)))
            police = self.files[self.files["kind"].isin(POLICE_KINDS) & (self.files["status"] != "unchanged")]
            if len(police):
                cols = ["rows", *BUCKETS]
                show = police[["source", *cols]].copy()
                show["source"] = show["source"].map(lambda s: s.replace("\\", "/").rsplit("/", 1)[-1])
                head = f"{'file':48s}" + "".join(f"{c[:10]:>11s}" for c in cols)
                out.append(head)
                for r in show.itertuples(index=False):
                    out.append(f"{str(r[0])[:48]:48s}" + "".join(f"{int(v):>11,d}" for v in r[1:]))
                tot = police[cols].sum()
                out.append(f"{'TOTAL':48s}" + "".join(f"{int(tot[c]):>11,d}" for c in cols))
        if self.totals:
            n = sum(self.totals.values())
            out.append(f"row accounting for this ingest ({n:,} rows):")
            for b in BUCKETS:
                out.append(f"  {BUCKET_LABELS[b]:34s} {self.totals.get(b, 0):>11,d}")
            why = self.details[self.details["bucket"] != "counted"]
            why = why[why["detail"] != ""].groupby(["bucket", "detail"], as_index=False)["rows"].sum()
            why = why.sort_values("rows", ascending=False)
            for r in why.head(12).itertuples(index=False):
                out.append(f"    {BUCKET_LABELS[r.bucket]}: {r.detail} ({r.rows:,})")
            if len(why) > 12:
                out.append(f"    ... {len(why) - 12} more reasons (Store.accounting())")
        if self.store_totals:
            n = sum(self.store_totals.values())
            out.append(f"store now holds {n:,} police.uk rows: "
                       + ", ".join(f"{BUCKET_LABELS[b]} {self.store_totals.get(b, 0):,}" for b in BUCKETS))
        for src, why in self.skipped[:10]:
            out.append(f"skipped {src}: {why}")
        if len(self.skipped) > 10:
            out.append(f"skipped {len(self.skipped) - 10} more inputs")
        out += [f"note: {n}" for n in self.notes]
        return "\n".join(out)


# ------------------------------------------------------------------------------------------------ store
def _connect(path: str | Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(path), read_only=read_only)
    # DuckDB tracks query progress (read by the ingest's progress bar) but never prints its own bar
    con.execute("SET enable_progress_bar = true")
    con.execute("SET enable_progress_bar_print = false")
    con.execute("SET preserve_insertion_order = false")
    return con


def _interrupted(e: BaseException) -> bool:
    """Ctrl-C while DuckDB runs a query surfaces as a DuckDB error ('Query interrupted'), not KeyboardInterrupt."""
    return isinstance(e, duckdb.InterruptException) or (
        isinstance(e, RuntimeError) and "interrupted" in str(e).lower())


class Store:
    """A perfwork DuckDB store. Use as a context manager, or call ``close()``."""

    def __init__(self, path: str | Path, read_only: bool = False):
        self.path = Path(path)
        if read_only and not self.path.exists():
            raise FileNotFoundError(f"no perfwork store at {self.path}")
        self.con = _connect(self.path, read_only=read_only)
        have = {r[0] for r in self.con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        if "ledger" not in have:
            if read_only:
                raise DataError(f"{self.path}: not a perfwork store (no ledger table)")
            self.con.execute("BEGIN TRANSACTION")
            try:
                self.con.execute(_SCHEMA)
                self.con.execute("INSERT INTO meta VALUES ('schema_version', ?) ON CONFLICT DO NOTHING",
                                 [SCHEMA_VERSION])
                self.con.execute("COMMIT")
            except BaseException:
                self.con.execute("ROLLBACK")
                raise

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self.con is not None:
            self.con.close()
            self.con = None

    # -------------------------------------------------------------------------------------------- small queries
    def _q(self, sql: str, params: Sequence | None = None) -> list[tuple]:
        return self.con.execute(sql, list(params or [])).fetchall()

    def _df(self, sql: str, params: Sequence | None = None) -> pd.DataFrame:
        return self.con.execute(sql, list(params or [])).df()

    def ledger(self) -> pd.DataFrame:
        """Every file in the store: file_id, kind, file_key, source, sha256, bytes, force, month, rows, ingest_id."""
        return self._df("SELECT * FROM ledger ORDER BY file_id")

    def ingests(self) -> pd.DataFrame:
        return self._df("SELECT * FROM ingests ORDER BY ingest_id")

    def accounting(self, by_file: bool = True) -> pd.DataFrame:
        """Row accounting of every police.uk file: source, kind, force, month, bucket, detail, rows."""
        df = self._df("""SELECT l.source, l.kind, l.force, strftime(l.month, '%Y-%m') AS month, a.bucket, a.detail,
                                a.rows FROM accounting a JOIN ledger l USING (file_id)
                         ORDER BY l.file_id, a.bucket, a.detail""")
        if not by_file:
            df = df.groupby(["bucket", "detail"], as_index=False)["rows"].sum()
        return df

    def bucket_totals(self) -> dict[str, int]:
        got = dict(self._q("SELECT bucket, sum(rows)::BIGINT FROM accounting GROUP BY bucket"))
        return {b: int(got.get(b, 0)) for b in BUCKETS}

    # -------------------------------------------------------------------------------------------- ingest
    def ingest_police_uk(self, paths: Iterable[str | Path] = (), lookups: Iterable[str | Path] = (),
                         population: Iterable[str | Path] = (), characteristics: Iterable[str | Path] = (),
                         quiet: bool = True, command: str = "") -> IngestReport:
        """Ingest police.uk files (zips, folders, .csv, .csv.gz) with ONS lookups and population estimates.

        One transaction: any error (a malformed file names its line and column) or Ctrl-C leaves the store
        unchanged. Files already in the store with the same content are skipped.
        """
        return _Ingest(self, quiet, command).run(list(paths), list(lookups), list(population),
                                                  list(characteristics))

    def ingest_characteristics(self, files: Iterable[str | Path], lookups: Iterable[str | Path] = (),
                               quiet: bool = True, command: str = "") -> IngestReport:
        """Ingest area characteristics (IMD LAD summaries, MYE workbook density, tidy CSVs)."""
        return _Ingest(self, quiet, command).run([], list(lookups), [], list(files))

    # -------------------------------------------------------------------------------------------- canonical frames
    def dataset(self, missing_population: str = "error") -> Dataset:
        """The canonical Dataset (see :func:`open_store`)."""
        return _build_dataset(self, missing_population)

    def counts(self) -> pd.DataFrame:
        """The canonical counts frame alone (area_code, month, measure, count), needing no population."""
        return _counts(self)

    def force_counts(self) -> pd.DataFrame:
        """police.uk's own force totals: every row of each force's street files whatever its location (blank LSOA,
        Welsh or far-away LSOAs included), by reporting force (area_code = PFA code), month and crime category.

        Not part of the Dataset - there a crime counts in the CSP where it lies, so a force's CSPs add up to less
        than this when rows have no location. Use it to reconcile with the ONS force tables."""
        df = self._df(f"""SELECT fm.pfa_code AS area_code, l.month, c.slug AS measure, count(*)::BIGINT AS count
            FROM street s JOIN ledger l USING (file_id) JOIN force_map fm ON fm.force = l.force
            JOIN {_crime_values('c')} ON c.label = s.crime_type
            WHERE fm.pfa_code IS NOT NULL GROUP BY ALL ORDER BY ALL""")
        df["month"] = pd.to_datetime(df["month"]).astype(MONTH_DTYPE)
        return df


def open_store(path: str | Path, missing_population: str = "error") -> Dataset:
    """The canonical :class:`~perfwork.dataset.Dataset` from a perfwork DuckDB store.

    - counts: crime categories (police.uk slugs, ASB as ``anti-social-behaviour``) and outcome measures
      ``<category>:<group>`` per CSP and month; stop and search per force and month
    - missing: CSP-months whose force has no street file, force-months with no file at all
    - population: CSP and force populations are sums of their districts; where counts run past the latest
      estimate, the latest estimate is carried forward (said in ``Dataset.name`` and ``Dataset.notes``)

    ``missing_population``: 'error' (default) raises a DataError naming every area and year with counts but no
    population; 'drop' leaves those areas' counts out and says so in ``Dataset.notes``.
    """
    with Store(path, read_only=True) as st:
        return st.dataset(missing_population)


def _values(rows: list[tuple], names: Sequence[str], alias: str = "t") -> str:
    """A SQL VALUES list usable in FROM / JOIN: ``(VALUES (...), ...) AS alias(names)``."""
    if not rows:
        return f"(SELECT {', '.join(f'NULL AS {n}' for n in names)} WHERE false) AS {alias}"
    body = ", ".join("(" + ", ".join("NULL" if v is None else (str(v) if isinstance(v, (int, float)) else sql_quote(v))
                                     for v in r) + ")" for r in rows)
    return f"(VALUES {body}) AS {alias}({', '.join(names)})"


def _crime_values(alias: str) -> str:
    return _values([(k, v) for k, v in CRIME_LABELS.items()], ["label", "slug"], alias)


def _outcome_values(alias: str) -> str:
    return _values([(k, v) for k, v in OUTCOME_GROUPS_BY_TEXT.items()], ["text", "grp"], alias)


def _rank_values(alias: str) -> str:
    return _values([(g, i) for i, g in enumerate(OUTCOME_GROUPS)], ["grp", "rank"], alias)


def _ss_values(alias: str) -> str:
    return _values([(k, v) for k, v in STOP_SEARCH_RESULTS.items()], ["text", "result"], alias)


class _Ingest:
    def __init__(self, store: Store, quiet: bool, command: str):
        self.st = store
        self.con = store.con
        self.quiet = quiet
        self.command = command
        self.notes: list[str] = []
        self.statuses: list[dict] = []
        self.changed_reference = False
        self.changed_any = False
        self.bar = None

    # ---------------------------------------------------------------------------- helpers
    def _q(self, sql, params=None):
        return self.con.execute(sql, list(params or [])).fetchall()

    def _next_id(self) -> int:
        return int(self._q("SELECT coalesce(max(file_id), 0) + 1 FROM ledger")[0][0])

    def _existing(self, key: str) -> tuple[int, str] | None:
        got = self._q("SELECT file_id, sha256 FROM ledger WHERE file_key = ?", [key])
        return (int(got[0][0]), got[0][1]) if got else None

    def _drop_file(self, file_id: int) -> None:
        for t in _DATA_TABLES + ("accounting",):
            self.con.execute(f"DELETE FROM {t} WHERE file_id = ?", [file_id])
        self.con.execute("DELETE FROM ledger WHERE file_id = ?", [file_id])

    def _status(self, key: str, sha: str) -> tuple[str, int | None]:
        old = self._existing(key)
        if old is None:
            return "new", None
        if old[1] == sha:
            return "unchanged", old[0]
        return "replaced", old[0]

    def _progress(self, desc: str, total: int | None, unit: str = "B"):
        if self.quiet:
            return None
        from tqdm.auto import tqdm
        return tqdm(total=total, desc=desc, unit=unit, unit_scale=True, leave=False, file=sys.stderr)

    # ---------------------------------------------------------------------------- run
    def run(self, paths, lookups, population, characteristics) -> IngestReport:
        t0 = _dt.datetime.now()
        con = self.con
        con.execute("BEGIN TRANSACTION")
        try:
            ingest_id = int(self._q("SELECT coalesce(max(ingest_id), 0) + 1 FROM ingests")[0][0])
            self.ingest_id = ingest_id
            for f in lookups:
                self._reference(Path(f), "lookup")
            for f in population:
                self._reference(Path(f), "population")
            for f in characteristics:
                self._reference(Path(f), "characteristics")
            skipped: list[tuple[str, str]] = []
            if paths:
                if not self._q("SELECT 1 FROM lad_csp LIMIT 1"):
                    raise DataError("the store has no LAD -> CSP -> PFA lookup yet; pass the ONS lookups with "
                                    "--lookup (e.g. LSOA11_CCG20_LAD20_EN_LU_apr2020.csv and "
                                    "LAD19_CSP19_PFA19_EW_LU_dec2019.csv)")
                with tempfile.TemporaryDirectory(prefix="perfwork-ingest-") as work:
                    skipped = self._police(paths, Path(work))
            if self.changed_any or not self._q("SELECT 1 FROM geo_csp LIMIT 1"):
                self._derive(geography=self.changed_reference or not self._q("SELECT 1 FROM geo_csp LIMIT 1"))
            counts = {s: sum(1 for x in self.statuses if x["status"] == s) for s in ("new", "replaced", "unchanged")}
            new_rows = sum(x.get("rows") or 0 for x in self.statuses if x["status"] != "unchanged")
            con.execute("INSERT INTO ingests VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        [ingest_id, t0, _dt.datetime.now(), self.command, counts["new"], counts["replaced"],
                         counts["unchanged"], new_rows])
            report = self._report(skipped)
            con.execute("COMMIT")
        except BaseException as e:
            try:
                con.execute("ROLLBACK")
            except duckdb.Error:
                pass
            if self.bar is not None:
                self.bar.close()
            if _interrupted(e):
                raise KeyboardInterrupt from None
            raise
        report.seconds = (_dt.datetime.now() - t0).total_seconds()
        return report

    # ---------------------------------------------------------------------------- reference files
    def _reference(self, path: Path, kind: str) -> None:
        if not path.is_file():
            raise DataError(f"{path}: no such {kind} file")
        sha, size = policeuk.file_sha256(path)
        key = f"{kind}:{path.name}"
        status, old = self._status(key, sha)
        entry = {"source": str(path), "kind": kind, "force": None, "month": None, "status": status, "rows": None}
        self.statuses.append(entry)
        if status == "unchanged":
            return
        if kind == "lookup":
            lk = ons.read_lookup(path, lsoa_frame=False)
            layout, notes = "; ".join(lk.roles), lk.notes
            nrows = max(len(lk.lsoa_lad), len(lk.lad_csp), len(lk.successors), len(lk.names))
        elif kind == "population":
            pf = ons.read_population(path)
            layout, notes, nrows = pf.layout, pf.notes, len(pf.frame)
        else:
            cf = ons.read_characteristics(path)
            layout, notes, nrows = cf.layout, cf.notes, len(cf.frame)
        if old is not None:
            self._drop_file(old)
        fid = self._next_id()
        self.con.execute("INSERT INTO ledger VALUES (?, ?, ?, ?, ?, ?, NULL, NULL, ?, ?, ?, ?)",
                         [fid, kind, key, str(path), sha, size, nrows, self.ingest_id, layout, "; ".join(notes)])
        entry["rows"] = nrows
        con = self.con
        if kind == "lookup":
            if lk.lsoa_columns:
                nrows = self._load_lsoa_lookup(path, fid, lk)
                con.execute("UPDATE ledger SET rows = ? WHERE file_id = ?", [nrows, fid])
            if len(lk.lad_csp):
                con.register("_in", lk.lad_csp.assign(file_id=fid, vintage=lk.lad_csp["vintage"].astype(int)))
                con.execute("INSERT INTO lad_csp SELECT file_id, vintage, lad_code, lad_name, csp_code, csp_name, "
                            "pfa_code, pfa_name FROM _in")
                con.unregister("_in")
            if len(lk.successors):
                con.register("_in", lk.successors.assign(file_id=fid))
                con.execute("INSERT INTO lad_successor SELECT file_id, lad_code, active_code, lad_name FROM _in")
                con.unregister("_in")
            if len(lk.names):
                con.register("_in", lk.names.assign(file_id=fid))
                con.execute("INSERT INTO area_names SELECT file_id, code, name FROM _in")
                con.unregister("_in")
        elif kind == "population":
            fr = pf.frame.copy()
            if "area_name" in fr.columns and "area_code" not in fr.columns:
                fr = self._codes_from_names(fr, path)
            if "area_name" not in fr.columns:
                fr["area_name"] = None
            fr = fr.assign(file_id=fid)
            con.register("_in", fr[["file_id", "area_code", "area_name", "year", "population", "households"]])
            con.execute("INSERT INTO population_raw SELECT file_id, area_code, area_name, year::INTEGER, "
                        "population::DOUBLE, households::DOUBLE FROM _in WHERE area_code IS NOT NULL")
            con.unregister("_in")
        else:
            con.register("_in", cf.frame.assign(file_id=fid))
            con.execute("INSERT INTO characteristics_raw SELECT file_id, area_code, variable, value::DOUBLE, agg "
                        "FROM _in WHERE value IS NOT NULL AND area_code IS NOT NULL")
            con.unregister("_in")
        for n in notes:
            self.notes.append(f"{path.name}: {n}")
        self.changed_reference = True
        self.changed_any = True

    def _load_lsoa_lookup(self, path: Path, fid: int, lk: ons.Lookup) -> int:
        """LSOA -> LAD rows straight from the file into ``lsoa_lad`` (DuckDB reads it; distinct pairs only)."""
        lc, dc, nm, vintage, oa = lk.lsoa_columns
        lc, dc, nm = (sql_quote(c, '"') if c else None for c in (lc, dc, nm))  # column names in the SQL
        name = f"nullif(trim({nm}), '')" if nm else "NULL"
        try:
            self.con.execute(f"""INSERT INTO lsoa_lad
                SELECT {'DISTINCT' if oa else ''} {fid}, nullif(trim({lc}), ''), nullif(trim({dc}), ''),
                       {name}, {int(vintage)}
                FROM {ons.csv_source(path)}
                WHERE nullif(trim({lc}), '') IS NOT NULL AND nullif(trim({dc}), '') IS NOT NULL""")
        except duckdb.Error as e:
            raise DataError(f"{path}: cannot be read as CSV ({str(e).splitlines()[0]})") from None
        self.con.execute(f"INSERT INTO area_names SELECT DISTINCT {fid}, lad_code, first(lad_name) FROM lsoa_lad "
                         f"WHERE file_id = {fid} AND lad_name IS NOT NULL GROUP BY lad_code")
        n, lsoas = self._q(f"SELECT count(*), count(DISTINCT lsoa_code) FROM lsoa_lad WHERE file_id = {fid}")[0]
        if n != lsoas:
            self.notes.append(f"{path.name}: {n - lsoas} LSOA(s) listed in several LADs (reported as ambiguous "
                              f"when those LADs lie in different CSPs)")
        return int(n)

    def _codes_from_names(self, fr: pd.DataFrame, path: Path) -> pd.DataFrame:
        """Force populations given by force name: code them with the PFA names of the lookups."""
        pfa = self._q("SELECT DISTINCT pfa_code, pfa_name FROM lad_csp WHERE pfa_name IS NOT NULL")
        by = {ons.normalise_force_name(n): c for c, n in pfa}
        fr = fr.assign(area_code=fr["area_name"].map(lambda n: by.get(ons.normalise_force_name(n))))
        lost = sorted(set(fr.loc[fr["area_code"].isna(), "area_name"].astype(str)))
        if lost:
            self.notes.append(f"{path.name}: no police force area in the lookups for {', '.join(lost[:6])}"
                              f"{' ...' if len(lost) > 6 else ''} (rows left out)")
        return fr

    # ---------------------------------------------------------------------------- police.uk files
    def _police(self, paths, work: Path) -> list[tuple[str, str]]:
        bar = self._progress("checking police.uk files", None)
        self.bar = bar
        found = policeuk.discover(paths, work, on_file=(lambda n: bar.update(n)) if bar is not None else None)
        if bar is not None:
            bar.close()
        con = self.con
        policeuk.identify_loose(con, found.files)
        pfa_names = pd.DataFrame(self._q("SELECT DISTINCT pfa_code, pfa_name FROM lad_csp WHERE pfa_name IS NOT NULL"),
                                 columns=["pfa_code", "pfa_name"])
        pfa_of = ons.force_codes({pf.force for pf in found.files}, pfa_names)
        for pf in found.files:
            pf.pfa = pfa_of.get(pf.force)
        # one file per kind, force and month: the same content twice is fine, different content is an error
        by_key: dict[str, policeuk.PoliceFile] = {}
        todo: list[tuple[policeuk.PoliceFile, str, int | None]] = []
        known = {k: (int(i), h) for k, i, h in self._q("SELECT file_key, file_id, sha256 FROM ledger")}
        for pf in found.files:
            k = pf.key
            if k in by_key:
                if by_key[k].sha256 != pf.sha256:
                    raise DataError(f"two different files for {pf.kind} {pf.force} {pf.month}: "
                                    f"{by_key[k].source} and {pf.source}; ingest one of them")
                found.skipped.append((pf.source, f"same content as {by_key[k].source}"))
                continue
            by_key[k] = pf
            old = known.get(k)
            status = "new" if old is None else ("unchanged" if old[1] == pf.sha256 else "replaced")
            todo.append((pf, status, old[0] if old else None))
        # ledger rows first (file ids), then the data straight into the store tables
        next_id = self._next_id()
        ids: dict[str, list[tuple[policeuk.PoliceFile, int]]] = {k: [] for k in POLICE_KINDS}
        new_ledger = []
        for pf, status, old in todo:
            entry = {"source": pf.source, "kind": pf.kind, "force": pf.force, "month": pf.month, "status": status,
                     "rows": None, "file_id": old}
            self.statuses.append(entry)
            if status == "unchanged":
                entry["rows"] = int(self._q("SELECT rows FROM ledger WHERE file_id = ?", [old])[0][0])
                continue
            if old is not None:
                self._drop_file(old)
            entry["file_id"] = next_id
            ids[pf.kind].append((pf, next_id))
            new_ledger.append((next_id, pf.kind, pf.key, pf.source, pf.sha256, pf.size, pf.force,
                               _dt.date.fromisoformat(pf.month + "-01"), 0, self.ingest_id, "police.uk " + pf.kind,
                               None))
            next_id += 1
            self.changed_any = True
        if new_ledger:
            frame = pd.DataFrame(new_ledger, columns=["file_id", "kind", "file_key", "source", "sha256", "bytes",
                                                      "force", "month", "rows", "ingest_id", "layout", "notes"])
            con.register("_in", frame.astype({"notes": object}))
            con.execute("INSERT INTO ledger SELECT file_id, kind, file_key, source, sha256, bytes, force, month, rows, "
                        "ingest_id, layout, notes FROM _in")
            con.unregister("_in")
        sizes = {k: sum(pf.size for pf, _ in v) for k, v in ids.items()}
        bar = self._progress("reading police.uk files", sum(sizes.values())) if sum(sizes.values()) else None
        self.bar = bar

        def upd(kind: str):
            """A callback moving the bar through this kind's share of the bytes as DuckDB reports progress."""
            if bar is None:
                return None
            base = bar.n

            def move(pct: float) -> None:
                target = base + sizes[kind] * pct / 100
                if target > bar.n:
                    bar.update(target - bar.n)
            return move

        rows: dict[int, int] = {}
        street = ids["street"]
        if street:
            rows.update(policeuk.scan_street(con, [pf for pf, _ in street], [i for _, i in street], "street",
                                             progress=upd("street")))
        rows.update(self._load_scanned(
            ids["outcomes"], policeuk.scan_outcomes, upd("outcomes"), "_outcomes", "count(*)",
            f"""INSERT INTO outcomes
                SELECT i.file_id, s.crime_key, o.grp, count(*) FROM _outcomes s JOIN _ids i ON i.idx = s.idx
                JOIN {_outcome_values('o')} ON o.text = s.outcome GROUP BY ALL"""))
        rows.update(self._load_scanned(
            ids["stop-and-search"], policeuk.scan_stop_search, upd("stop-and-search"), "_stop_search", "sum(s.n)",
            f"""INSERT INTO stop_search
                SELECT i.file_id, (s.month || '-01')::DATE, r.result,
                       CASE WHEN lower(s.linked) = 'true' THEN true WHEN lower(s.linked) = 'false' THEN false END,
                       sum(s.n) FROM _stop_search s JOIN _ids i ON i.idx = s.idx
                LEFT JOIN {_ss_values('r')} ON r.text = s.outcome GROUP BY ALL"""))
        if bar is not None:
            bar.close()
        self.bar = None
        # rows per file
        if rows:
            con.execute("UPDATE ledger SET rows = c.n FROM " + _values(sorted(rows.items()), ["file_id", "n"], "c")
                        + " WHERE ledger.file_id = c.file_id")
            for e in self.statuses:
                if e["status"] != "unchanged" and e.get("file_id") in rows:
                    e["rows"] = int(rows[e["file_id"]])
        for t in ("_outcomes", "_stop_search"):
            con.execute(f"DROP TABLE IF EXISTS {t}")
        return found.skipped

    def _load_scanned(self, files: list[tuple[policeuk.PoliceFile, int]], scan, progress, scanned: str, n: str,
                      insert: str) -> dict[int, int]:
        """Outcomes or stop-and-search files (with their file ids): ``scan`` reads them into the temp table
        ``scanned`` (idx = position in ``files``), then ``insert`` moves the rows into the store table through
        ``_ids`` (idx -> file_id). Returns the rows read per file id (``n``: the SQL counting them)."""
        if not files:
            return {}
        scan(self.con, [pf for pf, _ in files], progress=progress)
        self.con.execute("CREATE OR REPLACE TEMP TABLE _ids AS SELECT * FROM "
                         + _values([(k, i) for k, (_, i) in enumerate(files)], ["idx", "file_id"], "v"))
        self.con.execute(insert)
        rows = {i: 0 for _, i in files}
        rows.update(dict(self._q(f"SELECT i.file_id, {n}::BIGINT FROM {scanned} s JOIN _ids i ON i.idx = s.idx "
                                 f"GROUP BY ALL")))
        return rows

    # ---------------------------------------------------------------------------- derived tables
    def _derive(self, geography: bool) -> None:
        con = self.con
        if geography:
            lad_csp = con.execute("SELECT vintage, lad_code, lad_name, csp_code, csp_name, pfa_code, pfa_name "
                                  "FROM lad_csp").df()
            succ = con.execute("SELECT lad_code, active_code, lad_name FROM lad_successor").df()
            names = dict(self._q("SELECT code, name FROM area_names"))
            codes = {r[0] for r in self._q("SELECT DISTINCT lad_code FROM lsoa_lad")} | set(lad_csp["lad_code"])
            codes |= {r[0] for r in self._q("SELECT DISTINCT area_code FROM population_raw UNION "
                                            "SELECT DISTINCT area_code FROM characteristics_raw")
                      if r[0] and r[0][:3] in ons.LAD_PREFIXES}
            geo = ons.resolve_lads(lad_csp, succ, codes, names)
            csps = geo.csps.assign(vintage=geo.vintage)
            for table, frame, cols in (("geo_csp", csps, "csp_code, csp_name, pfa_code, pfa_name, vintage"),
                                       ("geo_lad", geo.lads, "lad_code, csp_code, status, detail")):
                con.execute(f"DELETE FROM {table}")
                con.register("_in", frame)
                con.execute(f"INSERT INTO {table} SELECT {cols} FROM _in")
                con.unregister("_in")
        con.execute("DELETE FROM lsoa_map")
        con.execute(_LSOA_MAP_SQL)
        # police.uk force identities -> PFA codes
        forces = [r[0] for r in self._q("SELECT DISTINCT force FROM ledger WHERE force IS NOT NULL")]
        csps = con.execute("SELECT DISTINCT pfa_code, pfa_name FROM geo_csp").df()
        extra = self._q("SELECT code, name FROM area_names WHERE code LIKE 'E23%' OR code LIKE 'W15%'")
        pfa_in_geo = set(csps["pfa_code"])
        if extra:
            more = pd.DataFrame(extra, columns=["pfa_code", "pfa_name"])
            csps = pd.concat([csps, more[more["pfa_code"].isin(pfa_in_geo)]], ignore_index=True)
        fmap = ons.force_codes(forces, csps)
        pfa_name = dict(self._q("SELECT DISTINCT pfa_code, pfa_name FROM geo_csp"))
        con.execute("DELETE FROM force_map")
        if fmap:
            con.executemany("INSERT INTO force_map VALUES (?, ?, ?)",
                            [(k, v, pfa_name.get(v) if v else None) for k, v in fmap.items()])
        self._accounting()

    def _accounting(self) -> None:
        con = self.con
        has_welsh = bool(self._q("SELECT 1 FROM lsoa_lad WHERE lsoa_code LIKE 'W01%' LIMIT 1"))
        con.execute("DELETE FROM accounting")
        con.execute(f"CREATE OR REPLACE TEMP TABLE _fate AS {_fate_sql(has_welsh, outcome=False)}")
        con.execute("INSERT INTO accounting SELECT file_id, bucket, detail, sum(n) FROM _fate GROUP BY ALL")
        if self._q("SELECT 1 FROM outcomes LIMIT 1"):
            con.execute(f"""INSERT INTO accounting
            WITH wanted AS (SELECT DISTINCT crime_key FROM outcomes WHERE crime_key IS NOT NULL),
            -- the crime's street row: in its latest street file (month, then file key: not the ingest order),
            -- and within that file the greatest LSOA code, so one crime ID listed twice still gives one answer
            latest AS (SELECT s.crime_key,
                              arg_max(struct_pack(file_id := s.file_id, lsoa_code := s.lsoa_code),
                                      (l.month, l.file_key, coalesce(s.lsoa_code, ''))) AS pick
                       FROM street s JOIN ledger l USING (file_id) SEMI JOIN wanted w ON w.crime_key = s.crime_key
                       GROUP BY s.crime_key),
            ids AS (SELECT crime_key, pick.file_id AS sfile, pick.lsoa_code AS lsoa_code FROM latest),
            fate AS (SELECT DISTINCT file_id, lsoa_code, bucket, detail FROM _fate WHERE NOT asb)
            SELECT o.file_id,
                CASE WHEN fm.pfa_code IS NULL OR o.crime_key IS NULL OR ids.crime_key IS NULL THEN 'rejected'
                     WHEN f.bucket IN ('counted', 'asb') THEN 'counted' ELSE f.bucket END,
                CASE WHEN fm.pfa_code IS NULL THEN 'reported by ' || l.force || ', which is not a police force area'
                     WHEN o.crime_key IS NULL THEN 'blank Crime ID'
                     WHEN ids.crime_key IS NULL THEN 'outcome for a crime in no ingested street file'
                     WHEN f.bucket IN ('counted', 'asb') THEN '' ELSE f.detail END,
                sum(o.n)
            FROM outcomes o JOIN ledger l USING (file_id) LEFT JOIN force_map fm ON fm.force = l.force
            LEFT JOIN ids ON ids.crime_key = o.crime_key
            LEFT JOIN fate f ON f.file_id = ids.sfile AND f.lsoa_code IS NOT DISTINCT FROM ids.lsoa_code
            GROUP BY ALL""")
        con.execute("""INSERT INTO accounting
            SELECT s.file_id,
                CASE WHEN fm.pfa_code IS NULL OR s.month <> l.month THEN 'rejected' ELSE 'counted' END,
                CASE WHEN fm.pfa_code IS NULL THEN 'reported by ' || l.force || ', which is not a police force area'
                     WHEN s.month <> l.month THEN 'search dated ' || strftime(s.month, '%Y-%m')
                          || ' (UK time), not the month of its file'
                     ELSE '' END,
                sum(s.n)
            FROM stop_search s JOIN ledger l USING (file_id) LEFT JOIN force_map fm ON fm.force = l.force
            GROUP BY ALL""")
        con.execute("DROP TABLE IF EXISTS _fate")
        bad = self._q("""SELECT l.source, l.rows, coalesce(sum(a.rows), 0) FROM ledger l
                         LEFT JOIN accounting a USING (file_id) WHERE l.kind IN ('street', 'outcomes',
                         'stop-and-search') GROUP BY ALL HAVING l.rows <> coalesce(sum(a.rows), 0)""")
        if bad:
            raise AssertionError(f"row accounting does not add up for {bad[0][0]}: {bad[0][1]} rows read, "
                                 f"{bad[0][2]} accounted")

    # ---------------------------------------------------------------------------- report
    def _report(self, skipped) -> IngestReport:
        acc = self._q("SELECT file_id, bucket, detail, rows FROM accounting")
        per: dict[int, dict[str, int]] = {}
        store_totals = dict.fromkeys(BUCKETS, 0)
        for fid, bucket, _, n in acc:
            per.setdefault(fid, dict.fromkeys(BUCKETS, 0))[bucket] += int(n)
            store_totals[bucket] += int(n)
        rows = []
        for e in self.statuses:
            police = e["kind"] in POLICE_KINDS
            b = per.get(e.get("file_id"), {}) if police else {}
            rows.append([e["source"], e["kind"], e["force"], e["month"], e["status"], int(e.get("rows") or 0)]
                        + [b.get(k, 0) for k in BUCKETS])
        st = pd.DataFrame(rows, columns=["source", "kind", "force", "month", "status", "rows", *BUCKETS])
        fresh = {e["file_id"]: e["source"] for e in self.statuses
                 if e["kind"] in POLICE_KINDS and e["status"] != "unchanged"}
        totals = {k: sum(per.get(f, {}).get(k, 0) for f in fresh) for k in BUCKETS} if fresh else {}
        details = pd.DataFrame([(fresh[f], b, d, int(n)) for f, b, d, n in acc if f in fresh],
                               columns=["source", "bucket", "detail", "rows"])
        notes = list(self.notes) + _population_notes(self.st) + _coverage_notes(self.st)
        return IngestReport(store=str(self.st.path), files=st, details=details, totals=totals,
                            store_totals=store_totals if acc else {}, skipped=skipped, notes=notes)


# For the LSOAs in the street data (rebuilt by every ingest that changes anything):
# each LSOA lookup gives a chain LSOA -> LAD -> CSP. An LSOA maps to a CSP when the chains that resolve agree on
# one CSP (so an older-vintage lookup can settle what a newer one leaves ambiguous, e.g. Buckinghamshire's districts);
# chains that disagree make it ambiguous; otherwise the most telling failure (ambiguous before unmapped) is kept.
_LSOA_MAP_SQL = """
INSERT INTO lsoa_map
WITH chains AS (
    SELECT DISTINCT l.lsoa_code, l.lad_code, coalesce(g.status, 'unmapped') AS status, g.csp_code,
           coalesce(g.detail, 'LAD ' || l.lad_code || ' is in no LAD -> CSP lookup') AS detail
    FROM lsoa_lad l LEFT JOIN geo_lad g ON g.lad_code = l.lad_code
    WHERE l.lsoa_code IN (SELECT DISTINCT lsoa_code FROM street)),
agg AS (
    SELECT lsoa_code,
           count(DISTINCT csp_code) FILTER (WHERE status = 'mapped') AS n,
           min(csp_code) FILTER (WHERE status = 'mapped') AS csp,
           arg_min(status, (CASE status WHEN 'ambiguous' THEN 0 ELSE 1 END, detail))
               FILTER (WHERE status <> 'mapped') AS fstatus,
           arg_min(detail, (CASE status WHEN 'ambiguous' THEN 0 ELSE 1 END, detail))
               FILTER (WHERE status <> 'mapped') AS fdetail
    FROM chains GROUP BY lsoa_code)
SELECT lsoa_code,
       CASE WHEN n = 1 THEN csp END,
       CASE WHEN n = 1 THEN 'mapped' WHEN n > 1 OR fstatus = 'ambiguous' THEN 'ambiguous_lad_csp'
            ELSE 'lad_not_mapped' END,
       CASE WHEN n = 1 THEN '' WHEN n > 1 THEN 'the LSOA lookups place this LSOA in different CSPs' ELSE fdetail END
FROM agg
"""


def _fate_sql(has_welsh: bool, outcome: bool = False, latest_outcomes: bool = False) -> str:
    """The fate of every group of street rows: file_id, month, lsoa_code, asb[, category, outcome_group], n,
    csp_code, bucket, detail. A row counts to the CSP its LSOA lies in when that CSP's force has a street file for
    the row's month ingested (its own force always has)."""
    welsh = "" if has_welsh else ("WHEN s.lsoa_code LIKE 'W01%' THEN "
                                  "'Welsh LSOA; the LSOA lookups cover England only' ")
    asb_label = next(k for k, v in CRIME_LABELS.items() if v == ASB)
    if outcome:
        effective = "coalesce(lt.grp, o.grp)" if latest_outcomes else "o.grp"
        # a crime's outcome is its entry in the latest month's outcomes file; several entries that month (the
        # store keeps no row order) give the first group in OUTCOME_GROUPS order (charged, caution, ...)
        latest = f"""LEFT JOIN (SELECT oc.crime_key, arg_max(oc.outcome_group, (l.month, -r.rank)) AS grp
                       FROM outcomes oc JOIN ledger l USING (file_id)
                       JOIN {_rank_values('r')} ON r.grp = oc.outcome_group
                       WHERE oc.crime_key IS NOT NULL GROUP BY oc.crime_key) lt ON lt.crime_key = st.crime_key
                  """ if latest_outcomes else ""
        base = f"""SELECT st.file_id, st.lsoa_code, c.slug = '{ASB}' AS asb, c.slug AS category,
                          {effective} AS outcome_group, count(*) AS n
                   FROM street st JOIN {_crime_values('c')} ON c.label = st.crime_type
                   LEFT JOIN {_outcome_values('o')} ON o.text = st.outcome
                   {latest}GROUP BY ALL"""
        extra = "s.category, s.outcome_group, "
    else:
        base = (f"SELECT file_id, lsoa_code, crime_type = {sql_quote(asb_label)} AS asb, count(*) AS n "
                f"FROM street GROUP BY ALL")
        extra = ""
    return f"""
    WITH cov AS (SELECT DISTINCT fm.pfa_code, l.month FROM ledger l JOIN force_map fm ON fm.force = l.force
                 WHERE l.kind = 'street' AND fm.pfa_code IS NOT NULL),
    s AS ({base})
    SELECT s.file_id, l.month, s.lsoa_code, s.asb, {extra}s.n, m.csp_code,
      CASE WHEN fm.pfa_code IS NULL THEN 'rejected'
           WHEN s.lsoa_code IS NULL THEN 'no_location'
           WHEN m.bucket IS NULL THEN 'lsoa_not_in_lookup'
           WHEN m.bucket <> 'mapped' THEN m.bucket
           WHEN cov.pfa_code IS NULL THEN 'rejected'
           WHEN s.asb THEN 'asb'
           ELSE 'counted' END AS bucket,
      CASE WHEN fm.pfa_code IS NULL
                THEN 'reported by ' || l.force || ', which is not a police force area in the lookups'
           WHEN s.lsoa_code IS NULL THEN 'blank LSOA code'
           WHEN m.bucket IS NULL THEN (CASE {welsh}
                WHEN regexp_full_match(s.lsoa_code, 'E01[0-9]{{6}}')
                     AND CAST(substr(s.lsoa_code, 4) AS INTEGER) > {ons.LSOA11_MAX_ENGLAND}
                THEN '2021 LSOA code (not in the 2011 LSOA lookup); add an LSOA21 lookup'
                ELSE 'LSOA code in no LSOA lookup' END)
           WHEN m.bucket <> 'mapped' THEN m.detail
           WHEN cov.pfa_code IS NULL THEN 'LSOA lies in ' || coalesce(g.pfa_name, g.pfa_code)
                || ', which has no street file ingested for the month'
           WHEN g.pfa_code <> fm.pfa_code THEN 'LSOA lies in another force''s CSP (' || coalesce(g.pfa_name, g.pfa_code)
                || ')'
           ELSE '' END AS detail
    FROM s JOIN ledger l ON l.file_id = s.file_id
    LEFT JOIN force_map fm ON fm.force = l.force
    LEFT JOIN lsoa_map m ON m.lsoa_code = s.lsoa_code
    LEFT JOIN geo_csp g ON g.csp_code = m.csp_code
    LEFT JOIN cov ON cov.pfa_code = g.pfa_code AND cov.month = l.month
    """


# ------------------------------------------------------------------------------------------------ dataset
def _covered(st: Store) -> pd.DataFrame:
    """force (PFA) x kind x month of every police.uk file whose force is a PFA."""
    return st._df("""SELECT fm.pfa_code, l.kind, l.month FROM ledger l JOIN force_map fm ON fm.force = l.force
                     WHERE l.kind IN ('street', 'stop-and-search') AND fm.pfa_code IS NOT NULL""")


def _areas(st: Store, cov: pd.DataFrame) -> pd.DataFrame:
    geo = st._df("SELECT csp_code, csp_name, pfa_code, pfa_name FROM geo_csp")
    forces = sorted(set(cov["pfa_code"]))
    g = geo[geo["pfa_code"].isin(forces)]
    fnames = geo.drop_duplicates("pfa_code").set_index("pfa_code")["pfa_name"].to_dict()
    rows = [(NATION[0], NATION[1], "nation", None)]
    regions = sorted({f[0] for f in forces})
    rows += [(REGIONS[r][0], REGIONS[r][1], "region", NATION[0]) for r in regions if r in REGIONS]
    rows += [(f, fnames.get(f) or f, "force", REGIONS[f[0]][0]) for f in forces]
    rows += [(c, n if isinstance(n, str) else c, "csp", p) for c, n, p in zip(g["csp_code"], g["csp_name"],
                                                                                g["pfa_code"])]
    return pd.DataFrame(rows, columns=["area_code", "area_name", "level", "parent_code"])


def _counts(st: Store) -> pd.DataFrame:
    has_welsh = bool(st._q("SELECT 1 FROM lsoa_lad WHERE lsoa_code LIKE 'W01%' LIMIT 1"))
    has_outcomes = bool(st._q("SELECT 1 FROM outcomes LIMIT 1"))
    both = st._df(f"""WITH f AS ({_fate_sql(has_welsh, outcome=True, latest_outcomes=has_outcomes)})
        SELECT csp_code AS area_code, month, category AS measure, sum(n)::BIGINT AS count FROM f
        WHERE bucket IN ('counted', 'asb') GROUP BY ALL
        UNION ALL
        SELECT csp_code AS area_code, month, category || ':' || outcome_group AS measure, sum(n)::BIGINT AS count
        FROM f WHERE bucket = 'counted' AND outcome_group IS NOT NULL GROUP BY ALL""")
    by_result = _values([(r, stop_search_measure(r)) for r in sorted(set(STOP_SEARCH_RESULTS.values()))],
                        ["result", "measure"], "m")
    ss = st._df(f"""WITH s AS (SELECT fm.pfa_code, s.month, s.result, s.object_found, s.n FROM stop_search s
                     JOIN ledger l USING (file_id) JOIN force_map fm ON fm.force = l.force
                     WHERE fm.pfa_code IS NOT NULL AND s.month = l.month)
        SELECT pfa_code AS area_code, month, {sql_quote(STOP_AND_SEARCH)} AS measure, sum(n)::BIGINT AS count
        FROM s GROUP BY ALL
        UNION ALL
        SELECT pfa_code, month, m.measure, sum(n)::BIGINT FROM s JOIN {by_result} ON m.result = s.result
        GROUP BY ALL
        UNION ALL
        SELECT pfa_code, month, {sql_quote(stop_search_measure('object_found'))}, sum(n)::BIGINT FROM s
        WHERE object_found GROUP BY ALL""")
    out = pd.concat([both, ss], ignore_index=True)
    out["month"] = pd.to_datetime(out["month"]).astype(MONTH_DTYPE)
    return out


def _missing(st: Store, areas: pd.DataFrame, cov: pd.DataFrame) -> pd.DataFrame:
    """Months with no street file for a force (for its CSPs, and for the force when it has no file at all), and,
    once any force has stop-and-search files, force-months without one (for the stop-and-search measures only)."""
    columns = ["area_code", "month", "measure", "reason"]
    if cov.empty:
        return pd.DataFrame(columns=columns)
    cov = cov.assign(month=pd.to_datetime(cov["month"]))
    span = pd.date_range(cov["month"].min(), cov["month"].max(), freq="MS")
    csps = areas[areas["level"] == "csp"]
    names = dict(zip(areas["area_code"], areas["area_name"]))
    searches = (cov["kind"] == "stop-and-search").any()
    search_measures = [m for m in known_measures() if m.startswith(STOP_AND_SEARCH)]
    rows = []
    for pfa, g in cov.groupby("pfa_code"):
        force = names.get(pfa, pfa)
        street = set(g.loc[g["kind"] == "street", "month"])
        searched = set(g.loc[g["kind"] == "stop-and-search", "month"])
        anyfile = set(g["month"])
        first, last = (min(street), max(street)) if street else (None, None)
        kids = csps.loc[csps["parent_code"] == pfa, "area_code"].tolist()
        for m in span:
            if m not in anyfile:
                pass
            elif searches and m not in searched:
                why = f"no police.uk stop-and-search file for {force} for {m:%Y-%m}"
                rows += [(pfa, m, measure, why) for measure in search_measures]
            if m in street:
                continue
            if first is None:
                why = f"no police.uk street files ingested for {force}"
            elif first < m < last:
                why = f"no police.uk street file for {force} for {m:%Y-%m}"
            else:
                why = f"outside the months of {force} street files ingested ({first:%Y-%m} to {last:%Y-%m})"
            rows += [(c, m, None, why) for c in kids]
            if m not in anyfile:
                rows.append((pfa, m, None, why))
    return pd.DataFrame(rows, columns=columns)


def _district_population(st: Store) -> pd.DataFrame:
    """Latest-ingested figure per area code and year."""
    return st._df("""SELECT area_code, year, arg_max(population, file_id) AS population,
                            arg_max(households, file_id) AS households
                     FROM population_raw GROUP BY area_code, year""")


def _population(st: Store, areas: pd.DataFrame, counts: pd.DataFrame, missing_population: str
                ) -> tuple[pd.DataFrame, list[str], set[str]]:
    """CSP and force populations (sums of districts), carried forward past the latest estimate; returns the
    frame, notes, and the area codes whose counts must be dropped (missing_population='drop')."""
    raw = _district_population(st)
    lc = st._df("""SELECT DISTINCT lad_code, csp_code FROM lad_csp
                   WHERE vintage = (SELECT max(vintage) FROM lad_csp)""")
    split = set(lc.groupby("lad_code")["csp_code"].nunique().loc[lambda s: s > 1].index)
    notes: list[str] = []
    by_code = {(a, int(y)): p for a, y, p in zip(raw["area_code"], raw["year"], raw["population"])}
    hh_code = {(a, int(y)): h for a, y, h in zip(raw["area_code"], raw["year"], raw["households"])}
    years = sorted({int(y) for y in raw["year"]})
    csps = areas.loc[areas["level"] == "csp", "area_code"].tolist()
    forces = areas.loc[areas["level"] == "force", "area_code"].tolist()
    lads_of = lc.groupby("csp_code")["lad_code"].apply(list).to_dict()
    why_not: dict[str, str] = {}
    rows = []
    pop_of: dict[tuple[str, int], float] = {}
    for c in csps:
        lads = lads_of.get(c, [])
        for y in years:
            if (c, y) in by_code:  # a CSP-level figure given directly
                pop_of[(c, y)] = by_code[(c, y)]
                continue
            if not lads:
                why_not[c] = "no districts in the LAD -> CSP lookup"
                continue
            if any(l in split for l in lads):
                why_not[c] = (f"its district {', '.join(l for l in lads if l in split)} is split between CSPs, "
                              f"so its population cannot be divided")
                continue
            vals = [by_code.get((l, y)) for l in lads]
            if all(v is not None and not np.isnan(v) for v in vals):
                pop_of[(c, y)] = float(sum(vals))
            else:
                lacking = [l for l, v in zip(lads, vals) if v is None]
                why_not.setdefault(c, f"no population for district(s) {', '.join(lacking)} (code vintage?)")
    parent = dict(zip(areas["area_code"], areas["parent_code"]))
    for f in forces:
        kids = [c for c in csps if parent.get(c) == f]
        for y in years:
            vals = [pop_of.get((c, y)) for c in kids]
            if kids and all(v is not None for v in vals):
                pop_of[(f, y)] = float(sum(vals))
            elif (f, y) in by_code:
                pop_of[(f, y)] = by_code[(f, y)]
                notes.append(f"population of {f} in {y} taken from a force-level table (its districts are "
                             f"incomplete)")
    for (a, y), p in pop_of.items():
        rows.append((a, y, p, hh_code.get((a, y), np.nan), False))
    pop = pd.DataFrame(rows, columns=["area_code", "year", "population", "households", "carried"])
    # carry the latest estimate forward to the years the counts reach
    need = counts.assign(year=counts["month"].dt.year)[["area_code", "year"]].drop_duplicates()
    have = set(zip(pop["area_code"], pop["year"]))
    latest = pop.sort_values("year").drop_duplicates("area_code", keep="last").set_index("area_code")
    extra, carried, lacking = [], {}, {}
    for a, y in zip(need["area_code"], need["year"]):
        y = int(y)
        if (a, y) in have:
            continue
        if a in latest.index and int(latest.at[a, "year"]) < y:
            extra.append((a, y, latest.at[a, "population"], np.nan, True))
            carried.setdefault(int(latest.at[a, "year"]), set()).add(y)
        else:
            lacking.setdefault(a, []).append(y)
    if extra:
        pop = pd.concat([pop, pd.DataFrame(extra, columns=pop.columns)], ignore_index=True)
    for base, ys in sorted(carried.items()):
        notes.append(f"population for {', '.join(map(str, sorted(ys)))} carried forward from the mid-{base} "
                     f"estimate (no later estimate ingested)")
    drop: set[str] = set()
    if lacking:
        names = dict(zip(areas["area_code"], areas["area_name"]))
        parts = [f"{a} {names.get(a, '')} ({', '.join(map(str, sorted(set(ys))))}): "
                 f"{why_not.get(a, 'no population ingested')}" for a, ys in sorted(lacking.items())]
        if missing_population == "drop":
            drop = set(lacking)
            notes.append("counts left out for areas without population: " + "; ".join(parts))
        else:
            raise DataError("population: no estimate for area(s) with counts: " + "; ".join(parts)
                            + ". Ingest population with --population (the ONS MYE workbook, or a CSV with "
                              "area_code, year, population for these areas), or open the store with "
                              "missing_population='drop'")
    return pop.drop(columns=["carried"]), notes, drop


def _characteristics(st: Store, areas: pd.DataFrame, pop: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    raw = st._df("""SELECT area_code, variable, arg_max(value, file_id) AS value, arg_max(agg, file_id) AS agg
                    FROM characteristics_raw GROUP BY area_code, variable""")
    out = pd.DataFrame({"area_code": areas.loc[areas["level"].isin(["csp", "force"]), "area_code"]})
    if raw.empty:
        return out.reset_index(drop=True), []
    notes: list[str] = []
    geo_lad = st._df("SELECT lad_code, csp_code, status FROM geo_lad")
    lc = st._df("SELECT DISTINCT lad_code, csp_code FROM lad_csp WHERE vintage = (SELECT max(vintage) FROM lad_csp)")
    lads_of = lc.groupby("csp_code")["lad_code"].apply(set).to_dict()
    succ = st._df("SELECT lad_code, active_code FROM lad_successor")
    family: dict[str, set[str]] = {}
    for l, a in zip(succ["lad_code"], succ["active_code"]):
        family.setdefault(a, set()).update({l, a})
    active = dict(zip(succ["lad_code"], succ["active_code"]))
    to_csp = dict(zip(geo_lad.loc[geo_lad["status"] == "mapped", "lad_code"],
                      geo_lad.loc[geo_lad["status"] == "mapped", "csp_code"]))
    dist = _district_population(st)
    latest_pop = dist.sort_values("year").drop_duplicates("area_code", keep="last").set_index("area_code")["population"]
    parent = dict(zip(areas["area_code"], areas["parent_code"]))
    level = dict(zip(areas["area_code"], areas["level"]))
    csps = areas.loc[areas["level"] == "csp", "area_code"].tolist()
    cols: dict[str, dict[str, float]] = {}
    unresolved: set[str] = set()
    for var, g in raw.groupby("variable"):
        agg = g["agg"].iloc[0]
        vals: dict[str, float] = {}
        direct = g[g["area_code"].isin(level)]
        vals.update({a: v for a, v in zip(direct["area_code"], direct["value"]) if level[a] in ("csp", "force")})
        d = g[g["area_code"].str[:3].isin(ons.LAD_PREFIXES)]
        contrib: dict[str, list[tuple[str, float]]] = {}
        for code, v in zip(d["area_code"], d["value"]):
            c = to_csp.get(code)
            if c is None:
                unresolved.add(code)
                continue
            contrib.setdefault(c, []).append((code, v))
        for c in csps:
            if c in vals or c not in contrib:
                continue
            parts = contrib[c]
            covered: set[str] = set()
            for code, _ in parts:
                if code in lads_of.get(c, set()):
                    covered.add(code)
                else:  # mapped through successor codes: it stands for its whole code family
                    covered |= family.get(active.get(code, code), set()) & lads_of.get(c, set())
            if not lads_of.get(c, set()) <= covered:
                continue  # some districts of the CSP have no value: leave it blank
            if agg == "sum":
                vals[c] = float(sum(v for _, v in parts))
            elif len(parts) == 1:
                vals[c] = float(parts[0][1])
            else:
                w = [latest_pop.get(code) for code, _ in parts]
                if any(x is None or np.isnan(x) for x in w):
                    continue
                vals[c] = float(np.average([v for _, v in parts], weights=w))
        cols[var] = vals
    # forces: from their CSPs
    cpop = pop.sort_values("year").drop_duplicates("area_code", keep="last").set_index("area_code")["population"]
    for var, vals in cols.items():
        agg = raw.loc[raw["variable"] == var, "agg"].iloc[0]
        for f in areas.loc[areas["level"] == "force", "area_code"]:
            if f in vals:
                continue
            kids = [c for c in csps if parent.get(c) == f]
            if not kids or not all(c in vals for c in kids):
                continue
            if agg == "sum":
                vals[f] = float(sum(vals[c] for c in kids))
            else:
                w = [cpop.get(c) for c in kids]
                if all(x is not None and not np.isnan(x) for x in w):
                    vals[f] = float(np.average([vals[c] for c in kids], weights=w))
    for var, vals in cols.items():
        out[var] = out["area_code"].map(vals).astype("float64")
    pops = [c for c in out.columns if c.startswith("population_mid")]
    if "area_sqkm" in out.columns and pops:
        out["population_density"] = out[pops[-1]] / out["area_sqkm"]
    out = out.drop(columns=[c for c in out.columns if c == "area_sqkm" or c.startswith("population_mid")])
    if unresolved:
        notes.append(f"characteristics of {len(unresolved)} district code(s) not mapped to one CSP were not used")
    return out.reset_index(drop=True), notes


def _population_notes(st: Store) -> list[str]:
    """Cheap ingest-time notes on population: none yet, or estimates carried forward (open_store has the detail)."""
    last_count = st._q("SELECT max(year(month)) FROM ledger WHERE kind IN ('street', 'stop-and-search')")[0][0]
    if last_count is None:
        return []
    last_pop = st._q("SELECT max(year) FROM population_raw")[0][0]
    if last_pop is None:
        return ["no population ingested yet: open_store needs one (--population, e.g. the ONS MYE workbook)"]
    if last_count > last_pop:
        years = ", ".join(str(y) for y in range(last_pop + 1, last_count + 1))
        return [f"population for {years} will be carried forward from the mid-{last_pop} estimate "
                f"(no later estimate ingested)"]
    return []


def _coverage_notes(st: Store) -> list[str]:
    """Force-months with street data but no stop-and-search file, which ``missing`` records for those measures."""
    cov = _covered(st)
    if cov.empty or not (cov["kind"] == "stop-and-search").any():
        return []
    notes = []
    for pfa, g in cov.groupby("pfa_code"):
        gap = set(g.loc[g["kind"] == "street", "month"]) - set(g.loc[g["kind"] == "stop-and-search", "month"])
        if gap:
            notes.append(f"{pfa}: {len(gap)} month(s) with street data but no stop-and-search file: recorded as "
                         f"missing for the stop-and-search measures, not as zero searches")
    return notes


def _build_dataset(st: Store, missing_population: str) -> Dataset:
    if missing_population not in ("error", "drop"):
        raise ValueError("missing_population must be 'error' or 'drop'")
    cov = _covered(st)
    if cov.empty:
        raise DataError(f"{st.path}: no police.uk files of a police force area in the store yet")
    areas = _areas(st, cov)
    counts = _counts(st)
    missing = _missing(st, areas, cov)
    pop, notes, drop = _population(st, areas, counts, missing_population)
    if drop:
        counts = counts[~counts["area_code"].isin(drop)]
    chars, cnotes = _characteristics(st, areas, pop)
    notes += cnotes + _coverage_notes(st)
    pop = pop[pop["area_code"].isin(set(areas["area_code"]))]
    name = st.path.name
    short = [n for n in notes if "carried forward" in n]
    if short:
        name += " (" + "; ".join(short) + ")"
    ds = Dataset(areas=areas, characteristics=chars, population=pop, counts=counts, missing=missing, name=name,
                 origin={t: str(st.path) for t in ("areas", "population", "counts", "missing", "characteristics")})
    ds.notes = notes
    return ds
