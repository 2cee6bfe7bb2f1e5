"""Tests for perfwork.stats: conformance with PHEindicatormethods, edge cases and properties.

Conformance tests read every file in ../shared/reference (relative to the project root) and skip
with a reason when it is absent; a set of literal reference values is embedded below so the suite
still means something without it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perfwork import stats as S

SHARED = Path(__file__).resolve().parents[2] / "shared"
REF = SHARED / "reference"

needs_ref = pytest.mark.skipif(not REF.is_dir(), reason=f"reference data not found at {REF} "
                               "(../shared/reference relative to the project root)")

# Files covered by this module and by tests/test_spc.py; test_every_reference_file_is_covered
# fails if a new reference file appears that nobody checks.
STATS_FILES = {
    "phe_byars_wilson_limits.csv", "phe_dsr_expected_per1e5.csv", "phe_dsr_input_esp2013.csv",
    "phe_funnel_prop_limits_mult100.csv", "phe_funnel_prop_limits_mult100_denominator_lt31000.csv",
    "phe_funnel_prop_significance.csv", "phe_funnel_rate_limits_crude_per1e5_3yr_maxev5.csv",
    "phe_funnel_rate_limits_crude_per1e5_3yr_zero_event.csv", "phe_funnel_rate_limits_dsr_per1e5_3yr.csv",
    "phe_funnel_rate_limits_input.csv", "phe_funnel_rate_significance.csv", "phe_funnel_ratio_limits.csv",
    "phe_funnel_ratio_significance.csv", "phe_proportions_grouped_95.csv", "phe_proportions_wilson.csv",
    "phe_rates_byars_exact.csv", "phe_rates_grouped_95.csv", "phe_trend_markers_other_6.csv",
    "phe_trend_markers_other_grouped.csv", "phe_trend_markers_other_trends.csv",
    "phe_trend_markers_prop_grouped.csv", "phe_trend_markers_prop_trends.csv",
}
SPC_FILES = {"spc_ptd_public_points.csv", "spc_ptd_public_summary.csv", "spc_ptd_rule_unit_tests.csv",
             "spc_ptd_snapshot_expected.csv"}

EXACT = 1e-9  # rates, proportions, confidence limits
CURVE = 1e-4  # funnel curves (PHE finds them by bisection)


def ref(name: str) -> pd.DataFrame:
    return pd.read_csv(REF / name)


def assert_close(got, expected, rtol: float, what: str = "") -> None:
    got = np.asarray(got, dtype="float64")
    expected = np.asarray(expected, dtype="float64")
    assert got.shape == expected.shape, what
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected), err_msg=f"{what}: NaN pattern")
    ok = ~np.isnan(expected)
    np.testing.assert_allclose(got[ok], expected[ok], rtol=rtol, atol=0, err_msg=what)


def labels(series) -> list:
    return [None if pd.isna(v) else str(v) for v in series]


# --------------------------------------------------------------------------------------------
# the reference directory
# --------------------------------------------------------------------------------------------
@needs_ref
def test_every_reference_file_is_covered():
    present = {p.name for p in REF.glob("*.csv")}
    assert present, "no CSV files in the reference directory"
    assert present <= STATS_FILES | SPC_FILES, f"unchecked reference files: {present - STATS_FILES - SPC_FILES}"


# --------------------------------------------------------------------------------------------
# rates and proportions
# --------------------------------------------------------------------------------------------
@needs_ref
@pytest.mark.parametrize("level,lo,hi", [(0.95, "lower95", "upper95"), (0.998, "lower99_8", "upper99_8")])
def test_rates_byars_exact(level, lo, hi):
    d = ref("phe_rates_byars_exact.csv")
    for mult, g in d.groupby("multiplier"):
        out = S.rate_ci(g["count"], g["denominator"], multiplier=mult, level=level)
        assert out.index.equals(g.index)
        assert_close(out["value"], g["value"], EXACT, "value")
        assert_close(out["lower"], g[lo], EXACT, lo)
        assert_close(out["upper"], g[hi], EXACT, hi)
        assert labels(out["method"]) == labels(g["method"])


@needs_ref
def test_rates_grouped():
    d = ref("phe_rates_grouped_95.csv")
    out = S.rate_ci(d["count_summed"], d["denominator_summed"], multiplier=100000)
    assert_close(out["value"], d["value"], EXACT)
    assert_close(out["lower"], d["lower95"], EXACT)
    assert_close(out["upper"], d["upper95"], EXACT)
    assert labels(out["method"]) == labels(d["method"])


@needs_ref
@pytest.mark.parametrize("level,lo,hi", [(0.95, "lower95", "upper95"), (0.998, "lower99_8", "upper99_8")])
def test_proportions_wilson(level, lo, hi):
    d = ref("phe_proportions_wilson.csv")
    for mult, g in d.groupby("multiplier"):
        out = S.proportion_ci(g["numerator"], g["denominator"], multiplier=mult, level=level)
        assert_close(out["value"], g["value"], EXACT)
        assert_close(out["lower"], g[lo], EXACT)
        assert_close(out["upper"], g[hi], EXACT)
        assert labels(out["method"]) == labels(g["method"])


@needs_ref
def test_proportions_grouped():
    d = ref("phe_proportions_grouped_95.csv")
    out = S.proportion_ci(d["numerator_summed"], d["denominator_summed"], multiplier=1)
    assert_close(out["value"], d["value"], EXACT)
    assert_close(out["lower"], d["lower95"], EXACT)
    assert_close(out["upper"], d["upper95"], EXACT)


@needs_ref
def test_byars_and_wilson_limits():
    d = ref("phe_byars_wilson_limits.csv")
    for _, r in d.iterrows():
        if r["method"] == "Byars":
            lo, hi = S.byar(r["x"], r["confidence"])
        else:
            lo, hi = S.wilson(r["x"], r["n"], r["confidence"])
        assert_close(lo, [r["lower"]], EXACT, f"{r['method']} x={r['x']} lower")
        assert_close(hi, [r["upper"]], EXACT, f"{r['method']} x={r['x']} upper")


@needs_ref
def test_dsr_dobson():
    d = ref("phe_dsr_input_esp2013.csv")
    e = ref("phe_dsr_expected_per1e5.csv").set_index("area")
    out = S.dsr(d["count"], d["pop"], d["esp2013"], group=d["area"], multiplier=100000, level=(0.95, 0.998))
    out = out.loc[e.index]
    for col in ("total_count", "total_pop", "value", "lower95", "upper95", "lower99_8", "upper99_8"):
        assert_close(out[col], e[col], EXACT, col)
    assert labels(out["statistic"]) == labels(e["statistic"])
    assert labels(out["method"]) == labels(e["method"])
    one = S.dsr(d["count"], d["pop"], d["esp2013"], group=d["area"], level=0.95).loc[e.index]
    assert_close(one["lower"], e["lower95"], EXACT)


# --------------------------------------------------------------------------------------------
# funnel significance
# --------------------------------------------------------------------------------------------
@needs_ref
def test_funnel_significance_proportion():
    d = ref("phe_funnel_prop_significance.csv")
    out = S.funnel_significance(d["numerator"], d["denominator"], kind="proportion")
    assert labels(out["significance"]) == labels(d["significance"])


@needs_ref
def test_funnel_significance_ratio():
    d = ref("phe_funnel_ratio_significance.csv")
    out = S.funnel_significance(d["obs"], d["expected"], kind="ratio")
    assert labels(out["significance"]) == labels(d["significance"])


@needs_ref
@pytest.mark.parametrize("column", [
    "dsr_per_100000_with_0", "dsr_per_100_with_0", "dsr_per_100000_without_0", "dsr_per_100_without_0",
    "crude_per_100000_with_0", "crude_per_100_with_0", "crude_per_100000_without_0", "crude_per_100_without_0"])
def test_funnel_significance_rate(column):
    d = ref("phe_funnel_rate_significance.csv")
    rate_type, _, mult, zero = column.split("_")[:4]
    mult = float(mult)
    if zero == "without":
        d = d[d["count"] != 0]
    if rate_type == "dsr":
        out = S.funnel_significance(d["count"], d["pop"], kind="rate", multiplier=mult,
                                    value=d["rate_dsr"], rate_type="dsr")
    else:
        rate = d["rate_crude_per_100000"] if mult == 1e5 else d["rate_crude_per_100"]
        out = S.funnel_significance(d["count"], d["pop"], kind="rate", multiplier=mult, value=rate)
        # the same labels straight from count and population
        plain = S.funnel_significance(d["count"], d["pop"], kind="rate", multiplier=mult)
        assert labels(plain["significance"]) == labels(d[column])
    assert labels(out["significance"]) == labels(d[column])


@needs_ref
def test_rate_significance_conventions_agree_on_reference():
    """Own-CI (PHE) and outside-the-exact-funnel-at-own-denominator give the reference labels."""
    d = ref("phe_funnel_rate_significance.csv")
    x, n = d["count"].to_numpy(float), d["pop"].to_numpy(float)
    bench = x.sum() / n.sum() * 1e5
    lim = S.funnel_limits(benchmark=bench, at=n, kind="rate", multiplier=1e5)
    v = x / n * 1e5
    lab = np.select([v > lim["upper_99_8"], v > lim["upper_95"], v < lim["lower_99_8"], v < lim["lower_95"]],
                    list(S.LABELS[:4]), "Not significant")
    assert list(lab) == labels(d["crude_per_100000_with_0"])


# --------------------------------------------------------------------------------------------
# funnel limits
# --------------------------------------------------------------------------------------------
@needs_ref
@pytest.mark.parametrize("name,subset", [("phe_funnel_prop_limits_mult100.csv", False),
                                         ("phe_funnel_prop_limits_mult100_denominator_lt31000.csv", True)])
def test_funnel_limits_proportion(name, subset):
    d = ref("phe_funnel_prop_significance.csv")
    if subset:
        d = d[d["denominator"] < 31000]
    expected = ref(name)
    out = S.funnel_limits(d["numerator"], d["denominator"], kind="proportion", multiplier=100)
    assert len(out) == len(expected) == 100
    np.testing.assert_array_equal(out["denominator"], expected["population"])
    for col in ("lower_95", "upper_95", "lower_99_8", "upper_99_8", "baseline"):
        assert_close(out[col], expected[col], CURVE, col)
    assert out.attrs["overdispersion_applied"] is False


RATE_COLUMNS = {
    "lower_95_denominator": "lower_2s_population_1_year", "lower_95": "lower_2s_limit",
    "upper_95_denominator": "upper_2s_population_1_year", "upper_95": "upper_2s_limit",
    "lower_99_8_denominator": "lower_3s_population_1_year", "lower_99_8": "lower_3s_limit",
    "upper_99_8_denominator": "upper_3s_population_1_year", "upper_99_8": "upper_3s_limit",
    "baseline": "baseline",
}


def _rate_funnel_inputs(case: str) -> dict:
    inp = ref("phe_funnel_rate_limits_input.csv")
    if case == "dsr":
        return {"count": inp["ev"], "value": inp["rate"], "rate_type": "dsr"}
    if case == "maxev5":  # PHE test: the largest count replaced by 5 events
        ev = inp["ev"].where(inp["ev"] != inp["ev"].max(), 5)
        return {"count": ev, "value": inp["rate"], "rate_type": "crude"}
    # zero_event: population derived from the rate, the largest count set to 0, small areas dropped
    z = inp[["ev", "rate"]].copy()
    z["pop"] = 1e5 * z["ev"] / z["rate"]
    biggest = z["ev"] == z["ev"].max()
    z.loc[biggest, ["ev", "rate"]] = 0
    z = z[z["pop"] > z["pop"].max() / 2]
    return {"count": z["ev"], "value": z["rate"], "denominator": z["pop"], "rate_type": "crude"}


@needs_ref
@pytest.mark.parametrize("name,case", [("phe_funnel_rate_limits_dsr_per1e5_3yr.csv", "dsr"),
                                       ("phe_funnel_rate_limits_crude_per1e5_3yr_maxev5.csv", "maxev5"),
                                       ("phe_funnel_rate_limits_crude_per1e5_3yr_zero_event.csv", "zero")])
def test_funnel_limits_rate(name, case):
    expected = ref(name)
    out = S.funnel_limits(kind="rate", multiplier=1e5, years_of_data=3, **_rate_funnel_inputs(case))
    np.testing.assert_array_equal(out["events"], expected["Events"])
    for ours, theirs in RATE_COLUMNS.items():
        assert_close(out[ours], expected[theirs], CURVE, ours)
    assert set(expected["method"]) == {"Poisson"}


@needs_ref
def test_funnel_points_rate_input():
    """phe_funnel_rate_limits_input.csv also holds PHE's calculate_funnel_points outputs."""
    inp = ref("phe_funnel_rate_limits_input.csv")
    biggest = inp["ev"] == inp["ev"].max()
    dsr = S.funnel_points(inp["ev"].where(~biggest, 5), inp["rate"], rate_type="dsr", years_of_data=3)
    assert_close(dsr["value_chart"], inp["rate_chart"], EXACT)
    assert_close(dsr["denominator_derived"], inp["denominator_derived"], 1e-9)
    crude = S.funnel_points(inp["ev"], inp["rate"], rate_type="crude", years_of_data=3)
    assert_close(crude["value_chart"], inp["rate_chart_crude"], EXACT)
    assert_close(crude["denominator_derived"], inp["denominator_derived_crude"], 1e-9)
    zero = S.funnel_points(inp["ev"].where(~biggest, 0), inp["rate"], denominator=inp["pop"],
                           rate_type="crude", years_of_data=5)
    assert_close(zero["value_chart"], inp["rate_chart_crude_with_denom"], EXACT)
    assert_close(zero["denominator_derived"], inp["denominator_derived_crude_with_denom"], 1e-9)


