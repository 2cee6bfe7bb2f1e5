"""Interactive charts in the apps with no CDN and no per-kernel bundle.

``alt.JupyterChart.enable_offline()`` makes each kernel build vl-convert's JavaScript bundle of Vega, Vega-Lite and
vega-embed (about 0.9 MB, 2-3 s and some 100 MB of resident memory per kernel) and sends it with every chart.
``perfwork serve`` instead builds that same bundle once (``write_bundle``) and serves it as one static file; the
``Chart`` widget's module only imports it from the server, so the browser fetches and caches it once and a kernel
never loads vl-convert. Outside ``perfwork serve`` (JupyterLab, nbval) ``chart_widget`` falls back to Altair's own
offline mode.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import altair as alt

BUNDLE_ENV = "PERFWORK_CHART_BUNDLE"          # the bundle's file name under {base_url}voila/static/
BUNDLE_DIR_ENV = "PERFWORK_CHART_BUNDLE_DIR"  # the folder perfwork serve adds to Voilà's static paths
EMBED = {"actions": False, "renderer": "svg"}  # the stock actions menu is an unnamed <summary> (axe summary-name)


def write_bundle(folder: Path | str) -> str:
    """Write Altair's offline JupyterChart module (vl-convert's bundle) into ``folder``; returns its file name,
    which carries a hash of the content so browsers may cache it for good."""
    alt.JupyterChart.enable_offline()
    src = alt.JupyterChart._esm
    name = f"jupyterchart-{hashlib.sha256(src.encode()).hexdigest()[:16]}.js"
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / name).exists():
        tmp = folder / f".{name}.tmp"
        tmp.write_text(src, encoding="utf-8")
        tmp.replace(folder / name)
    return name


def _loader(name: str) -> str:
    # Relative to the page's Voilà base (body data-base-url), so it works under any --base-url or proxy prefix.
    return ("const base = new URL(document.body.dataset.baseUrl || '/voila/', location.href);\n"
            f"const mod = await import(new URL('static/{name}', base).href);\n"
            "export default mod.default;\n")


class Chart(alt.JupyterChart):
    """Altair's JupyterChart whose JavaScript is the server's static bundle (see the module docstring)."""

    _esm = _loader(os.environ.get(BUNDLE_ENV, "missing-bundle.js"))


def chart_widget(chart, **options) -> alt.JupyterChart:
    """An interactive chart widget (tooltips, SVG renderer, no actions menu) for an Altair chart or a Vega-Lite
    spec (``perfwork.charts.*_spec``); ``redraw`` replaces what it shows."""
    from ..charts.vl import to_altair

    options = {"embed_options": EMBED, **options}
    chart = to_altair(chart) if isinstance(chart, dict) else chart
    with alt.data_transformers.disable_max_rows():
        if os.environ.get(BUNDLE_ENV):
            return Chart(chart, **options)
        alt.JupyterChart.enable_offline()
        return alt.JupyterChart(chart, **options)


def redraw(widget: alt.JupyterChart, chart) -> None:
    """Replace the chart a widget shows, in place (the front end re-embeds the new spec). A Vega-Lite spec (a
    dict, as ``perfwork.charts.*_spec`` build it, without selections) goes straight to the widget's spec: no Altair
    objects are built or validated, which is most of an area switch's time."""
    if isinstance(chart, dict):
        widget.spec = chart
        return
    with alt.data_transformers.disable_max_rows():
        widget.chart = chart
