"""perfwork: measure, monitor and manage community safety performance.

    import perfwork as pw
    ds = pw.load_demo()                                  # the synthetic Demo Kingdom
    pw.indicators(ds, "national", period="rolling12")    # values and 95% limits per area
    pw.assess(ds, area="DK-C0001")                       # peers, trend, SPC, targets, exceptions
    pw.decisions.review(ds, log)                         # did the board's actions work?
"""

from __future__ import annotations

from . import decisions, peers, periods, spc, stats, targets, trends, vocab
from ._version import __version__
from .assessment import Assessment, assess_all
from .dataset import DataError, Dataset
from .framework import Framework, FrameworkError, Indicator, load_framework
from .judgement import assess, to_xlsx
from .peers import load_groups, most_similar
from .targets import load_targets
from .values import indicators


def __getattr__(name):
    # pw.batch needs the notebook extras (papermill, nbclient); imported on first use only
    if name == "batch":
        import importlib

        return importlib.import_module(".batch", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def load_demo() -> Dataset:
    """The Demo Kingdom: a synthetic dataset of ~300 CSPs in ~40 forces shipped in data/demo."""
    from .sources import demo

    return demo.load()


def load(source=None) -> Dataset:
    """A dataset from wherever it lives: None for the demo, a ``.duckdb`` store, or a folder of tables."""
    if source is None:
        return load_demo()
    if str(source).endswith(".duckdb"):
        return open_store(source)
    return Dataset.from_dir(source)


def open_store(path, **options) -> Dataset:
    """The canonical Dataset held in a perfwork DuckDB store (made by ``perfwork ingest``); options as
    ``perfwork.store.open_store``."""
    from .store import open_store as _open

    return _open(path, **options)


__all__ = [
    "__version__",
    # data
    "Dataset", "DataError", "load", "load_demo", "open_store",
    # frameworks and indicators
    "Framework", "FrameworkError", "Indicator", "load_framework", "indicators",
    # judging
    "assess", "assess_all", "Assessment", "most_similar", "load_groups", "load_targets", "to_xlsx",
    # the modules a notebook reaches into
    "stats", "spc", "peers", "trends", "targets", "periods", "vocab",
    # managing: the decision and action log
    "decisions",
]
