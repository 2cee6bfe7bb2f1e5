"""``perfwork batch``: a notebook for every area (papermill semantics, warm kernels, locally or on Dask)."""

from __future__ import annotations

import argparse


def cmd_batch(args: argparse.Namespace) -> int:
    from papermill.cli import _resolve_type

    from ..batch import run

    parameters = {name: _resolve_type(value) for name, value in args.parameters or []}
    result = run(args.notebook, args.out, areas=args.areas, parameters=parameters, params_file=args.params,
                 workers=args.workers, resume=args.resume, scheduler=args.scheduler, timeout=args.timeout)
    ok = sum(r["status"] == "ok" for r in result.rows)
    print(f"{ok} of {len(result.rows)} areas made their report; index: {result.index}")
    for row in result.rows:
        if row["status"] == "failed":
            print(f"  failed {row['area']}: {row['error']}")
    if result.interrupted:
        print("interrupted: run again with --resume to finish")
    return result.exit_code


def add_batch_commands(sub) -> None:
    """Register ``perfwork batch``."""
    p = sub.add_parser("batch", help="run a notebook for every area: executed notebooks, HTML reports, an index",
                       description="Run NOTEBOOK once per area with papermill's semantics (parameters injected "
                       "after its 'parameters' cell) on warm kernels, writing DIR/<area>.ipynb, DIR/<area>.html, "
                       "DIR/summary.csv and DIR/index.html. Exit code 1 when an area failed.")
    p.add_argument("notebook", metavar="NOTEBOOK", help="a notebook with a cell tagged 'parameters' taking AREA")
    p.add_argument("--areas", default="all", help="all (every CSP and force) | CODE,CODE | force:CODE (its CSPs) "
                   "| level:LEVEL, comma-separated (default: %(default)s)")
    p.add_argument("-p", "--parameter", dest="parameters", nargs=2, action="append", metavar=("NAME", "VALUE"),
                   help="a notebook parameter for every area, as papermill -p (repeat)")
    p.add_argument("--params", metavar="FILE.yaml", help="notebook parameters from a YAML file (as papermill -f)")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the notebooks, reports and index")
    p.add_argument("--workers", type=int, metavar="N", help="warm kernels on this machine (default: one per core)")
    p.add_argument("--resume", action="store_true",
                   help="skip areas whose outputs are complete and whose notebook, parameters and data are unchanged")
    p.add_argument("--scheduler", metavar="ADDRESS", help="run on a Dask cluster, e.g. tcp://127.0.0.1:8786")
    p.add_argument("--timeout", type=float, metavar="SECONDS", help="fail an area whose cell runs longer than this")
    p.set_defaults(func=cmd_batch)
