"""Counts into indicator values: numerator, denominator, value and 95% limits per area and period.

Periods (``period_end`` is the first day of a period's last month):

- ``month``: each month;
- ``rolling12``: the 12 months ending each month (from the 12th month of data on);
- ``quarter``: calendar quarters (Jan-Mar, Apr-Jun, ...: the financial quarters too) wholly inside the data;
- ``fy``: financial years, April to March, wholly inside the data;
- ``ytd``: financial year to date, April to each month (when that April is inside the data).

``period_end="latest"`` is the latest period of the kind asked for (the last full financial year for ``fy``).

Areas above the level the counts are recorded at are built by summing numerators and denominators over the
areas below them, never by averaging rates. A period that touches a month missing for the area (or for any
area inside it, or for the area it sits in), for every measure or for one the indicator reads, is marked
``complete = False`` and has no numerator or value.

Population year: a period uses the mid-year estimate (30 June) of the latest June on or before the end of its
last month (so 2024/25 uses mid-2024, a rolling 12 months ending May 2025 also mid-2024, one ending June 2025
mid-2025). Where the dataset has no estimate for that year, the nearest year it has is used; ``pop_year`` says
which. Rates for periods shorter than a year are not annualised.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import geography, periods, stats
from .dataset import LEVELS, DataError, Dataset
from .errors import UsageError
from .frames import category, text
from .framework import Framework, load_framework
from .geography import population_year
from .periods import PERIODS, windows

__all__ = ["PERIODS", "indicators", "population_year", "windows"]

METHODS = ("Exact 95%", "Byars 95%", "Wilson 95%")  # the limits' methods (stats.rate_ci, stats.proportion_ci)


def _level_areas(dataset: Dataset, level: str, areas) -> pd.DataFrame:
    out = dataset.level(level)
    if areas is not None:
        wanted = [areas] if isinstance(areas, str) else list(areas)
        codes = [dataset.area(a)["area_code"] for a in wanted]
        out = out[out["area_code"].isin(codes)].reset_index(drop=True)
    if out.empty:
        raise UsageError(f"{dataset.name} has no {level} areas" + (f" among {areas!r}" if areas is not None else ""))
    return out


def _affected(dataset: Dataset, level: str, codes: pd.Index) -> pd.DataFrame:
    """Which ``level`` areas a fact about an area touches: its ancestor at ``level`` (for areas at or below it)
    or every ``level`` area beneath it (for areas above). Columns: area_code, target."""
    rows = [dataset.ancestors(level).rename(columns={"ancestor": "target"})]
    for higher in LEVELS[LEVELS.index(level) + 1:]:
        up = dataset.ancestors(higher)
        rows.append(up[up["area_code"].isin(codes)].rename(columns={"area_code": "target", "ancestor": "area_code"}))
    out = pd.concat(rows, ignore_index=True)
    return out[out["target"].isin(codes)]


PARTIAL = ("annualise",)
PARTIAL_MIN_MONTHS = 9


def indicators(dataset: Dataset, framework: str | Framework = "national", period: str = "rolling12",
               level: str = "csp", areas=None, period_end=None, partial: str | None = None,
               partial_min_months: int = PARTIAL_MIN_MONTHS) -> pd.DataFrame:
    """Indicator values for every area of ``level`` and every period of one kind.

    Returns one row per area, period and indicator: area_code, area_name, level, period, period_start,
    period_end, indicator, label, domain, kind, polarity, multiplier, numerator, denominator, value, lower,
    upper (95%), method (how the limits were computed), months, months_missing, months_used, coverage
    ("11 of 12 months": how many months the value rests on), complete and pop_year. The descriptive columns
    (level, period, label, domain, kind, polarity, method, coverage) are categoricals: the same few texts on every
    row, held once (half the memory of a national table). ``areas`` limits the output to some areas (codes or
    names); ``period_end`` to one period end (a month, or ``"latest"``).

    ``partial="annualise"`` (never the default) gives a value to a period touching missing months when at least
    ``partial_min_months`` of its months have data: the count over the months available against the exposure
    scaled by months available / months (population x 11/12; a count's exposure 11/12; a proportion's own
    denominator), so the limits are the count's own exact/Byar limits. Missing months are never read as zero;
    such rows keep ``complete = False`` and their ``method`` and ``coverage`` say "11 of 12 months".
    """
    if partial not in (None, *PARTIAL):
        raise UsageError(f"partial={partial!r}: expected None or {' / '.join(PARTIAL)}")
    fw = load_framework(framework)
    targets = _level_areas(dataset, level, areas)
    codes = pd.Index(targets["area_code"])
    months = dataset.months
    if len(months) == 0:
        raise DataError(f"{dataset.name} has no counts")
    win = windows(months, period)
    if win.empty:
        raise UsageError(f"the data ({len(months)} months) hold no complete {period} period")
    if period_end is not None:
        win = win[win["period_end"].isin(periods.select(win["period_end"], period_end, kind=period))]
    counts = _Counts(dataset, fw, level, codes)
    miss, miss_by_measure = _missing_months(dataset, level, codes, months)
    w = _Windows(win)
    a = _Arrays((len(codes), len(win), len(fw)))
    pop_years = population_year(win["period_end"])
    populations: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    missing_all = w.sum(miss)  # [area, window]
    for j, ind in enumerate(fw):
        num = counts.window_sum(w, ind.numerator)
        if ind.kind == "count":
            den = np.ones_like(num)
        elif ind.per_population:
            if ind.denominator not in populations:
                matrix = geography.population_matrix(dataset, level, codes, ind.denominator)
                populations[ind.denominator] = geography.nearest_year(matrix, pop_years)
            den, a.year[:, :, j] = populations[ind.denominator]
            a.year[:, :, j] = geography.estimate_years(dataset, codes, a.year[:, :, j])
        else:
            den = counts.window_sum(w, ind.denominator)
        gaps = [miss_by_measure[m] for m in ind.measures() if m in miss_by_measure]
        missing_w = w.sum(np.maximum(miss, np.maximum.reduce(gaps))) if gaps else missing_all
        available = counts.available(ind)
        used = np.where(available, w.months - missing_w, 0).astype(np.int64)
        part = (missing_w > 0) & (used >= partial_min_months) if partial else np.zeros(used.shape, dtype=bool)
        if part.any() and ind.kind != "proportion":  # the exposure of the months with data only
            den = np.where(part, den * used / w.months, den)
        a.used[:, :, j] = used
        a.put(j, ind, num, den, missing_w, complete=(missing_w == 0) & available, partial=part)
    return a.frame(fw, codes, targets["area_name"], level, period, win)


class _Counts:
    """Counts as a dense [area, month, measure] array at ``level``: the dataset's cached cube summed into the
    level's areas, for the measures the framework reads."""

    def __init__(self, dataset: Dataset, fw: Framework, level: str, codes: pd.Index) -> None:
        cube = dataset.cube()
        needed = sorted(set().union(*(ind.measures() for ind in fw)))
        self.index = {m: j for j, m in enumerate(needed)}
        anc = dataset.ancestors(level)
        into = codes.get_indexer(cube.areas.map(dict(zip(anc["area_code"], anc["ancestor"]))))
        pos = cube.measures.get_indexer(needed)
        # A measure the dataset never records counts zero beside recorded ones; an indicator none of whose
        # numerator measures is recorded has no value at all (e.g. outcome rates on data without outcomes).
        sub = np.where(pos >= 0, cube.values[:, :, np.maximum(pos, 0)], 0.0)
        self.recorded = set(cube.measures)
        above_level = ~cube.areas.isin(anc["area_code"])
        self.above = {m for m, n in zip(needed, sub[above_level].sum(axis=(0, 1))) if n > 0}
        member = np.zeros((len(codes), len(cube.areas)))
        member[into[into >= 0], np.flatnonzero(into >= 0)] = 1.0
        self.X = np.tensordot(member, sub, axes=(1, 0))
        self._windowed = None

    def window_sum(self, w: _Windows, measures) -> np.ndarray:
        """[area, window] sums of some measures."""
        if self._windowed is None:
            self._windowed = w.sum(self.X)  # [area, window, measure]
        return self._windowed[:, :, [self.index[m] for m in measures]].sum(axis=2)

    def available(self, ind) -> bool:
        """Whether the indicator can be computed at this level: none of its measures is recorded above the
        level, and at least one numerator measure is recorded at all."""
        return not (ind.measures() & self.above) and bool(set(ind.numerator) & self.recorded)


