"""An assessment computed once for every area of a level and read many times (reports, batch, apps).

    a = pw.assess_all(ds, level="csp")            # the national work, once
    a.for_area("DK-C0123")                        # that area's rows, as pw.assess(ds, area=...) gives them
    a.series("DK-C0123", "burglary")              # the rolling-12 history with the MSG benchmark and band
    a.spc("DK-C0123", "burglary")                 # the XmR chart's points
    a.peers("DK-C0123")                           # the area's group, nearest first
    a.run                                         # the run record: data, framework, peers, options
    a.to_csv("out.csv"), a.to_xlsx("out.xlsx")    # exports that carry the run record

Reads are lookups: each area's rows are found through an index built once, so ``for_area`` costs about a
millisecond. ``assess_all`` keeps the last few assessments, keyed by what the result depends on (the dataset's
and framework's content fingerprints, the level, the period ends, the peer groups', targets' and options'
fingerprints): asking again with the same inputs returns the same object; any change computes afresh.
Treat an Assessment as read-only (``for_area`` and ``series`` hand out copies).
"""

from __future__ import annotations

import inspect
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import judgement as _judgement
from . import peers as _peers
from . import periods, provenance
from . import trends as _trends
from .dataset import Dataset
from .errors import NotFound
from .framework import Framework, load_framework
from .provenance import RunRecord
from .values import indicators

SERIES_COLUMNS = ["period_end", "value", "lower", "upper", "numerator", "denominator", "complete", "months_missing",
                  "benchmark", "band_lower", "band_upper", "peers_n", "peer_judgement", "group_rank", "group_size"]
CACHE_SIZE = 2  # assessments kept (each holds a level's indicator history: ~200 MB for the demo's CSPs)
OPTIONS = {name: p.default for name, p in inspect.signature(_judgement.assess).parameters.items()
           if p.kind is p.KEYWORD_ONLY and name != "values"}

_cache: OrderedDict = OrderedDict()


@dataclass
class Assessment:
    """Every area of one level judged at once: ``table`` (``pw.assess`` columns), ``groups`` (peer groups),
    ``values`` ({"rolling12", "month"} indicator frames), ``framework``, the ``options`` the run used and
    ``run``, its run record."""

    dataset: Dataset
    framework: Framework
    level: str
    table: pd.DataFrame
    groups: pd.DataFrame
    values: dict[str, pd.DataFrame]
    options: dict = field(default_factory=dict)
    run: RunRecord | None = None
    targets: pd.DataFrame | None = None
    _rows: dict = field(default=None, repr=False)
    _areas: dict = field(default_factory=dict, repr=False)
    _history: pd.DataFrame | None = field(default=None, repr=False)
    _history_rows: dict = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self._rows is None:
            self._rows = self.table.groupby("area_code", sort=False).indices

    @property
    def areas(self) -> pd.DataFrame:
        """The areas of the level (code, name, parent)."""
        return self.dataset.level(self.level)

    def _code(self, area: str) -> str:
        if area in self._rows:
            return area
        code = _judgement.area_code(self.dataset, area, self.level)
        if code not in self._rows:
            raise NotFound(f"{code} is not in this assessment")
        return code

    def for_area(self, area: str) -> pd.DataFrame:
        """One area's rows (code or name), in the assessment's order: exceptions first by priority; the same
        table as ``pw.assess(dataset, area=...)`` with the same arguments."""
        code = self._code(area)
        out = self._areas.get(code)
        if out is None:
            out = self.table.take(self._rows[code]).reset_index(drop=True)
            out.attrs = {"method": _judgement.method_texts(out, self.table.attrs.get("method", {}),
                                                           self.groups)}
            self._areas[code] = out
        return out.copy(deep=False)

    def peers(self, area: str) -> pd.DataFrame:
        """The area's peer group, nearest first, with each characteristic's contribution to the distance."""
        code = self._code(area)
        return self.groups[self.groups["area_code"] == code].sort_values("rank").reset_index(drop=True)

    def history(self) -> pd.DataFrame:
        """The peer comparison at every rolling-12 period end (computed on first use): by area and indicator, the
        columns ``series`` returns. Only those are kept (``peers.compare`` adds some 25 more, mostly repeated
        method text): for the demo's CSPs that is 50 MB rather than 210."""
        if self._history is None:
            r12 = self.values["rolling12"]
            rows, parts = [], []
            # one indicator at a time: the comparison's [group, member, period] arrays for every indicator at
            # once would take some 250 MB more at their peak; the frame is then built once, from the rows kept
            for idx in r12.groupby("indicator", sort=False, observed=True).indices.values():
                mask, cols = _peers.compare_arrays(r12.take(idx), self.groups,
                                                   benchmark=self.options.get("benchmark", "pooled"),
                                                   include_self=self.options.get("include_self", True),
                                                   overdispersion=self.options.get("overdispersion", "none"))
                rows.append(idx[mask])
                parts.append({c: cols[c] for c in SERIES_COLUMNS if c in cols})
            rows = np.concatenate(rows) if rows else np.array([], dtype=np.int64)
            keep = ["area_code", "indicator"] + [c for c in SERIES_COLUMNS if c in r12.columns
                                                 and not (parts and c in parts[0])]
            h = r12[keep].take(rows).reset_index(drop=True)
            for c in (parts[0] if parts else ()):
                pieces = [part[c] for part in parts]
                h[c] = (np.concatenate(pieces) if isinstance(pieces[0], np.ndarray)
                        else type(pieces[0])._concat_same_type(pieces))       # Int64 ranks stay Int64
            self._history = h
            self._history_rows = self._history.groupby(["area_code", "indicator"], sort=False).indices
        return self._history

    def series(self, area: str, indicator: str) -> pd.DataFrame:
        """The area's rolling-12 history for one indicator beside its MSG benchmark and band, oldest first;
        incomplete windows keep their row with no value (a gap, never a zero)."""
        code = self._code(area)
        self.framework.get(indicator)
        h = self.history()
        rows = self._history_rows.get((code, indicator), np.array([], dtype=np.int64))
        s = h.take(rows).sort_values("period_end")
        return s[[c for c in SERIES_COLUMNS if c in s.columns]].reset_index(drop=True)

    def spc(self, area: str, indicator: str) -> pd.DataFrame:
        """The points of the area's XmR chart for one indicator up to the assessment's period end."""
        code = self._code(area)
        self.framework.get(indicator)
        mine = self.table.loc[self.table["area_code"] == code, "period_end"]  # the area's own period end
        end = mine.max() if len(mine) else None
        return _trends.spc_points(self.values["month"], code, indicator, period_end=end,
                                  months=self.options.get("spc_months", _trends.SPC_MONTHS))

    # ------------------------------------------------------------------ exports
    def for_areas(self, areas=None) -> pd.DataFrame:
        """Some areas' rows (codes or names; None: every area) in the table's order."""
        if areas is None:
            return self.table
        codes = [self._code(a) for a in ([areas] if isinstance(areas, str) else areas)]
        out = self.table[self.table["area_code"].isin(codes)].reset_index(drop=True)
        out.attrs = {"method": _judgement.method_texts(out, self.table.attrs.get("method", {}),
                                                       self.groups)}
        return out

    def to_csv(self, path: str | Path, areas=None) -> Path:
        """The table (or some areas' rows) as CSV with the run columns, and the run record beside it
        (``<file>.run.json``)."""
        return provenance.to_csv(self.for_areas(areas), path, self.run)

    def to_xlsx(self, path: str | Path, areas=None) -> Path:
        """The table (or some areas' rows) as a workbook: a sheet per domain and a Method sheet with the run
        record."""
        return _judgement.to_xlsx(self.for_areas(areas), path, run=self.run)


