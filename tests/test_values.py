"""Indicators: windows, financial-year boundaries, aggregation by summing, missing months, population years."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import small_tables
from hypothesis import given, settings
from hypothesis import strategies as st

import perfwork as pw
from perfwork.dataset import Dataset
from perfwork.values import indicators, population_year, windows


def _monthly(ds: Dataset, measures, areas=None) -> pd.DataFrame:
    """Independent monthly totals per area: a plain pivot of the counts table, zero-filled over the span."""
    c = ds.counts[ds.counts["measure"].isin(measures)]
    if areas is not None:
        c = c.assign(area_code=c["area_code"].map(areas)).dropna(subset=["area_code"])
    wide = c.pivot_table(index="month", columns="area_code", values="count", aggfunc="sum")
    return wide.reindex(ds.months).fillna(0)


def test_windows_follow_the_calendar():
    months = pd.date_range("2023-01-01", "2025-03-01", freq="MS")
    fy = windows(months, "fy")
    assert list(zip(fy["period_start"].dt.strftime("%Y-%m"), fy["period_end"].dt.strftime("%Y-%m"))) == [
        ("2023-04", "2024-03"), ("2024-04", "2025-03")]
    q = windows(months, "quarter")
    assert q["period_start"].dt.month.isin([1, 4, 7, 10]).all() and (q["end"] - q["start"] == 2).all()
    assert len(q) == 9
    ytd = windows(months, "ytd")
    row = ytd[ytd["period_end"] == "2024-06-01"].iloc[0]
    assert row["period_start"] == pd.Timestamp("2024-04-01")
    assert ytd["period_start"].min() == pd.Timestamp("2023-04-01")  # Jan-Mar 2023 have no April in the data
    r = windows(months, "rolling12")
    assert len(r) == len(months) - 11 and (r["end"] - r["start"] == 11).all()


def test_population_year_is_the_latest_june_on_or_before_the_end():
    ends = pd.to_datetime(["2025-03-01", "2025-05-01", "2025-06-01", "2024-12-01"])
    assert list(population_year(ends)) == [2024, 2024, 2025, 2024]


def test_rolling12_matches_an_independent_recomputation(small):
    got = indicators(small, period="rolling12", level="csp")
    got = got[got["indicator"] == "violence"].set_index(["area_code", "period_end"])
    monthly = _monthly(small, ["violent-crime"])
    rolled = monthly.rolling(12).sum().dropna().stack().rename("num")
    rolled.index.names = ["period_end", "area_code"]
    rolled = rolled.swaplevel().sort_index()
    assert np.array_equal(got["numerator"].sort_index().to_numpy(), rolled.to_numpy())
    pop = small.population.set_index(["area_code", "year"])["population"]
    for (area, end), row in got.iterrows():
        year = end.year if end.month >= 6 else end.year - 1
        assert row["pop_year"] == year
        assert row["value"] == pytest.approx(row["numerator"] / pop[(area, year)] * 1000, rel=1e-12)
        assert row["lower"] < row["value"] < row["upper"]


def test_fy_ytd_and_quarter_sums(small):
    monthly = _monthly(small, ["burglary"])
    fy = indicators(small, period="fy", areas="A").query("indicator == 'burglary'")
    assert list(fy["numerator"]) == [monthly.loc["2023-04":"2024-03", "A"].sum(), monthly.loc["2024-04":"2025-03", "A"].sum()]
    assert list(fy["denominator"]) == [4_000, 4_000]  # households, mid-2023 then mid-2024: constant in the fixture
    ytd = indicators(small, period="ytd", areas="A", period_end="2024-06").query("indicator == 'burglary'")
    assert ytd["numerator"].item() == monthly.loc["2024-04":"2024-06", "A"].sum() and ytd["months"].item() == 3
    q = indicators(small, period="quarter", areas="A", period_end="2024-09").query("indicator == 'burglary'")
    assert q["period_start"].item() == pd.Timestamp("2024-07-01")
    assert q["numerator"].item() == monthly.loc["2024-07":"2024-09", "A"].sum()


def test_forces_sum_numerators_and_denominators_never_average_rates(small):
    csp = indicators(small, period="fy", level="csp").query("indicator == 'all_crime'")
    force = indicators(small, period="fy", level="force").query("indicator == 'all_crime'")
    for end, grp in csp[csp["area_code"].isin(["A", "B"])].groupby("period_end"):
        f1 = force[(force["area_code"] == "F1") & (force["period_end"] == end)].iloc[0]
        assert f1["numerator"] == grp["numerator"].sum()
        assert f1["denominator"] == grp["denominator"].sum()
        assert f1["value"] == pytest.approx(grp["numerator"].sum() / grp["denominator"].sum() * 1000)
        assert f1["value"] != pytest.approx(grp["value"].mean())


def test_outcome_rates_are_proportions_of_the_same_crimes(small):
    got = indicators(small, period="fy", areas="B").query("indicator == 'burglary_charge_rate'")
    monthly_c = _monthly(small, ["burglary:charged"])
    monthly_b = _monthly(small, ["burglary"])
    row = got.iloc[-1]
    assert row["numerator"] == monthly_c.loc["2024-04":"2025-03", "B"].sum()
    assert row["denominator"] == monthly_b.loc["2024-04":"2025-03", "B"].sum()
    assert row["method"] == "Wilson 95%" and 0 <= row["lower"] <= row["value"] <= row["upper"] <= 100


def test_missing_months_make_periods_incomplete_everywhere_they_reach(tables):
    gone = tables["counts"]["month"].isin(["2024-05", "2024-06"]) & (tables["counts"]["area_code"] == "C")
    tables["counts"] = tables["counts"][~gone]
    tables["missing"] = pd.DataFrame({"area_code": ["C", "C"], "month": ["2024-05", "2024-06"], "reason": "no file"})
    ds = Dataset(**tables)
    r = indicators(ds, period="rolling12", areas="C").query("indicator == 'violence'").set_index("period_end")
    assert not r.loc["2024-05-01", "complete"] and np.isnan(r.loc["2024-05-01", "value"])
    assert np.isnan(r.loc["2025-04-01" if "2025-04-01" in r.index else "2025-03-01", "numerator"])
    assert r.loc["2024-04-01", "complete"] and r.loc["2024-04-01", "numerator"] > 0
    assert r.loc["2025-03-01", "months_missing"] == 2
    month = indicators(ds, period="month", areas="C").query("indicator == 'violence'").set_index("period_end")
    assert month["complete"].sum() == len(ds.months) - 2
    nation = indicators(ds, period="fy", level="nation").query("indicator == 'violence'")
    assert list(nation["complete"]) == [True, False]
    other = indicators(ds, period="fy", level="force").query("indicator == 'violence' and area_code == 'F1'")
    assert other["complete"].all()
    # a missing force-month reaches every CSP inside it
    tables2 = small_tables()
    drop = tables2["counts"]["month"].eq("2023-08") & tables2["counts"]["area_code"].isin(["A", "B"])
    tables2["counts"] = tables2["counts"][~drop]
    tables2["missing"] = pd.DataFrame({"area_code": ["F1"], "month": ["2023-08"], "reason": "force system outage"})
    ds2 = Dataset(**tables2)
    fy = indicators(ds2, period="fy", level="csp").query("indicator == 'violence'")
    first = fy[fy["period_end"] == pd.Timestamp("2024-03-01")].set_index("area_code")["complete"]
    assert list(first) == [False, False, True]


def test_count_kind_and_households_missing(tmp_path):
    t = small_tables()
    t["population"]["households"] = np.nan
    ds = Dataset(**t)
    fw = tmp_path / "fw.yaml"
    fw.write_text("""
