"""The store's schema and the small SQL helpers every part of the store shares."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import duckdb

from ..measures import CRIME_LABELS, OUTCOME_GROUPS, OUTCOME_GROUPS_BY_TEXT, STOP_SEARCH_RESULTS
from ..sources.policeuk import sql_quote

SCHEMA_VERSION = "1"

SCHEMA = """
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
DATA_TABLES = ("street", "outcomes", "stop_search", "lsoa_lad", "lad_csp", "lad_successor", "area_names",
                "population_raw", "characteristics_raw")


def connect(path: str | Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(path), read_only=read_only)
    # DuckDB tracks query progress (read by the ingest's progress bar) but never prints its own bar
    con.execute("SET enable_progress_bar = true")
    con.execute("SET enable_progress_bar_print = false")
    con.execute("SET preserve_insertion_order = false")
    return con


def interrupted(e: BaseException) -> bool:
    """Ctrl-C while DuckDB runs a query surfaces as a DuckDB error ('Query interrupted'), not KeyboardInterrupt."""
    return isinstance(e, duckdb.InterruptException) or (
        isinstance(e, RuntimeError) and "interrupted" in str(e).lower())



def sql_values(rows: list[tuple], names: Sequence[str], alias: str = "t") -> str:
    """A SQL VALUES list usable in FROM / JOIN: ``(VALUES (...), ...) AS alias(names)``."""
    if not rows:
        return f"(SELECT {', '.join(f'NULL AS {n}' for n in names)} WHERE false) AS {alias}"
    body = ", ".join("(" + ", ".join("NULL" if v is None else (str(v) if isinstance(v, (int, float)) else sql_quote(v))
                                     for v in r) + ")" for r in rows)
    return f"(VALUES {body}) AS {alias}({', '.join(names)})"


def crime_values(alias: str) -> str:
    return sql_values([(k, v) for k, v in CRIME_LABELS.items()], ["label", "slug"], alias)


def outcome_values(alias: str) -> str:
    return sql_values([(k, v) for k, v in OUTCOME_GROUPS_BY_TEXT.items()], ["text", "grp"], alias)


def rank_values(alias: str) -> str:
    return sql_values([(g, i) for i, g in enumerate(OUTCOME_GROUPS)], ["grp", "rank"], alias)


def ss_values(alias: str) -> str:
    return sql_values([(k, v) for k, v in STOP_SEARCH_RESULTS.items()], ["text", "result"], alias)

