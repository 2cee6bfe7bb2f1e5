"""The report page of one executed notebook: ``perfwork.report.notebook_html`` where it exists; otherwise this
internal stand-in with the same signature (no code cells, no remote script or stylesheet)."""

from __future__ import annotations

import html

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; color: #1a1a1a; background: #fff; max-width: 62rem; margin: 0 auto;
       padding: 1rem; line-height: 1.45; }}
table {{ border-collapse: collapse; font-size: 0.9rem; }} th, td {{ border: 1px solid #767676; padding: 0.2rem 0.4rem; }}
pre {{ white-space: pre-wrap; }} a {{ color: #0b57d0; }}
.jp-RenderedText[data-mime-type="application/vnd.jupyter.stderr"] {{ background: #fdf0f0; }}
</style>
</head>
<body>
<main>
{body}
</main>
</body>
</html>
"""


def notebook_html(nb, title=None) -> str:
    """An executed notebook as one offline page (internal stand-in for ``perfwork.report.notebook_html``)."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="basic", exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True)
    body, _ = exporter.from_notebook_node(nb)
    return _PAGE.format(title=html.escape(title or nb.metadata.get("title", "Report")), body=body)


def report_html(nb, title=None) -> str:
    """The project's exporter when the charts/report room provides it, else the stand-in above."""
    try:
        from ..report import notebook_html as exporter
    except ImportError:
        exporter = notebook_html
    return exporter(nb, title=title)
