"""``perfwork.batch.run``: plan, skip what ``--resume`` finds complete, run the rest on warm kernels (local threads,
each driving its own kernel process, or a Dask cluster), write each area's outputs as they arrive, then the index."""

from __future__ import annotations

import concurrent.futures as cf
import os
import time
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

from .._kernels import kernel_env
from ..charts.render import vega_bundle
from . import _outputs, _worker
from ._plan import BatchError, make_plan

# charts as report figures, never widgets, as `perfwork report` runs them (perfwork.report.run.report_charts)
REPORT_ENV = {"PERFWORK_CHARTS": "report"}


@dataclass
class BatchResult:
    rows: list  # one dict per area (summary.csv's columns)
    out: Path
    interrupted: bool = False
    peak_rss_mb: float = 0.0  # the largest peak memory of a local kernel (0 on a cluster)

    @property
    def failed(self) -> list[str]:
        return [r["area"] for r in self.rows if r["status"] == "failed"]

    @property
    def exit_code(self) -> int:
        return 130 if self.interrupted else 1 if self.failed else 0

    @property
    def index(self) -> Path:
        return self.out / "index.html"


def run(notebook, out, areas="all", parameters=None, params_file=None, workers=None, resume=False,
        scheduler=None, timeout=None, progress=True, dataset=None, keep_kernels=False) -> BatchResult:
    """Run ``notebook`` once per area with papermill's semantics and write ``out/<area>.ipynb``,
    ``out/<area>.html``, ``out/summary.csv`` and ``out/index.html``.

    ``areas``: ``"all"`` (every CSP and force), ``"CODE,CODE"``, ``"force:CODE"`` (its CSPs), ``"level:force"``,
    or a list of codes. ``parameters`` (and the YAML ``params_file``) are shared by every area and checked against
    the notebook's ``parameters`` cell before anything runs. ``workers``: warm kernels on this machine (default:
    one per core); ``scheduler``: a Dask scheduler address instead. ``timeout``: seconds per cell. ``resume``: skip
    areas whose outputs are complete and whose notebook, parameters and data are unchanged. ``keep_kernels``: leave
    the local warm kernels running for the next ``run`` in this process (``perfwork.batch.close()`` ends them)."""
    t0 = time.perf_counter()
    plan = make_plan(notebook, areas, parameters, params_file, dataset=dataset)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    _outputs.remove_temporaries(out)
    _outputs.write_atomic(out / _worker.BUNDLE, vega_bundle())
    manifest = _outputs.Manifest(out)
    rows: dict[str, dict] = {}
    todo = []
    for area in plan.areas:
        if resume and manifest.complete(area, plan.area_fingerprint(area), out):
            rows[area] = {**manifest.areas[area], "status": "ok"}
        else:
            todo.append(_task(plan, area, out, timeout))
    if resume and progress:
        print(f"perfwork batch: {len(rows)} of {len(plan.areas)} areas complete and unchanged, skipped")

    bar = tqdm(total=len(todo), unit="area", desc="perfwork batch", disable=not progress or not todo)
    interrupted = False
    stats: dict = {}

    def arrived(result: dict) -> None:
        rows[result["area"]] = _write_area(result, plan, out, manifest)
        bar.update()
        bar.set_postfix(failed=sum(r["status"] == "failed" for r in rows.values()), refresh=False)

    try:
        if scheduler:
            _on_cluster()(scheduler, todo, arrived)
        else:
            stats = _run_local(todo, workers or os.cpu_count() or 1, arrived, keep_kernels)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        bar.close()
    ordered = [rows.get(a) or {"area": a, "name": plan.names[a], "status": "not run"} for a in plan.areas]
    _outputs.write_atomic(out / "summary.csv", _outputs.summary_csv(ordered))
    note = "Interrupted: areas marked 'not run' have no report." if interrupted else ""
    _outputs.write_atomic(out / "index.html", _outputs.index_html(ordered, plan.notebook,
                                                                  time.perf_counter() - t0, note))
    return BatchResult(ordered, out, interrupted, stats.get("peak_rss_mb", 0.0))


def _on_cluster():
    try:
        from ._dask import run_on_cluster
    except ImportError as exc:
        raise BatchError(f"--scheduler needs Dask distributed ({exc}): pip install 'perfwork[scale]'") from exc
    return run_on_cluster


def _task(plan, area: str, out: Path, timeout) -> dict:
    return {"area": area, "template": plan.template, "parameters": plan.area_parameters(area),
            "input_path": plan.notebook, "output_path": str(out / f"{area}.ipynb"), "timeout": timeout,
            "kernel_name": plan.kernel_name, "warm_modules": plan.warm_modules, "cwd": os.getcwd(),
            "env": {**kernel_env(), **REPORT_ENV},
            "title": f"{plan.names[area]} ({area})", "fingerprint": plan.area_fingerprint(area)}


def _write_area(result: dict, plan, out: Path, manifest) -> dict:
    area = result["area"]
    files = {f"{area}.{kind}": _outputs.write_atomic(out / f"{area}.{kind}", result[key])
             for kind, key in (("ipynb", "notebook"), ("html", "html")) if result.get(key) is not None}
    summary = result.get("summary") or {}
    row = {"area": area, "name": plan.names[area], "status": result["status"],
           "exceptions": summary.get("exceptions"), "headline": summary.get("headline", ""),
           "seconds": result["seconds"], "error": result["error"], "report": f"{area}.html" if files else "",
           "worker": result.get("worker", "")}
    manifest.record(row, plan.area_fingerprint(area), files)
    return row


def _run_local(tasks: list[dict], workers: int, arrived, keep_kernels: bool = False) -> dict:
    """``workers`` threads, each driving its own warm kernel process (the kernels do the work, in parallel)."""
    stats: dict = {}
    if not tasks:
        return stats
    pool = cf.ThreadPoolExecutor(max_workers=min(workers, len(tasks)), thread_name_prefix="perfwork-batch")
    pending = {pool.submit(_worker.run_area, task) for task in tasks}
    try:
        while pending:
            done, pending = cf.wait(pending, timeout=0.5, return_when=cf.FIRST_COMPLETED)
            for future in done:
                arrived(future.result())
        stats["peak_rss_mb"] = _worker.peak_rss_mb()
        return stats
    except BaseException:
        for future in pending:
            future.cancel()
        _worker.interrupt_all()
        keep_kernels = False
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        if not keep_kernels:
            _worker.close_all()
