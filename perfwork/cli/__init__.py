"""The ``perfwork`` command: one module per command group, each registering its parsers; thin wrappers over the
package."""

from __future__ import annotations

import argparse
import sys

from ..errors import DataError, UsageError
from ..framework import FrameworkError
from ._common import load_dataset
from .batch import add_batch_commands
from .data import add_data_commands
from .decisions import add_decisions_commands
from .ingest import add_ingest_commands
from .judge import add_assess_commands, add_peers_commands
from .report import add_report_commands
from .serve import add_serve_commands


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="perfwork", description="Community safety performance: indicators, "
                                     "Most Similar Group comparison, trends, SPC and targets.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    add_data_commands(sub)
    add_ingest_commands(sub)
    add_peers_commands(sub)
    add_assess_commands(sub)
    add_batch_commands(sub)
    add_report_commands(sub)
    add_decisions_commands(sub)
    add_serve_commands(sub)
    return parser


# The one error mapping of every command: a request that cannot be met (an unknown area, option or file) is a
# usage error, exit 2; bad input data (a file, table or YAML; the message names file, row and column) exit 1.
# Anything else is a fault and keeps its traceback.
USAGE_ERRORS = (UsageError, FileNotFoundError)
DATA_ERRORS = (DataError, FrameworkError, OSError)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if getattr(args, "needs_data", False):
            dataset = load_dataset(args)
            if getattr(args, "level", "unset") is None and getattr(args, "area", None):
                args.level = dataset.area(args.area[0])["level"]
            return args.func(args, dataset)
        return args.func(args)
    except USAGE_ERRORS as exc:
        print(f"perfwork: error: {exc}", file=sys.stderr)
        return 2
    except DATA_ERRORS as exc:
        print(f"perfwork: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("perfwork: interrupted", file=sys.stderr)
        return 130

