"""Reports people read: an assessment in words and formatted tables, and notebooks exported as offline HTML.

    from perfwork import report
    r = report.Report("DK-C0123", targets="demo")    # the cached national assessment, read for one area
    r.summary()                                       # '3 of Dalworth's 21 indicators need attention ...'
    r.exceptions_table()                              # great-tables: judgements as coloured words
    report.headline(rows)                             # the same words from any assessment rows
    page = report.notebook_html(executed_nb)          # one self-contained page: no code, nothing remote
    report.render("notebooks/partnership_profile.ipynb", "out.html", AREA="DK-C0123")
"""

from __future__ import annotations

import os
from pathlib import Path

from .cache import assessment, dataset
from .html import chart_count, notebook_html, write_bundle
from .profile import LICENCE, Markdown, Report, force_headlines, force_overview, force_table
from .tables import areas_table, exceptions_table, judgement_table, peers_table
from .words import exception_sentence, exception_sentences, headline, months_text, p_value, word


def execute(notebook, parameters: dict | None = None, cwd=None):
    """Run a notebook with papermill, its charts as report figures, and return the executed notebook node."""
    import nbformat
    import papermill as pm

    old = os.environ.get("PERFWORK_CHARTS")
    os.environ["PERFWORK_CHARTS"] = "report"   # the kernel inherits it: figures, never widgets
    try:
        nb = pm.execute_notebook(str(notebook), None, parameters=parameters or {}, kernel_name="python3",
                                 progress_bar=False, cwd=str(cwd or Path(notebook).resolve().parent))
    finally:
        if old is None:
            os.environ.pop("PERFWORK_CHARTS", None)
        else:
            os.environ["PERFWORK_CHARTS"] = old
    return nbformat.from_dict(nb)


def render(notebook, out, title: str | None = None, bundle: str | None = None, **parameters) -> Path:
    """Execute ``notebook`` with ``parameters`` and write its HTML page to ``out``."""
    page = notebook_html(execute(notebook, parameters), title=title, bundle=bundle)
    out = Path(out)
    out.write_text(page, encoding="utf-8")
    return out


__all__ = ["Report", "assessment", "dataset", "notebook_html", "write_bundle", "chart_count", "execute", "render",
           "headline", "exception_sentence", "exception_sentences", "exceptions_table", "judgement_table",
           "peers_table", "areas_table", "force_overview", "force_headlines", "force_table", "p_value", "word",
           "months_text", "Markdown", "LICENCE"]
