"""Population and characteristic roll-ups: district (LAD) figures into CSPs and police force areas, in one place.

Rules (the store reads the raw figures; these functions decide what they add up to):

- A CSP's population (or households) in a year is the sum of its districts' figures for that year, only when
  every district of the CSP has one; a district split between CSPs (East Suffolk, BCP) cannot be divided, so such
  CSPs have none. A figure given for the CSP itself is used as given.
- A force's figure is the sum of its CSPs' when all of them have one, else a force-level figure if given.
- Past an area's latest estimate the latest one is carried forward (``carry_forward``); the caller says so.
- Characteristics: 'sum' variables (area, people) add up over districts; 'mean' variables are population-weighted
  means of the districts. A CSP gets a value only when every one of its districts has one (districts reached
  through successor codes stand for their whole code family). Forces: from their CSPs the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd


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
