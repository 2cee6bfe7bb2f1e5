"""Population and characteristic roll-ups: how the figures of the areas inside an area become the area's own.

The rules, in one place for the store, indicators and peers alike:

- populations and households are **summed** over the member areas, and only where every member has the year
  (a blank or absent member leaves the year unknown, never a smaller total); a figure given for the area itself
  is used as given;
- characteristics are **population-weighted means** of the members, or sums for additive ones (areas, people);
- the population a period uses is the mid-year estimate of the latest 30 June on or before its last month
  (``population_year``), or the nearest year the data have (``nearest_year``); past an area's latest estimate
  the store carries the latest one forward (``carry_forward``) and says so.

From districts (the store, before there is a Dataset): a CSP's figure is the sum of its districts' (LADs) when
every district has one; a district split between CSPs (East Suffolk, BCP) cannot be divided, so such CSPs have
none; a force's figure is the sum of its CSPs' when all of them have one, else a force-level figure if given
(``sum_districts``). Characteristics reach a CSP only when every one of its districts has a value (districts
reached through successor codes stand for their whole code family), forces from their CSPs the same way
(``roll_up_characteristics``).

Within a Dataset (indicators, peers): ``members`` frames have two columns, ``area_code`` (the member) and
``parent``; ``roll_up_sum`` / ``roll_up_mean`` apply the same rules to frames, ``population_matrix`` and
``derived_characteristics`` to the dataset's own areas.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .dataset import LEVELS, Dataset


@dataclass
class Districts:
    """How districts (LADs) make up CSPs: ``lads_of`` CSP -> its LAD codes, ``split`` LADs in several CSPs."""

    lads_of: dict[str, list[str]]
    split: set[str]

    @classmethod
    def from_lookup(cls, lad_csp: pd.DataFrame) -> "Districts":
        """From LAD -> CSP pairs (lad_code, csp_code) of one lookup vintage."""
        lc = lad_csp[["lad_code", "csp_code"]].drop_duplicates()
        split = set(lc.groupby("lad_code")["csp_code"].nunique().loc[lambda s: s > 1].index)
        return cls(lc.groupby("csp_code")["lad_code"].apply(list).to_dict(), split)


def _finite(v) -> bool:
    return v is not None and not (isinstance(v, float) and np.isnan(v))


def sum_districts(areas: pd.DataFrame, districts: Districts, figures: dict[tuple[str, int], float],
                  years: list[int], what: str = "population"
                  ) -> tuple[dict[tuple[str, int], float], dict[str, str], list[str]]:
    """CSP and force figures per year from district (or CSP / force) ``figures`` {(code, year): value}.

    Returns the figures {(area, year): value}, why a CSP has none {csp: reason} and notes."""
    csps = areas.loc[areas["level"] == "csp", "area_code"].tolist()
    forces = areas.loc[areas["level"] == "force", "area_code"].tolist()
    out: dict[tuple[str, int], float] = {}
    why_not: dict[str, str] = {}
    notes: list[str] = []
    for c in csps:
        lads = districts.lads_of.get(c, [])
        for y in years:
            if _finite(figures.get((c, y))):  # a CSP-level figure given directly
                out[(c, y)] = figures[(c, y)]
                continue
            if not lads:
                why_not[c] = "no districts in the LAD -> CSP lookup"
                continue
            if any(lad in districts.split for lad in lads):
                why_not[c] = (f"its district {', '.join(x for x in lads if x in districts.split)} is split between "
                              f"CSPs, so its {what} cannot be divided")
                continue
            vals = [figures.get((lad, y)) for lad in lads]
            if all(_finite(v) for v in vals):
                out[(c, y)] = float(sum(vals))
            else:
                lacking = [lad for lad, v in zip(lads, vals) if not _finite(v)]
                why_not.setdefault(c, f"no {what} for district(s) {', '.join(lacking)} (code vintage?)")
    parent = dict(zip(areas["area_code"], areas["parent_code"]))
    for f in forces:
        kids = [c for c in csps if parent.get(c) == f]
        for y in years:
            vals = [out.get((c, y)) for c in kids]
            if kids and all(v is not None for v in vals):
                out[(f, y)] = float(sum(vals))
            elif _finite(figures.get((f, y))):
                out[(f, y)] = figures[(f, y)]
                notes.append(f"{what} of {f} in {y} taken from a force-level table (its districts are incomplete)")
    return out, why_not, notes


def carry_forward(pop: pd.DataFrame, need: pd.DataFrame, columns: tuple[str, ...] = ("population", "households")
                  ) -> tuple[pd.DataFrame, dict[int, set[int]], dict[str, list[int]]]:
    """Rows for the (area_code, year) pairs of ``need`` that ``pop`` lacks, carried forward from the area's latest
    estimate (``estimate_year`` says which; it equals ``year`` elsewhere). Returns the frame, {estimate year:
    years carried to} and {area: years with no estimate at or before them}."""
    have = set(zip(pop["area_code"], pop["year"]))
    latest = pop.sort_values("year").drop_duplicates("area_code", keep="last").set_index("area_code")
    extra, carried, lacking = [], {}, {}
    for a, y in zip(need["area_code"], need["year"]):
        y = int(y)
        if (a, y) in have:
            continue
        if a in latest.index and int(latest.at[a, "year"]) < y:
            extra.append({"area_code": a, "year": y, **{c: latest.at[a, c] for c in columns},
                          "estimate_year": int(latest.at[a, "year"])})
            carried.setdefault(int(latest.at[a, "year"]), set()).add(y)
        else:
            lacking.setdefault(a, []).append(y)
    pop = pop.assign(estimate_year=pop["year"])
    if extra:
        pop = pd.concat([pop, pd.DataFrame(extra)], ignore_index=True)
    return pop, carried, lacking


@dataclass
class DistrictCodes:
    """How district codes of characteristics files reach CSPs: ``to_csp`` (mapped codes), ``active`` (code ->
    current successor) and ``family`` (successor -> every code sharing it)."""

    to_csp: dict[str, str]
    active: dict[str, str] = field(default_factory=dict)
    family: dict[str, set[str]] = field(default_factory=dict)


def _weighted(parts: list[tuple[str, float]], agg: str, weight: dict[str, float]) -> float | None:
    if agg == "sum":
        return float(sum(v for _, v in parts))
    if len(parts) == 1:
        return float(parts[0][1])
    w = [weight.get(code) for code, _ in parts]
    if any(not _finite(x) for x in w):
        return None
    return float(np.average([v for _, v in parts], weights=w))


def roll_up_characteristics(areas: pd.DataFrame, raw: pd.DataFrame, districts: Districts, codes: DistrictCodes,
                            district_pop: dict[str, float], area_pop: dict[str, float]
                            ) -> tuple[dict[str, dict[str, float]], set[str]]:
    """Characteristics {variable: {area: value}} of CSPs and forces from ``raw`` (area_code, variable, value, agg:
    'sum' or 'mean'), weighting means by ``district_pop`` (districts) and ``area_pop`` (CSPs, for forces).
    Also returns the district codes that could not be placed in one CSP."""
    level = dict(zip(areas["area_code"], areas["level"]))
    parent = dict(zip(areas["area_code"], areas["parent_code"]))
    csps = areas.loc[areas["level"] == "csp", "area_code"].tolist()
    cols: dict[str, dict[str, float]] = {}
    unresolved: set[str] = set()
    for var, g in raw.groupby("variable"):
        agg = g["agg"].iloc[0]
        vals = {a: float(v) for a, v in zip(g["area_code"], g["value"]) if level.get(a) in ("csp", "force")}
        contrib: dict[str, list[tuple[str, float]]] = {}
        for code, v in zip(g["area_code"], g["value"]):
            if code in level:
                continue
            c = codes.to_csp.get(code)
            if c is None:
                unresolved.add(code)
                continue
            contrib.setdefault(c, []).append((code, v))
        for c in csps:
            if c in vals or c not in contrib:
                continue
            mine = set(districts.lads_of.get(c, []))
            covered: set[str] = set()
            for code, _ in contrib[c]:
                if code in mine:
                    covered.add(code)
                else:  # mapped through successor codes: it stands for its whole code family
                    covered |= codes.family.get(codes.active.get(code, code), set()) & mine
            if mine <= covered:  # else some districts of the CSP have no value: leave it blank
                v = _weighted(contrib[c], agg, district_pop)
                if v is not None:
                    vals[c] = v
        for f in areas.loc[areas["level"] == "force", "area_code"]:
            kids = [c for c in csps if parent.get(c) == f]
            if f not in vals and kids and all(c in vals for c in kids):
                v = _weighted([(c, vals[c]) for c in kids], agg, area_pop)
                if v is not None:
                    vals[f] = v
        cols[var] = vals
    return cols, unresolved


# ------------------------------------------------------------------------------------------ within a Dataset
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


def estimate_years(dataset: Dataset, codes: pd.Index, years: np.ndarray) -> np.ndarray:
    """The mid-year estimate each population year really is: a store carries its latest estimate forward to later
    years (``Dataset.estimate_years`` {(area, year): estimate year}), so ``pop_year`` shows the estimate's year."""
    carried = getattr(dataset, "estimate_years", None)
    if not carried:
        return years
    out = years.copy()
    for i, code in enumerate(codes):
        for j, y in enumerate(years[i]):
            out[i, j] = carried.get((code, int(y)), y)
    return out
