"""An executed notebook as one self-contained HTML page for people: no code, no prompts, nothing fetched.

``notebook_html(nb)`` keeps the markdown cells and the outputs of code cells (never their source), turns each
chart output (``perfwork.charts.CHART_MIMETYPE``) into a ``<figure>`` with its text alternative, and embeds one
offline Vega bundle in the page that draws them all as SVG when the page opens. Nothing in the page refers to
another server: no CDN, no require.js, no MathJax, no web fonts. It is printable on A4 (figures and tables are
not split across pages) and reads on a phone (charts scale to the width, wide tables scroll).

The renderer is built once per process (the markdown parser and the Vega bundle are cached), so the batch can
call ``notebook_html`` for every area cheaply. ``bundle="vega.js"`` references one bundle file beside a folder
of reports instead of embedding it (write it with ``write_bundle``): smaller pages, still offline, as long as
the file travels with the folder.
"""

from __future__ import annotations

import base64
import html
import json
import re
from functools import lru_cache
from pathlib import Path

from ..charts.render import CHART_MIMETYPE, vega_bundle

# Which representation of an output to keep, best first.
PRIORITY = (CHART_MIMETYPE, "text/html", "text/markdown", "image/svg+xml", "image/png", "image/jpeg", "text/plain")
_TAG = re.compile(r"<[^>]+>")
_CAPTION = re.compile(r'class="gt_heading gt_title[^"]*"[^>]*>(.*?)</', re.S)

CSS = """
:root { --ink: #1f1f1f; --muted: #4d4d4d; --rule: #c8c8c8; --accent: #0b5cad; }
* { box-sizing: border-box; }
html { font-size: 100%; -webkit-text-size-adjust: 100%; }
body { margin: 0; color: var(--ink); background: #fff; line-height: 1.5;
  font-family: -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 62rem; margin: 0 auto; padding: 1rem 1.25rem 3rem; }
h1 { font-size: 1.9rem; line-height: 1.2; margin: 1.2rem 0 .6rem; }
h2 { font-size: 1.4rem; margin: 2rem 0 .6rem; padding-top: .4rem; border-top: 1px solid var(--rule); }
h3 { font-size: 1.15rem; margin: 1.5rem 0 .4rem; }
p, li { max-width: 46rem; }
a { color: var(--accent); }
code { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: .92em; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; background: #f6f6f6; padding: .6rem .8rem; border-radius: 4px;
  font-size: .88rem; }
.pw-output { margin: .6rem 0 1rem; }
.pw-table { overflow-x: auto; max-width: 100%; }
.pw-table > div { overflow: visible !important; }   /* one scrolling region per table: the focusable wrapper */
.pw-table:focus { outline: 2px solid var(--accent); outline-offset: 2px; }
.pw-pill { white-space: nowrap; }
table { border-collapse: collapse; font-size: .92rem; }
th, td { padding: .3rem .55rem; text-align: left; vertical-align: top; }
table.dataframe { border: 0; } table.dataframe th, table.dataframe td { border-bottom: 1px solid var(--rule); }
figure.pw-chart { margin: 1rem 0 1.6rem; max-width: 100%; }
.pw-chart-view { max-width: 100%; overflow: hidden; min-height: 2rem; }
.pw-chart-view svg { max-width: 100%; height: auto; }
figure.pw-chart figcaption { font-size: .9rem; color: var(--muted); max-width: 46rem; margin-top: .3rem; }
.pw-noscript { font-style: italic; color: var(--muted); }
img { max-width: 100%; height: auto; }
@media (max-width: 40rem) {
  main { padding: .5rem .75rem 2rem; }
  h1 { font-size: 1.5rem; } h2 { font-size: 1.2rem; }
  table { font-size: .85rem; }
}
@page { size: A4; margin: 15mm 14mm 16mm; }
@media print {
  body { font-size: 10.5pt; }
  main { max-width: none; padding: 0; }
  h1, h2, h3 { break-after: avoid; page-break-after: avoid; }
  h2 { break-before: auto; }
  figure.pw-chart, .pw-table, table, tr, img, pre { break-inside: avoid; page-break-inside: avoid; }
  .pw-table { overflow: visible; }
  .pw-table table { font-size: 8pt !important; width: 100% !important; }
  .pw-table th, .pw-table td { padding: 2px 3px !important; }
  .pw-pill { white-space: normal; }
  .pw-chart-view svg { max-width: 100%; height: auto; }
  a { color: inherit; text-decoration: none; }
  a[href^="http"]::after { content: " (" attr(href) ")"; font-size: .85em; }
}
"""

# Draws every chart figure of the page once the bundle has defined vegaEmbed; a chart that fails says so in words.
DRAW = """
(function () {
  var figures = document.querySelectorAll("figure.pw-chart");
  figures.forEach(function (fig) {
    var view = fig.querySelector(".pw-chart-view");
    var spec = JSON.parse(fig.querySelector("script.pw-chart-spec").textContent);
    if (typeof vegaEmbed !== "function") {
      view.textContent = "This chart needs the Vega bundle next to this page."; return;
    }
    vegaEmbed(view, spec, {actions: false, renderer: "svg", tooltip: true}).then(function (res) {
      var svg = view.querySelector("svg");
      if (svg) { svg.setAttribute("aria-hidden", "true"); svg.setAttribute("focusable", "false"); }
      fig.setAttribute("data-rendered", "true");
    }).catch(function (err) { view.textContent = "This chart could not be drawn: " + err; });
  });
})();
"""


