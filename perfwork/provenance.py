"""The run record: which data, framework, peers, targets and options a published number came from.

Every export carries one (``RunRecord``): the perfwork version, a content fingerprint of the dataset (its five
tables, values not names: the same data read from Parquet, CSV or a store fingerprints the same, one count
changed does not), the framework's fingerprint (every indicator's definition), the peer groups' and targets'
fingerprints, the peer method, the options and the period end, and the method texts of the judgements.

Fingerprints are the first 16 hex digits of a SHA-256, so a decision can be keyed on them. A CSV export carries
the version and fingerprints as its last columns (``RUN_COLUMNS``: every row stays traceable when copied out)
and the whole record in a ``<file>.run.json`` beside it; the XLSX export has the record on its Method sheet.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ._version import __version__

TABLES = ("areas", "characteristics", "population", "counts", "missing")


def _digest(parts) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p if isinstance(p, bytes) else str(p).encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()[:16]


def frame_fingerprint(frame: pd.DataFrame | None, columns=None) -> str | None:
    """A fingerprint of a table's values (columns by name, rows in order); None for None."""
    if frame is None:
        return None
    cols = sorted(map(str, frame.columns)) if columns is None else [c for c in columns if c in frame.columns]
    parts: list = [len(frame)]
    for c in cols:
        parts += [c, pd.util.hash_pandas_object(frame[c], index=False).to_numpy().tobytes()]
    return _digest(parts)


def file_fingerprint(path) -> str:
    """A fingerprint of a file's bytes."""
    return _digest([Path(path).read_bytes()])


def dataset_fingerprint(dataset) -> str:
    """The dataset's content fingerprint (its tables' values), computed once per Dataset object."""
    key = tuple(id(getattr(dataset, t)) for t in TABLES)
    memo = getattr(dataset, "_fingerprint", None)
    if memo is None or memo[0] != key:
        memo = (key, _digest(frame_fingerprint(getattr(dataset, t)) for t in TABLES))
        dataset._fingerprint = memo
    return memo[1]


def framework_fingerprint(framework) -> str:
    """A fingerprint of a framework's indicators (every field, in order) and its name."""
    rows = [json.dumps(asdict(i), sort_keys=True, default=list) for i in framework]
    return _digest([framework.name, *rows])


def _clean(v):
    """Options as plain JSON values (paths and frames become text or fingerprints)."""
    if isinstance(v, pd.DataFrame):
        return f"table {frame_fingerprint(v)}"
    if isinstance(v, (Path, pd.Timestamp)):
        return str(v)
    if isinstance(v, (np.integer, np.floating)):
        return v.item()
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _clean(x) for k, x in v.items()}
    return v


@dataclass(frozen=True)
class RunRecord:
    """What a run was based on. ``inputs`` is a fingerprint of everything except the creation time: two runs on
    the same inputs have the same ``inputs``."""

    perfwork_version: str
    dataset: str
    dataset_name: str
    framework: str | None = None
    framework_fingerprint: str | None = None
    level: str | None = None
    period: str | None = None
    period_end: str | None = None
    peer_method: str | None = None
    peers_fingerprint: str | None = None
    targets_fingerprint: str | None = None
    options: dict = field(default_factory=dict)
    methods: dict = field(default_factory=dict)
    created: str = ""

    @property
    def inputs(self) -> str:
        d = self.as_dict()
        d.pop("created")
        return _digest([json.dumps(d, sort_keys=True)])

    def as_dict(self) -> dict:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps({**self.as_dict(), "inputs": self.inputs}, indent=2, sort_keys=False)

    def rows(self) -> list[tuple[str, str]]:
        """(key, text) pairs, for a Method sheet or a header: nested options and methods flattened."""
        out = []
        for k, v in self.as_dict().items():
            if isinstance(v, dict):
                out += [(f"{k}.{kk}", _text(vv)) for kk, vv in v.items()]
            elif v is not None:
                out.append((k, _text(v)))
        out.append(("inputs", self.inputs))
        return out

    def summary(self) -> str:
        """One line: version, data and framework fingerprints."""
        fw = f"; framework {self.framework} {self.framework_fingerprint}" if self.framework else ""
        return (f"perfwork {self.perfwork_version}; data {self.dataset_name} {self.dataset}{fw}"
                + (f"; period end {self.period_end}" if self.period_end else "") + f"; inputs {self.inputs}")


def _text(v) -> str:
    return v if isinstance(v, str) else json.dumps(v, default=str)


def record(dataset, framework=None, *, level=None, period=None, period_end=None, groups=None, peer_method=None,
           targets=None, options=None, methods=None) -> RunRecord:
    """The run record of a computation on ``dataset`` (with ``framework``, peer ``groups`` and ``targets`` when
    they took part). ``period_end``: the period ends judged (a DatetimeIndex, a Timestamp or text)."""
    if isinstance(period_end, (pd.DatetimeIndex, list, tuple, np.ndarray)):
        ends = pd.DatetimeIndex(period_end)
        period_end = (f"{ends[0]:%Y-%m}" if len(ends) == 1 else
                      f"{ends.min():%Y-%m} to {ends.max():%Y-%m} ({len(ends)} period ends)" if len(ends) else None)
    elif isinstance(period_end, pd.Timestamp):
        period_end = f"{period_end:%Y-%m}"
    return RunRecord(
        perfwork_version=__version__,
        dataset=dataset_fingerprint(dataset),
        dataset_name=str(dataset.name),
        framework=None if framework is None else framework.name,
        framework_fingerprint=None if framework is None else framework_fingerprint(framework),
        level=level, period=period, period_end=period_end, peer_method=peer_method,
        peers_fingerprint=frame_fingerprint(groups, ["area_code", "peer_code", "rank"]),
        targets_fingerprint=frame_fingerprint(targets),
        options=_clean(dict(options or {})), methods=_clean(dict(methods or {})),
        created=_dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))


RUN_COLUMNS = ("perfwork_version", "dataset_fingerprint", "framework_fingerprint", "run_inputs")


def sidecar(path) -> Path:
    """Where the run record of an exported file lives: ``<file>.run.json`` beside it."""
    path = Path(path)
    return path.with_name(path.name + ".run.json")


def with_run_columns(table: pd.DataFrame, run: RunRecord) -> pd.DataFrame:
    """``table`` with the run's version and fingerprints as its last columns, so every row can be traced even when
    copied out of the file."""
    return table.assign(perfwork_version=run.perfwork_version, dataset_fingerprint=run.dataset,
                        framework_fingerprint=run.framework_fingerprint, run_inputs=run.inputs)


def to_csv(table: pd.DataFrame, path, run: RunRecord) -> Path:
    """Write ``table`` as CSV with the run columns (``with_run_columns``) and the whole record beside it in
    ``<file>.run.json``. Any CSV reader reads the table as before."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with_run_columns(table, run).to_csv(path, index=False)
    sidecar(path).write_text(run.to_json() + "\n", encoding="utf-8")
    return path


def read_run(path) -> dict:
    """The run record written beside an exported file (``to_csv``), as a dict."""
    return json.loads(sidecar(path).read_text(encoding="utf-8"))