@needs_ref
@pytest.mark.parametrize("ratio_type", ["count", "isr"])
def test_funnel_limits_ratio(ratio_type):
    d = ref("phe_funnel_ratio_significance.csv")
    expected = ref("phe_funnel_ratio_limits.csv")
    out = S.funnel_limits(d["obs"], d["expected"], kind="ratio", ratio_type=ratio_type)
    np.testing.assert_array_equal(out["observed"], expected["observed_events"])
    for lv, s in (("95", "2s"), ("99_8", "3s")):
        for side in ("lower", "upper"):
            assert_close(out[f"{side}_{lv}_expected"], expected[f"{side}_{s}_exp_events"], CURVE)
            assert_close(out[f"{side}_{lv}"], expected[f"{side}_{s}_{ratio_type}"], CURVE)


@needs_ref
def test_funnel_limits_at_denominators_follow_the_phe_curve():
    """Evaluating at the denominators PHE tabulates gives PHE's limits back."""
    expected = ref("phe_funnel_rate_limits_crude_per1e5_3yr_maxev5.csv")
    bench = expected["baseline"].iloc[0]
    for lv, s in (("95", "2s"), ("99_8", "3s")):
        for side in ("lower", "upper"):
            den = expected[f"{side}_{s}_population_1_year"].to_numpy() * 3
            keep = den > 50  # where the lower curve has left zero
            out = S.funnel_limits(benchmark=bench, at=den[keep], kind="rate", multiplier=1e5)
            assert_close(out[f"{side}_{lv}"], expected[f"{side}_{s}_limit"][keep], CURVE, f"{side} {lv}")


