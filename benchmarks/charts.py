"""Benchmark the charts of a partnership profile (a script, not a test).

    .venv/bin/python benchmarks/charts.py [AREA]

Prints, in one run and warm (after one warm-up call; best of 5):

1. the anchor: one bare ``vl_convert.vegalite_to_svg`` of a simple layered bar chart (rendering on the server);
2. the full chart set of one partnership profile ready for its report (goal <= 150 ms): every chart built from
   the cached national assessment and turned into its report figure (Vega-Lite spec + text alternative), which
   is all the server does: the page's one embedded Vega bundle draws them in the reader's browser;
3. for comparison, what rendering that set to SVG on the server would cost (vl-convert per chart), and
   ``notebook_html`` of an executed profile (goal well under 100 ms).

Exits non-zero when the chart set misses its goal. Rerun on a quiet machine: the ratio to the anchor is the number
that travels between machines.
"""

from __future__ import annotations

import os
import sys
import time

import altair as alt
import pandas as pd
import vl_convert as vlc

from perfwork import charts, report

GOAL_S = 0.150


def best_of(fn, repeats: int = 5) -> tuple[float, object]:
    out = fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def anchor_spec() -> dict:
    df = pd.DataFrame({"area": list("ABCDEFGHIJKLMNOP"), "value": range(16)})
    bars = alt.Chart(df).mark_bar().encode(x="value:Q", y="area:N")
    rule = alt.Chart(pd.DataFrame({"b": [7.5]})).mark_rule().encode(x="b:Q")
    return alt.layer(bars, rule).to_dict()


def main() -> int:
    area = sys.argv[1] if len(sys.argv) > 1 else "DK-C0123"
    print(f"load: {os.getloadavg()[0]:.2f} (1-minute average) on {os.cpu_count()} cores")
    t0 = time.perf_counter()
    a = report.assessment(None, targets="demo")
    print(f"national assessment (once per process): {time.perf_counter() - t0:.1f} s")

    spec = anchor_spec()
    t0 = time.perf_counter()
    vlc.vegalite_to_svg(spec)
    first = time.perf_counter() - t0
    t_anchor, _ = best_of(lambda: vlc.vegalite_to_svg(spec))
    print(f"anchor: vl_convert.vegalite_to_svg, simple layered bar chart: {t_anchor * 1000:.0f} ms warm "
          f"({first:.2f} s first call)")

    def chart_set():
        return [charts.figure(c) for c in charts.profile_specs(a, area)]

    t_set, figs = best_of(chart_set)
    ok = t_set <= GOAL_S
    print(f"profile chart set for {area}: {len(figs)} charts ready for the report in {t_set * 1000:.0f} ms "
          f"(goal <= {GOAL_S * 1000:.0f} ms: {'met' if ok else 'NOT met'}); {t_set / t_anchor:.2f} x the anchor, "
          f"{t_set / len(figs) * 1000:.1f} ms per chart")
    specs = charts.profile_specs(a, area)
    t_fig, _ = best_of(lambda: [charts.figure(s) for s in specs])
    print(f"  of which turning the built specs into report figures: {t_fig * 1000:.1f} ms")

    t_svg, _ = best_of(lambda: [vlc.vegalite_to_svg(f.spec) for f in figs], repeats=1)
    print(f"for comparison, SVG on the server for the same set: {t_svg * 1000:.0f} ms "
          f"({t_svg / t_set:.1f} x the spec route)")

    with report.Runner() as run:
        run("notebooks/partnership_profile.ipynb", AREA=area)
        t_nb, nb = best_of(lambda: run("notebooks/partnership_profile.ipynb", AREA=area), repeats=2)
    t_html, page = best_of(lambda: report.notebook_html(nb))
    print(f"partnership profile notebook on a warm kernel: {t_nb:.2f} s; notebook_html: {t_html * 1000:.1f} ms "
          f"({report.chart_count(page)} charts, {len(page) / 1e6:.2f} MB with the Vega bundle embedded)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
