"""Roll-ups: sums only where every member has the figure; population-weighted means; the area's own figure wins."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from perfwork import geography as G


def test_sums_need_every_member():
    members = pd.DataFrame({"area_code": ["a", "b", "c"], "parent": ["P", "P", "Q"]})
    values = pd.DataFrame({"area_code": ["a", "b", "a", "c"], "year": [2020, 2020, 2021, 2021],
                           "population": [10.0, 5.0, 11.0, 7.0], "households": [4.0, np.nan, 4.5, 3.0]})
    out = G.roll_up_sum(values, members, ["population", "households"]).set_index(["parent", "year"])
    assert out.loc[("P", 2020), "population"] == 15.0
    assert np.isnan(out.loc[("P", 2020), "households"])            # b's households are blank
    assert ("P", 2021) not in out.index or np.isnan(out.loc[("P", 2021), "population"])  # b has no 2021
    assert out.loc[("Q", 2021), "population"] == 7.0


def test_means_are_population_weighted():
    members = pd.DataFrame({"area_code": ["a", "b", "c"], "parent": ["P", "P", "P"]})
    x = pd.DataFrame({"imd": [10.0, 40.0, np.nan]}, index=pd.Index(["a", "b", "c"], name="area_code"))
    w = pd.Series({"a": 300.0, "b": 100.0, "c": 50.0})
    assert G.roll_up_mean(x, members, w).loc["P", "imd"] == pytest.approx((10 * 300 + 40 * 100) / 400)
    assert np.isnan(G.roll_up_mean(x, members, w, complete=True).loc["P", "imd"])   # c has no value


def test_dataset_roll_ups(small):
    codes = pd.Index(["F1", "F2", "R"])
    pop = G.population_matrix(small, "force", codes[:2], "population")
    p = small.population.set_index(["area_code", "year"])["population"]
    assert pop.loc["F1", 2024] == p[("A", 2024)] + p[("B", 2024)] and pop.loc["F2", 2024] == p[("C", 2024)]
    chars = G.derived_characteristics(small, "force", pd.Series(["F1", "F2"]))
    latest = G.latest_population(small)
    c = small.characteristics.set_index("area_code")
    want = (c.loc["A", "density"] * latest["A"] + c.loc["B", "density"] * latest["B"]) / (latest["A"] + latest["B"])
    assert chars.loc["F1", "density"] == pytest.approx(want)