# --------------------------------------------------------------------------------------------
# trend markers
# --------------------------------------------------------------------------------------------
def _last_rows(d: pd.DataFrame) -> pd.DataFrame:
    return d[d["recent_trend"].notna()]


@needs_ref
@pytest.mark.parametrize("name,by", [("phe_trend_markers_other_6.csv", None),
                                     ("phe_trend_markers_other_trends.csv", None),
                                     ("phe_trend_markers_other_grouped.csv", "Ethnicity")])
def test_trend_markers_other(name, by):
    d = ref(name)
    out = S.trend_marker(d, year="Year", kind="other", value="Value", lower="LL", upper="UL", by=by)
    exp = _last_rows(d)
    if by:
        out = out.set_index(by).loc[exp[by]]
    assert labels(out["recent_trend"]) == labels(exp["recent_trend"])
    assert [r.lower() for r in labels(out["recent_trend_reason"])] == \
        [r.lower() for r in labels(exp["recent_trend_reason"])]
    assert_close(np.round(out["significance"].to_numpy(), 4), exp["Significance"], 1e-12)
    assert_close(np.round(out["gradient"].to_numpy(), 4), exp["Gradient"], 1e-12)


@needs_ref
@pytest.mark.parametrize("name,by", [("phe_trend_markers_prop_trends.csv", None),
                                     ("phe_trend_markers_prop_grouped.csv", "Ethnicity")])
