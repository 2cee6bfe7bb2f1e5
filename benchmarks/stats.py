"""Benchmark the statistics engine (a script, not a test).

    .venv/bin/python benchmarks/stats.py

1. ``perfwork.stats.rate_ci`` on 1,000,000 areas (goal <= 1 s), beside an anchor: a bare numpy
   Wilson interval on the same arrays (the floor any vectorised interval costs on this machine),
   and the ratio of the two.
2. ``perfwork.spc.xmr_frame`` over 300 areas x 20 indicators x 60 months = 6,000 series and
   360,000 points (goal <= 2 s), plus ``xmr_summary`` for the icons.

Timings are the best of a few repeats after one warm-up call; exits 1 when a goal is missed.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from perfwork import spc, stats


def best_of(fn, repeats: int = 5) -> float:
    fn()  # warm-up (imports, caches)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def wilson_floor(x: np.ndarray, n: np.ndarray, z: float = 1.959963984540054) -> tuple[np.ndarray, np.ndarray]:
    z2 = z * z
    root = z * np.sqrt(z2 + 4.0 * x * (1.0 - x / n))
    den = 2.0 * (n + z2)
    return (2.0 * x + z2 - root) / den, (2.0 * x + z2 + root) / den


def main() -> int:
    rng = np.random.default_rng(2024)
    n_areas = 1_000_000
    # crime-shaped: populations 1k-300k, rates 0.01-50 per 1,000, so some counts fall below 10
    pop = rng.integers(1_000, 300_000, n_areas).astype("float64")
    count = rng.poisson(pop * rng.uniform(0.00001, 0.05, n_areas)).astype("float64")

    t_rate = best_of(lambda: stats.rate_ci(count, pop, multiplier=1000))
    t_floor = best_of(lambda: wilson_floor(count, pop))
    small = float((count < 10).mean())
    print(f"rate_ci, {n_areas:,} areas ({small:.2%} with < 10 events): {t_rate:.3f} s  (goal <= 1 s)")
    print(f"  anchor: bare numpy Wilson interval on the same arrays: {t_floor:.3f} s")
    print(f"  ratio rate_ci / anchor: {t_rate / t_floor:.1f}x")

    areas, indicators, months = 300, 20, 60
    k = areas * indicators
    base = rng.uniform(5, 200, k)
    drift = rng.normal(0, 0.01, k)
    t = np.arange(months)
    lam = base[:, None] * (1 + drift[:, None] * t[None, :])
    values = rng.poisson(np.clip(lam, 0.1, None)).astype("float64").ravel()
    values[rng.random(values.size) < 0.002] = np.nan  # a few missing months
    df = pd.DataFrame({
        "area": np.repeat([f"E{a:08d}" for a in range(areas)], indicators * months),
        "indicator": np.tile(np.repeat([f"ind_{i:02d}" for i in range(indicators)], months), areas),
        "month": np.tile(pd.date_range("2020-04-01", periods=months, freq="MS").to_numpy(), k),
        "value": values,
        "improvement": np.tile(np.repeat(np.where(np.arange(indicators) % 3 == 0, "increase", "decrease"),
                                         months), areas),
    })
    df = df.sample(frac=1.0, random_state=1)  # arrive in no particular order

    def run_frame() -> pd.DataFrame:
        return spc.xmr_frame(df, by=["area", "indicator"], value="value", order_by="month",
                             improvement="improvement")

    t_frame = best_of(run_frame, repeats=3)
    pts = run_frame()
    t_summary = best_of(lambda: spc.xmr_summary(pts, by=["area", "indicator"], order_by="month"), repeats=3)
    summary = spc.xmr_summary(pts, by=["area", "indicator"], order_by="month")
    print(f"xmr_frame, {areas} areas x {indicators} indicators x {months} months "
          f"({k:,} series, {len(df):,} points): {t_frame:.3f} s  (goal <= 2 s)")
    print(f"  xmr_summary (variation / assurance icons for {len(summary):,} series): {t_summary:.3f} s")
    print("  variation icons:", summary["variation"].value_counts().to_dict())
    missed = [what for what, t, goal in (("rate_ci", t_rate, 1.0), ("xmr_frame", t_frame, 2.0)) if t > goal]
    if missed:
        print(f"goal NOT met: {', '.join(missed)}")
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
