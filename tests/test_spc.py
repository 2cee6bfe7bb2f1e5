"""Tests for perfwork.spc: conformance with NHSRplotthedots, rules one by one, edge cases."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from perfwork import spc

SHARED = Path(__file__).resolve().parents[2] / "shared"
REF = SHARED / "reference"
needs_ref = pytest.mark.skipif(not REF.is_dir(), reason=f"reference data not found at {REF} "
                               "(../shared/reference relative to the project root)")

# set.seed(123); rnorm(20) in R (also in spc_ptd_public_points.csv)
RNORM20 = np.array([
    -0.560475646552213, -0.23017748948328, 1.55870831414912, 0.070508391424576, 0.129287735160946,
    1.71506498688328, 0.460916205989202, -1.26506123460653, -0.686852851893526, -0.445661970099958,
    1.22408179743946, 0.359813827057364, 0.400771450594052, 0.11068271594512, -0.555841134754075,
    1.78691313680308, 0.497850478229239, -1.96661715662964, 0.701355901563686, -0.472791407727934])
VIGNETTE = np.array([1, 2, 1, 2, 10, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1], dtype=float)


def ref(name: str) -> pd.DataFrame:
    return pd.read_csv(REF / name)


def as_bool(s) -> np.ndarray:
    return np.array([str(v).upper() == "TRUE" for v in s])


# --------------------------------------------------------------------------------------------
# conformance
# --------------------------------------------------------------------------------------------
@needs_ref
def test_public_points():
    d = ref("spc_ptd_public_points.csv")
    for name, g in d.groupby("series", sort=False):
        assert g["rebase_group"].eq(0).all() and g["target"].isna().all()
        res = spc.xmr(g["y"].to_numpy(), improvement=g["improvement_direction"].iloc[0],
                      screen_outliers=as_bool(g["screen_outliers"])[0])
        p = res.points
        np.testing.assert_allclose(p["mean"], g["mean_col"], rtol=1e-9, err_msg=name)
        np.testing.assert_allclose(p["lower"], g["lpl"], rtol=1e-9, err_msg=name)
        np.testing.assert_allclose(p["upper"], g["upl"], rtol=1e-9, err_msg=name)
        assert (p["outside_limits"].to_numpy(dtype=bool) == as_bool(g["outside_limits"])).all(), name
        assert (p["close_to_limits"].to_numpy(dtype=bool) == as_bool(g["close_to_limits"])).all(), name
        assert (p["relative_to_mean"].to_numpy(dtype=int) == g["relative_to_mean"].to_numpy()).all(), name
        assert list(p["special_cause_type"].astype(str)) == list(g["special_cause_type"]), name
        assert list(p["point_type"].astype(str)) == list(g["point_type"]), name


@needs_ref
def test_public_summary():
    d = ref("spc_ptd_public_points.csv")
    s = ref("spc_ptd_public_summary.csv").set_index("series")
    for name, g in d.groupby("series", sort=False):
        res = spc.xmr(g["y"].to_numpy(), improvement=g["improvement_direction"].iloc[0],
                      screen_outliers=as_bool(g["screen_outliers"])[0])
        exp = s.loc[name]
        assert len(res.points) == exp["n"]
        assert res.variation == exp["last_point_type_variation_icon"]
        assert res.assurance is None and pd.isna(exp["assurance_type"])
        pt = res.points["point_type"].astype(str)
        assert (pt == "special_cause_improvement").sum() == exp["n_improvement"]
        assert (pt == "special_cause_concern").sum() == exp["n_concern"]


@needs_ref
def test_public_points_through_xmr_frame():
    d = ref("spc_ptd_public_points.csv")
    d = d.assign(screen=as_bool(d["screen_outliers"]))
    for screen, part in d.groupby("screen"):
        pts = spc.xmr_frame(part.sample(frac=1, random_state=0), by="series", value="y", order_by="i",
                            improvement="improvement_direction", screen_outliers=bool(screen))
        pts = pts.loc[part.index]
        np.testing.assert_allclose(pts["upper"], part["upl"], rtol=1e-9)
        assert list(pts["point_type"].astype(str)) == list(part["point_type"])
        assert list(pts["special_cause_type"].astype(str)) == list(part["special_cause_type"])


def _parse(text: str) -> np.ndarray:
    return np.array([float(v) for v in str(text).split(",")])


@needs_ref
def test_rule_unit_tests():
    d = ref("spc_ptd_rule_unit_tests.csv")
    for _, row in d.iterrows():
        f, a, exp = row["function"], _parse(row["input_1"]), _parse(row["expected"])
        if f == "ptd_seven_point_one_side_mean":
            got = spc.seven_point_one_side_mean(a)
        elif f == "ptd_part_of_seven_trend":
            got = spc.part_of_seven(a)
        elif f == "ptd_seven_point_trend":
            got = spc.seven_point_trend(a)
        elif f.startswith("ptd_two_in_three"):
            got = spc.two_in_three(a, _parse(row["input_2"]))
        elif f.startswith("ptd_part_of_two_in_three"):
            got = spc.part_of_two_in_three(spc.two_in_three(a, _parse(row["input_2"])), a)
        else:
            pytest.fail(f"unknown rule in reference: {f}")
        np.testing.assert_array_equal(got, exp, err_msg=f"{f} {row['input_1']}")


@needs_ref
def test_snapshots():
    d = ref("spc_ptd_snapshot_expected.csv").set_index("case")
    pts = ref("spc_ptd_public_points.csv")
    y = pts.loc[pts["series"] == "rnorm20_seed123", "y"].to_numpy()
    y15 = y.copy()
    y15[14] = 10
    series = {"r1": y, "r2": y15, "r3": y15, "s3_facet0": y[:10], "s3_facet1": y[10:],
              "vignette_screened": VIGNETTE, "vignette_unscreened": VIGNETTE}
    for case, values in series.items():
        row = d.loc[case]
        res = spc.xmr(values, screen_outliers=str(row["screen_outliers"]).upper() == "TRUE")
        p = res.points.iloc[0]
        prec = str(row["precision"])
        for ours, theirs in (("mean", "mean_expected"), ("lower", "lpl_expected"), ("upper", "upl_expected")):
            exp = float(row[theirs])
            if "sig figs" in prec:
                sig = int(prec.split()[1])
                assert float(f"{p[ours]:.{sig}g}") == pytest.approx(exp, rel=1e-12), (case, ours)
            else:  # "2 dp" in a vignette caption (which writes 4.60 as 4.6)
                assert round(p[ours], 2) == pytest.approx(exp, abs=1e-12), (case, ours)
    # the last row: points beyond near limits on opposite sides are not "two in three"
    alt = np.tile([1.0, -1.0], 8)
    alt[14], alt[15] = 5.5, -5.5
    assert list(spc.xmr(alt).points["point_type"].astype(str))[-2:] == ["common_cause", "common_cause"]
    assert "two_in_three_opposite" in d.index


# --------------------------------------------------------------------------------------------
# embedded values
# --------------------------------------------------------------------------------------------
def test_embedded_snapshot_values():
    r1 = spc.xmr(RNORM20).points.iloc[0]
    assert (round(r1["mean"], 7), round(r1["lower"], 5), round(r1["upper"], 6)) == (0.1416238, -3.01138, 3.294627)
    y = RNORM20.copy()
    y[14] = 10
    s = spc.xmr(y, screen_outliers=True)
    u = spc.xmr(y, screen_outliers=False)
    assert round(s.points["upper"].iloc[0], 6) == 3.722497 and round(u.points["upper"].iloc[0], 6) == 5.935457
    assert s.points["point_type"].iloc[14] == "special_cause_improvement"
    assert s.points["special_cause_type"].iloc[14] == "Above UCL"
    v = spc.xmr(VIGNETTE)
    assert (round(v.points["lower"].iloc[0], 2), round(v.points["upper"].iloc[0], 2)) == (-0.72, 4.6)
    assert list(v.points["point_type"].astype(str)).count("special_cause_improvement") == 1


# --------------------------------------------------------------------------------------------
# rules and edge cases
# --------------------------------------------------------------------------------------------
def test_point_exactly_on_the_mean_breaks_a_shift():
    # mean is exactly 5; point 3 sits on it and splits seven points above the mean
    on = np.array([6, 7, 6, 5, 7, 6, 7, 4, 3, 4, 5, 3, 4, 3], dtype=float)
    p = spc.xmr(on).points
    assert p["mean"].iloc[0] == 5 and p["relative_to_mean"].iloc[3] == 0
    assert set(p["point_type"].astype(str)) == {"common_cause"}
    # the same shape with that point moved above the mean (and one below to keep the mean): a shift
    off = on.copy()
    off[3], off[10] = 6, 4
    q = spc.xmr(off, improvement="decrease").points
    assert q["mean"].iloc[0] == 5
    assert (q["point_type"].iloc[:7].astype(str) == "special_cause_concern").all()
    assert "shift" in set(q["special_cause"].iloc[:7].astype(str))
    assert spc.seven_point_one_side_mean(np.sign(on - 5)).sum() == 0


def test_shift_run_flags_every_point_and_direction():
    y = np.array([5, 6, 5, 6, 5, 6, 7, 7.2, 7.1, 7.3, 7.2, 7.1, 7.2, 5, 6, 5], dtype=float)
    res = spc.xmr(y, improvement="increase")
    p = res.points
    shift_pts = p.index[p["special_cause"].astype(str) == "shift"].tolist()
    assert len(shift_pts) >= 7
    assert set(p.loc[shift_pts, "point_type"].astype(str)) == {"special_cause_improvement"}
    assert all(t.startswith("7 Points Above") for t in p.loc[shift_pts, "special_cause_type"])
    neutral = spc.xmr(y, improvement="neutral").points
    assert set(neutral.loc[shift_pts, "point_type"].astype(str)) == {"special_cause_neutral_high"}


def test_trend_ties_break_and_trend_flags():
    rising = np.array([1, 2, 3, 4, 5, 6, 7, 3, 4, 3], dtype=float)
    p = spc.xmr(rising, improvement="decrease", screen_outliers=False).points
    assert list(p["special_cause"].astype(str))[:7] == ["trend"] * 7
    assert set(p["point_type"].iloc[:7].astype(str)) == {"special_cause_concern"}
    tied = np.array([1, 2, 3, 3, 4, 5, 6, 7, 3, 4], dtype=float)  # tie at 3 -> 4,5,6,7 only 5 rising
    assert spc.seven_point_trend(tied).sum() == 0
    assert "trend" not in set(spc.xmr(tied).points["special_cause"].astype(str))


def test_special_cause_precedence_outside_before_trend():
    y = np.array([0, 0.1, 0, 0.1, 0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 5.0, 0, 0.1], dtype=float)
    p = spc.xmr(y, screen_outliers=False).points
    assert p["special_cause"].iloc[12] == "outside_limits"
    assert p["special_cause"].iloc[8] == "trend"


def test_single_point_and_constant_series():
    one = spc.xmr([4.0])
    assert one.points["point_type"].iloc[0] == "common_cause" and one.variation == "common_cause"
    assert np.isnan(one.points["upper"].iloc[0])
    assert any("limits not calculated" in w for w in one.warnings)
    const = spc.xmr(np.full(15, 3.0), improvement="increase", target=5)
    p = const.points
    assert (p["lower"] == 3).all() and (p["upper"] == 3).all()
    assert set(p["point_type"].astype(str)) == {"common_cause"}
    assert (p["relative_to_mean"] == 0).all()
    assert const.assurance == "consistent_fail" and const.warnings == []
    assert spc.xmr([], improvement="increase").variation is None


def test_missing_values():
    y = RNORM20.copy()
    y[[5, 19]] = np.nan
    res = spc.xmr(y)
    p = res.points
    assert p["mean"].iloc[0] == pytest.approx(np.nanmean(y))
    assert pd.isna(p["point_type"].iloc[5]) and pd.isna(p["outside_limits"].iloc[5])
    assert res.variation == p["point_type"].iloc[18]
    assert any("missing" in w for w in res.warnings)
    # the gap breaks a run: 7 rising points with a hole in the middle are no trend
    gap = np.array([1, 2, 3, np.nan, 4, 5, 6, 7], dtype=float)
    assert spc.seven_point_trend(gap).sum() == 0
    # moving ranges do not bridge the gap
    amr = np.mean([1, 1, 1, 1, 1])  # 1-2, 2-3, 4-5, 5-6, 6-7
    assert spc.xmr(gap, screen_outliers=False).points["upper"].iloc[0] == pytest.approx(np.nanmean(gap) + 2.66 * amr)


def test_rebase_and_fix_after_and_trial_warning():
    y = np.r_[np.tile([10.0, 11.0], 10), np.tile([20.0, 22.0], 5)]
    res = spc.xmr(y, rebase_at=[20])
    p = res.points
    assert p["mean"].iloc[0] == pytest.approx(10.5) and p["mean"].iloc[25] == pytest.approx(21)
    assert list(p["segment"].unique()) == [0, 1]
    assert len(res.warnings) == 1 and "trial limits" in res.warnings[0] and "segment 1" in res.warnings[0]
    fixed = spc.xmr(np.r_[np.tile([10.0, 11.0], 7), [30.0, 30.0]], fix_after=14)
    assert fixed.points["mean"].iloc[0] == pytest.approx(10.5)
    assert fixed.points["point_type"].iloc[-1] == "special_cause_improvement"
    with pytest.raises(ValueError):
        spc.xmr(y, rebase_at=[40])


def test_assurance():
    y = np.tile([10.0, 12.0], 8)  # mean 11, AMR 2, limits 5.68 .. 16.32
    assert spc.xmr(y, improvement="decrease", target=20).assurance == "consistent_pass"
    assert spc.xmr(y, improvement="decrease", target=2).assurance == "consistent_fail"
    assert spc.xmr(y, improvement="increase", target=2).assurance == "consistent_pass"
    assert spc.xmr(y, improvement="increase", target=11).assurance == "inconsistent"
    assert spc.xmr(y, improvement="neutral", target=11).assurance is None
    assert spc.xmr(y, improvement="increase").assurance is None
    with pytest.raises(ValueError):
        spc.xmr(y, improvement="up")


def test_xmr_frame_matches_xmr_and_keeps_order():
    rng = np.random.default_rng(11)
    rows = []
    for area in ("A", "B", "C"):
        for ind, imp in (("burglary", "decrease"), ("outcomes", "increase")):
            vals = rng.normal(50, 5, 30) + np.r_[np.zeros(20), np.full(10, 12.0)]
            vals[rng.integers(0, 30)] = np.nan
            rows.append(pd.DataFrame({"area": area, "indicator": ind, "improvement": imp,
                                      "month": pd.date_range("2021-01-01", periods=30, freq="MS"),
                                      "value": vals}))
    df = pd.concat(rows, ignore_index=True).sample(frac=1, random_state=2)
    df.index = [f"r{i}" for i in range(len(df))]
    pts = spc.xmr_frame(df, by=["area", "indicator"], order_by="month", improvement="improvement")
    assert pts.index.equals(df.index) and list(pts["area"]) == list(df["area"])
    summ = spc.xmr_summary(pts, by=["area", "indicator"], order_by="month", improvement="improvement",
                           target=55).set_index(["area", "indicator"])
    for (area, ind), g in df.groupby(["area", "indicator"]):
        g = g.sort_values("month")
        one = spc.xmr(g["value"], improvement=g["improvement"].iloc[0], target=55)
        got = pts.loc[g.index]
        np.testing.assert_allclose(got["upper"], one.points["upper"])
        assert list(got["point_type"].astype(str)) == list(one.points["point_type"].astype(str))
        assert summ.loc[(area, ind), "variation"] == one.variation
        assert summ.loc[(area, ind), "assurance"] == one.assurance


def test_xmr_frame_rebase_column_and_errors():
    df = pd.DataFrame({"s": ["x"] * 30, "t": range(30),
                       "v": np.r_[np.tile([1.0, 2.0], 10), np.tile([8.0, 9.0], 5)],
                       "rb": [0] * 20 + [1] + [0] * 9})
    pts = spc.xmr_frame(df, by="s", value="v", order_by="t", rebase="rb")
    single = spc.xmr(df["v"], rebase_at=[20]).points
    np.testing.assert_allclose(pts["mean"], single["mean"])
    assert list(pts["segment"]) == list(single["segment"])
    with pytest.raises(ValueError, match="columns not found"):
        spc.xmr_frame(df, by="s", value="nope")
    with pytest.raises(ValueError, match="must hold one of"):
        spc.xmr_frame(df.assign(imp="up"), by="s", value="v", improvement="imp")
