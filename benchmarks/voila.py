"""The managers' dashboard under perfwork serve against a plain Voilà page, in Chromium, in one run.

Anchor: plain ``voila`` of a notebook holding one Dropdown and one offline JupyterChart of 16 bars (the Dropdown
redraws it), Voilà's own preheated pool of 2. Measured for both, medians of 5:

- navigation until the widgets and the first chart are visible      goal <= 1.5 s
- changing the area until every chart shows the new area            goal <= 150 ms
- resident memory of one app kernel after it served its page        goal <= 250 MB
- time to first render of the 10th of 10 simultaneous viewers       (reported beside the anchor's)

Prints each number beside the anchor's and the ratio, the machine's load before and after, and exits 1 when a
goal is missed. ``--runs N`` changes the 5.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from perfwork.apps.background import Server, free_port

CHROMIUM = "/usr/bin/chromium"
GOALS = {"navigate": 1.5, "switch": 0.150, "memory": 250.0}
ANCHOR_CELLS = [
    "import altair as alt, ipywidgets as w, pandas as pd\nalt.JupyterChart.enable_offline()",
    "df = pd.DataFrame({'x': list('abcdefghijklmnop'), 'y': range(16)})\n"
    "chart = alt.JupyterChart(alt.Chart(df, title='a').mark_bar(tooltip=True).encode(x='x', y='y'))\n"
    "pick = w.Dropdown(description='Pick', options=list('abcdefghij'))\n"
    "pick.observe(lambda ch: setattr(chart, 'chart', alt.Chart(df.assign(y=df.y[::-1].values), title=ch['new'])"
    ".mark_bar(tooltip=True).encode(x='x', y='y')), 'value')\n"
    "w.VBox([pick, chart])",
]
AREAS = ["DK-C0123", "DK-C0067", "DK-C0201", "DK-C0042", "DK-C0150", "DK-C0007"]


def anchor_notebook(folder: Path) -> Path:
    nb = {"cells": [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": c}
                    for c in ANCHOR_CELLS],
          "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
          "nbformat": 4, "nbformat_minor": 5}
    path = folder / "anchor.ipynb"
    path.write_text(json.dumps(nb))
    return path


class PlainVoila:
    """``voila anchor.ipynb`` with its own preheated pool of 2, nothing else configured."""

    def __init__(self, notebook: Path, log: Path):
        self.port, self.notebook, self.log = free_port(), notebook, log

    def url(self, path: str = "") -> str:
        return f"http://127.0.0.1:{self.port}/{path}"

    def __enter__(self):
        self._out = open(self.log, "w")
        self.proc = subprocess.Popen([sys.executable, "-m", "voila", str(self.notebook), "--no-browser",
                                      f"--port={self.port}", "--Voila.ip=127.0.0.1",
                                      "--VoilaConfiguration.preheat_kernel=True",
                                      "--VoilaConfiguration.default_pool_size=2"],
                                     stdout=self._out, stderr=subprocess.STDOUT, start_new_session=True,
                                     cwd=self.notebook.parent)
        deadline = time.monotonic() + 120
        while "is filled with 2" not in self.log.read_text() and time.monotonic() < deadline:
            time.sleep(0.25)
        return self

    def __exit__(self, *exc):
        os.killpg(self.proc.pid, 15)
        self.proc.wait(20)
        self._out.close()


def kernels(proc) -> list[psutil.Process]:
    out = []
    for p in psutil.Process(proc.pid).children():
        try:
            if p.status() != psutil.STATUS_ZOMBIE and "ipykernel_launcher" in " ".join(p.cmdline()):
                out.append(p)
        except psutil.Error:
            pass
    return out


def settle(proc, pool: int = 2, timeout: float = 90) -> None:
    """Wait until the pool holds ``pool`` kernels and they have stopped working (preheating done)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ks = kernels(proc)
        if len(ks) >= pool and all(k.cpu_percent(interval=0.3) < 5 for k in ks):
            return
        time.sleep(0.3)


def first_render(browser, url: str, ready: str) -> tuple[float, object]:
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    context.route("**/*", lambda r: r.abort() if "127.0.0.1" not in r.request.url else r.continue_())
    page = context.new_page()
    t0 = time.perf_counter()
    page.goto(url, wait_until="commit", timeout=240_000)
    page.wait_for_selector(ready, timeout=240_000)
    page.wait_for_selector(".widget-dropdown select", timeout=240_000)
    return time.perf_counter() - t0, page