def test_trend_markers_proportion(name, by):
    d = ref(name)
    out = S.trend_marker(d, year="Year", kind="proportion", numerator="Count", denominator="denominator", by=by)
    exp = _last_rows(d)
    if by:
        out = out.set_index(by).loc[exp[by]]
    assert labels(out["recent_trend"]) == labels(exp["recent_trend"])
    assert labels(out["recent_trend_reason"]) == labels(exp["recent_trend_reason"])
    # README: in the gapped-year group the spreadsheet's statistics used t = 1..5; labels are right.
    gapped = np.zeros(len(exp), dtype=bool)
    if by:
        gapped = (exp[by] == "Other ethnic group").to_numpy()
    assert_close(np.round(out["significance"].to_numpy()[~gapped], 4), exp["Significance"][~gapped], 1e-12)
    assert_close(np.round(out["gradient"].to_numpy()[~gapped], 4), exp["Gradient"][~gapped], 1e-12)
    if gapped.any():
        g = d[d[by] == "Other ethnic group"].copy()
        g["t"] = np.arange(1, 6)
        again = S.trend_marker(g, year="t", kind="proportion", numerator="Count", denominator="denominator")
        assert round(again["significance"].iloc[0], 4) == exp["Significance"][gapped].iloc[0]
        assert round(again["gradient"].iloc[0], 4) == exp["Gradient"][gapped].iloc[0]


