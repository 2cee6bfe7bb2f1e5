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
from .frames import text
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


def indicators(dataset: Dataset, framework: str | Framework = "national", period: str = "rolling12",
               level: str = "csp", areas=None, period_end=None) -> pd.DataFrame:
    """Indicator values for every area of ``level`` and every period of one kind.

    Returns one row per area, period and indicator: area_code, area_name, level, period, period_start,
    period_end, indicator, label, domain, kind, polarity, multiplier, numerator, denominator, value, lower,
    upper (95%), method (how the limits were computed), months, months_missing, complete and pop_year.
    ``areas`` limits the output to some areas (codes or names); ``period_end`` to one period end (a month,
    or ``"latest"``).
    """
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

    # Counts as a dense [area, month, measure] array at the requested level: the cached cube summed into areas.
    cube = dataset.cube()
    needed = sorted(set().union(*(ind.measures() for ind in fw)))
    m_index = {m: j for j, m in enumerate(needed)}
    anc = dataset.ancestors(level)
    into = codes.get_indexer(cube.areas.map(dict(zip(anc["area_code"], anc["ancestor"]))))
    pos = cube.measures.get_indexer(needed)
    # A measure the dataset never records counts zero beside recorded ones; an indicator none of whose
    # numerator measures is recorded has no value at all (e.g. outcome rates on data without outcomes).
    sub = np.where(pos >= 0, cube.values[:, :, np.maximum(pos, 0)], 0.0)
    recorded = set(cube.measures)
    above_level = ~cube.areas.isin(anc["area_code"])
    above = {m for m, n in zip(needed, sub[above_level].sum(axis=(0, 1))) if n > 0}
    member = np.zeros((len(codes), len(cube.areas)))
    member[into[into >= 0], np.flatnonzero(into >= 0)] = 1.0
    X = np.tensordot(member, sub, axes=(1, 0))
    month_pos = pd.Index(months)

    # Missing months: for every measure, and per measure where a single source was absent.
    miss = np.zeros((len(codes), len(months)))
    miss_by_measure: dict[str, np.ndarray] = {}
    if len(dataset.missing):
        hit = dataset.missing.merge(_affected(dataset, level, codes), on="area_code")
        for measure, part in hit.groupby(hit["measure"].fillna(""), sort=False):
            part = part.drop_duplicates(["target", "month"])
            where = (codes.get_indexer(part["target"]), month_pos.get_indexer(part["month"]))
            if measure:
                miss_by_measure.setdefault(measure, np.zeros_like(miss))[where] = 1
            else:
                miss[where] = 1

    # Window sums by differences of cumulative sums.
    def window_sum(arr: np.ndarray) -> np.ndarray:
        c = np.concatenate([np.zeros_like(arr[:, :1]), np.cumsum(arr, axis=1)], axis=1)
        return c[:, win["end"].to_numpy() + 1] - c[:, win["start"].to_numpy()]

    Xw = window_sum(X)  # [area, window, measure]
    missing_all = window_sum(miss)  # [area, window]
    pop_years = population_year(win["period_end"])
    n_area, n_win = len(codes), len(win)

    # Fill [area, window, indicator] arrays, so the rows come out already in (area, period_end, indicator) order.
    n_ind = len(fw)
    shape = (n_area, n_win, n_ind)
    num_all, den_all = np.full(shape, np.nan), np.full(shape, np.nan)
    value, lower, upper = np.full(shape, np.nan), np.full(shape, np.nan), np.full(shape, np.nan)
    method = np.full(shape, -1, dtype=np.int8)  # codes into METHODS
    complete_all = np.zeros(shape, dtype=bool)
    year_all = np.full(shape, -1)
    missing_ind = np.zeros(shape, dtype=int)
    populations: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for j, ind in enumerate(fw):
        num = Xw[:, :, [m_index[m] for m in ind.numerator]].sum(axis=2)
        if ind.kind == "count":
            den = np.ones_like(num)
        elif ind.per_population:
            if ind.denominator not in populations:
                matrix = geography.population_matrix(dataset, level, codes, ind.denominator)
                populations[ind.denominator] = geography.nearest_year(matrix, pop_years)
            den, year_all[:, :, j] = populations[ind.denominator]
        else:
            den = Xw[:, :, [m_index[m] for m in ind.denominator]].sum(axis=2)
        unavailable = bool(ind.measures() & above) or not (set(ind.numerator) & recorded)
        gaps = [miss_by_measure[m] for m in ind.measures() if m in miss_by_measure]
        missing_w = window_sum(np.maximum(miss, np.maximum.reduce(gaps))) if gaps else missing_all
        missing_ind[:, :, j] = missing_w
        complete = (missing_w == 0) & (not unavailable)
        complete_all[:, :, j] = complete
        num_all[:, :, j] = np.where(complete, num, np.nan)
        if ind.kind != "count":  # a population is known even when the counts are not
            den_all[:, :, j] = np.where(complete | ind.per_population, den, np.nan)
        ok = complete & ~np.isnan(den) & (den > 0)
        if ok.any():
            if ind.kind == "proportion":
                ci = stats.proportion_ci(num[ok], den[ok], multiplier=ind.multiplier)
                method[ok, j] = METHODS.index("Wilson 95%")
            else:
                ci = stats.rate_ci(num[ok], den[ok], multiplier=1.0 if ind.kind == "count" else ind.multiplier)
                cat = ci["method"].cat
                method[ok, j] = pd.Index(METHODS).get_indexer(cat.categories + " 95%")[cat.codes.to_numpy()]
            value[ok, j], lower[ok, j], upper[ok, j] = ci["value"], ci["lower"], ci["upper"]

    area_i, win_i, ind_i = (a.ravel() for a in np.indices(shape))
    meta = fw.table().set_index("id")
    ids = [ind.id for ind in fw]
    w = win.reset_index(drop=True)
    year = year_all.ravel()
    zeros = np.zeros(len(area_i), dtype=np.int64)
    return pd.DataFrame({
        "area_code": text(codes, area_i),
        "area_name": text(targets["area_name"], area_i),
        "level": text([level], zeros),
        "period": text([period], zeros),
        "period_start": w["period_start"].to_numpy()[win_i],
        "period_end": w["period_end"].to_numpy()[win_i],
        "indicator": text(ids, ind_i),
        **{col: text(meta[col], ind_i) for col in ("label", "domain", "kind", "polarity")},
        "multiplier": meta["multiplier"].to_numpy()[ind_i],
        "numerator": num_all.ravel(), "denominator": den_all.ravel(),
        "value": value.ravel(), "lower": lower.ravel(), "upper": upper.ravel(), "method": text(METHODS, method.ravel()),
        "months": (w["end"] - w["start"] + 1).to_numpy()[win_i],
        "months_missing": missing_ind.ravel(),
        "complete": complete_all.ravel(),
        "pop_year": pd.arrays.IntegerArray(np.where(year >= 0, year, 0).astype("int64"), year < 0),
    })
