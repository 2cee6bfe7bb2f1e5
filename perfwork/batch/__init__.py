"""A notebook for every area, with papermill's semantics, on warm kernels: on this machine or a Dask cluster.

    import perfwork as pw
    result = pw.batch.run("notebooks/partnership_profile.ipynb", "reports/", areas="level:csp")
    result.exit_code, result.failed, result.index

Each area's executed notebook is what ``papermill NOTEBOOK OUT -p AREA CODE ...`` writes (parameters injected after
the ``parameters`` cell, papermill's metadata, its error banner on failure); the kernels are started and warmed
once per worker and put back to a clean snapshot before each area (``_state``). A notebook tells the index about
itself with ``record``: the batch never reads its cells.
"""

from __future__ import annotations

import importlib

# loaded on first use: the kernel side (_state) imports this package and must stay light
_LAZY = {"run": "_run", "BatchResult": "_run", "BatchError": "_plan", "expand_areas": "_plan",
         "SUMMARY_MIME": "_worker"}


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def close() -> None:
    """Shut down the warm kernels ``run(..., keep_kernels=True)`` left running in this process."""
    from ._worker import close_all

    close_all()


def record(headline: str, exceptions: int | None = None, **more):
    """The area's headline and number of exceptions for the batch's index and summary.csv, from any notebook.
    Display it (a cell's last expression, or ``display(...)``): it shows the headline and carries the values as
    ``application/vnd.perfwork.batch+json``, as ``perfwork.report.Report.summary()`` does."""
    from ..report.profile import Markdown, md_escape

    data = {"headline": str(headline), "exceptions": None if exceptions is None else int(exceptions), **more}
    return Markdown(md_escape(headline), record=data)


__all__ = ["run", "close", "record", "BatchResult", "BatchError", "expand_areas", "SUMMARY_MIME"]
