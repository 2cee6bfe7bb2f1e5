"""Benchmark the assessment table (a script, not a test).

    .venv/bin/python benchmarks/assess.py

``perfwork.judgement.assess`` for every demo CSP (314 areas x 21 indicators):

1. at the latest period end (goal <= 2 s), end to end: indicator values, Most Similar Groups, peer comparison,
   change tests, SPC, Fingertips trend, targets, exceptions;
2. over the full history, every rolling 12-month period end (49 of them; goal <= 10 s);

each also with the indicator frames precomputed (``values=``), to show the judgement's own share, and with the
indicator calls timed alone. Timings are the best of a few repeats after one warm-up call; the demo dataset is
loaded once, outside the timings.
"""

from __future__ import annotations

import importlib
import time

from perfwork.indicators import indicators
from perfwork.sources import demo

A = importlib.import_module("perfwork.judgement")


def best_of(fn, repeats: int = 3) -> tuple[float, object]:
    out = fn()  # warm-up (imports, caches)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main() -> None:
    t0 = time.perf_counter()
    ds = demo.load()
    print(f"loaded {ds!r} in {time.perf_counter() - t0:.2f} s")

    t_r12, r12 = best_of(lambda: indicators(ds, period="rolling12"))
    t_month, month = best_of(lambda: indicators(ds, period="month"))
    values = {"rolling12": r12, "month": month}
    print(f"indicators(): rolling12 {t_r12:.2f} s ({len(r12):,} rows), month {t_month:.2f} s ({len(month):,} rows)")

    rows = []
    for label, period_end, goal in (("latest period end", None, 2.0), ("full history (every period end)", "all", 10.0)):
        t_all, table = best_of(lambda: A.assess(ds, period_end=period_end, targets="demo"))
        t_judge, _ = best_of(lambda: A.assess(ds, period_end=period_end, targets="demo", values=values))
        n_ends = table["period_end"].nunique()
        rows.append((label, t_all, t_judge, goal))
        print(f"assess, all {table['area_code'].nunique()} CSPs, {label}: {t_all:.2f} s end to end "
              f"(goal <= {goal:g} s: {'met' if t_all <= goal else 'NOT met'}); judgement alone {t_judge:.2f} s; "
              f"{len(table):,} rows, {n_ends} period end(s), {int(table['exception'].sum()):,} exceptions")
    t_one, one = best_of(lambda: A.assess(ds, area="DK-C0123", targets="demo"))
    print(f"assess, one CSP, latest: {t_one:.2f} s ({int(one['exception'].sum())} exceptions of {len(one)})")


if __name__ == "__main__":
    main()
