"""perfwork batch: warm kernels give what fresh papermill runs give, nothing leaks between areas, failures are
reported without stopping the rest, --resume, validation before any kernel starts, and the same batch on Dask."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import papermill as pm
import pytest
from papermill.iorw import load_notebook_node

import perfwork as pw
from perfwork.batch import BatchError, _kernel
from perfwork.batch._kernel import WarmKernel
from perfwork.batch._plan import notebook_imports
from perfwork.cli import main

ROOT = Path(__file__).resolve().parents[1]
PROBE = Path(__file__).parent / "batch" / "probe.ipynb"
PROFILE = ROOT / "notebooks" / "partnership_profile.ipynb"
VOLATILE_NB = {"start_time", "end_time", "duration"}
WHERE = {"output_path"}  # where the file was written, not what it holds


@pytest.fixture(autouse=True)
def _probe_env(monkeypatch):
    monkeypatch.setenv("PROBE_CWD", os.getcwd())  # kernels inherit it; the probe checks the working directory
    monkeypatch.setenv("PERFWORK_CHARTS", "report")  # fresh papermill runs draw charts as the batch does


@pytest.fixture(scope="module", autouse=True)
def _kernels():
    yield  # runs below keep their warm kernels for the next test (keep_kernels=True); end them all here
    pw.batch.close()


def normalise(nb, ignore_where=False) -> dict:
    """A notebook without what differs between any two fresh papermill runs: timestamps, durations, cell ids,
    the kernel's temporary file names."""
    nb = json.loads(nbformat.writes(nb) if not isinstance(nb, (str, bytes)) else nb)
    nb["metadata"]["papermill"] = {k: v for k, v in nb["metadata"]["papermill"].items()
                                   if k not in VOLATILE_NB | (WHERE if ignore_where else set())}
    for cell in nb["cells"]:
        cell.pop("id", None)
        cell["metadata"].pop("execution", None)
        cell["metadata"]["papermill"] = {k: v for k, v in cell["metadata"].get("papermill", {}).items()
                                         if k not in VOLATILE_NB}
    return json.loads(re.sub(r"/tmp/ipykernel_\d+/\d+\.py", "CELL", json.dumps(nb)))


def fresh(notebook, out, parameters, **kw):
    return pm.execute_notebook(str(notebook), str(out), parameters=parameters, progress_bar=False, **kw)


def test_warm_runs_equal_fresh_papermill_runs_and_nothing_leaks(tmp_path):
    template = load_notebook_node(str(PROBE))
    kernel = WarmKernel(warm_modules=notebook_imports(template)).start()
    sequence = [("DK-C0001", False), ("DK-C0123", False), ("DK-C0001", True), ("DK-C0123", False),
                ("DK-C0001", False)]
    runs, changed = [], []
    try:
        for area, pollute in sequence:
            nb, error = kernel.run(template, {"AREA": area, "POLLUTE": pollute}, str(PROBE),
                                   str(tmp_path / f"{area}.ipynb"))
            assert error is None
            runs.append(nb)
            if pollute:
                changed = kernel.reset()  # what the polluting area changed, put back before the next
    finally:
        kernel.close()
    expected = {a: normalise(fresh(PROBE, tmp_path / f"{a}.ipynb", {"AREA": a, "POLLUTE": False}))
                for a in ("DK-C0001", "DK-C0123")}
    for i in (0, 1, 3, 4):  # A, B, then B and A again after an area that changed everything it could
        assert normalise(runs[i]) == expected[sequence[i][0]], f"run {i} ({sequence[i][0]}) differs from papermill"
    for leak in ("global LEAKED_GLOBAL", "pandas option display.max_rows", "textwrap.shorten",
                 "perfwork.stats.rate_ci", "pandas.DataFrame.leaked (added)", "os.environ", "sys.path",
                 "warnings.filters", "numpy print options", "working directory /"):
        assert leak in changed
    assert any(c.startswith("altair registry RendererRegistry") for c in changed)
    # papermill's own structure: parameters injected right after the parameters cell, counted from 1
    cells = runs[4].cells
    tags = [c.metadata.get("tags", []) for c in cells]
    assert tags.index(["injected-parameters"]) == tags.index(["parameters"]) + 1
    assert [c.execution_count for c in cells if c.cell_type == "code"] == list(range(1, 11))
    assert runs[4].metadata.papermill.parameters == {"AREA": "DK-C0001", "POLLUTE": False}


