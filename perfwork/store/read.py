"""Reading the canonical Dataset from the store: areas, counts, missing months, population and characteristics.
Queries only; what district figures add up to is :mod:`perfwork.geography`'s."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import geography
from ..dataset import MONTH_DTYPE, DataError, Dataset
from ..measures import STOP_AND_SEARCH, STOP_SEARCH_RESULTS, known_measures, stop_search_measure
from ..sources import ons
from ..sources.policeuk import sql_quote
from .accounting import fate_sql
from .schema import sql_values

NATION = ("K04000001", "England and Wales")
REGIONS = {"E": ("E92000001", "England"), "W": ("W92000004", "Wales")}


def covered(st) -> pd.DataFrame:
    """force (PFA) x kind x month of every police.uk file whose force is a PFA."""
    return st._df("""SELECT fm.pfa_code, l.kind, l.month FROM ledger l JOIN force_map fm ON fm.force = l.force
                     WHERE l.kind IN ('street', 'stop-and-search') AND fm.pfa_code IS NOT NULL""")


def _areas(st, forces) -> pd.DataFrame:
    """The nation, regions, ``forces`` (PFA codes) and their CSPs, from the CSP geography."""
    geo = st._df("SELECT csp_code, csp_name, pfa_code, pfa_name FROM geo_csp")
    forces = sorted(forces)
    g = geo[geo["pfa_code"].isin(forces)].sort_values("csp_code")
    fnames = geo.drop_duplicates("pfa_code").set_index("pfa_code")["pfa_name"].to_dict()
    rows = [(NATION[0], NATION[1], "nation", None)]
    regions = sorted({f[0] for f in forces})
    rows += [(REGIONS[r][0], REGIONS[r][1], "region", NATION[0]) for r in regions if r in REGIONS]
    rows += [(f, fnames.get(f) or f, "force", REGIONS[f[0]][0]) for f in forces]
    rows += [(c, n if isinstance(n, str) else c, "csp", p) for c, n, p in zip(g["csp_code"], g["csp_name"],
                                                                                g["pfa_code"])]
    return pd.DataFrame(rows, columns=["area_code", "area_name", "level", "parent_code"])


def _national(areas: pd.DataFrame, chars: pd.DataFrame, with_data: set[str]) -> tuple[set[str], list[str]]:
    """The forces of the Dataset: those with police.uk data, and every other force whose characteristics (and
    its CSPs') are complete, so Most Similar Groups are national whatever the store holds."""
    cols = [c for c in chars.columns if c != "area_code"]
    if not cols:
        return set(with_data), []
    full = set(chars.loc[chars[cols].notna().all(axis=1), "area_code"])
    keep, left = set(with_data), []
    for f in areas.loc[areas["level"] == "force", "area_code"]:
        kids = areas.loc[areas["parent_code"] == f, "area_code"]
        if f in with_data:
            continue
        if f in full and set(kids) <= full:
            keep.add(f)
        else:
            left.append(f)
    notes = []
    if left:
        notes.append(f"{len(left)} force(s) without police.uk data left out of the national areas (their or their "
                     f"CSPs' characteristics are incomplete): {', '.join(sorted(left))}")
    return keep, notes


def count_frame(st) -> pd.DataFrame:
    has_welsh = bool(st._q("SELECT 1 FROM lsoa_lad WHERE lsoa_code LIKE 'W01%' LIMIT 1"))
    has_outcomes = bool(st._q("SELECT 1 FROM outcomes LIMIT 1"))
    both = st._df(f"""WITH f AS ({fate_sql(has_welsh, outcome=True, latest_outcomes=has_outcomes)})
        SELECT csp_code AS area_code, month, category AS measure, sum(n)::BIGINT AS count FROM f
        WHERE bucket IN ('counted', 'asb') GROUP BY ALL
        UNION ALL
        SELECT csp_code AS area_code, month, category || ':' || outcome_group AS measure, sum(n)::BIGINT AS count
        FROM f WHERE bucket = 'counted' AND outcome_group IS NOT NULL GROUP BY ALL""")
    by_result = sql_values([(r, stop_search_measure(r)) for r in sorted(set(STOP_SEARCH_RESULTS.values()))],
                        ["result", "measure"], "m")
    ss = st._df(f"""WITH s AS (SELECT fm.pfa_code, s.month, s.result, s.object_found, s.n FROM stop_search s
                     JOIN ledger l USING (file_id) JOIN force_map fm ON fm.force = l.force
                     WHERE fm.pfa_code IS NOT NULL AND s.month = l.month)
        SELECT pfa_code AS area_code, month, {sql_quote(STOP_AND_SEARCH)} AS measure, sum(n)::BIGINT AS count
        FROM s GROUP BY ALL
        UNION ALL
        SELECT pfa_code, month, m.measure, sum(n)::BIGINT FROM s JOIN {by_result} ON m.result = s.result
        GROUP BY ALL
        UNION ALL
        SELECT pfa_code, month, {sql_quote(stop_search_measure('object_found'))}, sum(n)::BIGINT FROM s
        WHERE object_found GROUP BY ALL""")
    out = pd.concat([both, ss], ignore_index=True)
    out["month"] = pd.to_datetime(out["month"]).astype(MONTH_DTYPE)
    return out


def _missing(st, areas: pd.DataFrame, cov: pd.DataFrame) -> pd.DataFrame:
    """Months with no street file for a force (for its CSPs, and for the force when it has no file at all), and,
    once any force has stop-and-search files, force-months without one (for the stop-and-search measures only)."""
    columns = ["area_code", "month", "measure", "reason"]
    if cov.empty:
        return pd.DataFrame(columns=columns)
    cov = cov.assign(month=pd.to_datetime(cov["month"]))
    span = pd.date_range(cov["month"].min(), cov["month"].max(), freq="MS")
    csps = areas[areas["level"] == "csp"]
    names = dict(zip(areas["area_code"], areas["area_name"]))
    searches = (cov["kind"] == "stop-and-search").any()
    search_measures = [m for m in known_measures() if m.startswith(STOP_AND_SEARCH)]
    rows = []
    none = pd.DataFrame({"pfa_code": sorted(set(areas.loc[areas["level"] == "force", "area_code"])
                                            - set(cov["pfa_code"])), "kind": "none", "month": pd.NaT})
    for pfa, g in pd.concat([cov, none], ignore_index=True).groupby("pfa_code"):
        force = names.get(pfa, pfa)
        street = set(g.loc[g["kind"] == "street", "month"])
        searched = set(g.loc[g["kind"] == "stop-and-search", "month"])
        anyfile = set(g["month"])
        first, last = (min(street), max(street)) if street else (None, None)
        kids = csps.loc[csps["parent_code"] == pfa, "area_code"].tolist()
        for m in span:
            if m not in anyfile:
                pass
            elif searches and m not in searched:
                why = f"no police.uk stop-and-search file for {force} for {m:%Y-%m}"
                rows += [(pfa, m, measure, why) for measure in search_measures]
            if m in street:
                continue
            if first is None:
                why = f"no police.uk street files ingested for {force}"
            elif first < m < last:
                why = f"no police.uk street file for {force} for {m:%Y-%m}"
            else:
                why = f"outside the months of {force} street files ingested ({first:%Y-%m} to {last:%Y-%m})"
            rows += [(c, m, None, why) for c in kids]
            if m not in anyfile:
                rows.append((pfa, m, None, why))
    return pd.DataFrame(rows, columns=columns)


def _district_population(st) -> pd.DataFrame:
    """Latest-ingested figure per area code and year."""
    return st._df("""SELECT area_code, year, arg_max(population, file_id) AS population,
                            arg_max(households, file_id) AS households
                     FROM population_raw GROUP BY area_code, year""")


def _district_population(st) -> pd.DataFrame:
    """Latest-ingested figure per area code and year (population and households may come from different files)."""
    return st._df("""SELECT area_code, year, arg_max(population, file_id) FILTER (WHERE population IS NOT NULL)
                            AS population,
                            arg_max(households, file_id) FILTER (WHERE households IS NOT NULL) AS households
                     FROM population_raw GROUP BY area_code, year""")


def _districts(st) -> geography.Districts:
    return geography.Districts.from_lookup(st._df(
        "SELECT DISTINCT lad_code, csp_code FROM lad_csp WHERE vintage = (SELECT max(vintage) FROM lad_csp)"))


def _population(st, areas: pd.DataFrame, counts: pd.DataFrame, missing_population: str
                ) -> tuple[pd.DataFrame, list[str], set[str]]:
    """CSP and force populations and households (sums of districts), carried forward past the latest estimate;
    returns the frame, notes, and the area codes whose counts must be dropped (missing_population='drop')."""
    raw = _district_population(st)
    districts = _districts(st)
    years = sorted({int(y) for y in raw["year"]})
    figures = {c: {(a, int(y)): v for a, y, v in zip(raw["area_code"], raw["year"], raw[c]) if pd.notna(v)}
               for c in ("population", "households")}
    pop_of, why_not, notes = geography.sum_districts(areas, districts, figures["population"], years)
    hh_of, _, _ = geography.sum_districts(areas, districts, figures["households"], years, "households")
    pop = pd.DataFrame([(a, y, p, hh_of.get((a, y), np.nan)) for (a, y), p in pop_of.items()],
                       columns=["area_code", "year", "population", "households"])
    need = counts.assign(year=counts["month"].dt.year)[["area_code", "year"]].drop_duplicates()
    pop, carried, lacking = geography.carry_forward(pop, need)
    for base, ys in sorted(carried.items()):
        notes.append(f"population for {', '.join(map(str, sorted(ys)))} carried forward from the mid-{base} "
                     f"estimate (no later estimate ingested)")
    drop: set[str] = set()
    if lacking:
        names = dict(zip(areas["area_code"], areas["area_name"]))
        parts = [f"{a} {names.get(a, '')} ({', '.join(map(str, sorted(set(ys))))}): "
                 f"{why_not.get(a, 'no population ingested')}" for a, ys in sorted(lacking.items())]
        if missing_population == "drop":
            drop = set(lacking)
            notes.append("counts left out for areas without population: " + "; ".join(parts))
        else:
            raise DataError(f"{st.path}: population: no estimate for area(s) with counts: " + "; ".join(parts)
                            + ". Ingest population with --population (the ONS MYE workbook, or a CSV with "
                              "area_code, year, population for these areas), or open the store with "
                              "missing_population='drop'")
    return pop, notes, drop


def _characteristics(st, areas: pd.DataFrame, pop: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    raw = st._df("""SELECT area_code, variable, arg_max(value, file_id) AS value, arg_max(agg, file_id) AS agg
                    FROM characteristics_raw GROUP BY area_code, variable""")
    out = pd.DataFrame({"area_code": areas.loc[areas["level"].isin(["csp", "force"]), "area_code"]})
    if raw.empty:
        return out.reset_index(drop=True), []
    known = set(areas["area_code"])
    raw = raw[raw["area_code"].isin(known) | raw["area_code"].str[:3].isin(ons.LAD_PREFIXES)]
    geo_lad = st._df("SELECT lad_code, csp_code FROM geo_lad WHERE status = 'mapped'")
    succ = st._df("SELECT lad_code, active_code FROM lad_successor")
    family: dict[str, set[str]] = {}
    for lad, act in zip(succ["lad_code"], succ["active_code"]):
        family.setdefault(act, set()).update({lad, act})
    codes = geography.DistrictCodes(dict(zip(geo_lad["lad_code"], geo_lad["csp_code"])),
                                    dict(zip(succ["lad_code"], succ["active_code"])), family)
    latest = lambda f: f.sort_values("year").drop_duplicates("area_code", keep="last").set_index(  # noqa: E731
        "area_code")["population"].to_dict()
    cols, unresolved = geography.roll_up_characteristics(
        areas, raw, _districts(st), codes, latest(_district_population(st).dropna(subset=["population"])),
        latest(pop))
    for var, vals in cols.items():
        out[var] = out["area_code"].map(vals).astype("float64")
    pops = [c for c in out.columns if c.startswith("population_mid")]
    if "area_sqkm" in out.columns and pops:
        out["population_density"] = out[pops[-1]] / out["area_sqkm"]
    out = out.drop(columns=[c for c in out.columns if c == "area_sqkm" or c.startswith("population_mid")])
    notes = []
    if unresolved:
        notes.append(f"characteristics of {len(unresolved)} district code(s) not mapped to one CSP were not used")
    return out.reset_index(drop=True), notes

def population_notes(st) -> list[str]:
    """Cheap ingest-time notes on population: none yet, or estimates carried forward (open_store has the detail)."""
    last_count = st._q("SELECT max(year(month)) FROM ledger WHERE kind IN ('street', 'stop-and-search')")[0][0]
    if last_count is None:
        return []
    last_pop = st._q("SELECT max(year) FROM population_raw WHERE population IS NOT NULL")[0][0]
    if last_pop is None:
        return ["no population ingested yet: open_store needs one (--population, e.g. the ONS MYE workbook)"]
    if last_count > last_pop:
        years = ", ".join(str(y) for y in range(last_pop + 1, last_count + 1))
        return [f"population for {years} will be carried forward from the mid-{last_pop} estimate "
                f"(no later estimate ingested)"]
    return []


def coverage_notes(st) -> list[str]:
    """Force-months with street data but no stop-and-search file, which ``missing`` records for those measures."""
    cov = covered(st)
    if cov.empty or not (cov["kind"] == "stop-and-search").any():
        return []
    notes = []
    for pfa, g in cov.groupby("pfa_code"):
        gap = set(g.loc[g["kind"] == "street", "month"]) - set(g.loc[g["kind"] == "stop-and-search", "month"])
        if gap:
            notes.append(f"{pfa}: {len(gap)} month(s) with street data but no stop-and-search file: recorded as "
                         f"missing for the stop-and-search measures, not as zero searches")
    return notes


def build_dataset(st, missing_population: str) -> Dataset:
    if missing_population not in ("error", "drop"):
        raise ValueError("missing_population must be 'error' or 'drop'")
    cov = covered(st)
    if cov.empty:
        raise DataError(f"{st.path}: no police.uk files of a police force area in the store yet")
    with_data = set(cov["pfa_code"])
    every = _areas(st, st._df("SELECT DISTINCT pfa_code FROM geo_csp")["pfa_code"])
    counts = count_frame(st)
    pop, notes, drop = _population(st, every, counts, missing_population)
    if drop:
        counts = counts[~counts["area_code"].isin(drop)]
    chars, cnotes = _characteristics(st, every, pop)
    forces, fnotes = _national(every, chars, with_data)
    areas = _areas(st, forces)
    codes = set(areas["area_code"])
    chars = chars[chars["area_code"].isin(codes)].reset_index(drop=True)
    pop = pop[pop["area_code"].isin(codes)]
    missing = _missing(st, areas, cov)
    notes += cnotes + fnotes + coverage_notes(st)
    carried = pop[pop["estimate_year"] != pop["year"]]
    ds = Dataset(areas=areas, characteristics=chars, population=pop.drop(columns="estimate_year"), counts=counts,
                 missing=missing, name=str(st.path),
                 origin={t: str(st.path) for t in ("areas", "population", "counts", "missing", "characteristics")})
    ds.notes = notes
    ds.estimate_years = {(a, int(y)): int(e) for a, y, e in zip(carried["area_code"], carried["year"],
                                                                carried["estimate_year"])}
    return ds
