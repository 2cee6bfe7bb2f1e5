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

from pathlib import Path

from .cache import assessment, dataset
from .html import chart_count, notebook_html, write_bundle
from .profile import LICENCE, Markdown, Report, force_headlines, force_overview, force_table
from .run import Runner, execute
from .tables import areas_table, exceptions_table, judgement_table, peers_table
from .words import exception_sentence, exception_sentences, headline, months_text, p_value, word


def render(notebook, out, title: str | None = None, bundle: str | None = None, **parameters) -> Path:
    """Execute ``notebook`` with ``parameters`` and write its HTML page to ``out``."""
    page = notebook_html(execute(notebook, parameters), title=title, bundle=bundle)
    out = Path(out)
    out.write_text(page, encoding="utf-8")
    return out


__all__ = ["Report", "assessment", "dataset", "notebook_html", "write_bundle", "chart_count", "execute", "Runner",
           "render",
           "headline", "exception_sentence", "exception_sentences", "exceptions_table", "judgement_table",
           "peers_table", "areas_table", "force_overview", "force_headlines", "force_table", "p_value", "word",
           "months_text", "Markdown", "LICENCE"]