# --------------------------------------------------------------------------------------------
# embedded reference values (no ../shared needed)
# --------------------------------------------------------------------------------------------
def test_embedded_rates():
    # PHEindicatormethods testdata_Rate.xlsx, per 100: 1/100, 5/100, 20/100, 999/3456
    out95 = S.rate_ci([1, 5, 20, 999], [100, 100, 100, 3456], multiplier=100)
    assert_close(out95["lower"], [0.0253178079843, 1.62348639012, 12.2114288349, 27.1413049361], EXACT)
    assert_close(out95["upper"], [5.57164339094, 11.6683320793, 30.8898803692, 30.7558332374], EXACT)
    assert labels(out95["method"]) == ["Exact", "Exact", "Byars", "Byars"]
    out998 = S.rate_ci([1, 65], [100, 100], multiplier=100, level=0.998)
    assert_close(out998["lower"], [0.00100050033358, 42.8802614715], EXACT)
    assert_close(out998["upper"], [9.23341347645, 94.0002908443], EXACT)


def test_embedded_proportions_and_byar():
    out = S.proportion_ci([65, 9856], [100, 12345], multiplier=1)
    assert_close(out["lower"], [0.552544432969, 0.791210175291], EXACT)
    assert_close(out["upper"], [0.736357517569, 0.805364007361], EXACT)
    lo, hi = S.byar([65, 1045, 1], 0.95)
    assert_close(lo, [50.1631877105, 982.593201807, 0.0130721329015], EXACT)
    assert_close(hi, [82.8491385459, 1110.33121299, 5.56375558248], EXACT)
    lo, hi = S.byar(1, 0.998)
    assert np.isnan(lo[0]) and abs(hi[0] / 9.36218021791 - 1) < EXACT


def test_embedded_dsr():
    counts = [127, 25, 18, 21, 12, 27, 48, 27, 29, 32, 32, 34, 45, 65, 38, 68, 74, 82, 91]
    pops = [636, 558, 609, 543, 384, 594, 669, 843, 660, 576, 606, 522, 426, 273, 300, 288, 153, 123, 207]
    esp = [5000, 5500, 5500, 5500, 6000, 6000, 6500, 7000, 7000, 7000, 7000, 6500, 6000, 5500, 5000,
           4000, 2500, 1500, 1000]
    out = S.dsr(counts, pops, esp, level=(0.95, 0.998))
    assert_close(out[["value", "lower95", "upper95", "lower99_8", "upper99_8"]].to_numpy()[0],
                 [10430.2479915, 9717.70906799, 11178.9409155, 9323.28788022, 11620.5959995], EXACT)
    tiny = S.dsr([0, 1, 2, 3, np.nan], [100] * 5, [1] * 5)
    assert np.isnan(tiny["value"].iloc[0]) and tiny["statistic"].iloc[0] == "dsr NA for total count < 10"


def test_embedded_funnel_values():
    # PHE ratio funnel: observed 1 and 10 events, 95% and 99.8% expected counts and ISR limits
    d = pd.DataFrame({"obs": [1, 10, 200], "expected": [1.0, 10.0, 190.0]})
    out = S.funnel_limits(benchmark=1, at=[5.571644585, 0.025317898], kind="ratio", ratio_type="isr")
    assert_close(out["lower_95"].iloc[:1], [17.94802207], CURVE)
    assert_close(out["upper_95"].iloc[1:], [3949.774946], CURVE)
    sig = S.funnel_significance([8, 151, 159, 150, 0], [6.239860227, 106.4429719, 232.9329036, 119.5695496,
                                                        240.6273499], kind="ratio")
    assert labels(sig["significance"]) == ["Not significant", "High (0.001)", "Low (0.001)", "High (0.025)",
                                           "Low (0.001)"]
    assert len(S.funnel_limits(d["obs"], d["expected"], kind="ratio")) == 100


def test_embedded_trend_marker():
    df = pd.DataFrame({"Year": [1, 2, 3, 4, 5], "Value": [30.6, 30.2, 28.0, 24.6, 24.67],
                       "LL": [28.98, 28.63, 26.44, 23.15, 23.16], "UL": [32.25, 31.9, 29.64, 26.19, 26.25]})
    out = S.trend_marker(df, year="Year", value="Value", lower="LL", upper="UL", polarity="high_is_good")
    assert out["recent_trend"].iloc[0] == "Decreasing"
    assert out["trend_marker"].iloc[0] == "Decreasing and getting worse"
    assert round(out["significance"].iloc[0], 4) == 46.7636
    assert round(out["gradient"].iloc[0], 4) == -1.7516
    prop = pd.DataFrame({"Year": range(2019, 2024), "n": [318, 314, 318, 291, 292],
                         "d": [468.3357879234167, 472.8915662650602, 500.78740157480314, 480.1980198019802,
                               499.14529914529913]})
    out = S.trend_marker(prop, year="Year", kind="proportion", numerator="n", denominator="d",
                         polarity="low_is_good")
    assert out["trend_marker"].iloc[0] == "Decreasing and getting better"
    assert round(out["significance"].iloc[0], 4) == 12.5688