indicators:
  - {id: n, label: Burglaries, domain: D, numerator: [burglary], denominator: none, multiplier: 1, kind: count,
     polarity: low_is_good, description: count}
  - {id: h, label: "Burglary per 1,000 households", domain: D, numerator: [burglary], denominator: households,
     multiplier: 1000, kind: rate, polarity: low_is_good, description: households}
""")
    got = indicators(ds, framework=fw, period="fy", areas="A")
    n = got.query("indicator == 'n'")
    assert (n["value"] == n["numerator"]).all() and n["denominator"].isna().all()
    assert got.query("indicator == 'h'")["value"].isna().all()


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_aggregating_then_dividing_equals_the_national_ratio(seed):
    ds = Dataset(**small_tables(months=("2023-01", "2024-06"), seed=seed))
    csp = indicators(ds, period="rolling12", level="csp")
    nation = indicators(ds, period="rolling12", level="nation")
    for ind in ("all_crime", "positive_outcomes", "burglary"):
        c = csp[csp["indicator"] == ind].groupby("period_end")[["numerator", "denominator"]].sum()
        n = nation[nation["indicator"] == ind].set_index("period_end")
        assert np.allclose(n["value"], c["numerator"] / c["denominator"] * n["multiplier"].iloc[0], equal_nan=True)


def test_demo_rolling12_matches_an_independent_recomputation():
    ds = pw.load_demo()
    got = indicators(ds, period="rolling12", level="csp").query("indicator == 'sac'")
    monthly = _monthly(ds, ["burglary", "robbery", "vehicle-crime"])
    missing = ds.missing.assign(flag=1).pivot_table(index="month", columns="area_code", values="flag").reindex(ds.months)
    missing = missing.reindex(columns=monthly.columns).fillna(0)
    expect = monthly.rolling(12).sum().where(missing.rolling(12).sum() == 0)
    expect = expect.iloc[11:].stack(future_stack=True).rename("num").swaplevel().sort_index()
    got = got.set_index(["area_code", "period_end"])["numerator"].sort_index()
    assert len(got) == len(expect) and len(ds.level("csp")) >= 250
    assert np.allclose(got.to_numpy(), expect.to_numpy(), equal_nan=True)


def test_a_blank_member_household_leaves_the_force_without_households(tables):
    tables["population"].loc[tables["population"]["area_code"] == "B", "households"] = np.nan
    ds = Dataset(**tables)
    force = indicators(ds, period="fy", level="force").query("indicator == 'burglary'").set_index("area_code")
    assert force.loc["F1", "denominator"].isna().all() and force.loc["F1", "value"].isna().all()
    assert (force.loc["F2", "denominator"] == 16_500).all()  # F2's only CSP has households


def test_latest_is_the_latest_period_of_the_kind_asked_for():
    ds = Dataset(**small_tables(months=("2023-01", "2024-08")))
    assert indicators(ds, period="fy", period_end="latest")["period_end"].unique() == [pd.Timestamp("2024-03-01")]
    assert indicators(ds, period="quarter", period_end="latest")["period_end"].unique() == [pd.Timestamp("2024-06-01")]
    assert indicators(ds, period="month", period_end="latest")["period_end"].unique() == [pd.Timestamp("2024-08-01")]


def test_an_indicator_whose_measures_are_never_recorded_has_no_value(tables):
    tables["counts"] = tables["counts"][~tables["counts"]["measure"].str.contains(":")]
    ds = Dataset(**tables)
    got = indicators(ds, period="fy").set_index("indicator")
    assert not got.loc["charge_rate", "complete"].any() and got.loc["charge_rate", "value"].isna().all()
    assert got.loc["violence", "complete"].all()
    # a recorded measure beside unrecorded ones still counts (other-crime is never recorded in the fixture)
    assert got.loc["all_crime", "complete"].all()


def test_a_month_missing_for_one_measure_touches_only_indicators_that_read_it(tables):
    gone = (tables["counts"]["area_code"] == "B") & (tables["counts"]["month"] == "2024-05") & \
        tables["counts"]["measure"].str.startswith("shoplifting")
    tables["counts"] = tables["counts"][~gone]
    tables["missing"] = pd.DataFrame({"area_code": ["B", "B"], "month": ["2024-05", "2024-05"],
                                      "measure": ["shoplifting", "shoplifting:charged"], "reason": "no file"})
    ds = Dataset(**tables)
    got = indicators(ds, period="fy", areas="B").set_index(["indicator", "period_end"])
    late = pd.Timestamp("2025-03-01")
    assert not got.loc[("shoplifting", late), "complete"] and got.loc[("shoplifting", late), "months_missing"] == 1
    assert not got.loc[("all_crime", late), "complete"]  # all crime sums shoplifting too
    assert got.loc[("violence", late), "complete"] and got.loc[("burglary", late), "complete"]
    assert got.loc[("shoplifting", pd.Timestamp("2024-03-01")), "complete"]