def test_partnership_profile_after_another_area_equals_papermill_and_exports_offline(tmp_path):
    out = tmp_path / "out"
    result = pw.batch.run(PROFILE, out, areas="DK-C0201,DK-C0123", workers=1, progress=False)
    assert result.exit_code == 0
    expected = fresh(PROFILE, out / "DK-C0123.ipynb", {"AREA": "DK-C0123"})
    assert normalise((out / "DK-C0123.ipynb").read_text()) == normalise(expected)
    page = (out / "DK-C0123.html").read_text()
    assert not re.search(r"<(script|link)[^>]+(src|href)=\"https?://", page)
    assert '<script src="vega.js">' in page and (out / "vega.js").stat().st_size > 100_000
    assert "from perfwork import report" not in page and page.count('<figure class="pw-chart"') >= 5
    rows = {r["area"]: r for r in csv.DictReader((out / "summary.csv").open())}
    assert rows["DK-C0123"]["headline"].startswith("3 of Dalworth's 21 indicators need attention")
    assert "burglary" in rows["DK-C0123"]["headline"].lower() and rows["DK-C0123"]["exceptions"] == "3"
    index = (out / "index.html").read_text()
    assert 'href="DK-C0201.html"' in index and 'href="DK-C0123.html"' in index and "Dalworth" in index
    assert not re.search(r"(src|href)=\"https?://", index) and "<table" in index and "<th scope=\"col\"" in index


def test_misspelt_parameter_and_unknown_area_fail_before_any_kernel_starts(tmp_path, monkeypatch):
    def no_kernels(self):
        raise AssertionError("a kernel started before validation")

    monkeypatch.setattr(_kernel.WarmKernel, "start", no_kernels)
    with pytest.raises(BatchError, match=r"no parameter 'POLUTE' \(did you mean POLLUTE\?\)"):
        pw.batch.run(PROBE, tmp_path, areas="DK-C0001", parameters={"POLUTE": True})
    with pytest.raises(BatchError, match=r"no area 'DK-C01233'.*did you mean .*DK-C0123"):
        pw.batch.run(PROBE, tmp_path, areas="DK-C0001,DK-C01233")
    with pytest.raises(BatchError, match=r"no force 'DK-F99'"):
        pw.batch.run(PROBE, tmp_path, areas="force:DK-F99")
    params = tmp_path / "params.yaml"
    params.write_text("FAIL: DK-C0001\nHANGG: DK-C0002\n")
    with pytest.raises(BatchError, match=r"no parameter 'HANGG' \(did you mean HANG\?\)"):
        pw.batch.run(PROBE, tmp_path / "out", areas="DK-C0001", params_file=params)
    assert main(["batch", str(PROBE), "--out", str(tmp_path / "out"), "--areas", "level:forse"]) == 2
    assert main(["batch", str(PROBE), "--out", str(tmp_path / "out"), "-p", "AREA", "DK-C0001"]) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["params.yaml"]  # nothing written either


def test_area_specs_expand_against_the_dataset():
    ds = pw.load_demo()
    csps = ds.level("csp")
    in_f21 = list(csps[csps["parent_code"] == "DK-F21"]["area_code"])
    assert pw.batch.expand_areas("force:DK-F21", ds) == in_f21
    assert pw.batch.expand_areas("DK-C0123,force:DK-F21,DK-C0123", ds)[0] == "DK-C0123"
    assert len(pw.batch.expand_areas("all", ds)) == len(csps) + len(ds.level("force"))
    assert pw.batch.expand_areas("level:force", ds) == list(ds.level("force")["area_code"])


