"""The national work once per process: datasets and assessments cached by what they depend on."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path


def _key(data) -> tuple:
    """What a dataset source is, for caching: its resolved path and modification time (None for the demo)."""
    if data is None:
        return (None, None)
    p = Path(data)
    return (str(p.resolve()), p.stat().st_mtime_ns if p.exists() else None)


@lru_cache(maxsize=4)
def _dataset(key, data):
    from .. import load

    return load(data)


def dataset(data=None):
    """The dataset at ``data`` (None: the demo; a folder; a ``.duckdb`` store), loaded once per process while
    the file is unchanged."""
    return _dataset(_key(data), None if data is None else str(data))


@lru_cache(maxsize=8)
def _assessment(key, data, framework, level, period_end, targets):
    from .. import assess_all

    a = assess_all(dataset(data), level=level, period_end=period_end, framework=framework, targets=targets)
    a.history()   # the rolling-12 peer comparison behind every trend chart: national work, done once here
    return a


def assessment(data=None, framework="national", level: str = "csp", period_end=None, targets=None):
    """The ``pw.Assessment`` of every area of ``level``, computed once per process for the same data (source
    path and modification time), framework, level, period end and targets: a warm kernel that reports on many
    areas does the national work once. data: None (demo), a dataset folder or a ``.duckdb`` store."""
    end = None if period_end in (None, "latest") else str(period_end)
    return _assessment(_key(data), None if data is None else str(data), str(framework), level, end,
                       None if targets is None else str(targets))
