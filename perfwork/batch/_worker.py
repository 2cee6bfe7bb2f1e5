"""Where areas run: one warm kernel per worker thread (a local pool thread or a Dask worker thread), kept for the
life of the worker. ``run_area`` is the only function a pool or a Dask cluster calls; it returns plain data (the
executed notebook as JSON, the HTML page, the area's summary) and the caller writes the files."""

from __future__ import annotations

import os
import socket
import threading
import time

import nbformat

from ._html import report_html

SUMMARY_MIME = "application/vnd.perfwork.batch+json"
_local = threading.local()
_all: list = []  # every kernel this process started, for shutdown
_lock = threading.Lock()


def _kernel(task):
    from ._kernel import WarmKernel

    key = (task["kernel_name"], task["cwd"], tuple(task["warm_modules"]))
    kernels = getattr(_local, "kernels", None)
    if kernels is None:
        kernels = _local.kernels = {}
    if key not in kernels:
        kernel = WarmKernel(task["kernel_name"], task["warm_modules"], cwd=task["cwd"])
        with _lock:
            _all.append(kernel)
        try:
            kernels[key] = kernel.start()
        except BaseException:
            kernel.close()
            raise
    return kernels[key]


def run_area(task: dict) -> dict:
    """Execute one area's notebook on this thread's warm kernel. A failing notebook is a result, not an
    exception; so is a kernel that cannot start (no outputs then)."""
    t0 = time.perf_counter()
    result = {"area": task["area"], "worker": f"{socket.gethostname()}:{os.getpid()}", "summary": {},
              "notebook": None, "html": None}
    kernel = None
    try:
        kernel = _kernel(task)
        t0 = time.perf_counter()  # the area's own time; a kernel's warm-up is paid once
        nb, error = kernel.run(task["template"], task["parameters"], task["input_path"], task["output_path"],
                               timeout=task.get("timeout"))
        result.update(notebook=nbformat.writes(nb), html=report_html(nb, title=task.get("title")),
                      summary=notebook_summary(nb), status="failed" if error else "ok",
                      error=_error_text(error) if error else "")
    except Exception as exc:  # noqa: BLE001 - reported in the summary; the next area gets a new kernel
        if kernel is not None:
            kernel.close()  # its next area starts a new one
        result.update(status="failed", error=f"{type(exc).__name__}: {exc}".replace("\n", " ")[:500])
    result["seconds"] = round(time.perf_counter() - t0, 3)
    return result


def _error_text(error) -> str:
    where = f"In [{error.exec_count}]" if error.exec_count else f"cell {error.cell_index}"
    return f"{error.ename}: {error.evalue} ({where})".replace("\n", " ")


def notebook_summary(nb) -> dict:
    """The last ``application/vnd.perfwork.batch+json`` output the notebook displayed (``perfwork.batch.record``),
    or an empty dict: the batch reads what the notebook says about itself, never its cells."""
    found: dict = {}
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if SUMMARY_MIME in data and isinstance(data[SUMMARY_MIME], dict):
                found = dict(data[SUMMARY_MIME])
    return found


def interrupt_all() -> None:
    """Ctrl-C: stop whatever each kernel is running."""
    with _lock:
        for kernel in _all:
            try:
                kernel.interrupt()
            except Exception:  # noqa: BLE001 - a kernel already gone
                pass


def close_all() -> None:
    with _lock:
        kernels = list(_all)
        _all.clear()
    for kernel in kernels:
        kernel.close()
    _local.__dict__.clear()


def peak_rss_mb() -> float:
    """The largest peak resident memory among this process's kernels, in MB."""
    with _lock:
        kernels = list(_all)
    return max((k.peak_rss_mb() for k in kernels if k.km is not None), default=0.0)