# --------------------------------------------------------------------------------------------
# edge cases and errors
# --------------------------------------------------------------------------------------------
def test_zero_counts_and_count_equal_denominator():
    r = S.rate_ci([0], [1000], multiplier=1000)
    assert r["lower"].iloc[0] == 0 and r["value"].iloc[0] == 0
    assert abs(r["upper"].iloc[0] - (-np.log(0.025))) < 1e-12  # U = chi2(0.975, 2)/2 = -ln(0.025)
    assert r["method"].iloc[0] == "Exact"
    p = S.proportion_ci([0, 50], [50, 50], multiplier=1)
    assert p["lower"].iloc[0] == 0 and abs(p["upper"].iloc[1] - 1) < 1e-15
    assert 0 < p["upper"].iloc[0] < 1 and 0 < p["lower"].iloc[1] < 1


@pytest.mark.parametrize("func", [S.rate_ci, S.proportion_ci])
def test_bad_denominators_raise_with_positions(func):
    with pytest.raises(ValueError, match=r"denominators must be > 0.*position\(s\) \[1, 2\]"):
        func([1, 2, 3], [10, 0, -5])
    s = pd.Series([1, 2], index=["E01", "E02"])
    with pytest.raises(ValueError, match="E02"):
        func(s, pd.Series([10, 0], index=["E01", "E02"]))


def test_negative_counts_and_proportion_above_one_raise():
    with pytest.raises(ValueError, match=r"counts must be >= 0.*\[0\]"):
        S.rate_ci([-1, 2], [10, 10])
    with pytest.raises(ValueError, match=r"count must be <= its denominator.*\[1\]"):
        S.proportion_ci([1, 20], [10, 10])
    with pytest.raises(ValueError, match="denominator"):
        S.funnel_significance([1, 2], [0, 3], kind="proportion")
    with pytest.raises(ValueError, match="level"):
        S.rate_ci([1], [10], level=1.5)


def test_nan_in_nan_out_and_index_kept():
    idx = pd.Index(["a", "b", "c"])
    r = S.rate_ci(pd.Series([5, np.nan, 12], index=idx), pd.Series([100, 100, np.nan], index=idx))
    assert r.index.equals(idx)
    assert r.loc["b", ["value", "lower", "upper"]].isna().all() and pd.isna(r.loc["b", "method"])
    assert np.isnan(r.loc["c", "value"]) and r.loc["c", "method"] == "Byars"
    p = S.proportion_ci([np.nan, 1], [10, 10])
    assert np.isnan(p["lower"].iloc[0]) and not np.isnan(p["lower"].iloc[1])
    lab = S.compare_to_benchmark([np.nan, 1], [np.nan, 2], [np.nan, 0.1], [np.nan, 3], 0.2)
    assert pd.isna(lab.iloc[0]) and lab.iloc[1] == "High (0.025)"


def test_misaligned_series_and_fractional_counts():
    a = pd.Series([1, 2], index=["x", "y"])
    b = pd.Series([10, 10], index=["y", "x"])
    with pytest.raises(ValueError, match="different indexes"):
        S.rate_ci(a, b)
    frac = S.rate_ci([2.5, 12.5], [100, 100], multiplier=1)
    lo, hi = S.exact_poisson([2.5])
    assert frac["lower"].iloc[0] == pytest.approx(lo[0] / 100, rel=1e-12)
    assert frac["upper"].iloc[0] == pytest.approx(hi[0] / 100, rel=1e-12)
    assert labels(frac["method"]) == ["Exact", "Byars"]


def test_level_998_and_percent_levels():
    a = S.rate_ci([7, 70], [1000, 1000], level=0.998)
    b = S.rate_ci([7, 70], [1000, 1000], level=99.8)
    pd.testing.assert_frame_equal(a, b)
    c = S.rate_ci([7, 70], [1000, 1000], level=0.95)
    assert (a["lower"] < c["lower"]).all() and (a["upper"] > c["upper"]).all()
    assert abs(S.z_value(0.998) - 3.090232) < 1e-6 and abs(S.z_value(0.95) - 1.959964) < 1e-6


