"""Population and characteristic roll-ups: how a figure for the areas inside an area becomes the area's own.

The rules, in one place for the store, indicators and peers alike:

- populations and households are **summed** over the member areas, and only where every member has the year
  (a blank or absent member leaves the year unknown, never a smaller total);
- characteristics are **population-weighted means** of the members (``roll_up_mean``), or sums for additive
  ones (areas, counts);
- an area's own figure, where it has one, wins over the roll-up;
- the population a period uses is the mid-year estimate of the latest 30 June on or before its last month
  (``population_year``), or the nearest year the data have (``nearest_year``).

``members`` frames have two columns: ``area_code`` (the member) and ``parent`` (the area it belongs to). The
store calls ``roll_up_sum`` / ``roll_up_mean`` with districts as members; indicators and peers call them through
``population_matrix`` and ``derived_characteristics`` with the dataset's own areas.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .dataset import LEVELS, Dataset


def roll_up_sum(values: pd.DataFrame, members: pd.DataFrame, columns, keys=("year",)) -> pd.DataFrame:
    """Each parent's total of ``columns`` over its members, per ``keys`` (e.g. year): one row per parent and
    key, with a column left NaN where any member lacks it (absent or blank). ``values`` has ``area_code``,
    the keys and the columns; ``members`` area_code and parent."""
    columns, keys = list(columns), list(keys)
    size = members.groupby("parent")["area_code"].nunique()
    v = values[["area_code", *keys, *columns]].merge(members[["area_code", "parent"]], on="area_code")
    out = []
    for col in columns:
        have = v.dropna(subset=[col])
        g = have.groupby(["parent", *keys]).agg(total=(col, "sum"), n=("area_code", "nunique"))
        whole = g["n"].to_numpy() == size.reindex(g.index.get_level_values("parent")).to_numpy()
        out.append(g["total"].where(whole).rename(col))
    if not out:
        return pd.DataFrame(columns=["parent", *keys])
    return pd.concat(out, axis=1).reset_index()


def roll_up_mean(values: pd.DataFrame, members: pd.DataFrame, weights: pd.Series, complete: bool = False
                 ) -> pd.DataFrame:
    """Weighted means of every column of ``values`` (indexed by area_code) over each parent's members, weights
    by member code (e.g. the latest population). ``complete=False``: over the members that have a value (the
    weights renormalised); ``complete=True``: NaN unless every member has a value and a weight. Indexed by
    parent."""
    m = members[members["area_code"].isin(values.index)]
    w = weights.reindex(m["area_code"]).to_numpy(dtype="float64")
    x = values.reindex(m["area_code"])
    parent = m["parent"].to_numpy()
    num = x.mul(w, axis=0).groupby(parent).sum(min_count=1)
    den = x.notna().mul(w, axis=0).groupby(parent).sum()
    out = num / den.where(den > 0)
    if complete:
        size = members.groupby("parent")["area_code"].nunique()
        ok = (x.notna() & ~np.isnan(w)[:, None]).groupby(parent).sum()
        out = out.where(ok.eq(size.reindex(ok.index), axis=0))
    return out


def members_below(dataset: Dataset, level: str, codes=None) -> pd.DataFrame:
    """(area_code, parent): every area strictly inside each ``level`` area (of ``codes``, if given)."""
    anc = dataset.ancestors(level)
    m = anc[anc["area_code"] != anc["ancestor"]].rename(columns={"ancestor": "parent"})
    if codes is not None:
        m = m[m["parent"].isin(codes)]
    return m[["area_code", "parent"]].reset_index(drop=True)


def population_matrix(dataset: Dataset, level: str, codes: pd.Index, column: str) -> pd.DataFrame:
    """[area, year] of ``column`` (population or households) at ``level``: an area's own estimate where it has
    one, else the sum over the lowest level of areas beneath it that has estimates (NaN where any of those
    lacks the year or has it blank)."""
    pop = dataset.population[["area_code", "year", column]]
    own = pop[pop["area_code"].isin(codes)].dropna(subset=[column]).pivot(index="area_code", columns="year",
                                                                          values=column)
    with_pop = members_below(dataset, level, codes)
    with_pop = with_pop[with_pop["area_code"].isin(pop["area_code"])]
    if with_pop.empty:
        return own.reindex(index=codes)
    # The lowest level that has estimates, so a force's own row and its CSPs never add up twice.
    rank = dict(zip(dataset.areas["area_code"], dataset.areas["level"].map(LEVELS.index)))
    lv = with_pop["area_code"].map(rank)
    lowest = with_pop[lv == lv.groupby(with_pop["parent"]).transform("min")]
    summed = roll_up_sum(pop, lowest, [column]).pivot(index="parent", columns="year", values=column)
    return own.combine_first(summed).reindex(index=codes)


def population_year(period_end) -> np.ndarray:
    """The mid-year estimate a period ending in this month uses: the latest 30 June on or before its end."""
    pe = pd.DatetimeIndex(period_end)
    return np.where(pe.month >= 6, pe.year, pe.year - 1)


def nearest_year(matrix: pd.DataFrame, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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


def latest_population(dataset: Dataset) -> pd.Series:
    """Each area's population in its latest estimate year, by area code."""
    pop = dataset.population.sort_values("year").drop_duplicates("area_code", keep="last")
    return pop.set_index("area_code")["population"]


def derived_characteristics(dataset: Dataset, level: str, codes: pd.Series) -> pd.DataFrame | None:
    """Characteristics of ``level`` areas as population-weighted means (latest year) of the areas below them
    that have characteristics; None when there are none below."""
    chars = dataset.characteristics.set_index("area_code")
    below = members_below(dataset, level, codes)
    below = below[below["area_code"].isin(chars.index)]
    if below.empty:
        return None
    return roll_up_mean(chars, below, latest_population(dataset)).reindex(codes)
