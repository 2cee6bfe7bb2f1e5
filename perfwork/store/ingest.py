"""Ingest: reference files (lookups, population, households, characteristics) and police.uk files into the store,
one transaction per run; the ledger makes it safe to run twice."""

from __future__ import annotations

import datetime as _dt
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import pandas as pd

from ..dataset import DataError
from ..sources import ons, policeuk
from ..sources.policeuk import sql_quote
from . import accounting, read
from .accounting import BUCKETS, POLICE_KINDS, IngestReport
from .schema import DATA_TABLES, interrupted, outcome_values, sql_values, ss_values


def _same_bytes(pf: policeuk.PoliceFile, stored: tuple[str, str] | None, seen: policeuk.PoliceFile) -> None:
    """The same bytes as a file already in the store (or already in this ingest) under another key are an error:
    a renamed copy would otherwise count its rows twice."""
    if stored is not None and stored[0] != pf.key:
        raise DataError(f"{pf.source}: same bytes as {stored[1]}, already ingested as {stored[0]} (this file would "
                        f"be {pf.key}); a copy under another name would count its rows twice, so nothing was stored")
    if seen.key != pf.key:
        raise DataError(f"{pf.source}: same bytes as {seen.source} ({seen.key}), but its name makes it {pf.key}; "
                        f"a copy under another name would count its rows twice, so nothing was stored")


class Ingest:
    """One ingest run in one transaction: reference files, police.uk files, then the derived tables."""

    def __init__(self, store, quiet: bool, command: str):
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
        for t in DATA_TABLES + ("accounting",):
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
        # delay: no bar at all for a step that is over at once (never an empty '0.00B' line)
        return tqdm(total=total, desc=desc, unit=unit, unit_scale=True, leave=False, file=sys.stderr, delay=0.5)

    # ---------------------------------------------------------------------------- run
    def run(self, paths, lookups, population, characteristics, households=()) -> IngestReport:
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
            for f in households:
                self._reference(Path(f), "households")
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
            for _ in range(100):  # after Ctrl-C the interrupted query may still hold the connection a moment
                try:
                    con.execute("ROLLBACK")
                    break
                except duckdb.Error as err:
                    if "busy" not in str(err).lower():
                        break
                    con.interrupt()
                    time.sleep(0.05)
            if self.bar is not None:
                self.bar.close()
            if interrupted(e):
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
        twin = self._q("SELECT source FROM ledger WHERE sha256 = ? AND kind = ? AND file_key <> ?", [sha, kind, key])
        if status == "new" and twin:  # a renamed copy of a file already in: nothing new to read
            status = "unchanged"
            self.notes.append(f"{path.name}: same bytes as {twin[0][0]}, already ingested; not read again")
        entry = {"source": str(path), "kind": kind, "force": None, "month": None, "status": status, "rows": None}
        self.statuses.append(entry)
        if status == "unchanged":
            return
        if kind == "lookup":
            lk = ons.read_lookup(path, lsoa_frame=False)
            layout, notes = "; ".join(lk.roles), lk.notes
            nrows = max(len(lk.lsoa_lad), len(lk.lad_csp), len(lk.successors), len(lk.names))
        elif kind in ("population", "households"):
            pf = ons.read_population(path, want=kind)
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
        elif kind in ("population", "households"):
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
        stored = {h: (k, src) for k, h, src in self._q("SELECT file_key, sha256, source FROM ledger")}
        by_sha: dict[str, policeuk.PoliceFile] = {}
        for pf in found.files:
            k = pf.key
            _same_bytes(pf, stored.get(pf.sha256), by_sha.setdefault(pf.sha256, pf))
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
                JOIN {outcome_values('o')} ON o.text = s.outcome GROUP BY ALL"""))
        rows.update(self._load_scanned(
            ids["stop-and-search"], policeuk.scan_stop_search, upd("stop-and-search"), "_stop_search", "sum(s.n)",
            f"""INSERT INTO stop_search
                SELECT i.file_id, (s.month || '-01')::DATE, r.result,
                       CASE WHEN lower(s.linked) = 'true' THEN true WHEN lower(s.linked) = 'false' THEN false END,
                       sum(s.n) FROM _stop_search s JOIN _ids i ON i.idx = s.idx
                LEFT JOIN {ss_values('r')} ON r.text = s.outcome GROUP BY ALL"""))
        if bar is not None:
            bar.close()
        self.bar = None
        # rows per file
        if rows:
            con.execute("UPDATE ledger SET rows = c.n FROM " + sql_values(sorted(rows.items()), ["file_id", "n"], "c")
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
                         + sql_values([(k, i) for k, (_, i) in enumerate(files)], ["idx", "file_id"], "v"))
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
        con.execute(accounting.LSOA_MAP_SQL)
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
        accounting.rebuild(con)


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
        notes = list(self.notes) + read.population_notes(self.st) + read.coverage_notes(self.st)
        return IngestReport(store=str(self.st.path), files=st, details=details, totals=totals,
                            store_totals=store_totals if acc else {}, skipped=skipped, notes=notes)
