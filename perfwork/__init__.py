"""perfwork: measure, monitor and manage community safety performance.

    import perfwork as pw
    ds = pw.load_demo()                                  # the synthetic Demo Kingdom
    pw.indicators(ds, "national", period="rolling12")    # values and 95% limits per area
    pw.assess(ds, area="DK-C0001")                       # peers, trend, SPC, targets, exceptions
"""

from __future__ import annotations

from importlib import import_module

from .dataset import Dataset, DataError
from .framework import Framework, FrameworkError, Indicator, load_framework
from .indicators import indicators

__version__ = "0.1.0"

# Heavier rooms load on first use, so `import perfwork` stays quick for the CLI and notebooks.
_LAZY = {
    "stats": ("perfwork.stats", None),
    "spc": ("perfwork.spc", None),
    "peers": ("perfwork.peers", None),
    "trends": ("perfwork.trends", None),
    "targets": ("perfwork.targets", None),
    "assess": ("perfwork.assess", "assess"),
    "open_store": ("perfwork.store", "open_store"),
}


def load_demo() -> Dataset:
    """The Demo Kingdom: a synthetic dataset of ~300 CSPs in ~40 forces shipped in data/demo."""
    from .sources import demo

    return demo.load()


def __getattr__(name: str):
    if name in _LAZY:
        module, attr = _LAZY[name]
        mod = import_module(module)
        value = getattr(mod, attr) if attr else mod
        globals()[name] = value
        return value
    raise AttributeError(f"module 'perfwork' has no attribute {name!r}")


__all__ = ["Dataset", "DataError", "Framework", "FrameworkError", "Indicator", "load_framework", "indicators",
           "load_demo", "assess", "open_store", "stats", "spc", "peers", "trends", "targets"]
