"""``perfwork report``: run a report notebook for one area and write its offline HTML page."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import UsageError
from ._common import add_data_options

AREA_PARAMETERS = ("AREA", "FORCE")   # the first of these a notebook declares receives --area


def _value(text: str):
    """A -p value as papermill reads one: None, true/false, an int, a float, else the string."""
    low = text.strip().lower()
    if low in ("none", "null"):
        return None
    if low in ("true", "false"):
        return low == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def report_parameters(notebook: Path, args: argparse.Namespace) -> dict:
    """The notebook's parameters from --area, --data/--store and -p, checked against its parameters cell."""
    import papermill as pm

    declared = pm.inspect_notebook(str(notebook))
    params = {name: _value(value) for name, value in args.parameters or []}
    unknown = sorted(set(params) - set(declared))
    if unknown:
        raise UsageError(f"{notebook.name} has no parameter {', '.join(unknown)}; it takes "
                         f"{', '.join(declared) or 'none'}")
    target = next((p for p in AREA_PARAMETERS if p in declared), None)
    if target is None:
        raise UsageError(f"{notebook.name} takes no AREA or FORCE parameter; pass its parameters with -p")
    params[target] = args.area
    source = getattr(args, "store", None) or getattr(args, "data", None)
    if source is not None:
        if "DATA" not in declared:
            raise UsageError(f"{notebook.name} has no DATA parameter for --data/--store")
        params["DATA"] = str(Path(source).resolve())
    return params


def cmd_report(args: argparse.Namespace) -> int:
    from .. import report

    notebook = Path(args.notebook)
    if not notebook.is_file():
        raise FileNotFoundError(f"no notebook {notebook}")
    params = report_parameters(notebook, args)
    out = Path(args.out or f"{notebook.stem}-{args.area}.html".replace(" ", "_"))
    report.render(notebook, out, title=args.title, **params)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB)", file=sys.stderr)
    return 0


def add_report_commands(sub) -> None:
    p = sub.add_parser("report", help="run a report notebook for an area and write a self-contained HTML page",
                       description="Execute NOTEBOOK (papermill) for one area and write one offline HTML page: "
                                   "no code, charts drawn by the Vega bundle embedded in the page.")
    p.add_argument("notebook", metavar="NOTEBOOK", help="e.g. notebooks/partnership_profile.ipynb")
    p.add_argument("--area", required=True, metavar="CODE", help="the area (the notebook's AREA or FORCE)")
    p.add_argument("--out", metavar="FILE.html", help="default: <notebook>-<area>.html here")
    p.add_argument("-p", "--parameter", dest="parameters", nargs=2, action="append", metavar=("NAME", "VALUE"),
                   help="another notebook parameter (repeatable), e.g. -p INDICATOR burglary")
    p.add_argument("--title", help="the page title (default: the report's first heading)")
    add_data_options(p)
    p.set_defaults(func=cmd_report)