SWITCH_JS = """async ([label, code, titles]) => {
  const select = [...document.querySelectorAll('.widget-dropdown')]
    .find(d => d.querySelector('label')?.textContent.trim() === label).querySelector('select');
  const option = [...select.options].find(o => o.textContent.includes(code));
  const t0 = performance.now();
  select.value = option.value;
  select.dispatchEvent(new Event('change', {bubbles: true}));
  const name = option.textContent.replace(/\u00a0/g, ' ').split(' (')[0];   // ipywidgets uses no-break spaces
  while (true) {
    const ts = [...document.querySelectorAll(titles)];
    if (ts.length && ts.every(t => t.textContent.includes(name))) return (performance.now() - t0) / 1000;
    await new Promise(r => requestAnimationFrame(r));
    if (performance.now() - t0 > 60000) return NaN;
  }
}"""


def measure(browser, server, url: str, ready: str, label: str, codes: list[str], titles: str, runs: int) -> dict:
    nav, switch, memory = [], [], []
    for i in range(runs):
        settle(server.proc)
        before = {k.pid for k in kernels(server.proc)}
        t, page = first_render(browser, url, ready)
        nav.append(t)
        page.wait_for_timeout(300)
        switch.append(page.evaluate(SWITCH_JS, [label, codes[i % len(codes)], titles]))
        # the page took one of the pooled kernels (the pool refills with new ones): the larger of the two
        served = [k for k in kernels(server.proc) if k.pid in before]
        memory.append(max(k.memory_info().rss for k in served) / 2**20)
        page.close(run_before_unload=True)       # Voilà shuts the page's kernel down on beforeunload
        page.context.close()
    return {"navigate": statistics.median(nav), "switch": statistics.median(switch),
            "memory": statistics.median(memory), "nav_all": nav, "switch_all": switch}


def crowd(browser, url: str, ready: str, n: int = 10) -> float:
    """n pages navigate at once; seconds until the last of them shows its widgets and chart."""
    contexts = [browser.new_context() for _ in range(n)]
    pages = [c.new_page() for c in contexts]
    t0 = time.perf_counter()
    for p in pages:
        p.evaluate(f"window.location.href = {url!r}")
    last = 0.0
    for p in pages:
        p.wait_for_selector(ready, timeout=600_000)
        last = max(last, time.perf_counter() - t0)
    for c in contexts:
        c.close()
    return last


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--no-crowd", action="store_true", help="skip the 10 simultaneous viewers")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    print("load before:", os.getloadavg())
    out = {}
    with tempfile.TemporaryDirectory() as d, sync_playwright() as p:
        d = Path(d)
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        with PlainVoila(anchor_notebook(d), d / "anchor.log") as anchor:
            out["anchor"] = measure(browser, anchor, anchor.url(), ".vega-embed svg .role-title-text", "Pick",
                                    list("bcdefghij"), ".vega-embed svg .role-title-text", args.runs)
            print("anchor:", {k: v for k, v in out["anchor"].items()}, flush=True)
            if not args.no_crowd:
                settle(anchor.proc)
                out["anchor"]["crowd"] = crowd(browser, anchor.url(), ".vega-embed svg")
        with Server("--max-viewers", "40", pool=2, log=d / "serve.log") as s:   # the cap is not what is measured
            url = s.url("voila/render/dashboard.ipynb")
            titles = ".pw-overview svg .role-title-text, .pw-chart svg .role-title-text"
            out["dashboard"] = measure(browser, s, url, ".pw-overview svg .role-title-text", "Area", AREAS,
                                       titles, args.runs)
            print("dashboard:", {k: v for k, v in out["dashboard"].items()}, flush=True)
            if not args.no_crowd:
                settle(s.proc)
                out["dashboard"]["crowd"] = crowd(browser, url, ".pw-overview svg .role-title-text")
        browser.close()
    print("load after: ", os.getloadavg())
    return report(out)


def report(out: dict) -> int:
    a, m = out["anchor"], out["dashboard"]
    missed = []
    rows = [("navigate", "navigation -> widgets and first chart visible", "s"),
            ("switch", "area change -> every chart updated", "s"),
            ("memory", "one app kernel, resident", "MB"), ("crowd", "10th of 10 simultaneous viewers", "s")]
    print(f"{'':48} {'dashboard':>10} {'anchor':>10} {'ratio':>7} {'goal':>8}")
    for key, text, unit in rows:
        if key not in m:
            continue
        goal = GOALS.get(key)
        ok = goal is None or m[key] <= goal
        if not ok:
            missed.append(key)
        g = f"<= {goal:g}" if goal else "-"
        print(f"{text:48} {m[key]:>9.3f}{unit[0]} {a[key]:>9.3f}{unit[0]} {m[key] / a[key]:>7.2f} {g:>8}"
              f"{'' if ok else '  MISSED'}")
    print("runs (navigate):", [round(x, 2) for x in m["nav_all"]], "anchor", [round(x, 2) for x in a["nav_all"]])
    print("runs (switch):  ", [round(x, 3) for x in m["switch_all"]], "anchor",
          [round(x, 3) for x in a["switch_all"]])
    print("goals missed:", ", ".join(missed) if missed else "none")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