def test_compare_to_benchmark_order_and_reading():
    lab = S.compare_to_benchmark([12, 11, 5, 5, 8], [20, 20, 7, 9, 12], [10.5, 9, 4, 4, 7],
                                 [22, 22, 9.5, 10.5, 13], 10)
    assert labels(lab) == ["High (0.001)", "High (0.025)", "Low (0.001)", "Low (0.025)", "Not significant"]
    assert labels(S.significance_reading(lab, "low_is_good")) == ["worse", "worse", "better", "better", "similar"]
    assert labels(S.significance_reading(lab, "high_is_good")) == ["better", "better", "worse", "worse", "similar"]
    assert labels(S.significance_reading(lab, None)) == ["higher", "higher", "lower", "lower", "similar"]
    with pytest.raises(ValueError, match="polarity"):
        S.significance_reading(lab, "up")


def test_funnel_significance_reading_and_benchmark():
    out = S.funnel_significance([10, 100, 300], [10000, 10000, 10000], kind="rate", multiplier=1000,
                                polarity="low_is_good")
    assert abs(out["benchmark"].iloc[0] - 410 / 30000 * 1000) < 1e-12
    assert labels(out["reading"]) == ["better", "better", "worse"]
    given_bench = S.funnel_significance([10, 100, 300], [10000] * 3, kind="rate", multiplier=1000, benchmark=10)
    assert labels(given_bench["significance"])[1] == "Not significant"
    assert "pooled" in out["method"].iloc[0]


def test_funnel_limits_overdispersion():
    rng = np.random.default_rng(7)
    n = rng.integers(20000, 400000, 40).astype(float)
    rate = 0.05 * rng.lognormal(0, 0.3, n.size)  # between-area variation well beyond Poisson
    x = rng.poisson(n * rate).astype(float)
    plain = S.funnel_limits(x, n, kind="rate", at=[50000, 200000], overdispersion="none")
    auto = S.funnel_limits(x, n, kind="rate", at=[50000, 200000], overdispersion="auto")
    assert plain.attrs["overdispersion_applied"] is False
    assert auto.attrs["overdispersion_applied"] is True and auto.attrs["tau2"] > 0 and auto.attrs["phi"] > 1
    assert (auto["upper_99_8"] > plain["upper_99_8"]).all() and (auto["lower_99_8"] < plain["lower_99_8"]).all()
    assert "Spiegelhalter" in auto["method"].iloc[0]
    grid = S.funnel_limits(x, n, kind="rate", overdispersion="always")
    assert grid.attrs["overdispersion_applied"] and len(grid) == 100 and "denominator" in grid
    # Poisson data: "auto" leaves the exact limits alone
    x2 = rng.poisson(n * 0.05).astype(float)
    calm = S.funnel_limits(x2, n, kind="rate", at=[100000], overdispersion="auto")
    assert calm.attrs["overdispersion_applied"] is False
    od = S.overdispersion(x, n, kind="rate")
    assert od["k"] == 40 and od["exceeds"]
    p = S.funnel_limits(x, n, kind="proportion", at=[100000], overdispersion="always")
    assert p.attrs["overdispersion_applied"] and (p["upper_95"] > p["lower_95"]).all()


def test_poisson_change_test_against_scipy():
    from scipy.stats import binomtest

    prev = np.array([0, 0, 3, 10, 100, 250, 1000, 40])
    curr = np.array([0, 4, 0, 10, 130, 200, 1100, 41])
    t1 = np.array([1, 1, 1, 1, 1, 1.1, 1, 2])
    out = S.poisson_change_test(prev, curr, prev_exposure=t1, curr_exposure=1)
    for i in range(len(prev)):
        n = prev[i] + curr[i]
        if n == 0:
            assert out["p_value"].iloc[i] == 1 and np.isnan(out["rate_ratio"].iloc[i])
            continue
        r = binomtest(int(curr[i]), int(n), 1 / (t1[i] + 1))
        assert abs(out["p_value"].iloc[i] - r.pvalue) <= 1e-12 * max(r.pvalue, 1e-300)
        ci = r.proportion_ci(0.95, method="exact")
        lo = ci.low / (1 - ci.low) * t1[i]
        assert abs(out["lower"].iloc[i] - lo) <= 1e-9 * max(lo, 1e-300)
    assert out["rate_ratio"].iloc[2] == 0 and out["lower"].iloc[2] == 0
    assert np.isinf(out["rate_ratio"].iloc[1]) and np.isinf(out["upper"].iloc[1])
    assert out["p_value"].iloc[3] == 1.0


def test_poisson_change_test_vectorised_many():
    rng = np.random.default_rng(3)
    a = rng.poisson(rng.choice([2, 30, 800], 10000))
    b = rng.poisson(a * 1.05)
    out = S.poisson_change_test(a, b)
    assert out["p_value"].between(0, 1).all() and len(out) == 10000
    with pytest.raises(ValueError, match="whole-number"):
        S.poisson_change_test([1.5], [2])