def _missing_months(dataset: Dataset, level: str, codes: pd.Index, months: pd.DatetimeIndex
                    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """[area, month] 1 where a month is missing for every measure, and the same per measure where a single
    source was absent."""
    miss = np.zeros((len(codes), len(months)))
    miss_by_measure: dict[str, np.ndarray] = {}
    if len(dataset.missing):
        month_pos = pd.Index(months)
        hit = dataset.missing.merge(_affected(dataset, level, codes), on="area_code")
        for measure, part in hit.groupby(hit["measure"].fillna(""), sort=False):
            part = part.drop_duplicates(["target", "month"])
            where = (codes.get_indexer(part["target"]), month_pos.get_indexer(part["month"]))
            if measure:
                miss_by_measure.setdefault(measure, np.zeros_like(miss))[where] = 1
            else:
                miss[where] = 1
    return miss, miss_by_measure


class _Windows:
    """Sums over each period's months, by differences of cumulative sums along the month axis."""

    def __init__(self, win: pd.DataFrame) -> None:
        self.start, self.end = win["start"].to_numpy(), win["end"].to_numpy()
        self.months = (self.end - self.start + 1)[None, :]  # [1, window]

    def sum(self, arr: np.ndarray) -> np.ndarray:
        c = np.concatenate([np.zeros_like(arr[:, :1]), np.cumsum(arr, axis=1)], axis=1)
        return c[:, self.end + 1] - c[:, self.start]


class _Arrays:
    """The [area, window, indicator] arrays of the result, so the rows come out already in (area, period_end,
    indicator) order."""

    def __init__(self, shape: tuple[int, int, int]) -> None:
        self.num, self.den = np.full(shape, np.nan), np.full(shape, np.nan)
        self.value, self.lower, self.upper = np.full(shape, np.nan), np.full(shape, np.nan), np.full(shape, np.nan)
        self.method = np.full(shape, -1, dtype=np.int8)  # codes into METHODS
        self.complete = np.zeros(shape, dtype=bool)
        self.year = np.full(shape, -1)
        self.missing = np.zeros(shape, dtype=int)
        self.used = np.zeros(shape, dtype=np.int64)      # months with data
        self.partial = np.zeros(shape, dtype=bool)       # valued from the months with data (partial=)

    def put(self, j: int, ind, num: np.ndarray, den: np.ndarray, missing_w: np.ndarray,
            complete: np.ndarray, partial: np.ndarray) -> None:
        """Indicator ``j``: numerator and denominator where complete (or valued from the months with data:
        ``partial``), the value and its 95% limits."""
        self.missing[:, :, j] = missing_w
        self.complete[:, :, j] = complete
        self.partial[:, :, j] = partial
        use = complete | partial
        self.num[:, :, j] = np.where(use, num, np.nan)
        if ind.kind != "count":  # a population is known even when the counts are not
            self.den[:, :, j] = np.where(use | ind.per_population, den, np.nan)
        else:  # a count's exposure: 1, or the share of the months with data when annualised
            self.den[:, :, j] = np.where(partial, den, np.nan)
        ok = use & ~np.isnan(den) & (den > 0)
        if not ok.any():
            return
        if ind.kind == "proportion":
            ci = stats.proportion_ci(num[ok], den[ok], multiplier=ind.multiplier)
            self.method[ok, j] = METHODS.index("Wilson 95%")
        else:
            ci = stats.rate_ci(num[ok], den[ok], multiplier=1.0 if ind.kind == "count" else ind.multiplier)
            cat = ci["method"].cat
            self.method[ok, j] = pd.Index(METHODS).get_indexer(cat.categories + " 95%")[cat.codes.to_numpy()]
        self.value[ok, j], self.lower[ok, j], self.upper[ok, j] = ci["value"], ci["lower"], ci["upper"]

    def frame(self, fw: Framework, codes: pd.Index, names, level: str, period: str,
              win: pd.DataFrame) -> pd.DataFrame:
        area_i, win_i, ind_i = (x.ravel() for x in np.indices(self.num.shape))
        meta = fw.table().set_index("id")
        w = win.reset_index(drop=True)
        year = self.year.ravel()
        zeros = np.zeros(len(area_i), dtype=np.int64)
        months = (w["end"] - w["start"] + 1).to_numpy()[win_i]
        return pd.DataFrame({
            "area_code": text(codes, area_i),
            "area_name": text(names, area_i),
            "level": category([level], zeros),
            "period": category([period], zeros),
            "period_start": w["period_start"].to_numpy()[win_i],
            "period_end": w["period_end"].to_numpy()[win_i],
            "indicator": text([ind.id for ind in fw], ind_i),
            **{col: category(meta[col], ind_i) for col in ("label", "domain", "kind", "polarity")},
            "multiplier": meta["multiplier"].to_numpy()[ind_i],
            "numerator": self.num.ravel(), "denominator": self.den.ravel(),
            "value": self.value.ravel(), "lower": self.lower.ravel(), "upper": self.upper.ravel(),
            "method": self._methods(months),
            "months": months,
            "months_missing": self.missing.ravel(),
            "months_used": self.used.ravel(),
            "coverage": _coverage(self.used.ravel(), months),
            "complete": self.complete.ravel(),
            "pop_year": pd.arrays.IntegerArray(np.where(year >= 0, year, 0).astype("int64"), year < 0),
        })

    def _methods(self, months: np.ndarray) -> pd.Series:
        """The limits' method per row; a value from the months with data says how many ("11 of 12 months")."""
        m, part, used = self.method.ravel().astype(np.int64), self.partial.ravel(), self.used.ravel()
        key = np.where(m < 0, -1, (m * 1000 + np.where(part, used, 0)) * 1000 + np.where(part, months, 0))
        codes, uni = pd.factorize(key)
        words = []
        for k in uni:
            if k < 0:
                words.append(None)
                continue
            base, u, n = METHODS[k // 1_000_000], (k // 1000) % 1000, k % 1000
            how = "share over the months with data" if base.startswith("Wilson") else "annualised"
            words.append(base if not u else f"{base}, {how}: {u} of {n} months")
        return category(words, np.where(key < 0, -1, codes))


def _coverage(used: np.ndarray, months: np.ndarray) -> pd.Series:
    """'11 of 12 months' per row, built once per distinct pair."""
    codes, uni = pd.factorize(used.astype(np.int64) * 1000 + months)
    return category([f"{u // 1000} of {u % 1000} month{'s' if u % 1000 != 1 else ''}" for u in uni], codes)
