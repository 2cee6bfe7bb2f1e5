"""Interactive charts in the apps with no CDN and no per-kernel bundle.

``alt.JupyterChart.enable_offline()`` makes each kernel build vl-convert's JavaScript bundle of Vega, Vega-Lite and
vega-embed (about 0.9 MB, 2-3 s and some 100 MB of resident memory per kernel) and sends it with every chart.
``perfwork serve`` instead builds that same bundle once (``write_bundle``) and serves it as one static file; the
``Chart`` widget's module only imports it from the server, so the browser fetches and caches it once and a kernel
never loads vl-convert, nor Altair (``Chart`` takes Vega-Lite specs). Outside ``perfwork serve`` (JupyterLab,
nbval) ``chart_widget`` falls back to Altair's own offline mode.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import anywidget
import traitlets

BUNDLE_ENV = "PERFWORK_CHART_BUNDLE"          # the bundle's file name under {base_url}voila/static/
BUNDLE_DIR_ENV = "PERFWORK_CHART_BUNDLE_DIR"  # the folder perfwork serve adds to Voilà's static paths
EMBED = {"actions": False, "renderer": "svg"}  # the stock actions menu is an unnamed <summary> (axe summary-name)


def write_bundle(folder: Path | str) -> str:
    """Write Altair's offline JupyterChart module (vl-convert's bundle) into ``folder``; returns its file name,
    which carries a hash of the content so browsers may cache it for good."""
    import altair as alt

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


class Chart(anywidget.AnyWidget):
    """The front end of Altair's ``JupyterChart`` (the same JavaScript: the server's static bundle) driven by a
    Vega-Lite spec alone, so a served kernel never imports Altair (some 45 MB with jsonschema). The traits are
    those ``JupyterChart`` syncs and its JavaScript reads."""

    _esm = _loader(os.environ.get(BUNDLE_ENV, "missing-bundle.js"))
    _css = ".vega-embed { overflow: visible; }"
    spec = traitlets.Dict(allow_none=True).tag(sync=True)
    embed_options = traitlets.Dict(default_value=None, allow_none=True).tag(sync=True)
    debounce_wait = traitlets.Float(default_value=10).tag(sync=True)
    max_wait = traitlets.Bool(default_value=True).tag(sync=True)
    local_tz = traitlets.Unicode(default_value=None, allow_none=True).tag(sync=True)
    _vl_selections = traitlets.Dict().tag(sync=True)
    _params = traitlets.Dict().tag(sync=True)
    _js_watch_plan = traitlets.Any(allow_none=True).tag(sync=True)
    _js_to_py_updates = traitlets.Any(allow_none=True).tag(sync=True)
    _py_to_js_updates = traitlets.Any(allow_none=True).tag(sync=True)


def chart_widget(chart, **options):
    """An interactive chart widget (tooltips, SVG renderer, no actions menu) for a Vega-Lite spec
    (``perfwork.charts.*_spec``) or an Altair chart; ``redraw`` replaces what it shows."""
    from ..charts.render import _spec

    options = {"embed_options": EMBED, **options}
    if os.environ.get(BUNDLE_ENV):
        return Chart(spec=_spec(chart, validate=False), **options)
    import altair as alt

    from ..charts.vl import to_altair

    chart = to_altair(chart) if isinstance(chart, dict) else chart
    with alt.data_transformers.disable_max_rows():
        alt.JupyterChart.enable_offline()
        return alt.JupyterChart(chart, **options)


def redraw(widget, chart) -> None:
    """Replace the chart a widget shows, in place (the front end re-embeds the new spec). A Vega-Lite spec (a
    dict, as ``perfwork.charts.*_spec`` build it, without selections) goes straight to the widget's spec: no Altair
    objects are built or validated, which is most of an area switch's time."""
    if isinstance(chart, dict) or isinstance(widget, Chart):
        from ..charts.render import _spec

        widget.spec = _spec(chart, validate=False)
        return
    import altair as alt

    with alt.data_transformers.disable_max_rows():
        widget.chart = chart
