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
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

FORMAT = 2
SERIES_COLUMNS = ["period_end", "value", "lower", "upper", "numerator", "denominator", "complete", "months_missing",
                  "benchmark", "band_lower", "band_upper", "peers_n", "peer_judgement", "group_rank", "group_size"]
FILES = ("meta.json", "areas.parquet", "table.parquet", "groups.parquet", "series.parquet", "spc.parquet",
         "target_values.parquet", "month.parquet")
# the monthly values the decision review tests (numerators and exposures per month), as indicators() gives them
MONTH_COLUMNS = ["area_code", "indicator", "period_end", "label", "kind", "polarity", "numerator", "denominator",
                 "value", "complete"]
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
    ``targets``: as ``pw.assess``; "default" means the demo targets on the demo and none elsewhere."""
    if targets == "default":
        targets = "demo" if data is None else None
    out = Path(out) if out else cache_root() / source_key(data, framework, targets)
    if all((out / f).exists() for f in FILES):
        return out
    import perfwork as pw

    a = pw.assess_all(pw.load(data), level=level, framework=framework, targets=targets)
    tmp = Path(tempfile.mkdtemp(prefix=".building-", dir=_mkdir(out.parent)))
    try:
        _write(a, tmp, data, framework)
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def _mkdir(p: Path) -> Path:
    p.mkdir(parents=True, exist_ok=True)
    return p


def _write(a, out: Path, data, framework: str) -> None:
    keys = ["area_code", "indicator", "period_end"]
    hist = a.history()
    series = hist[["area_code", "indicator"] + [c for c in SERIES_COLUMNS if c in hist.columns]]
    _parquet(series.sort_values(keys), out / "series.parquet")
    end = a.table["period_end"].max()
    from ..trends import spc_points_all

    _parquet(spc_points_all(a.values["month"], period_end=end), out / "spc.parquet")
    _parquet(a.table, out / "table.parquet")
    _parquet(a.groups, out / "groups.parquet")
    _parquet(a.dataset.areas, out / "areas.parquet")
    r12 = a.values["rolling12"]
    with_target = a.table.loc[a.table["target"].notna() & (a.table["target"].astype(str) != ""), "area_code"]
    _parquet(r12[r12["area_code"].isin(set(with_target))], out / "target_values.parquet")
    _parquet(a.values["month"][MONTH_COLUMNS].sort_values(keys), out / "month.parquet")
    options = {k: v for k, v in a.options.items() if isinstance(v, (str, int, float, bool, type(None)))}
    meta = {"format": FORMAT, "level": a.level, "framework": framework, "data": str(data) if data else None,
            "options": options,
            "dataset": getattr(a.dataset, "name", None), "period_end": str(end.date()) if pd.notna(end) else None,
            "method": _jsonable(a.table.attrs.get("method", {}))}
    (out / "meta.json").write_text(json.dumps(meta, indent=1))


def _jsonable(obj):
    return json.loads(json.dumps(obj, default=str))


def _parquet(df: pd.DataFrame, path: Path) -> None:
    df = df.reset_index(drop=True)
    df.attrs = {}
    df.to_parquet(path, index=False, row_group_size=4096)


@dataclass
class Snapshot:
    """A stored national assessment: the table and groups in memory, histories and SPC points read per area."""

    path: Path
    meta: dict
    table: pd.DataFrame
    groups: pd.DataFrame
    all_areas: pd.DataFrame
    _framework: object = field(default=None, repr=False)
    _values: dict | None = field(default=None, repr=False)

    @property
    def options(self) -> dict:
        """The options the assessment ran with (targets, overdispersion, ...), as ``Assessment.options``."""
        return dict(self.meta.get("options") or {})

    @property
    def dataset(self) -> "AreasOnly":
        """The dataset's areas (what the charts ask of ``Assessment.dataset``); counts stay on disk."""
        return AreasOnly(self.all_areas, self.meta.get("dataset") or "dataset")

    @property
    def values(self) -> dict:
        """{"rolling12": the rolling-12 indicator rows of the areas that have targets, "month": the monthly
        values (``MONTH_COLUMNS``)} — what the target chart and the decision review read of
        ``Assessment.values``; the monthly frame is read on first use."""
        if self._values is None:
            self._values = _Values(self.path)
        return self._values

    @property
    def level(self) -> str:
        return self.meta["level"]

    @property
    def period_end(self) -> pd.Timestamp | None:
        return pd.Timestamp(self.meta["period_end"]) if self.meta.get("period_end") else None

    @property
    def framework(self):
        if self._framework is None:
            from ..framework import load_framework

            self._framework = load_framework(self.meta["framework"])
        return self._framework

    @property
    def areas(self) -> pd.DataFrame:
        """The areas of the level (code, name, parent), by code."""
        a = self.all_areas
        return a[a["level"] == self.level].sort_values("area_code").reset_index(drop=True)

    def area_name(self, code: str) -> str:
        hit = self.all_areas.loc[self.all_areas["area_code"] == code, "area_name"]
        return str(hit.iloc[0]) if len(hit) else code

    def _code(self, area: str) -> str:
        a = self.areas
        hit = a[(a["area_code"] == area) | (a["area_name"] == area)]
        if hit.empty:
            raise KeyError(f"{area!r} is not a {self.level} of this assessment")
        return str(hit["area_code"].iloc[0])

    def for_area(self, area: str) -> pd.DataFrame:
        """One area's rows, in the assessment's order: exceptions first by priority."""
        code = self._code(area)
        out = self.table[self.table["area_code"] == code].reset_index(drop=True)
        out.attrs = {"method": self.meta.get("method", {})}
        return out

    def peers(self, area: str) -> pd.DataFrame:
        code = self._code(area)
        return self.groups[self.groups["area_code"] == code].sort_values("rank").reset_index(drop=True)

    def series(self, area: str, indicator: str) -> pd.DataFrame:
        """The area's rolling-12 history for one indicator beside its MSG benchmark and band, oldest first."""
        return self._read("series.parquet", self._code(area), indicator)

    def spc(self, area: str, indicator: str) -> pd.DataFrame:
        """The points of the area's XmR chart for one indicator."""
        return self._read("spc.parquet", self._code(area), indicator)

    def _read(self, name: str, code: str, indicator: str) -> pd.DataFrame:
        import pyarrow.parquet as pq

        t = pq.read_table(self.path / name, filters=[("area_code", "==", code), ("indicator", "==", indicator)])
        return t.to_pandas().drop(columns=["area_code", "indicator"]).reset_index(drop=True)


class _Values(dict):
    """The stored indicator frames, each read from disk when first asked for."""

    FILES = {"rolling12": "target_values.parquet", "month": "month.parquet"}

    def __init__(self, path: Path):
        super().__init__()
        self.path = path

    def __missing__(self, key: str) -> pd.DataFrame:
        if key not in self.FILES:
            raise KeyError(key)
        self[key] = pd.read_parquet(self.path / self.FILES[key])
        return self[key]


@dataclass
class AreasOnly:
    """The areas table of a dataset with ``Dataset``'s area lookups."""

    areas: pd.DataFrame
    name: str

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
    path = Path(path or os.environ.get(ENV) or build(data))
    meta = json.loads((path / "meta.json").read_text())
    if meta.get("format") != FORMAT:
        raise ValueError(f"{path}: snapshot format {meta.get('format')}, expected {FORMAT}; rebuild it")
    return Snapshot(path=path, meta=meta, table=pd.read_parquet(path / "table.parquet"),
                    groups=pd.read_parquet(path / "groups.parquet"),
                    all_areas=pd.read_parquet(path / "areas.parquet"))