@lru_cache(maxsize=1)
def _markdown():
    import mistune

    # escape=True: text in markdown cells (and in markdown outputs, which may quote data) is never markup.
    return mistune.create_markdown(escape=True, plugins=["table", "strikethrough"])


def _script_json(data) -> str:
    """JSON safe inside <script>: no '</' can close the element."""
    return json.dumps(data, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def chart_figure(data: dict, number: int) -> str:
    """One chart output as a figure: the view (role=img, named by the text alternative), the spec, a caption."""
    title = html.escape(data.get("title") or f"Chart {number}")
    desc = html.escape(data.get("description") or "")
    cap = f"<strong>Figure {number}.</strong> {desc if desc and desc != title else title}"
    return (f'<figure class="pw-chart" id="figure-{number}" aria-labelledby="figure-{number}-caption">'
            f'<div class="pw-chart-view" role="img" aria-label="{title}. {desc}">'
            f'<noscript><p class="pw-noscript">The chart needs JavaScript; its description follows.</p></noscript>'
            f'</div><script type="application/json" class="pw-chart-spec">{_script_json(data["spec"])}</script>'
            f'<figcaption id="figure-{number}-caption">{cap}</figcaption></figure>')


def _output(out: dict, counter: list) -> str:
    kind = out.get("output_type")
    if kind == "stream":
        if out.get("name") == "stderr":
            return ""  # warnings and progress bars are for the analyst, not the reader
        return f"<pre>{html.escape(_text(out.get('text', '')))}</pre>"
    if kind == "error":
        return f"<pre>Error: {html.escape(out.get('ename', ''))}: {html.escape(out.get('evalue', ''))}</pre>"
    data = out.get("data", {})
    for mime in PRIORITY:
        if mime not in data:
            continue
        value = data[mime]
        if mime == CHART_MIMETYPE:
            counter[0] += 1
            return chart_figure(value if isinstance(value, dict) else json.loads(_text(value)), counter[0])
        if mime == "text/html":
            body = _text(value)
            if "<table" not in body:
                return body
            # a wide table scrolls inside its own region, which keyboard users can reach (WCAG 2.1.1)
            counter[1] += 1
            name = _TAG.sub("", m.group(1)).strip() if (m := _CAPTION.search(body)) else f"Table {counter[1]}"
            return (f'<div class="pw-table" tabindex="0" role="region" aria-label="{html.escape(name, quote=True)}">'
                    f"{body}</div>")
        if mime == "text/markdown":
            return _markdown()(_text(value))
        if mime == "image/svg+xml":
            return f'<div role="img" aria-label="image">{_text(value)}</div>'
        if mime in ("image/png", "image/jpeg"):
            raw = _text(value).replace("\n", "")
            base64.b64decode(raw[:64] + "=" * (-len(raw[:64]) % 4))  # a corrupt payload fails here, not in the page
            return f'<img src="data:{mime};base64,{raw}" alt="image">'
        return f"<pre>{html.escape(_text(value))}</pre>"
    return ""


def _title(nb, title) -> str:
    if title:
        return str(title)
    for cell in nb["cells"]:
        if "remove-cell" in cell.get("metadata", {}).get("tags", []):
            continue
        texts = [cell["source"]] if cell["cell_type"] == "markdown" else [
            o.get("data", {}).get("text/markdown", "") for o in cell.get("outputs", [])]
        for text in texts:
            m = re.search(r"^#\s+(.+)$", _text(text), flags=re.M)
            if m:
                return m.group(1).strip().replace("\\", "")
    return "perfwork report"


def notebook_html(nb, title: str | None = None, bundle: str | None = None) -> str:
    """An executed notebook (nbformat node or dict) as one self-contained offline HTML page (module docstring).

    title: the page's <title> (default: the first level-1 heading). bundle: None embeds the Vega bundle in the
    page; a relative path (e.g. "vega.js") references one shared file instead (``write_bundle``)."""
    counter = [0, 0]   # charts, tables
    parts: list[str] = []
    for cell in nb["cells"]:
        tags = cell.get("metadata", {}).get("tags", [])
        if "remove-cell" in tags or "parameters" in tags or "injected-parameters" in tags:
            continue
        if cell["cell_type"] == "markdown":
            parts.append(_markdown()(_text(cell["source"])))
        elif cell["cell_type"] == "code":
            outs = [_output(o, counter) for o in cell.get("outputs", [])]
            outs = [o for o in outs if o]
            if outs:
                parts.append('<div class="pw-output">' + "".join(outs) + "</div>")
    page_title = _TAG.sub("", _title(nb, title))
    if counter[0] == 0:
        scripts = ""
    elif bundle is None:
        scripts = f"<script>{vega_bundle()}</script><script>{DRAW}</script>"
    else:
        if re.match(r"^[a-z][a-z0-9+.-]*:|^//", bundle, flags=re.I):
            raise ValueError(f"bundle {bundle!r}: expected a relative path to a file beside the reports")
        scripts = f'<script src="{html.escape(bundle)}"></script><script>{DRAW}</script>'
    return ("<!DOCTYPE html>\n<html lang=\"en-GB\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<meta name=\"generator\" content=\"perfwork\"><title>{html.escape(page_title)}</title>"
            f"<style>{CSS}</style></head><body><main>{''.join(parts)}</main>{scripts}</body></html>\n")


def write_bundle(folder) -> Path:
    """Write the Vega bundle as ``vega.js`` in ``folder`` (for reports made with ``bundle="vega.js"``)."""
    path = Path(folder) / "vega.js"
    path.write_text(vega_bundle(), encoding="utf-8")
    return path


def chart_count(page: str) -> int:
    """How many chart figures a page holds."""
    return page.count('<figure class="pw-chart"')
