"""Row accounting: every police.uk row in exactly one bucket, the SQL that decides it, and the ingest report."""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import pandas as pd

from ..measures import ASB, CRIME_LABELS
from ..sources import ons, policeuk
from ..sources.policeuk import sql_quote
from .schema import crime_values, outcome_values, rank_values

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
# short column heads of the per-file table, whole words (the full labels are in the totals below it)
COLUMN_HEADS = {"rows": "rows", "counted": "counted", "asb": "ASB", "no_location": "no location",
                "lsoa_not_in_lookup": "LSOA unknown", "lad_not_mapped": "LAD unmapped",
                "ambiguous_lad_csp": "ambiguous", "rejected": "rejected"}
POLICE_KINDS = policeuk.KINDS


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
                heads = [COLUMN_HEADS.get(c, c) for c in cols]
                widths = [max(len(h), 9) + 2 for h in heads]
                out.append(f"{'file':48s}" + "".join(f"{h:>{w}s}" for h, w in zip(heads, widths)))
                for r in show.itertuples(index=False):
                    out.append(f"{str(r[0])[:48]:48s}" + "".join(f"{int(v):>{w},d}" for v, w in zip(r[1:], widths)))
                tot = police[cols].sum()
                out.append(f"{'TOTAL':48s}" + "".join(f"{int(tot[c]):>{w},d}" for c, w in zip(cols, widths)))
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



# each LSOA lookup gives a chain LSOA -> LAD -> CSP. An LSOA maps to a CSP when the chains that resolve agree on
# one CSP (so an older-vintage lookup can settle what a newer one leaves ambiguous, e.g. Buckinghamshire's districts);
# chains that disagree make it ambiguous; otherwise the most telling failure (ambiguous before unmapped) is kept.
LSOA_MAP_SQL = """
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


def fate_sql(has_welsh: bool, outcome: bool = False, latest_outcomes: bool = False) -> str:
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
                       JOIN {rank_values('r')} ON r.grp = oc.outcome_group
                       WHERE oc.crime_key IS NOT NULL GROUP BY oc.crime_key) lt ON lt.crime_key = st.crime_key
                  """ if latest_outcomes else ""
        base = f"""SELECT st.file_id, st.lsoa_code, c.slug = '{ASB}' AS asb, c.slug AS category,
                          {effective} AS outcome_group, count(*) AS n
                   FROM street st JOIN {crime_values('c')} ON c.label = st.crime_type
                   LEFT JOIN {outcome_values('o')} ON o.text = st.outcome
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




def _q(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


def rebuild(con: duckdb.DuckDBPyConnection) -> None:
    """The accounting table from scratch: every street, outcomes and stop-and-search row in one bucket."""
    has_welsh = bool(_q(con, "SELECT 1 FROM lsoa_lad WHERE lsoa_code LIKE 'W01%' LIMIT 1"))
    con.execute("DELETE FROM accounting")
    con.execute(f"CREATE OR REPLACE TEMP TABLE _fate AS {fate_sql(has_welsh, outcome=False)}")
    con.execute("INSERT INTO accounting SELECT file_id, bucket, detail, sum(n) FROM _fate GROUP BY ALL")
    if _q(con, "SELECT 1 FROM outcomes LIMIT 1"):
        con.execute("""INSERT INTO accounting
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
    bad = _q(con, """SELECT l.source, l.rows, coalesce(sum(a.rows), 0) FROM ledger l
                     LEFT JOIN accounting a USING (file_id) WHERE l.kind IN ('street', 'outcomes',
                     'stop-and-search') GROUP BY ALL HAVING l.rows <> coalesce(sum(a.rows), 0)""")
    if bad:
        raise AssertionError(f"row accounting does not add up for {bad[0][0]}: {bad[0][1]} rows read, "
                             f"{bad[0][2]} accounted")

