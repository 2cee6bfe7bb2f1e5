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

The package: ``schema`` (tables and SQL helpers), ``ingest`` (one ingest run), ``accounting`` (buckets, the
report), ``read`` (the Dataset). Queries only: what district figures add up to is :mod:`perfwork.geography`'s.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Iterable, Sequence

import duckdb
import pandas as pd

from ..dataset import MONTH_DTYPE, DataError, Dataset
from . import read
from .accounting import BUCKET_LABELS, BUCKETS, IngestReport
from .ingest import Ingest
from .read import NATION, REGIONS
from .schema import SCHEMA, SCHEMA_VERSION, connect, crime_values

__all__ = ["Store", "open_store", "IngestReport", "BUCKETS", "BUCKET_LABELS", "NATION", "REGIONS"]


class Store:
    """A perfwork DuckDB store. Use as a context manager, or call ``close()``."""

    def __init__(self, path: str | Path, read_only: bool = False):
        self.path = Path(path)
        if read_only and not self.path.exists():
            raise FileNotFoundError(f"no perfwork store at {self.path}")
        self.con = connect(self.path, read_only=read_only)
        have = {r[0] for r in self.con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        if "ledger" not in have:
            if read_only:
                raise DataError(f"{self.path}: not a perfwork store (no ledger table)")
            self.con.execute("BEGIN TRANSACTION")
            try:
                self.con.execute(SCHEMA)
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
        if self.con is None:
            return
        for _ in range(100):  # after Ctrl-C a query may still be winding down on another thread
            try:
                self.con.close()
                break
            except duckdb.Error as e:
                if "busy" not in str(e).lower():
                    raise
                self.con.interrupt()
                time.sleep(0.05)
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
                         quiet: bool = True, command: str = "", households: Iterable[str | Path] = ()
                         ) -> IngestReport:
        """Ingest police.uk files (zips, folders, .csv, .csv.gz) with ONS lookups, population and household
        estimates (``households``: a CSV area_code, year, households, e.g. by district).

        One transaction: any error (a malformed file names its line and column) or Ctrl-C leaves the store
        unchanged. Files already in the store with the same content are skipped.
        """
        return Ingest(self, quiet, command).run(list(paths), list(lookups), list(population),
                                                list(characteristics), list(households))

    def ingest_characteristics(self, files: Iterable[str | Path], lookups: Iterable[str | Path] = (),
                               quiet: bool = True, command: str = "") -> IngestReport:
        """Ingest area characteristics (IMD LAD summaries, MYE workbook density, tidy CSVs)."""
        return Ingest(self, quiet, command).run([], list(lookups), [], list(files))

    # -------------------------------------------------------------------------------------------- canonical frames
    def dataset(self, missing_population: str = "error") -> Dataset:
        """The canonical Dataset (see :func:`open_store`)."""
        return read.build_dataset(self, missing_population)

    def counts(self) -> pd.DataFrame:
        """The canonical counts frame alone (area_code, month, measure, count), needing no population."""
        return read.count_frame(self)

    def force_counts(self) -> pd.DataFrame:
        """police.uk's own force totals: every row of each force's street files whatever its location (blank LSOA,
        Welsh or far-away LSOAs included), by reporting force (area_code = PFA code), month and crime category.

        Not part of the Dataset - there a crime counts in the CSP where it lies, so a force's CSPs add up to less
        than this when rows have no location. Use it to reconcile with the ONS force tables."""
        df = self._df(f"""SELECT fm.pfa_code AS area_code, l.month, c.slug AS measure, count(*)::BIGINT AS count
            FROM street s JOIN ledger l USING (file_id) JOIN force_map fm ON fm.force = l.force
            JOIN {crime_values('c')} ON c.label = s.crime_type
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
