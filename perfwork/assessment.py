"""An assessment computed once for every area of a level and read many times (reports, batch, apps).

    a = pw.assess_all(ds, level="csp")            # the national work, once
    a.for_area("DK-C0123")                        # that area's rows, as pw.assess(ds, area=...) gives them
    a.series("DK-C0123", "burglary")         # the rolling-12 history with the MSG benchmark and band
    a.spc("DK-C0123", "burglary")            # the XmR chart's points
    a.peers("DK-C0123")                           # the area's group, nearest first
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from . import peers as _peers
from . import trends as _trends
from .dataset import Dataset
from .framework import Framework, load_framework
from .indicators import indicators
from .judgement import _groups
from .judgement import assess as _assess

SERIES_COLUMNS = ["period_end", "value", "lower", "upper", "numerator", "denominator", "complete", "months_missing",
                  "benchmark", "band_lower", "band_upper", "peers_n", "peer_judgement", "group_rank", "group_size"]


@dataclass
class Assessment:
    """Every area of one level judged at once: ``table`` (``pw.assess`` columns), ``groups`` (peer groups),
    ``values`` ({"rolling12", "month"} indicator frames), ``framework`` and the options the run used."""

    dataset: Dataset
    framework: Framework
    level: str
    table: pd.DataFrame
    groups: pd.DataFrame
    values: dict[str, pd.DataFrame]
    options: dict = field(default_factory=dict)
    _by_area: dict = field(default=None, repr=False)
    _history: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def areas(self) -> pd.DataFrame:
        """The areas of the level (code, name, parent)."""
        return self.dataset.level(self.level)

    def _code(self, area: str) -> str:
        row = self.dataset.area(area)
        if row["level"] != self.level:
            raise ValueError(f"{row['area_code']} ({row['area_name']}) is a {row['level']}; this assessment is of "
                             f"{self.level}s")
        return row["area_code"]

    def for_area(self, area: str) -> pd.DataFrame:
        """One area's rows (code or name), in the assessment's order: exceptions first by priority."""
        if self._by_area is None:
            self._by_area = {c: idx for c, idx in self.table.groupby("area_code", sort=False).indices.items()}
        code = self._code(area)
        rows = self._by_area.get(code)
        if rows is None:
            raise KeyError(f"{code} is not in this assessment")
        out = self.table.take(rows).reset_index(drop=True)
        out.attrs = dict(self.table.attrs)
        return out

    def peers(self, area: str) -> pd.DataFrame:
        """The area's peer group, nearest first, with each characteristic's contribution to the distance."""
        code = self._code(area)
        return self.groups[self.groups["area_code"] == code].sort_values("rank").reset_index(drop=True)

    def history(self) -> pd.DataFrame:
        """The peer comparison at every rolling-12 period end (computed on first use)."""
        if self._history is None:
            self._history = _peers.compare(self.values["rolling12"], self.groups,
                                           benchmark=self.options.get("benchmark", "pooled"),
                                           include_self=self.options.get("include_self", True))
        return self._history

    def series(self, area: str, indicator: str) -> pd.DataFrame:
        """The area's rolling-12 history for one indicator beside its MSG benchmark and band, oldest first;
        incomplete windows keep their row with no value (a gap, never a zero)."""
        code = self._code(area)
        self.framework.get(indicator)
        h = self.history()
        s = h[(h["area_code"] == code) & (h["indicator"] == indicator)].sort_values("period_end")
        return s[[c for c in SERIES_COLUMNS if c in s.columns]].reset_index(drop=True)

    def spc(self, area: str, indicator: str) -> pd.DataFrame:
        """The points of the area's XmR chart for one indicator up to the assessment's period end."""
        code = self._code(area)
        end = self.table["period_end"].max() if len(self.table) else None
        return _trends.spc_points(self.values["month"], code, indicator, period_end=end)


def assess_all(dataset: Dataset, level: str = "csp", period_end=None, framework="national", peers=None,
               targets=None, **options) -> Assessment:
    """Judge every area of ``level`` once (arguments as ``pw.assess``); read areas with ``.for_area``."""
    fw = framework if isinstance(framework, Framework) else load_framework(framework)
    values = {"rolling12": indicators(dataset, fw, period="rolling12", level=level),
              "month": indicators(dataset, fw, period="month", level=level)}
    groups = _groups(dataset, peers, level, options.get("k"), options.get("method"))
    table = _assess(dataset, None, period_end=period_end, level=level, framework=fw, peers=groups,
                    targets=targets, values=values, **options)
    return Assessment(dataset=dataset, framework=fw, level=level, table=table, groups=groups, values=values,
                      options=dict(options, period_end=period_end, targets=targets))
