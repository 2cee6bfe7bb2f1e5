"""The ``perfwork`` command: one module per command group, each registering its parsers; thin wrappers over the
package."""

from __future__ import annotations

import argparse
import sys

from ..dataset import DataError
from ..framework import FrameworkError
from ._common import load_dataset
from .data import add_data_commands
from .ingest import add_ingest_commands
from .judge import add_assess_commands, add_peers_commands
from .serve import add_serve_commands


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="perfwork", description="Community safety performance: indicators, "
                                     "Most Similar Group comparison, trends, SPC and targets.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    add_data_commands(sub)
    add_ingest_commands(sub)
    add_peers_commands(sub)
    add_assess_commands(sub)
    add_serve_commands(sub)
    return parser


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
    except (DataError, FrameworkError, KeyError, ValueError, FileNotFoundError) as exc:
        msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"perfwork: error: {msg}", file=sys.stderr)
        return 2

