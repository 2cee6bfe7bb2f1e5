"""The Demo Kingdom: deterministic, shaped like England and Wales, and carrying its planted stories."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from perfwork.dataset import Dataset
from perfwork.measures import ASB, CRIME_CATEGORIES, NOTIFIABLE_CATEGORIES, OUTCOME_GROUPS, outcome_measure
from perfwork.sources import demo


@pytest.fixture(scope="module")
def ds() -> Dataset:
    return demo.generate()


@pytest.fixture(scope="module")
def wide(ds) -> pd.DataFrame:
    """Counts as area x month rows, one column per measure (zeros filled in)."""
    c = ds.counts.assign(measure=ds.counts["measure"].astype("str"))
    return c.pivot_table(index=["area_code", "month"], columns="measure", values="count", aggfunc="sum",
                         fill_value=0, observed=True)


def _series(wide: pd.DataFrame, area: str, measures) -> pd.Series:
    cols = [measures] if isinstance(measures, str) else list(measures)
    return wide.loc[area, cols].sum(axis=1).reindex(demo.MONTHS)


def _rate(ds, wide, measure, months=None) -> pd.Series:
    """Per CSP: count of ``measure`` over ``months`` (default all) per 1,000 residents per year."""
    w = wide[measure] if isinstance(measure, str) else wide[list(measure)].sum(axis=1)
    w = w.reset_index()
    if months is not None:
        w = w[w["month"].isin(months)]
    w = w.assign(year=w["month"].dt.year).rename(columns={0: "count"})
    w.columns = ["area_code", "month", "count", "year"]
    pop = ds.population.set_index(["area_code", "year"])["population"]
    w["person_months"] = pop.reindex(pd.MultiIndex.from_frame(w[["area_code", "year"]])).to_numpy() / 12
    g = w.groupby("area_code")[["count", "person_months"]].sum()
    return g["count"] / g["person_months"] * 1000


def _neighbours(ds, code: str, k: int = 15, exclude_force: bool = True) -> list[str]:
    """The k CSPs most like ``code`` on standardised characteristics (outside its force)."""
    csps = ds.level("csp")
    chars = ds.characteristics.set_index("area_code").loc[csps["area_code"]]
    x = chars.copy()
    for col in ("population_density", "visitor_index", "licensed_premises_per_1000", "pct_students"):
        x[col] = np.log(x[col])
    z = (x - x.mean()) / x.std()
    d = np.sqrt(((z - z.loc[code]) ** 2).sum(axis=1))
    force = dict(zip(csps["area_code"], csps["parent_code"]))
    d = d.drop(code)
    if exclude_force:
        d = d[[force[c] != force[code] for c in d.index]]
    return list(d.sort_values().index[:k])


# ------------------------------------------------------------------ determinism and the shipped copy
def _assert_same(a: Dataset, b: Dataset) -> None:
    for table in ("areas", "characteristics", "population", "counts", "missing"):
        pd.testing.assert_frame_equal(getattr(a, table), getattr(b, table), check_exact=True, obj=table)


def test_same_seed_same_tables(ds):
    _assert_same(ds, demo.generate(demo.DEFAULT_SEED))


def test_other_seed_differs_but_keeps_the_layout(ds):
    other = demo.generate(7)
    pd.testing.assert_frame_equal(ds.areas, other.areas)
    assert not ds.counts["count"].equals(other.counts["count"]) or len(ds.counts) != len(other.counts)
    assert not ds.characteristics.equals(other.characteristics)


def test_shipped_data_equals_generate(ds):
    assert (demo.DEFAULT_PATH / "counts.parquet").exists(), "data/demo missing: run demo.write()"
    _assert_same(demo.load(), ds)


def test_shipped_data_is_small():
    size = sum(f.stat().st_size for f in demo.DEFAULT_PATH.iterdir())
    assert size < 5_000_000


def test_write_is_idempotent(tmp_path, ds, monkeypatch):
    monkeypatch.setattr(demo, "generate", lambda seed=demo.DEFAULT_SEED: ds)
    first = demo.write(tmp_path / "demo")
    snapshot = {f.name: f.read_bytes() for f in first.iterdir()}
    demo.write(tmp_path / "demo")
    assert {f.name: f.read_bytes() for f in first.iterdir()} == snapshot
    _assert_same(demo.load(tmp_path / "demo"), ds)
    assert "DK-C0123" in (first / "README.md").read_text()


def test_load_unknown_folder_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no Demo Kingdom"):
        demo.load(tmp_path / "nowhere")


# ------------------------------------------------------------------ shape
def test_geography(ds):
    levels = ds.areas["level"].value_counts()
    assert levels["csp"] >= 250 and levels["force"] >= 30 and 5 <= levels["region"] <= 12 and levels["nation"] == 1
    codes = ds.areas["area_code"]
    assert codes.str.match(r"^DK-(C\d{4}|F\d{2}|R\d|N)$").all()
    assert not codes.str.match(r"^[EWKS]\d{8}$").any()
    assert ds.areas["area_name"].is_unique
    # every force has CSPs, every region forces
    parents = set(ds.areas["parent_code"].dropna())
    assert set(ds.level("force")["area_code"]) <= parents and set(ds.level("region")["area_code"]) <= parents


def test_months_measures_and_characteristics(ds):
    assert len(ds.months) == 60 and ds.months[0] == pd.Timestamp("2021-04-01")
    assert ds.months[-1] == pd.Timestamp("2026-03-01")
    want = set(CRIME_CATEGORIES) | {outcome_measure(c, g) for c in NOTIFIABLE_CATEGORIES for g in OUTCOME_GROUPS}
    assert set(ds.measures) == want
    chars = ds.characteristics
    assert chars.shape[1] - 1 >= 8
    assert set(chars["area_code"]) >= set(ds.level("csp")["area_code"]) | set(ds.level("force")["area_code"])
    assert chars.drop(columns="area_code").notna().all().all()
    assert set(chars.columns) - {"area_code"} == set(demo.CHARACTERISTICS)


def test_population(ds):
    pop = ds.population
    assert set(pop["year"]) == set(ds.months.year)
    assert len(pop) == len(ds.level("csp")) * 6
    y = pop[pop["year"] == 2023]
    assert 50e6 < y["population"].sum() < 65e6
    assert 30_000 < y["population"].min() and y["population"].max() < 800_000
    assert 100_000 < y["population"].median() < 200_000
    size = y["population"] / y["households"]
    assert size.between(2.0, 2.8).all()
    # a mild trend, no jumps
    growth = pop.pivot(index="area_code", columns="year", values="population").pct_change(axis=1).iloc[:, 1:]
    assert growth.abs().max().max() < 0.03


def test_outcomes_partition_the_crimes(wide):
    for cat in NOTIFIABLE_CATEGORIES:
        groups = [outcome_measure(cat, g) for g in OUTCOME_GROUPS if outcome_measure(cat, g) in wide]
        total = wide[groups].sum(axis=1)
        assert (total <= wide[cat]).all(), cat
        assert (total == wide[cat]).all(), cat


def test_characteristics_spreads_and_correlations(ds):
    csp = ds.characteristics.set_index("area_code").loc[ds.level("csp")["area_code"]]
    dens = csp["population_density"]
    assert dens.min() < 60 and dens.max() > 8_000 and 300 < dens.median() < 1_200
    assert csp["imd_score"].between(4, 46).all() and csp["imd_score"].std() > 5
    corr = csp.corr()
    assert corr.loc["imd_score", "pct_single_parent_households"] > 0.5
    assert corr.loc["population_density", "median_age"] < -0.3
    assert corr.loc["pct_students", "pct_aged_16_24"] > 0.4
    # force rows are population-weighted means of their CSPs
    f = ds.characteristics.set_index("area_code").loc[ds.level("force")["area_code"]]
    assert f["imd_score"].between(csp["imd_score"].min(), csp["imd_score"].max()).all()


# ------------------------------------------------------------------ realism
def test_national_rates_and_mix(ds):
    s = demo.summary(ds)
    assert 70 < s["notifiable_per_1000_last_fy"] < 100
    assert 0.18 < s["asb_share_of_all"] < 0.27
    assert 0.33 < s["violence_share_of_notifiable"] < 0.42
    assert 0.05 < s["charged_share"] < 0.09
    assert 0.09 < s["positive_share"] < 0.16
    assert 0.015 < s["burglary_charged_share"] < 0.045


def test_metropolitan_above_rural_and_deprivation_drives_crime(ds, wide):
    rate = _rate(ds, wide, list(NOTIFIABLE_CATEGORIES), demo.MONTHS[-12:])
    chars = ds.characteristics.set_index("area_code").loc[rate.index]
    dens = chars["population_density"]
    metro = rate[dens >= dens.quantile(0.8)].median()
    rural = rate[dens <= dens.quantile(0.2)].median()
    assert metro > rural * 1.4
    assert 80 <= metro <= 130 and 38 <= rural <= 65
    assert np.corrcoef(chars["imd_score"], rate)[0, 1] > 0.3


def test_outcome_mixes_by_category(wide):
    def charged(cat):
        return wide[outcome_measure(cat, "charged")].sum() / wide[cat].sum()
    assert charged("burglary") < 0.05
    for cat in ("drugs", "possession-of-weapons", "shoplifting"):
        assert charged(cat) > 2 * charged("violent-crime"), cat
    violence = wide[[outcome_measure("violent-crime", g) for g in OUTCOME_GROUPS]].sum()
    assert violence.idxmax() == outcome_measure("violent-crime", "unable_to_prosecute")


def test_under_investigation_concentrated_in_recent_months(wide):
    ui = wide[[outcome_measure(c, "under_investigation") for c in NOTIFIABLE_CATEGORIES]].sum(axis=1)
    crimes = wide[list(NOTIFIABLE_CATEGORIES)].sum(axis=1)
    share = ui.groupby("month").sum() / crimes.groupby("month").sum()
    assert share.iloc[-1] > 0.3 and share.iloc[:36].max() < 0.02
    assert share.iloc[-6:].is_monotonic_increasing


def test_seasonality_and_national_trends(wide):
    nat = wide.groupby("month").sum()
    month = nat.index.month
    summer = month.isin([6, 7, 8])
    winter = month.isin([11, 12, 1])
    per_day = nat.div(nat.index.days_in_month, axis=0)
    assert per_day.loc[summer, "violent-crime"].mean() > per_day.loc[winter, "violent-crime"].mean()
    assert per_day.loc[summer, ASB].mean() > 1.15 * per_day.loc[winter, ASB].mean()
    assert per_day.loc[winter, "burglary"].mean() > 1.1 * per_day.loc[summer, "burglary"].mean()
    first, last = nat.iloc[:12].sum(), nat.iloc[-12:].sum()
    assert last["shoplifting"] > 1.4 * first["shoplifting"]
    assert last["vehicle-crime"] < 0.9 * first["vehicle-crime"]


# ------------------------------------------------------------------ planted stories
def test_story_areas_are_ordinary_and_distinct(ds):
    areas = ds.areas.set_index("area_code")
    csp_codes = [v for k, v in demo.STORIES.items() if k != "violence_force"]
    assert areas.loc[demo.STORIES["violence_force"], "level"] == "force"
    forces = [areas.loc[c, "parent_code"] for c in csp_codes]
    assert len(set(forces)) == len(forces) and demo.STORIES["violence_force"] not in forces
    assert set(demo.STORY_DETAILS) == set(demo.STORIES)
    pop = ds.population[ds.population["year"] == 2023].set_index("area_code")["population"]
    for c in csp_codes:
        assert 100_000 <= pop[c] <= 250_000, c


def test_burglary_surge(ds, wide):
    code = demo.STORIES["burglary_surge"]
    s = _series(wide, code, "burglary")
    assert s.iloc[-12:].sum() > 1.3 * s.iloc[-24:-12].sum()
    last12 = _rate(ds, wide, "burglary", demo.MONTHS[-12:])
    peers = _neighbours(ds, code)
    assert last12[code] > 1.2 * last12[peers].median()


def test_improving_area(wide):
    s = _series(wide, demo.STORIES["improving"], NOTIFIABLE_CATEGORIES)
    assert s.iloc[-12:].sum() < 0.7 * s.iloc[:12].sum()
    slope = np.polyfit(np.arange(60), np.log(s.to_numpy()), 1)[0]
    assert slope < -0.008
    # the ASB is not part of the story
    asb = _series(wide, demo.STORIES["improving"], ASB)
    assert asb.iloc[-12:].sum() > 0.6 * asb.iloc[:12].sum()


def test_recording_change(wide):
    s = _series(wide, demo.STORIES["recording_change"], "violent-crime")
    after = s.index >= demo.RECORDING_CHANGE_FROM
    assert s[after].mean() > 1.25 * s[~after].mean()
    # a step, not a drift: flat either side
    assert abs(s[~after].iloc[:12].mean() / s[~after].iloc[-12:].mean() - 1) < 0.12


def test_missing_months(ds):
    code = demo.STORIES["missing_months"]
    miss = ds.missing[ds.missing["area_code"] == code]
    assert list(miss["month"]) == list(demo.MISSING_MONTHS)
    assert (miss["reason"].str.len() > 10).all()
    rows = ds.counts[(ds.counts["area_code"] == code)]
    assert not rows["month"].isin(demo.MISSING_MONTHS).any()
    assert rows["month"].nunique() == 58
    assert len(ds.missing) == 2


def test_violence_force(ds, wide):
    force = demo.STORIES["violence_force"]
    members = ds.areas.loc[ds.areas["parent_code"] == force, "area_code"]
    assert len(members) >= 3
    rate = _rate(ds, wide, "violent-crime")
    for code in members:
        peers = _neighbours(ds, code)
        assert rate[code] > rate[peers].median(), code


# ---------------------------------------------------------------------------------------------- truth
def test_truth_is_the_generators_own(ds, wide):
    t = demo.truth()
    assert len(t) == 314 * len(CRIME_CATEGORIES) and t["period_end"].iloc[0] == demo.MONTHS[-1]
    pd.testing.assert_frame_equal(t, demo.truth())                                 # same seed, same truth
    np.testing.assert_allclose(t["effect"], t["mean"] / t["expected"] - 1)
    # Observed 12-month counts scatter around the generator's means, and around the demand-expected counts
    # once the area effects (independent of the characteristics) average out: slopes near 1 on the log scale.
    last = wide.loc[(slice(None), demo.MONTHS[-12:]), :].groupby(level="area_code").sum()
    obs = last.stack().rename("count").reset_index().rename(columns={"level_1": "measure"})
    m = t.merge(obs, on=["area_code", "measure"])
    m = m[m["count"] >= 20]
    for col, tol in (("mean", 0.02), ("expected", 0.08)):
        slope = np.polyfit(np.log(m[col]), np.log(m["count"]), 1)[0]
        assert abs(slope - 1) < tol, (col, slope)
    # The planted stories are true effects; story areas have no other effect of their own.
    eff = t.set_index(["area_code", "measure"])["effect"]
    assert eff[(demo.STORIES["burglary_surge"], "burglary")] == pytest.approx(0.5, abs=0.06)
    assert abs(eff[(demo.STORIES["burglary_surge"], "robbery")]) < 0.06
    force = ds.areas.loc[ds.areas["parent_code"] == demo.STORIES["violence_force"], "area_code"]
    v = eff.xs("violent-crime", level="measure").loc[force]
    assert (v > 0.1).all() and v.median() == pytest.approx(0.3, abs=0.12)


def test_truth_window_and_errors():
    t = demo.truth(period_end="2024-03", months=12)
    assert (t["period_end"] == pd.Timestamp("2024-03-01")).all() and (t["pop_year"] == 2023).all()
    with pytest.raises(ValueError, match="expected a month from 2022-03 to 2026-03"):
        demo.truth(period_end="2019-01")
