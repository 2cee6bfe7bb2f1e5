"""Change over time: the exact change test, direction of travel, SPC and the Fingertips trend."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import small_tables

from perfwork import stats, trends
from perfwork.dataset import Dataset
from perfwork.sources import demo
from perfwork.values import indicators

S = demo.STORIES
LATEST = pd.Timestamp("2026-03-01")


@pytest.fixture(scope="module")
def ds() -> Dataset:
    return demo.load()


@pytest.fixture(scope="module")
def r12(ds) -> pd.DataFrame:
    return indicators(ds, period="rolling12", areas=[v for v in S.values() if v.startswith("DK-C")] + ["DK-C0001"])


@pytest.fixture(scope="module")
def monthly(ds) -> pd.DataFrame:
    return indicators(ds, period="month", areas=[v for v in S.values() if v.startswith("DK-C")] + ["DK-C0001"])


def _row(frame, area, indicator, end=LATEST):
    hit = frame[(frame["area_code"] == area) & (frame["indicator"] == indicator) & (frame["period_end"] == end)]
    assert len(hit) == 1, (area, indicator, end)
    return hit.iloc[0]


# ---------------------------------------------------------------------------------------------------- change
def test_change_matches_the_exact_test_by_hand(r12):
    ch = trends.change(r12)
    row = _row(ch, "DK-C0001", "all_crime")
    prev = _row(r12, "DK-C0001", "all_crime", LATEST - pd.DateOffset(months=12))
    cur = _row(r12, "DK-C0001", "all_crime")
    test = stats.poisson_change_test([prev["numerator"]], [cur["numerator"]], [prev["denominator"]],
                                     [cur["denominator"]]).iloc[0]
    assert row["p_value"] == pytest.approx(test["p_value"])
    assert row["rate_ratio"] == pytest.approx(test["rate_ratio"])
    assert row["rate_ratio"] == pytest.approx(cur["value"] / prev["value"])
    assert row["change_pct"] == pytest.approx((cur["value"] / prev["value"] - 1) * 100)
    assert row["monthly_change"] == pytest.approx((cur["value"] - prev["value"]) / 12)
    assert "exposures = population" in row["change_method"]
    assert "exposures = households" in _row(ch, "DK-C0001", "burglary")["change_method"]
    assert "exposures = the crimes" in _row(ch, "DK-C0001", "charge_rate")["change_method"]
    first = ch[ch["period_end"] == ch["period_end"].min()]
    assert (first["travel"] == "no previous period").all()


def test_direction_of_travel_stories(r12):
    ch = trends.change(r12)
    surge = _row(ch, S["burglary_surge"], "burglary")
    assert surge["travel"] == "deteriorating" and surge["direction"] == "increase"
    assert surge["change_pct"] > 30 and surge["p_value"] < 0.001
    improving = _row(ch, S["improving"], "all_crime")
    assert improving["travel"] == "improving" and improving["p_value"] < 0.001
    step = _row(ch, S["recording_change"], "violence", pd.Timestamp("2025-03-01"))   # 12 months after the step
    assert step["travel"] == "deteriorating" and step["change_pct"] > 20


def test_missing_months_are_incomplete_not_a_drop(r12):
    ch = trends.change(r12)
    area = ch[ch["area_code"] == S["missing_months"]]
    # windows touching 2023-10/11: the current window (to Oct 2023 .. Sep 2024) or the previous one (.. Sep 2025)
    touched = area[(area["period_end"] >= "2023-10-01") & (area["period_end"] <= "2025-09-01")]
    assert len(touched) and (touched["travel"] == "incomplete").all()
    assert (touched["direction"] == "incomplete").all() and touched["p_value"].isna().all()
    clean = area[area["period_end"] == LATEST]
    assert not (clean["travel"] == "incomplete").any()


def test_change_on_a_small_dataset_with_a_gap():
    t = small_tables(months=("2023-01", "2025-03"))
    t["missing"] = pd.DataFrame({"area_code": ["B"], "month": ["2024-06"], "reason": ["no data"]})
    t["counts"] = t["counts"][~((t["counts"]["area_code"] == "B") & (t["counts"]["month"] == "2024-06"))]
    ds = Dataset(**t, name="gap")
    v = indicators(ds, period="rolling12")
    ch = trends.change(v)
    b = ch[(ch["area_code"] == "B") & (ch["period_end"] == pd.Timestamp("2025-03-01"))]
    assert (b["travel"] == "incomplete").all()
    # B's gap leaves A complete; indicators whose measures the small dataset never records have no value
    # anywhere (incomplete everywhere), so only the recorded ones are A's to judge.
    recorded = v.loc[v["value"].notna(), "indicator"].unique()
    a = ch[(ch["area_code"] == "A") & (ch["period_end"] == pd.Timestamp("2025-03-01")) & ch["indicator"].isin(recorded)]
    assert len(a) >= 3 and not (a["travel"] == "incomplete").any()
    unrecorded = ch[(ch["area_code"] == "A") & ~ch["indicator"].isin(recorded)]
    assert (unrecorded["travel"].isin(["incomplete", "no previous period"])).all()
    with pytest.raises(ValueError, match="rolling 12-month"):
        trends.change(indicators(ds, period="month"))


def test_travel_reads_polarity():
    """A significant rise is deteriorating when low is good, improving when high is good, increasing with no
    judgement; a fall the reverse."""
    ends = pd.to_datetime(["2024-03-01", "2025-03-01"])
    rows = []
    for pol in ("low_is_good", "high_is_good", "none"):
        for ind, (x1, x2) in {"up": (1000, 1300), "down": (1300, 1000), "flat": (1000, 1010)}.items():
            for end, x in zip(ends, (x1, x2)):
                rows.append({"area_code": "A", "indicator": f"{ind}_{pol}", "period": "rolling12", "period_end": end,
                             "numerator": float(x), "denominator": 100_000.0, "value": x / 100.0, "kind": "rate",
                             "polarity": pol, "multiplier": 1000.0})
    ch = trends.change(pd.DataFrame(rows))
    got = ch[ch["period_end"] == ends[1]].set_index("indicator")["travel"].to_dict()
    assert got == {"up_low_is_good": "deteriorating", "down_low_is_good": "improving",
                   "up_high_is_good": "improving", "down_high_is_good": "deteriorating",
                   "up_none": "increasing", "down_none": "decreasing",
                   **{f"flat_{p}": "no significant change" for p in ("low_is_good", "high_is_good", "none")}}


def test_trend_marker_words_come_from_stats(r12):
    ft = trends.fy_trend(r12, period_end=LATEST)
    pol = r12.drop_duplicates("indicator").set_index("indicator")["polarity"]
    sig = ft[ft["recent_trend"].isin(["Increasing", "Decreasing"])]
    assert len(sig)
    for _, r in sig.iterrows():
        p = pol[r["indicator"]]
        word = {1: "better", -1: "worse"}.get((1 if r["recent_trend"] == "Increasing" else -1)
                                              * {"high_is_good": 1, "low_is_good": -1}.get(p, 0))
        assert r["trend_marker"] == (f"{r['recent_trend']} and getting {word}" if word else r["recent_trend"])
    rest = ft[~ft.index.isin(sig.index)]
    assert (rest["trend_marker"] == rest["recent_trend"]).all()


# ---------------------------------------------------------------------------------------------------- SPC
def test_step_change_shows_as_an_spc_shift(monthly):
    pts = trends.spc_points(monthly, S["recording_change"], "violence")
    before = pts[(pts["period_end"] >= "2023-04-01") & (pts["period_end"] < "2024-04-01")]
    after = pts[(pts["period_end"] >= "2024-04-01")]
    assert (before["relative_to_mean"] == -1).mean() >= 0.75                  # seasonal peaks aside
    assert (after["relative_to_mean"] == 1).mean() >= 0.85
    assert (after.head(8)["point_type"] == "special_cause_concern").mean() >= 0.75
    assert (pts["special_cause"] == "shift").any()
    s = trends.spc(monthly)
    assert _row(s, S["recording_change"], "violence")["spc_shift"]


def test_spc_summary_and_modes(monthly):
    s = trends.spc(monthly)
    assert set(s["spc_variation"]) <= {"common_cause", "special_cause_improvement", "special_cause_concern",
                                       "special_cause_neutral_high", "special_cause_neutral_low", "incomplete"}
    surge = _row(s, S["burglary_surge"], "burglary")
    assert surge["spc_variation"] == "special_cause_concern" and surge["spc_improvement"] == "decrease"
    assert _row(s, S["improving"], "all_crime")["spc_variation"] == "special_cause_improvement"
    assert _row(s, "DK-C0001", "drugs")["spc_improvement"] == "neutral"
    assert s["spc_method"].str.contains("Making Data Count").all()
    ends = [pd.Timestamp("2025-06-01"), LATEST]
    chart = trends.spc(monthly, period_end=ends, mode="chart")
    asof = trends.spc(monthly, period_end=ends, mode="asof")
    key = ["area_code", "indicator", "period_end"]
    m = chart.merge(asof, on=key, suffixes=("_c", "_a"))
    latest = m[m["period_end"] == LATEST]
    assert (latest["spc_variation_c"] == latest["spc_variation_a"]).all()    # one chart at the latest end
    assert (m["spc_points_c"] == m["spc_points_a"]).all()
    # 36-month charts
    short = trends.spc(monthly, months=36)
    assert (short["spc_points"] <= 36).all()


def test_missing_month_is_a_gap_in_spc(monthly):
    s = trends.spc(monthly, period_end=[pd.Timestamp("2023-10-01"), pd.Timestamp("2023-12-01")], mode="asof")
    gap = s[(s["area_code"] == S["missing_months"])]
    assert (gap.loc[gap["period_end"] == "2023-10-01", "spc_variation"] == "incomplete").all()
    assert not (gap.loc[gap["period_end"] == "2023-12-01", "spc_variation"] == "incomplete").any()
    pts = trends.spc_points(monthly, S["missing_months"], "all_crime")
    missing = pts[pts["period_end"].isin(pd.to_datetime(["2023-10-01", "2023-11-01"]))]
    assert missing["value"].isna().all() and missing["point_type"].isna().all()


def test_spc_assurance_with_a_target(monthly):
    tg = pd.DataFrame({"area_code": [S["improving"]], "indicator": ["all_crime"], "target_value": [1000.0]})
    s = trends.spc(monthly, targets=tg)
    row = _row(s, S["improving"], "all_crime")
    assert row["spc_assurance"] == "consistent_pass"              # a monthly target of 83 per 1,000: always met
    assert s[s["area_code"] != S["improving"]]["spc_assurance"].isna().all()


# ---------------------------------------------------------------------------------------------------- FY trend
def test_fingertips_trend_marker(r12):
    ft = trends.fy_trend(r12, period_end=LATEST)
    imp = _row(ft, S["improving"], "all_crime")
    assert imp["recent_trend"] == "Decreasing" and imp["trend_marker"] == "Decreasing and getting better"
    assert imp["trend_points"] == 5
    gap = _row(ft, S["missing_months"], "all_crime")
    assert gap["recent_trend"] == "Cannot be calculated"
    early = trends.fy_trend(r12, period_end=pd.Timestamp("2024-06-01"))
    assert (early["recent_trend"] == "Cannot be calculated").all()           # only 3 financial years by then
    fy = trends.fy_values(r12)
    assert (fy["period_end"].dt.month == 3).all() and (fy["period"] == "fy").all()


def test_fy_values_equal_indicator_fy(ds):
    fy = indicators(ds, period="fy", areas=["DK-C0001"])
    mine = trends.fy_values(indicators(ds, period="rolling12", areas=["DK-C0001"]))
    m = fy.merge(mine, on=["area_code", "indicator", "period_end"], suffixes=("", "_r"))
    assert len(m) == len(fy)
    np.testing.assert_allclose(m["value"], m["value_r"], equal_nan=True)
    np.testing.assert_allclose(m["numerator"], m["numerator_r"], equal_nan=True)


def test_spc_points_all_equals_spc_points_per_series(monthly):
    allp = trends.spc_points_all(monthly, period_end="2026-01-01", months=30)
    for area in (S["recording_change"], "DK-C0001"):
        for ind in ("violence", "burglary", "positive_outcomes"):
            one = trends.spc_points(monthly, area, ind, period_end="2026-01-01", months=30)
            got = allp[(allp["area_code"] == area) & (allp["indicator"] == ind)].drop(columns=["area_code",
                                                                                          "indicator"])
            pd.testing.assert_frame_equal(got.reset_index(drop=True), one[got.columns], check_dtype=False)
    assert set(allp["area_code"]) == set(monthly["area_code"])


def test_spc_points_all_cuts_each_area_at_its_own_period_end(monthly):
    ends = pd.Series({"DK-C0001": pd.Timestamp("2025-06-01"), S["recording_change"]: pd.Timestamp("2026-01-01")})
    allp = trends.spc_points_all(monthly, period_end=ends, months=30)
    for area, end in ends.items():
        one = trends.spc_points(monthly, area, "burglary", period_end=end, months=30)
        got = allp[(allp["area_code"] == area) & (allp["indicator"] == "burglary")]
        assert got["period_end"].max() == end
        pd.testing.assert_frame_equal(got.drop(columns=["area_code", "indicator"]).reset_index(drop=True),
                                      one[got.columns.drop(["area_code", "indicator"])], check_dtype=False)
    other = allp[~allp["area_code"].isin(ends.index)]
    assert other["period_end"].max() == monthly["period_end"].max()       # an area not named is not cut
