"""What every command that reads data shares: the --data / --store options and loading the dataset."""

from __future__ import annotations

import argparse

from ..dataset import Dataset


def load_dataset(args: argparse.Namespace) -> Dataset:
    """The dataset a command works on: --store (DuckDB), --data (a folder of tables) or the demo."""
    from .. import load

    return load(getattr(args, "store", None) or getattr(args, "data", None))


def add_data_options(p: argparse.ArgumentParser) -> None:
    src = p.add_mutually_exclusive_group()
    src.add_argument("--data", metavar="DIR", help="a dataset folder (Parquet or CSV tables); default: the demo")
    src.add_argument("--store", metavar="FILE", help="a perfwork DuckDB store made by 'perfwork ingest'")
