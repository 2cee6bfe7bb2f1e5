"""Executing report notebooks: one at a time with papermill, or many in one warm kernel.

A fresh kernel per notebook pays for imports, loading the data and the national assessment every time; a
``Runner`` keeps one kernel, so ``perfwork.report.assessment``'s cache makes every notebook after the first
cost only its own area's lookups, charts and display.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def report_charts():
    """Charts as report figures (never widgets) in kernels started inside this block."""
    old = os.environ.get("PERFWORK_CHARTS")
    os.environ["PERFWORK_CHARTS"] = "report"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("PERFWORK_CHARTS", None)
        else:
            os.environ["PERFWORK_CHARTS"] = old


def execute(notebook, parameters: dict | None = None, cwd=None):
    """Run a notebook with papermill, its charts as report figures, and return the executed notebook node."""
    import nbformat
    import papermill as pm

    with report_charts():
        nb = pm.execute_notebook(str(notebook), None, parameters=parameters or {}, kernel_name="python3",
                                 progress_bar=False, cwd=str(cwd or Path(notebook).resolve().parent))
    return nbformat.from_dict(nb)


class Runner:
    """One warm kernel for many notebooks (papermill's parameter injection, nbclient's execution):

        with Runner() as run:
            for code in areas:
                page = notebook_html(run("notebooks/partnership_profile.ipynb", AREA=code))
    """

    def __init__(self, cwd=None, kernel_name: str = "python3", timeout: int = 600):
        self.cwd, self.kernel_name, self.timeout = cwd, kernel_name, timeout
        self.km = None

    def __enter__(self):
        from jupyter_client.manager import KernelManager

        self.km = KernelManager(kernel_name=self.kernel_name)
        with report_charts():
            self.km.start_kernel(cwd=str(self.cwd or Path.cwd()))
        return self

    def __exit__(self, *exc):
        self.km.shutdown_kernel(now=True)
        self.km = None

    def __call__(self, notebook, **parameters):
        from nbclient import NotebookClient
        from papermill.iorw import load_notebook_node
        from papermill.parameterize import parameterize_notebook

        nb = load_notebook_node(str(notebook))
        nb = parameterize_notebook(nb, parameters) if parameters else nb
        NotebookClient(nb, km=self.km, timeout=self.timeout, allow_errors=False).execute()
        return nb