def test_resume_skips_complete_areas_and_reruns_what_changed(tmp_path):
    notebook = tmp_path / "probe.ipynb"
    shutil.copy(PROBE, notebook)
    out = tmp_path / "out"
    areas = "DK-C0001,DK-C0002"
    assert pw.batch.run(notebook, out, areas=areas, workers=1, progress=False, keep_kernels=True).exit_code == 0
    stamp = {p.name: p.stat().st_mtime_ns for p in out.glob("DK-*")}
    assert pw.batch.run(notebook, out, areas=areas, resume=True, progress=False).exit_code == 0
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("DK-*")} == stamp  # nothing ran
    (out / "DK-C0002.html").unlink()  # an incomplete area
    pw.batch.run(notebook, out, areas=areas, resume=True, workers=1, progress=False, keep_kernels=True)
    assert (out / "DK-C0001.ipynb").stat().st_mtime_ns == stamp["DK-C0001.ipynb"]
    assert (out / "DK-C0002.ipynb").stat().st_mtime_ns != stamp["DK-C0002.ipynb"]
    nb = nbformat.read(notebook, 4)
    nb.cells[0].source += "\n\nEdited."
    nbformat.write(nb, notebook)
    again = pw.batch.run(notebook, out, areas=areas, resume=True, workers=1, progress=False, keep_kernels=True)
    assert again.exit_code == 0
    assert (out / "DK-C0001.ipynb").stat().st_mtime_ns != stamp["DK-C0001.ipynb"]
    assert "Edited." in (out / "DK-C0001.ipynb").read_text()
    assert not list(out.glob(".*.tmp"))


def test_failing_dying_and_hanging_areas_are_reported_and_the_rest_complete(tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["batch", str(PROBE), "--out", str(out), "--workers", "1", "--timeout", "5",
                 "--areas", "DK-C0002,DK-C0003,DK-C0004,DK-C0001,DK-C0005",
                 "-p", "FAIL", "DK-C0002", "-p", "DIE", "DK-C0003", "-p", "HANG", "DK-C0004"])
    assert code == 1
    rows = {r["area"]: r for r in csv.DictReader((out / "summary.csv").open())}
    assert {a: r["status"] for a, r in rows.items()} == {"DK-C0002": "failed", "DK-C0003": "failed",
                                                         "DK-C0004": "failed", "DK-C0001": "ok", "DK-C0005": "ok"}
    assert "ValueError: planned failure for DK-C0002" in rows["DK-C0002"]["error"]
    assert "DeadKernelError" in rows["DK-C0003"]["error"] and "CellTimeoutError" in rows["DK-C0004"]["error"]
    assert rows["DK-C0001"]["exceptions"] == "1" and "count rows" in rows["DK-C0001"]["headline"]
    for area in ("DK-C0002", "DK-C0003", "DK-C0004"):
        nb = nbformat.read(out / f"{area}.ipynb", 4)
        assert "papermill-error-cell-tag" in nb.cells[0].metadata["tags"]  # papermill's banner, first
        assert "An Exception was encountered" in nb.cells[0].source
        anchor = next(i for i, c in enumerate(nb.cells) if 'id="papermill-error-cell"' in c.source)
        assert any(o.output_type == "error" for o in nb.cells[anchor + 1].outputs)
        assert nb.metadata.papermill.exception is True
    index = (out / "index.html").read_text()
    assert index.index("Failures") < index.index("planned failure for DK-C0002")
    assert "failed DK-C0002" in capsys.readouterr().out


