"""Benchmark perfwork's batch against a plain papermill loop (a script, not a test).

    .venv/bin/python benchmarks/batch.py [--areas level:csp] [--workers N] [--cli-areas 3]

In one run: ``notebooks/partnership_profile.ipynb`` for every demo CSP through ``perfwork.batch.run`` (seconds per
area over the whole run, warm-ups included, and the total), then the anchor: the plain ``papermill`` command for a
sample of areas, one process per area as a shell loop would run it (seconds per area), the ratio, and the peak
memory of a worker's kernel. Goals: <= 0.35 s per area, >= 20x the papermill loop, <= 500 MB per worker. The
machine's load (``os.getloadavg``) is printed before and after: on a shared machine the numbers move with it.
Exits 1 when a goal is missed.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import perfwork as pw

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "partnership_profile.ipynb"
GOAL_S_PER_AREA, GOAL_RATIO, GOAL_MB = 0.35, 20.0, 500.0


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.1f} {five:.1f} {fifteen:.1f} on {os.cpu_count()} cores"


def cpu_seconds() -> tuple[float, float]:
    """CPU time of this process (the batch's driver threads) and of its finished children (the kernels)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime


def papermill_loop(areas: list[str], out: Path) -> float:
    """The anchor: ``papermill NOTEBOOK OUT -p AREA CODE`` once per area, as a shell loop runs it."""
    env = {**os.environ, "PERFWORK_CHARTS": "report"}  # charts as report figures, as the batch makes them
    t0 = time.perf_counter()
    for area in areas:
        subprocess.run([sys.executable, "-m", "papermill", "--no-progress-bar", str(NOTEBOOK),
                        str(out / f"{area}.ipynb"), "-p", "AREA", area], check=True, env=env, cwd=ROOT,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return (time.perf_counter() - t0) / len(areas)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--areas", default="level:csp")
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--cli-areas", type=int, default=3)
    args = parser.parse_args()
    print(f"before: {load()}")
    os.chdir(ROOT)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t0, (self0, kids0) = time.perf_counter(), cpu_seconds()
        result = pw.batch.run(NOTEBOOK, tmp / "batch", areas=args.areas, workers=args.workers, progress=False)
        total = time.perf_counter() - t0
        self1, kids1 = cpu_seconds()
        n = len(result.rows)
        per_area = total / n
        steady = sorted(float(r["seconds"]) for r in result.rows if r["status"] == "ok")
        print(f"perfwork batch: {n} areas in {total:.1f} s with {args.workers} warm kernels = {per_area:.3f} s per "
              f"area (goal <= {GOAL_S_PER_AREA}); one area on a warm kernel: median {steady[len(steady) // 2]:.2f} s"
              f"; failed: {len(result.failed)}")
        cpu = (self1 - self0 + kids1 - kids0) / n
        print(f"CPU per area: {cpu:.3f} s (kernels {(kids1 - kids0) / n:.3f}, driver {(self1 - self0) / n:.3f}); "
              f"on {args.workers} idle cores that is {cpu / args.workers:.3f} s per area")
        sample = [r["area"] for r in result.rows[: args.cli_areas]]
        cli = papermill_loop(sample, tmp)
        ratio = cli / per_area
        print(f"papermill CLI loop (anchor): {len(sample)} areas, {cli:.2f} s per area")
        print(f"ratio: {ratio:.1f}x faster (goal >= {GOAL_RATIO:.0f}x)")
        driver = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak memory: a worker's kernel {result.peak_rss_mb:.0f} MB (goal <= {GOAL_MB:.0f}); "
              f"the batch process driving them {driver:.0f} MB")
    print(f"after: {load()}")
    missed = [what for what, bad in (("s per area", per_area > GOAL_S_PER_AREA), ("ratio", ratio < GOAL_RATIO),
                                     ("worker memory", result.peak_rss_mb > GOAL_MB), ("failures", result.failed))
              if bad]
    if missed:
        print(f"missed: {', '.join(missed)}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