def test_trend_marker_edge_cases():
    base = pd.DataFrame({"year": [2019, 2020, 2021, 2022, 2023], "value": [10.0] * 5,
                         "lower": [9.0] * 5, "upper": [11.0] * 5})
    flat = S.trend_marker(base)
    assert flat["recent_trend"].iloc[0] == "No significant change"
    assert flat["gradient"].iloc[0] == 0
    # an outlier that carries the whole slope: dropping it flips the sign
    spike = base.assign(value=[10.0, 9.9, 9.8, 9.7, 30.0], lower=[9.9, 9.8, 9.7, 9.6, 29.9],
                        upper=[10.1, 10.0, 9.9, 9.8, 30.1])
    out = S.trend_marker(spike)
    assert out["recent_trend"].iloc[0] == "No significant change"
    assert out["recent_trend_reason"].iloc[0] == "Outlier found"
    # the multiplier rescales value and limits alike: same test, gradient in other units
    per1000 = S.trend_marker(spike.assign(value=spike["value"] * 1000, lower=spike["lower"] * 1000,
                                          upper=spike["upper"] * 1000), multiplier=1000)
    assert per1000["significance"].iloc[0] == pytest.approx(out["significance"].iloc[0])
    assert per1000["gradient"].iloc[0] == pytest.approx(out["gradient"].iloc[0])
    many = pd.concat([base.assign(area=a) for a in "ABC"])
    many.loc[many["area"] == "B", "value"] = [10.0, 11, 12, 13, 14]
    res = S.trend_marker(many, by="area", polarity="high_is_good")
    assert list(res["area"]) == ["A", "B", "C"]
    assert res.set_index("area").loc["B", "trend_marker"] == "Increasing and getting better"


# --------------------------------------------------------------------------------------------
# properties
# --------------------------------------------------------------------------------------------
counts = st.integers(min_value=0, max_value=10**6)
denoms = st.floats(min_value=1.0, max_value=1e8, allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(counts, denoms), min_size=1, max_size=30))
def test_property_rate_limits_bracket_and_nest(pairs):
    x = np.array([p[0] for p in pairs], dtype=float)
    n = np.array([p[1] for p in pairs])
    a = S.rate_ci(x, n, level=0.95)
    b = S.rate_ci(x, n, level=0.998)
    assert (a["lower"] <= a["value"]).all() and (a["value"] <= a["upper"]).all()
    assert (b["lower"] <= a["lower"] + 1e-12).all() and (b["upper"] >= a["upper"] - 1e-12).all()


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=1, max_value=10**6), st.floats(min_value=0.0, max_value=1.0))
def test_property_proportion_limits_bracket_and_nest(n, frac):
    x = np.floor(n * frac)
    a = S.proportion_ci([x], [n], multiplier=1)
    b = S.proportion_ci([x], [n], multiplier=1, level=0.998)
    v = a["value"].iloc[0]
    assert a["lower"].iloc[0] <= v + 1e-12 and v <= a["upper"].iloc[0] + 1e-12
    assert b["lower"].iloc[0] <= a["lower"].iloc[0] + 1e-15 and b["upper"].iloc[0] >= a["upper"].iloc[0] - 1e-15
    assert 0 <= b["lower"].iloc[0] and b["upper"].iloc[0] <= 1 + 1e-12


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=0, max_value=5000), st.sampled_from([0.95, 0.998]))
def test_property_rate_ci_monotone_in_count(start, level):
    x = np.arange(start, start + 25, dtype=float)
    out = S.rate_ci(x, np.full(x.size, 1e5), level=level)
    assert (np.diff(out["lower"]) > 0).all() and (np.diff(out["upper"]) > 0).all()


def test_funnel_significance_takes_one_benchmark_per_unit():
    x, n = np.array([50, 80, 30, 80]), np.array([1000, 1000, 1000, 1000])
    per_unit = S.funnel_significance(x, n, kind="rate", benchmark=[50, 50, 50, 80], polarity="low_is_good")
    assert list(per_unit["reading"]) == ["similar", "worse", "better", "similar"]
    assert per_unit["method"].iloc[0].endswith("benchmark given per unit")
    same = S.funnel_significance(x[:3], n[:3], kind="rate", benchmark=50, polarity="low_is_good")
    assert list(same["significance"]) == list(per_unit["significance"][:3])
    with pytest.raises(ValueError, match="benchmark has 2 values for 4 units"):
        S.funnel_significance(x, n, kind="rate", benchmark=[50, 60])
