"""Benchmark the assessment (a script, not a test); exits 1 when a goal is missed.

    .venv/bin/python benchmarks/assess.py [--anchor-areas N] [--history]

On the demo's 314 CSPs x 21 indicators, with the demo targets:

1. the anchor: ``pw.assess(ds, area=X)`` for one area at a time, as a batch or an app switching area would call
   it before the Assessment (each call computes every area's rolling-12 values and the peer groups); timed on
   ``--anchor-areas`` areas (default 5; 314 for all of them) and given per area and for all 314;
2. ``pw.assess_all(ds)``, the all-CSP assessment, once (goal <= 1.5 s);
3. ``Assessment.for_area`` over all 314 CSPs, each read for the first time (goal <= 5 ms per area);

then the ratios: the anchor per area against ``for_area``, and 314 anchor calls against one ``assess_all`` plus
314 reads. ``--history`` also times the assessment of every rolling-12 period end (no goal).

The goals are judged on CPU time (``time.process_time``: this process's work, every thread), which a busy
shared machine does not inflate; wall-clock times and the load average are printed beside them.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import perfwork as pw
from perfwork import assessment
from perfwork.sources import demo

GOAL_ALL_S = 1.5
GOAL_AREA_MS = 5.0


def timed(fn):
    """(wall s, cpu s, result) of one call."""
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - w, time.process_time() - c, out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--anchor-areas", type=int, default=5, help="areas to time pw.assess on (default 5; 314: all)")
    ap.add_argument("--history", action="store_true", help="also time the assessment of every period end")
    a = ap.parse_args(argv)
    print(f"load average {', '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    ds = demo.load()
    codes = list(ds.level("csp")["area_code"])
    pw.assess_all(ds, targets="demo", cache=False)  # warm-up: imports, the dataset's cube and fingerprint

    sample = codes[:: max(1, len(codes) // max(1, a.anchor_areas))][: a.anchor_areas]
    anchor = [timed(lambda c=c: pw.assess(ds, area=c, targets="demo"))[:2] for c in sample]
    a_wall = statistics.mean(t[0] for t in anchor)
    a_cpu = statistics.mean(t[1] for t in anchor)
    print(f"anchor: pw.assess(ds, area=X) on {len(sample)} CSPs: {a_cpu:.2f} s CPU per area ({a_wall:.2f} s wall); "
          f"for all {len(codes)}: {a_cpu * len(codes):.0f} s CPU")

    assessment.clear_cache()
    w_all, c_all, result = timed(lambda: pw.assess_all(ds, targets="demo", cache=False))
    ok_all = c_all <= GOAL_ALL_S
    print(f"pw.assess_all, all {len(codes)} CSPs once: {c_all:.2f} s CPU ({w_all:.2f} s wall), "
          f"{len(result.table):,} rows (goal <= {GOAL_ALL_S:g} s: {'met' if ok_all else 'NOT met'})")

    reads = [timed(lambda c=c: result.for_area(c))[:2] for c in codes]
    r_cpu = [t[1] * 1000 for t in reads]
    r_wall = [t[0] * 1000 for t in reads]
    per_area = statistics.mean(r_cpu)
    ok_area = per_area <= GOAL_AREA_MS
    print(f".for_area over all {len(codes)} CSPs: {per_area:.2f} ms CPU per area (median "
          f"{statistics.median(r_cpu):.2f}, max {max(r_cpu):.2f}; wall mean {statistics.mean(r_wall):.2f} ms) "
          f"(goal <= {GOAL_AREA_MS:g} ms: {'met' if ok_area else 'NOT met'})")

    print(f"ratio per area: pw.assess / .for_area = {a_cpu * 1000 / per_area:,.0f}x")
    batch = c_all + per_area * len(codes) / 1000
    print(f"ratio for all {len(codes)} CSPs: {len(codes)} x pw.assess / (assess_all + {len(codes)} x .for_area) = "
          f"{a_cpu * len(codes):.0f} s / {batch:.2f} s = {a_cpu * len(codes) / batch:,.0f}x")

    if a.history:
        w_h, c_h, h = timed(lambda: pw.assess_all(ds, period_end="all", targets="demo", cache=False))
        print(f"every period end ({h.table['period_end'].nunique()}): {c_h:.2f} s CPU ({w_h:.2f} s wall), "
              f"{len(h.table):,} rows")
    return 0 if ok_all and ok_area else 1


if __name__ == "__main__":
    raise SystemExit(main())
