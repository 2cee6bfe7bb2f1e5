"""Where a chart is drawn, one function per target, so notebooks never choose Altair renderers by hand.

- ``show(chart)``: the one call notebooks make. In JupyterLab and Voilà it is ``interactive(chart)``; everywhere
  else (papermill, nbclient, ``perfwork report``, the batch) it is ``figure(chart)``. ``PERFWORK_CHARTS=interactive``
  or ``=report`` overrides the guess.
- ``interactive(chart)``: Altair's offline ``JupyterChart`` widget (Vega bundled by vl-convert, no CDN); tooltips,
  and selections read back in Python through ``widget.selections``.
- ``figure(chart)``: the chart's Vega-Lite spec and its text alternative as one notebook output
  (``CHART_MIMETYPE``). ``perfwork.report.notebook_html`` turns each into a ``<figure>`` drawn in the page by the
  Vega bundle shipped with perfwork, so a report opened from a file share or an e-mail shows every chart offline.
- ``save_chart(chart, "x.svg" | "x.png" | "x.html" | "x.json")``: files for slide decks, through vl-convert.

Altair's ``mimetype`` renderer is never used: under papermill it stores nothing a report can draw.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path

CHART_MIMETYPE = "application/vnd.perfwork.chart+json"


def _spec(chart, validate: bool = True) -> dict:
    """A chart's Vega-Lite spec: a dict as it is, an Altair chart through ``to_dict`` (any number of rows)."""
    if isinstance(chart, dict):
        return chart
    import altair as alt  # here, not at import: the apps' kernels draw specs and never need Altair

    with alt.data_transformers.disable_max_rows():
        return chart.to_dict(validate=validate)


def describe(chart) -> tuple[str, str]:
    """(title, text alternative) of a chart: the title text and the spec's ``description``."""
    spec = _spec(chart, validate=False)
    title = spec.get("title", "")
    if isinstance(title, dict):
        title = title.get("text", "")
    if isinstance(title, list):
        title = " ".join(title)
    return str(title), str(spec.get("description") or title)


class Figure:
    """A chart (Vega-Lite dict or Altair chart) as a notebook output for reports: its spec, title and text
    alternative."""

    def __init__(self, chart):
        # not validated again here: the tests validate every chart function's spec, and validation costs more
        # than building the chart
        self.spec = _spec(chart, validate=False)
        self.title, self.description = describe(self.spec)

    def data(self) -> dict:
        return {"spec": self.spec, "title": self.title, "description": self.description}

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {CHART_MIMETYPE: self.data(), "text/plain": f"Chart: {self.title}. {self.description}"}


def figure(chart) -> Figure:
    """The chart as a report figure (drawn by ``notebook_html``'s embedded Vega)."""
    return Figure(chart)


def interactive(chart, **options):
    """Altair's ``JupyterChart`` widget with its JavaScript bundled offline (no CDN): tooltips, selections in
    ``widget.selections``. For JupyterLab and Voilà."""
    import altair as alt

    from .vl import to_altair

    alt.JupyterChart.enable_offline()   # a no-op once offline; checked each time, as a kernel may reset it
    with alt.data_transformers.disable_max_rows():
        return alt.JupyterChart(to_altair(chart) if isinstance(chart, dict) else chart, **options)


def target() -> str:
    """'interactive' in a JupyterLab or Voilà kernel, else 'report' (``PERFWORK_CHARTS`` overrides)."""
    forced = os.environ.get("PERFWORK_CHARTS", "").strip().lower()
    if forced in ("interactive", "report"):
        return forced
    if os.environ.get("JPY_SESSION_NAME") or os.environ.get("VOILA_BASE_URL") or os.environ.get("VOILA_PREHEAT"):
        return "interactive"
    return "report"


def show(chart):
    """Display a chart the right way for where the notebook runs (module docstring)."""
    return interactive(chart) if target() == "interactive" else figure(chart)


def save_chart(chart, path, scale: float = 2.0) -> Path:
    """Write a chart to ``path``: .svg, .png (``scale`` x pixels), .pdf, .html (offline, Vega inlined) or
    .json (the Vega-Lite spec)."""
    import vl_convert as vlc

    path = Path(path)
    spec = _spec(chart)
    suffix = path.suffix.lower()
    if suffix == ".svg":
        path.write_text(vlc.vegalite_to_svg(spec, vl_version=_vl_version()), encoding="utf-8")
    elif suffix == ".png":
        path.write_bytes(vlc.vegalite_to_png(spec, vl_version=_vl_version(), scale=scale))
    elif suffix == ".pdf":
        path.write_bytes(vlc.vegalite_to_pdf(spec, vl_version=_vl_version()))
    elif suffix == ".html":
        path.write_text(vlc.vegalite_to_html(spec, vl_version=_vl_version(), bundle=True), encoding="utf-8")
    elif suffix == ".json":
        path.write_text(json.dumps(spec, indent=1), encoding="utf-8")
    else:
        raise ValueError(f"save_chart: {path.name}: expected a .svg, .png, .pdf, .html or .json file name")
    return path


def to_svg(chart) -> str:
    """The chart as an SVG string (vl-convert)."""
    import vl_convert as vlc

    return vlc.vegalite_to_svg(_spec(chart), vl_version=_vl_version())


@lru_cache(maxsize=1)
def _vl_version() -> str:
    """The Vega-Lite version vl-convert bundles that matches Altair's schema (e.g. '6.4')."""
    import altair as alt
    import vl_convert as vlc

    want = ".".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])
    have = vlc.get_vegalite_versions()
    return want if want in have else have[-1]


@lru_cache(maxsize=1)
def vega_bundle() -> str:
    """One offline JavaScript bundle of Vega, Vega-Lite and vega-embed (built by vl-convert once per process,
    about 0.9 MB): defines ``window.vegaEmbed``."""
    import vl_convert as vlc

    return vlc.javascript_bundle(vl_version=_vl_version())