def test_ctrl_c_stops_cleanly_leaving_only_complete_outputs(tmp_path):
    out = tmp_path / "out"
    areas = ["DK-C0001", "DK-C0002", "DK-C0003", "DK-C0004"]
    proc = subprocess.Popen([sys.executable, "-m", "perfwork.cli", "batch", str(PROBE), "--out", str(out),
                             "--workers", "1", "--areas", ",".join(areas), "-p", "HANG", "DK-C0002"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (out / "DK-C0001.html").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1)  # DK-C0002 is now hanging in its cell
        proc.send_signal(signal.SIGINT)
        stdout, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130 and "--resume" in stdout
    assert sorted(p.name for p in out.glob("DK-*")) == ["DK-C0001.html", "DK-C0001.ipynb"]
    assert not list(out.glob(".*.tmp"))
    nbformat.read(out / "DK-C0001.ipynb", 4)  # complete
    rows = {r["area"]: r["status"] for r in csv.DictReader((out / "summary.csv").open())}
    assert rows == {"DK-C0001": "ok", "DK-C0002": "not run", "DK-C0003": "not run", "DK-C0004": "not run"}


def _start(*args) -> subprocess.Popen:
    # its own process group, so the test ends exactly what it started (the process and its kernels)
    return subprocess.Popen([sys.executable, "-m", *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def _stop(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=30)


def test_dask_cluster_equals_the_local_run_and_survives_a_killed_worker(tmp_path):
    from distributed import Client

    info = tmp_path / "scheduler.json"
    procs = [_start("distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                    "--scheduler-file", str(info))]
    try:
        for _ in range(2):
            procs.append(_start("distributed.cli.dask_worker", "--scheduler-file", str(info), "--host", "127.0.0.1",
                                "--nthreads", "1", "--no-nanny", "--no-dashboard"))
        deadline = time.monotonic() + 60
        while not info.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        with Client(scheduler_file=str(info), timeout=60) as client:
            client.wait_for_workers(2, timeout=90)
            address = client.scheduler.address
        out, areas = tmp_path / "dask", [f"DK-C000{i}" for i in range(1, 7)]
        killed = []

        def kill_one_worker_after_the_first_report():
            while time.monotonic() < deadline + 120 and not list(out.glob("DK-*.ipynb")):
                time.sleep(0.05)
            killed.append(len(list(out.glob("DK-*.ipynb"))))
            os.killpg(procs[1].pid, signal.SIGKILL)

        killer = threading.Thread(target=kill_one_worker_after_the_first_report, daemon=True)
        killer.start()
        result = pw.batch.run(PROBE, out, areas=areas, scheduler=address, progress=False)
        killer.join(timeout=5)
        assert killed and killed[0] < len(areas), "the worker was not killed mid-batch"
        assert result.exit_code == 0 and [r["status"] for r in result.rows] == ["ok"] * len(areas)
    finally:
        for proc in procs:
            _stop(proc)
    pw.batch.run(PROBE, tmp_path / "local", areas=areas[:3], workers=1, progress=False, keep_kernels=True)
    for area in areas[:3]:
        assert (normalise((out / f"{area}.ipynb").read_text(), ignore_where=True)
                == normalise((tmp_path / "local" / f"{area}.ipynb").read_text(), ignore_where=True))
    assert (out / "index.html").read_text().count('.html">DK-C') == len(areas)


def test_index_sorts_offline_in_chromium_and_passes_axe(tmp_path):
    pytest.importorskip("playwright")
    if not shutil.which("chromium") and not Path("/usr/bin/chromium").exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import sync_playwright

    from perfwork.batch._outputs import index_html

    rows = [{"area": "DK-C0001", "name": "Woldholme", "status": "ok", "exceptions": 13, "headline": "13 of 21",
             "seconds": 0.4, "error": "", "report": "DK-C0001.html"},
            {"area": "DK-C0002", "name": "Dalborough", "status": "failed", "exceptions": None, "headline": "",
             "seconds": 0.2, "error": "ValueError: planned <b>failure</b>", "report": "DK-C0002.html"},
            {"area": "DK-C0123", "name": "Dalworth", "status": "ok", "exceptions": 3, "headline": "3 of 21",
             "seconds": 0.3, "error": "", "report": "DK-C0123.html"}]
    path = tmp_path / "index.html"
    path.write_text(index_html(rows, "notebooks/partnership_profile.ipynb", 12.0), encoding="utf-8")
    assert "<b>failure</b>" not in path.read_text()  # error text is data, never markup
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        try:
            page = browser.new_context(offline=True).new_page()
            page.goto(path.as_uri())
            page.get_by_role("button", name="Exceptions").click()
            first = page.locator("tbody tr th").all_inner_texts()
            assert first == ["DK-C0002", "DK-C0123", "DK-C0001"]  # ascending, "not recorded" first
            assert page.locator("th[aria-sort=ascending]").inner_text() == "Exceptions"
            page.get_by_role("button", name="Exceptions").click()
            assert page.locator("tbody tr th").all_inner_texts()[0] == "DK-C0001"
            bad = [(v["id"], v["impact"]) for v in Axe().run(page).response["violations"]
                   if v["impact"] in ("serious", "critical")]
            assert not bad, bad
        finally:
            browser.close()
