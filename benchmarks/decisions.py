"""Benchmark the decision log (a script, not a test).

    .venv/bin/python benchmarks/decisions.py [--n 1000] [--log URL]

1. the floor: N bare ``sqlite3`` inserts, one committed transaction each, in a WAL file (what any log costs);
2. recording N decisions with ``decisions.record`` (checks, the snapshot of the judgement, the version rows, one
   transaction each), on demo areas and indicators over 2022-2026, snapshots read from one assessment of every
   period end;
3. reviewing all N against the demo with ``decisions.review`` given the latest assessment (goal <= 2 s), and the
   same from the bare Dataset (the assessment computed inside, once per level).

Prints each time, its ratio to the floor, and exits non-zero when the review misses its goal.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

import perfwork as pw
from perfwork import decisions as dec

GOAL_REVIEW_S = 2.0


def bare_inserts(path: Path, n: int) -> float:
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, area TEXT, indicator TEXT, decided_on TEXT, decision TEXT, "
                "author TEXT, snapshot TEXT)")
    t0 = time.perf_counter()
    for i in range(n):
        con.execute("BEGIN IMMEDIATE")
        con.execute("INSERT INTO t (area, indicator, decided_on, decision, author, snapshot) VALUES (?,?,?,?,?,?)",
                    ("DK-C0001", "burglary", "2025-01-01", f"decision {i}", "chair", "{}"))
        con.execute("COMMIT")
    elapsed = time.perf_counter() - t0
    con.close()
    return elapsed


def plan(a_all, n: int, seed: int = 11) -> list[dict]:
    """N decisions on random CSPs and indicators, dated in the month after one of the assessed period ends."""
    rng = np.random.default_rng(seed)
    t = a_all.table
    ends = sorted(t["period_end"].unique())
    codes = t["area_code"].unique()
    inds = t["indicator"].unique()
    out = []
    for i in range(n):
        end = ends[rng.integers(len(ends) - 1)]
        day = (end + pd.DateOffset(months=1, days=int(rng.integers(0, 27)))).date()
        out.append({"area": str(codes[rng.integers(len(codes))]),
                    "indicator": None if i % 10 == 0 else str(inds[rng.integers(len(inds))]),
                    "decided_on": str(day), "decision": f"benchmark decision {i}", "author": "benchmark"})
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--log", default=None, help="a log URL (default: a temporary SQLite file)")
    args = parser.parse_args()
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} (1, 5, 15 min) "
          f"on {os.cpu_count()} cores")
    tmp = Path(tempfile.mkdtemp(prefix="perfwork-bench-"))
    floor = bare_inserts(tmp / "bare.sqlite", args.n)
    print(f"floor: {args.n:,} bare sqlite3 inserts, one transaction each: {floor:.2f} s")

    ds = pw.load_demo()
    t0 = time.perf_counter()
    a_all = pw.assess_all(ds, period_end="all", targets="demo")
    a = pw.assess_all(ds, targets="demo")
    print(f"setup (not timed below): assess_all every period end + latest in {time.perf_counter() - t0:.1f} s")
    log = dec.open_log(args.log or tmp / "log.sqlite")
    entries = plan(a_all, args.n)
    t0 = time.perf_counter()
    for e in entries:
        dec.record(a_all, log, today=date(2026, 12, 1), **e)
    t_record = time.perf_counter() - t0
    print(f"record {args.n:,} decisions: {t_record:.2f} s ({t_record / floor:.1f}x the floor, "
          f"{1000 * t_record / args.n:.1f} ms each)")

    dec.review(a, log)                                        # warm-up
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        r = dec.review(a, log)
        times.append(time.perf_counter() - t0)
    t_review = min(times)
    print(f"review {len(r):,} decisions given the assessment: {t_review:.2f} s (best of 3; {t_review / floor:.1f}x "
          f"the floor; goal <= {GOAL_REVIEW_S:.0f} s: {'met' if t_review <= GOAL_REVIEW_S else 'MISSED'})")
    t0 = time.perf_counter()
    dec.review(ds, log)
    print(f"review from the bare Dataset (assessment inside): {time.perf_counter() - t0:.2f} s")
    tested = r["p_value"].notna().sum()
    print(f"  {tested:,} change tests, {r['spc_rule'].notna().sum():,} SPC signals since their decision, "
          f"{(r['label'] == 'area-wide').sum():,} area-wide")
    return 0 if t_review <= GOAL_REVIEW_S else 1


if __name__ == "__main__":
    sys.exit(main())
