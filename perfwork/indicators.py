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

from . import stats
from .dataset import LEVELS, Dataset
from .framework import Framework, load_framework

PERIODS: tuple[str, ...] = ("month", "rolling12", "quarter", "fy", "ytd")


def windows(months: pd.DatetimeIndex, period: str) -> pd.DataFrame:
    """The periods of one kind inside ``months``: columns start, end (positions, inclusive), period_start, period_end."""
    if period not in PERIODS:
        raise ValueError(f"period {period!r} is not one of {', '.join(PERIODS)}")
    n = len(months)
    t = np.arange(n)
    month_no = months.month.to_numpy()
    if period == "month":
        start, end = t, t
    elif period == "rolling12":
        end = t[t >= 11]
        start = end - 11
    elif period in ("quarter", "fy"):
        length = 3 if period == "quarter" else 12
        first = np.isin(month_no, [1, 4, 7, 10]) if period == "quarter" else month_no == 4
        start = t[first & (t + length - 1 < n)]
        end = start + length - 1
    else:  # ytd: back to the most recent April
        back = (month_no - 4) % 12
        start = t - back
        keep = start >= 0
        start, end = start[keep], t[keep]
    return pd.DataFrame({"start": start.astype(int), "end": end.astype(int),
                         "period_start": months[start], "period_end": months[end]})


def population_year(period_end: pd.Series | pd.DatetimeIndex) -> np.ndarray:
    """The mid-year estimate a period ending in this month uses: the latest 30 June on or before its end."""
    pe = pd.DatetimeIndex(period_end)
    return np.where(pe.month >= 6, pe.year, pe.year - 1)


def _level_areas(dataset: Dataset, level: str, areas) -> pd.DataFrame:
    out = dataset.level(level)
    if areas is not None:
        wanted = [areas] if isinstance(areas, str) else list(areas)
        codes = [dataset.area(a)["area_code"] for a in wanted]
        out = out[out["area_code"].isin(codes)].reset_index(drop=True)
    if out.empty:
        raise ValueError(f"{dataset.name} has no {level} areas" + (f" among {areas!r}" if areas is not None else ""))
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


def _population_matrix(dataset: Dataset, level: str, codes: pd.Index, column: str) -> pd.DataFrame:
    """[area, year] of population or households at ``level``: an area's own estimate where it has one, else the
    sum over the areas beneath it (NaN where any of those lacks the year or has it blank)."""
    pop = dataset.population[["area_code", "year", column]]
    mine = pop[pop["area_code"].isin(codes)].dropna(subset=[column])
    own = mine.pivot(index="area_code", columns="year", values=column)
    anc = dataset.ancestors(level)
    below = pop.merge(anc[anc["area_code"] != anc["ancestor"]], on="area_code")
    if below.empty:
        return own.reindex(index=codes)
    # Sum over the lowest level that has estimates, so a force's own row and its CSPs never add up twice.
    rank = dict(zip(dataset.areas["area_code"], dataset.areas["level"].map(LEVELS.index)))
    below = below.assign(lv=below["area_code"].map(rank))
    below = below[below["lv"] == below.groupby("ancestor")["lv"].transform("min")]
    members = below.groupby("ancestor")["area_code"].nunique()
    below = below.dropna(subset=[column])  # a blank member leaves the year incomplete below
    summed = below.groupby(["ancestor", "year"]).agg(total=(column, "sum"), n=("area_code", "nunique"))
    whole = summed["n"].to_numpy() == members.reindex(summed.index.get_level_values(0)).to_numpy()
    summed = summed.loc[whole, "total"].unstack("year")
    return own.combine_first(summed).reindex(index=codes)


def _nearest_year(matrix: pd.DataFrame, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """[area, period] values for each wanted year, from the nearest year with an estimate (ties: the earlier
    year); also the year used (-1 where the area has none)."""
    cols = matrix.columns.to_numpy(dtype="int64")
    vals = matrix.to_numpy(dtype="float64")
    have = ~np.isnan(vals)
    out = np.full((len(matrix), len(wanted)), np.nan)
    used = np.full((len(matrix), len(wanted)), -1)
    if not cols.size:
        return out, used
    for y in np.unique(wanted):
        dist = np.where(have, np.abs(cols - y) * 2 + (cols > y), np.iinfo("int64").max)
        best = dist.argmin(axis=1)
        rows = np.arange(len(matrix))
        found = have[rows, best]
        j = wanted == y
        out[:, j] = np.where(found, vals[rows, best], np.nan)[:, None]
        used[:, j] = np.where(found, cols[best], -1)[:, None]
    return out, used


def _estimate_years(dataset: Dataset, codes: pd.Index, years: np.ndarray) -> np.ndarray:
    """The mid-year estimate each population year really is: a store carries its latest estimate forward to later
    years (``Dataset.estimate_years`` {(area, year): estimate year}); ``pop_year`` shows the estimate's year."""
    carried = getattr(dataset, "estimate_years", None)
    if not carried:
        return years
    out = years.copy()
    for i, code in enumerate(codes):
        for j, y in enumerate(years[i]):
            out[i, j] = carried.get((code, int(y)), y)
    return out


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
        raise ValueError(f"{dataset.name} has no counts")
    win = windows(months, period)
    if period_end is not None:
        end = (win["period_end"].max() if str(period_end) == "latest"
               else pd.Timestamp(period_end).to_period("M").to_timestamp())
        win = win[win["period_end"] == end]
        if win.empty:
            raise ValueError(f"no {period} period ends in {end:%Y-%m}; the data run {months[0]:%Y-%m} to {months[-1]:%Y-%m}")
    if win.empty:
        raise ValueError(f"the data ({len(months)} months) hold no complete {period} period")

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
    method = np.full(shape, None, dtype=object)
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
                matrix = _population_matrix(dataset, level, codes, ind.denominator)
                populations[ind.denominator] = _nearest_year(matrix, pop_years)
            den, year_all[:, :, j] = populations[ind.denominator]
            year_all[:, :, j] = _estimate_years(dataset, codes, year_all[:, :, j])
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
                method[ok, j] = "Wilson 95%"
            else:
                ci = stats.rate_ci(num[ok], den[ok], multiplier=1.0 if ind.kind == "count" else ind.multiplier)
                method[ok, j] = (ci["method"].astype(str) + " 95%").to_numpy()
            value[ok, j], lower[ok, j], upper[ok, j] = ci["value"], ci["lower"], ci["upper"]

    area_i, win_i, ind_i = (a.ravel() for a in np.indices(shape))
    meta = fw.table().set_index("id")
    ids = np.array([ind.id for ind in fw], dtype=object)
    w = win.reset_index(drop=True)
    year = year_all.ravel()
    return pd.DataFrame({
        "area_code": codes.to_numpy()[area_i],
        "area_name": targets["area_name"].to_numpy()[area_i],
        "level": level,
        "period": period,
        "period_start": w["period_start"].to_numpy()[win_i],
        "period_end": w["period_end"].to_numpy()[win_i],
        "indicator": ids[ind_i],
        **{col: meta[col].to_numpy()[ind_i] for col in ("label", "domain", "kind", "polarity", "multiplier")},
        "numerator": num_all.ravel(), "denominator": den_all.ravel(),
        "value": value.ravel(), "lower": lower.ravel(), "upper": upper.ravel(), "method": method.ravel(),
        "months": (w["end"] - w["start"] + 1).to_numpy()[win_i],
        "months_missing": missing_ind.ravel(),
        "complete": complete_all.ravel(),
        "pop_year": pd.arrays.IntegerArray(np.where(year >= 0, year, 0).astype("int64"), year < 0),
    })
