"""The national assessment as the apps read it: computed once per dataset, kept on disk, read per area.

A Voilà kernel per viewer cannot afford the whole assessment in memory (the dataset, the indicator frames and
their history run to about a gigabyte, with scipy on top). ``build`` runs ``pw.assess_all`` once, in the
``perfwork serve`` process before any kernel starts, and writes what the apps show to Parquet files sorted by
area; ``open_snapshot`` gives a read-only object with the ``pw.Assessment`` lookups the apps and charts use
(``.table``, ``.groups``, ``.for_area``, ``.series``, ``.spc``, ``.peers``) that reads one area's rows at a time
and needs only pandas and pyarrow.

    snap = open_snapshot(None)                 # the demo (built on first use, cached)
    snap.for_area("DK-C0123")
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..assessment import Assessment

FORMAT = 5
FILES = ("meta.json", "areas.parquet", "table.parquet", "groups.parquet", "series.parquet", "spc.parquet",
         "target_values.parquet", "targets.parquet", "month_values.parquet", "characteristics.parquet")
MONTH_COLUMNS = ["area_code", "indicator", "label", "kind", "polarity", "period_end", "numerator", "denominator",
                 "value", "complete", "months_missing"]
ENV = "PERFWORK_APP_SNAPSHOT"     # perfwork serve tells its kernels where the snapshot is


def cache_root() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "perfwork" / "apps"


def source_key(data, framework: str = "national", targets=None) -> str:
    """A key that changes when the data, the framework or perfwork changes (paths, sizes and mtimes)."""
    from .. import __version__
    from ..framework import FRAMEWORK_DIR
    from ..sources.demo import DEFAULT_PATH

    root = Path(data).resolve() if data else DEFAULT_PATH
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    files += sorted(FRAMEWORK_DIR.rglob("*.yaml"))
    if targets and Path(str(targets)).exists():
        t = Path(targets).resolve()
        files += [t] if t.is_file() else sorted(t.rglob("*.yaml"))
    h = hashlib.sha256(f"{FORMAT} {__version__} {root} {framework} {targets}".encode())
    for p in files:
        st = p.stat()
        h.update(f"{p} {st.st_size} {st.st_mtime_ns}".encode())
    return h.hexdigest()[:20]


def build(data=None, out: Path | str | None = None, framework: str = "national", level: str = "csp",
          targets="default") -> Path:
    """Assess every area of ``level`` once and write the snapshot (atomically) to ``out`` (default: the cache).
    ``targets``: as ``pw.assess``; "default" is ``targets.default_targets`` (the demo's on the demo, else none)."""
    out = Path(out) if out else cache_root() / source_key(data, framework, targets)
    if all((out / f).exists() for f in FILES):
        return out
    import perfwork as pw

    from ..targets import default_targets

    ds = pw.load(data)
    a = pw.assess_all(ds, level=level, framework=framework,
                      targets=default_targets(ds) if targets == "default" else targets)
    tmp = Path(tempfile.mkdtemp(prefix=".building-", dir=_mkdir(out.parent)))
    try:
        _write(a, tmp, data, framework)
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    prune(out.parent, keep=out)
    return out


KEEP_DAYS = 30


def prune(root: Path, keep: Path | None = None, days: float = KEEP_DAYS) -> list[Path]:
    """Remove the snapshots under ``root`` that no app has opened for ``days`` (``open_snapshot`` marks each
    use), so that the cache does not grow with every new month of data; returns what was removed."""
    cutoff = time.time() - days * 86400
    gone = []
    for d in root.iterdir() if root.is_dir() else ():
        meta = d / "meta.json"
        if d != keep and meta.is_file() and meta.stat().st_mtime < cutoff:
            shutil.rmtree(d, ignore_errors=True)
            gone.append(d)
    return gone


def _mkdir(p: Path) -> Path:
    p.mkdir(parents=True, exist_ok=True)
    return p


def _write(a, out: Path, data, framework: str) -> None:
    keys = ["area_code", "indicator", "period_end"]
    _parquet(a.history().sort_values(keys), out / "series.parquet")    # by area and indicator: what series reads
    end = a.table["period_end"].max()
    from ..trends import SPC_MONTHS, spc_points_all

    months = a.values["month"]
    own_ends = a.table.groupby("area_code")["period_end"].max()     # each area's chart ends at its own period
    _parquet(spc_points_all(months, period_end=own_ends, months=a.options.get("spc_months", SPC_MONTHS)),
             out / "spc.parquet")
    _parquet(months[[c for c in MONTH_COLUMNS if c in months.columns]], out / "month_values.parquet")
    _parquet(a.table, out / "table.parquet")
    _parquet(a.groups, out / "groups.parquet")
    _parquet(a.dataset.areas, out / "areas.parquet")
    _parquet(a.dataset.characteristics, out / "characteristics.parquet")
    r12 = a.values["rolling12"]
    with_target = a.table.loc[a.table["target"].notna() & (a.table["target"].astype(str) != ""), "area_code"]
    _parquet(r12[r12["area_code"].isin(set(with_target))], out / "target_values.parquet")
    _parquet(a.targets if a.targets is not None else pd.DataFrame({"area_code": [], "indicator": []}),
             out / "targets.parquet")
    options = {k: v for k, v in a.options.items() if isinstance(v, (str, int, float, bool, type(None)))
               and k != "targets"}
    meta = {"format": FORMAT, "level": a.level, "framework": framework, "data": str(data) if data else None,
            "options": options,
            "dataset": getattr(a.dataset, "name", None), "period_end": str(end.date()) if pd.notna(end) else None,
            "method": _jsonable(a.table.attrs.get("method", {})),
            "run": _jsonable(a.run.as_dict()) if a.run is not None else None}
    (out / "meta.json").write_text(json.dumps(meta, indent=1))


def _jsonable(obj):
    return json.loads(json.dumps(obj, default=str))


def _parquet(df: pd.DataFrame, path: Path) -> None:
    df = df.reset_index(drop=True)
    df.attrs = {}
    df.to_parquet(path, index=False, row_group_size=4096)


class LazyValues(dict):
    """``Assessment.values`` read from the snapshot when first asked for: "month" (the monthly indicator values the
    decision review reads, its columns only) and "rolling12" (the rows of the areas that have targets: what the
    target chart reads)."""

    FILES = {"month": "month_values.parquet", "rolling12": "target_values.parquet"}

    def __init__(self, path: Path):
        super().__init__()
        self.path = path

    def __missing__(self, key: str) -> pd.DataFrame:
        if key not in self.FILES:
            raise KeyError(key)
        self[key] = pd.read_parquet(self.path / self.FILES[key])
        return self[key]


@dataclass
class Snapshot(Assessment):
    """A stored national assessment: an ``Assessment`` whose table and groups are in memory and whose histories
    and SPC points are read from disk one area and indicator at a time."""

    path: Path | None = None
    meta: dict = field(default_factory=dict)

    @property
    def all_areas(self) -> pd.DataFrame:
        return self.dataset.areas

    @property
    def period_end(self) -> pd.Timestamp | None:
        return pd.Timestamp(self.meta["period_end"]) if self.meta.get("period_end") else None

    def area_name(self, code: str) -> str:
        hit = self.all_areas.loc[self.all_areas["area_code"] == code, "area_name"]
        return str(hit.iloc[0]) if len(hit) else code

    def history(self) -> pd.DataFrame:
        """Every area's rolling-12 history (read whole; ``series`` reads one area's)."""
        if self._history is None:
            self._history = pd.read_parquet(self.path / "series.parquet")
        return self._history

    def series(self, area: str, indicator: str) -> pd.DataFrame:
        """The area's rolling-12 history for one indicator beside its MSG benchmark and band, oldest first."""
        self.framework.get(indicator)
        return self._read("series.parquet", self._code(area), indicator)

    def spc(self, area: str, indicator: str) -> pd.DataFrame:
        """The points of the area's XmR chart for one indicator."""
        self.framework.get(indicator)
        return self._read("spc.parquet", self._code(area), indicator)

    def _read(self, name: str, code: str, indicator: str) -> pd.DataFrame:
        import pyarrow.parquet as pq

        t = pq.read_table(self.path / name, filters=[("area_code", "==", code), ("indicator", "==", indicator)])
        return t.to_pandas().drop(columns=["area_code", "indicator"]).reset_index(drop=True)


@dataclass
class AreasOnly:
    """The areas and characteristics tables of a dataset with ``Dataset``'s area lookups."""

    areas: pd.DataFrame
    name: str
    characteristics: pd.DataFrame | None = None

    def level(self, level: str) -> pd.DataFrame:
        return self.areas[self.areas["level"] == level].reset_index(drop=True)

    def area(self, code: str) -> pd.Series:
        hit = self.areas[self.areas["area_code"] == code]
        if hit.empty:
            hit = self.areas[self.areas["area_name"].str.lower() == str(code).lower()]
        if hit.empty:
            raise KeyError(f"no area with code or name {code!r} in {self.name}")
        return hit.iloc[0]


def open_snapshot(data=None, path: Path | str | None = None) -> Snapshot:
    """The snapshot at ``path``, else the one ``perfwork serve`` named in $PERFWORK_APP_SNAPSHOT, else the cached
    one for ``data`` (built now if missing)."""
    from ..framework import load_framework
    from ..provenance import RunRecord

    path = Path(path or os.environ.get(ENV) or build(data))
    meta = json.loads((path / "meta.json").read_text())
    try:
        os.utime(path / "meta.json")              # in use: ``prune`` keeps it
    except OSError:
        pass
    if meta.get("format") != FORMAT:
        raise ValueError(f"{path}: snapshot format {meta.get('format')}, expected {FORMAT}; rebuild it")
    table = pd.read_parquet(path / "table.parquet")
    table.attrs = {"method": meta.get("method", {})}
    targets = pd.read_parquet(path / "targets.parquet")
    areas = AreasOnly(pd.read_parquet(path / "areas.parquet"), meta.get("dataset") or "dataset",
                      pd.read_parquet(path / "characteristics.parquet"))
    return Snapshot(dataset=areas,
                    framework=load_framework(meta["framework"]), level=meta["level"], table=table,
                    groups=pd.read_parquet(path / "groups.parquet"), values=LazyValues(path),
                    options=dict(meta.get("options") or {}), run=RunRecord(**meta["run"]) if meta.get("run") else None,
                    targets=targets if len(targets) else None, path=path, meta=meta)
