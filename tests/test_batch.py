"""perfwork batch: warm kernels give what fresh papermill runs give, nothing leaks between areas, failures are
reported without stopping the rest, --resume, validation before any kernel starts, and the same batch on Dask."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
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
ASSESS = ROOT / "notebooks" / "assess.ipynb"
VOLATILE_NB = {"start_time", "end_time", "duration"}


@pytest.fixture(autouse=True)
def _probe_env(monkeypatch):
    monkeypatch.setenv("PROBE_CWD", os.getcwd())  # kernels inherit it; the probe checks the working directory


def normalise(nb) -> dict:
    """A notebook without what differs between any two fresh papermill runs: timestamps, durations, cell ids,
    the kernel's temporary file names."""
    nb = json.loads(nbformat.writes(nb) if not isinstance(nb, (str, bytes)) else nb)
    nb["metadata"]["papermill"] = {k: v for k, v in nb["metadata"]["papermill"].items() if k not in VOLATILE_NB}
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
    assert [c.execution_count for c in cells if c.cell_type == "code"] == list(range(1, 10))
    assert runs[4].metadata.papermill.parameters == {"AREA": "DK-C0001", "POLLUTE": False}


def test_real_notebook_after_another_area_equals_papermill_and_exports_offline(tmp_path):
    out = tmp_path / "out"
    result = pw.batch.run(ASSESS, out, areas="DK-C0001,DK-C0123", workers=1, progress=False)
    assert result.exit_code == 0
    expected = fresh(ASSESS, out / "DK-C0123.ipynb", {"AREA": "DK-C0123"})
    assert normalise((out / "DK-C0123.ipynb").read_text()) == normalise(expected)
    page = (out / "DK-C0123.html").read_text()
    assert not re.search(r"<(script|link)[^>]+(src|href)=\"https?://", page)
    assert "import perfwork" not in page and "Burglary per 1,000 households" in page
    index = (out / "index.html").read_text()
    assert 'href="DK-C0001.html"' in index and 'href="DK-C0123.html"' in index
    assert not re.search(r"(src|href)=\"https?://", index) and "<table" in index and "<th scope=\"col\"" in index


def test_failing_dying_and_hanging_areas_are_reported_and_the_rest_complete(tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["batch", str(PROBE), "--out", str(out), "--workers", "2", "--timeout", "20",
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
    assert main(["batch", str(PROBE), "--out", str(tmp_path), "--areas", "level:forse"]) == 2
    assert not list(tmp_path.iterdir())  # nothing written either


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
    assert pw.batch.run(notebook, out, areas=areas, workers=1, progress=False).exit_code == 0
    stamp = {p.name: p.stat().st_mtime_ns for p in out.glob("DK-*")}
    assert pw.batch.run(notebook, out, areas=areas, resume=True, progress=False).exit_code == 0
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("DK-*")} == stamp  # nothing ran
    (out / "DK-C0002.html").unlink()  # an incomplete area
    pw.batch.run(notebook, out, areas=areas, resume=True, workers=1, progress=False)
    assert (out / "DK-C0001.ipynb").stat().st_mtime_ns == stamp["DK-C0001.ipynb"]
    assert (out / "DK-C0002.ipynb").stat().st_mtime_ns != stamp["DK-C0002.ipynb"]
    nb = nbformat.read(notebook, 4)
    nb.cells[0].source += "\n\nEdited."
    nbformat.write(nb, notebook)
    again = pw.batch.run(notebook, out, areas=areas, resume=True, workers=1, progress=False)
    assert again.exit_code == 0
    assert (out / "DK-C0001.ipynb").stat().st_mtime_ns != stamp["DK-C0001.ipynb"]
    assert "Edited." in (out / "DK-C0001.ipynb").read_text()
    assert not list(out.glob(".*.tmp"))
