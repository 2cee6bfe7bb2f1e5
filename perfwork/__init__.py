"""perfwork: measure, monitor and manage community safety performance.

    import perfwork as pw
    ds = pw.load_demo()                                  # the synthetic Demo Kingdom
    pw.indicators(ds, "national", period="rolling12")    # values and 95% limits per area
    pw.assess(ds, area="DK-C0001")                       # peers, trend, SPC, targets, exceptions
    pw.decisions.review(ds, log)                         # did the board's actions work?

Names are imported on first use, so a process that needs only part of the package (a Voilà app kernel reading a
stored assessment, ``pw.batch`` with its notebook extras) does not pay for what it never calls (scipy,
SQLAlchemy, papermill).
"""

from __future__ import annotations

import importlib

from ._version import __version__

# public name -> (module, attribute); attribute None means the module itself
_LAZY = {
    "Dataset": ("dataset", "Dataset"), "DataError": ("dataset", "DataError"),
    "Framework": ("framework", "Framework"), "FrameworkError": ("framework", "FrameworkError"),
    "Indicator": ("framework", "Indicator"), "load_framework": ("framework", "load_framework"),
    "indicators": ("values", "indicators"),
    "assess": ("judgement", "assess"), "to_xlsx": ("judgement", "to_xlsx"),
    "Assessment": ("assessment", "Assessment"), "assess_all": ("assessment", "assess_all"),
    "most_similar": ("peers", "most_similar"), "load_groups": ("peers", "load_groups"),
    "load_targets": ("targets", "load_targets"),
    **{m: (m, None) for m in ("decisions", "peers", "periods", "spc", "stats", "targets", "trends", "vocab",
                              "batch")},
}


def __getattr__(name: str):
    try:
        module, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    mod = importlib.import_module(f".{module}", __name__)
    value = mod if attr is None else getattr(mod, attr)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


def load_demo():
    """The Demo Kingdom: a synthetic dataset of ~300 CSPs in ~40 forces shipped in data/demo."""
    from .sources import demo

    return demo.load()


def load(source=None):
    """A dataset from wherever it lives: None for the demo, a ``.duckdb`` store, or a folder of tables."""
    if source is None:
        return load_demo()
    if str(source).endswith(".duckdb"):
        return open_store(source)
    from .dataset import Dataset

    return Dataset.from_dir(source)


def open_store(path, **options):
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
