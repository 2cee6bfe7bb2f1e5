"""Where areas run: warm kernels held by the process (a local batch's threads or a Dask worker's), each used by one
thread at a time and kept between areas and batches. ``run_area`` is the only function a pool or a Dask cluster
calls; it returns plain data (the executed notebook as JSON, the HTML page, the area's summary) and the caller
writes the files."""

from __future__ import annotations

import atexit
import os
import socket
import threading
import time

import nbformat

from ..report import notebook_html
from ..report.profile import BATCH_MIME as SUMMARY_MIME

BUNDLE = "vega.js"  # one Vega bundle beside the reports (perfwork.report.write_bundle), referenced relatively
_idle: dict[tuple, list] = {}  # kernels ready for work, by what they were started for
_all: list = []  # every live kernel of this process, busy or idle
_lock = threading.Lock()


def _key(task) -> tuple:
    return (task["kernel_name"], task["cwd"], tuple(task["warm_modules"]),
            tuple(sorted((task.get("env") or {}).items())))


def _checkout(task):
    """An idle kernel started for this kind of task, or a new one; idle kernels of other kinds are closed (a
    warm kernel holds hundreds of MB)."""
    from ._kernel import WarmKernel

    key = _key(task)
    with _lock:
        stale = [k for other, kernels in _idle.items() if other != key for k in kernels]
        for other in [o for o in _idle if o != key]:
            del _idle[other]
        kernel = _idle.get(key, []).pop() if _idle.get(key) else None
    for old in stale:
        _close(old)
    if kernel is None:
        kernel = WarmKernel(task["kernel_name"], task["warm_modules"], cwd=task["cwd"], env=task.get("env"))
        kernel.key = key
        with _lock:
            _all.append(kernel)
        try:
            kernel.start()
        except BaseException:
            _close(kernel)
            raise
    else:
        kernel.adopt()
    return kernel


def _checkin(kernel) -> None:
    with _lock:
        if kernel in _all:
            _idle.setdefault(kernel.key, []).append(kernel)


def _close(kernel) -> None:
    with _lock:
        if kernel in _all:
            _all.remove(kernel)
    kernel.close()


def run_area(task: dict) -> dict:
    """Execute one area's notebook on this thread's warm kernel. A failing notebook is a result, not an
    exception; so is a kernel that cannot start (no outputs then)."""
    t0 = time.perf_counter()
    result = {"area": task["area"], "worker": f"{socket.gethostname()}:{os.getpid()}", "summary": {},
              "notebook": None, "html": None}
    kernel = None
    try:
        kernel = _checkout(task)
        t0 = time.perf_counter()  # the area's own time; a kernel's warm-up is paid once
        nb, error = kernel.run(task["template"], task["parameters"], task["input_path"], task["output_path"],
                               timeout=task.get("timeout"))
        result.update(notebook=nbformat.writes(nb), html=notebook_html(nb, title=task.get("title"), bundle=BUNDLE),
                      summary=notebook_summary(nb), status="failed" if error else "ok",
                      error=_error_text(error) if error else "")
    except Exception as exc:  # noqa: BLE001 - reported in the summary; the next area gets a new kernel
        if kernel is not None:
            _close(kernel)
            kernel = None
        result.update(status="failed", error=f"{type(exc).__name__}: {exc}".replace("\n", " ")[:500])
    finally:
        if kernel is not None:
            _checkin(kernel)
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
    """Shut down every kernel of this process (the end of a local batch, a Dask worker's teardown, exit)."""
    with _lock:
        kernels = list(_all)
        _all.clear()
        _idle.clear()
    for kernel in kernels:
        kernel.close()


atexit.register(close_all)


def peak_rss_mb() -> float:
    """The largest peak resident memory among this process's kernels, in MB."""
    with _lock:
        kernels = list(_all)
    peaks = [0.0]
    for kernel in kernels:
        try:
            peaks.append(kernel.peak_rss_mb())
        except Exception:  # noqa: BLE001 - a kernel closed or dead: nothing to measure
            pass
    return max(peaks)