def _source_key(spec):
    """What a peers or targets argument stands for: a frame by its content, a file by its bytes."""
    if spec is None or isinstance(spec, str) and not Path(spec).suffix:
        return spec
    if isinstance(spec, pd.DataFrame):
        return provenance.frame_fingerprint(spec)
    path = Path(spec)
    if path.is_file():
        return provenance.file_fingerprint(path)
    return str(spec)


def assess_all(dataset: Dataset, level: str = "csp", period_end=None, framework="national", peers=None,
               targets=None, *, cache: bool = True, **options) -> Assessment:
    """Judge every area of ``level`` once (arguments as ``pw.assess``); read areas with ``.for_area``.

    ``cache=False`` computes afresh and keeps nothing."""
    unknown = set(options) - set(OPTIONS)
    if unknown:
        raise TypeError(f"assess_all: unknown option(s) {', '.join(sorted(unknown))}; expected "
                        f"{', '.join(OPTIONS)}")
    fw = load_framework(framework)
    opts = {**OPTIONS, **options}
    # period_end None: each area at its own latest 12 months (pw.assess), resolved inside the judgement
    ends = None if period_end is None else periods.select(periods.windows(dataset.months, "rolling12")["period_end"],
                                                         period_end)
    key = (provenance.dataset_fingerprint(dataset), provenance.framework_fingerprint(fw), level,
           ("own latest",) if ends is None else tuple(ends),
           _source_key(peers), _source_key(targets), tuple(sorted(opts.items())))
    if cache and key in _cache:
        _cache.move_to_end(key)
        return _cache[key]
    result = _compute(dataset, fw, level, ends, peers, targets, opts)
    if cache:
        _cache[key] = result
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return result


def _compute(dataset: Dataset, fw: Framework, level: str, ends: pd.DatetimeIndex, peers, targets,
             opts: dict) -> Assessment:
    values = {"rolling12": indicators(dataset, fw, period="rolling12", level=level, partial=opts.get("partial")),
              "month": indicators(dataset, fw, period="month", level=level)}
    groups = _judgement.groups_for(dataset, peers, level, opts.get("k"), opts.get("weights"), opts.get("method"))
    tg = None if targets is None else _judgement.load_targets(targets, fw, dataset)
    table = _judgement.assess(dataset, None, period_end=ends, level=level, framework=fw, peers=groups,
                              targets=tg, values=values, **opts)
    if ends is None:  # each area at its own latest 12 months: the record lists the ends used
        ends = pd.DatetimeIndex(pd.unique(table["period_end"])).sort_values()
    run = provenance.record(dataset, fw, level=level, period="rolling12", period_end=ends, groups=groups,
                            peer_method=_peers.groups_method(groups), targets=tg, options=opts,
                            methods=table.attrs.get("method"))
    return Assessment(dataset=dataset, framework=fw, level=level, table=table, groups=groups, values=values,
                      options=dict(opts, period_end=run.period_end), run=run, targets=tg)


def clear_cache() -> None:
    """Forget every kept assessment."""
    _cache.clear()
