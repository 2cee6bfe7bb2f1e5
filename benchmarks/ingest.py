"""Ingest benchmark: perfwork's whole police.uk ingest against two floors, in one run.

    .venv/bin/python benchmarks/ingest.py [--repeat 5] [--realdata ../shared/realdata]

Over the 34 Merseyside and Avon & Somerset street files (~470k rows, gzipped as shipped) it times:

1. perfwork: ``Store.ingest_police_uk`` into a fresh store file - hashing and header checks, the ONS lookups
   (LSOA -> LAD -> CSP -> PFA), reading every row into the store, value checks, geography resolution, row
   accounting, commit and close (checkpoint). Population is ingested separately (not timed here: parsing the
   legacy .xls workbook is xlrd's time, not the ingest's).
2. DuckDB bare scan: ``SELECT count(*) FROM read_csv([...])`` over the same files (the floor).
3. pandas: ``read_csv`` of every file + concat + groupby(Month, LSOA code, Crime type) with no lookups.

The three are run interleaved ``--repeat`` times; the table gives the best and the median of each, and the
ratios to the bare scan. Machines shared with other work are noisy: compare the best times.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402
import pandas as pd  # noqa: E402

from perfwork.store import Store  # noqa: E402


def perfwork_ingest(files, lookups, work: Path, i: int) -> float:
    store = work / f"bench-{i}.duckdb"
    t = time.perf_counter()
    with Store(store) as st:
        report = st.ingest_police_uk(files, lookups=lookups, quiet=True)
    dt = time.perf_counter() - t
    assert report.rows == 472_630 or report.rows > 0
    return dt


def duckdb_bare(files) -> float:
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    t = time.perf_counter()
    n = con.execute("SELECT count(*) FROM read_csv(?)", [[str(f) for f in files]]).fetchall()[0][0]
    dt = time.perf_counter() - t
    con.close()
    assert n > 0
    return dt


def pandas_groupby(files) -> float:
    t = time.perf_counter()
    df = pd.concat([pd.read_csv(f) for f in files], ignore_index=True)
    g = df.groupby(["Month", "LSOA code", "Crime type"]).size()
    dt = time.perf_counter() - t
    assert len(g) > 0
    return dt


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--realdata", type=Path, default=ROOT.parent / "shared" / "realdata")
    a = ap.parse_args(argv)
    street = a.realdata / "police_uk" / "street"
    files = sorted((street / "merseyside").glob("*.csv.gz")) + sorted((street / "avon-and-somerset").glob("*.csv.gz"))
    if len(files) != 34:
        print(f"expected the 34 Merseyside and Avon & Somerset street files under {street}; found {len(files)}")
        return 2
    lookups = [a.realdata / "lookups" / "LSOA11_CCG20_LAD20_EN_LU_apr2020.csv",
               a.realdata / "lookups" / "LAD19_CSP19_PFA19_EW_LU_dec2019.csv"]
    mb = sum(f.stat().st_size for f in files) / 1e6
    print(f"{len(files)} files, {mb:.1f} MB gzipped; {a.repeat} interleaved runs each")
    times: dict[str, list[float]] = {"perfwork ingest": [], "duckdb bare scan": [], "pandas read_csv+groupby": []}
    with tempfile.TemporaryDirectory() as work:
        for i in range(a.repeat):
            times["duckdb bare scan"].append(duckdb_bare(files))
            times["perfwork ingest"].append(perfwork_ingest(files, lookups, Path(work), i))
            times["pandas read_csv+groupby"].append(pandas_groupby(files))
    floor_best = min(times["duckdb bare scan"])
    floor_med = statistics.median(times["duckdb bare scan"])
    print(f"{'':26s}{'best s':>9s}{'median s':>10s}{'x bare (best)':>15s}{'x bare (median)':>17s}")
    for k, v in times.items():
        best, med = min(v), statistics.median(v)
        print(f"{k:26s}{best:9.3f}{med:10.3f}{best / floor_best:15.2f}{med / floor_med:17.2f}")
    ratio = min(times["perfwork ingest"]) / floor_best
    print(f"perfwork / bare scan = {ratio:.2f}x (goal <= 1.5x: {'met' if ratio <= 1.5 else 'NOT met'})")
    return 0 if ratio <= 1.5 else 1


if __name__ == "__main__":
    raise SystemExit(main())
