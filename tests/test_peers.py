"""Most Similar Groups (build, load, explain) and the peer comparison."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import shared_path
from scipy.spatial.distance import cdist

from perfwork import peers, stats
from perfwork.dataset import Dataset
from perfwork.sources import demo


@pytest.fixture(scope="module")
def ds() -> Dataset:
    return demo.load()


@pytest.fixture(scope="module")
def groups(ds) -> pd.DataFrame:
    return peers.most_similar(ds, method="nearest")


# ---------------------------------------------------------------------------------------------------- MSG build
def test_msg_properties(ds, groups):
    csps = ds.level("csp")["area_code"]
    assert set(groups["area_code"]) == set(csps)
    assert (groups.groupby("area_code").size() == 15).all()                       # k peers each
    assert not (groups["area_code"] == groups["peer_code"]).any()                   # no self
    assert not groups.duplicated(["area_code", "peer_code"]).any()
    assert set(groups["peer_code"]) <= set(csps)
    d = groups.sort_values(["area_code", "rank"])
    assert (d.groupby("area_code")["distance"].diff().dropna() >= -1e-12).all()     # non-decreasing with rank
    contrib = d[[c for c in d.columns if c.startswith("contrib_")]].sum(axis=1)
    np.testing.assert_allclose(contrib, d["distance"] ** 2, rtol=1e-10)             # contributions add up
    pairs = set(zip(groups["area_code"], groups["peer_code"]))
    assert any((p, a) not in pairs for a, p in pairs)                               # groups are asymmetric
    assert "k=15" in groups.attrs["method"] and "z-scores" in groups.attrs["method"]


def test_msg_agree_with_independent_recomputation(ds, groups):
    x = ds.characteristics.set_index("area_code").loc[ds.level("csp")["area_code"]]
    z = (x - x.mean()) / x.std(ddof=0)
    d = cdist(z.to_numpy(), z.to_numpy())
    codes = z.index.to_numpy()
    for i in range(0, len(codes), 7):
        order = sorted((d[i, j], codes[j]) for j in range(len(codes)) if j != i)[:15]
        mine = groups[groups["area_code"] == codes[i]].sort_values("rank")
        assert list(mine["peer_code"]) == [c for _, c in order]
        np.testing.assert_allclose(mine["distance"], [v for v, _ in order], rtol=1e-9)


def test_msg_weights_and_transforms(ds):
    g = peers.most_similar(ds, weights="crime_drivers", method="nearest")
    weights, transforms, _ = peers.weight_set("crime_drivers")
    x = ds.characteristics.set_index("area_code").loc[ds.level("csp")["area_code"]].copy()
    for v, how in transforms.items():
        assert how == "log"
        x[v] = np.log(x[v])
    z = (x - x.mean()) / x.std(ddof=0)
    w = np.array([weights.get(c, 1.0) for c in x.columns])
    d = cdist(z.to_numpy() * np.sqrt(w), z.to_numpy() * np.sqrt(w))
    i = 10
    order = np.argsort(np.where(np.arange(len(d)) == i, np.inf, d[i]), kind="stable")[:15]
    mine = g[g["area_code"] == x.index[i]].sort_values("rank")
    np.testing.assert_allclose(mine["distance"], d[i, order], rtol=1e-9)
    assert "crime_drivers" in g.attrs["method"] and "log population_density" in g.attrs["method"]


def test_msg_force_level_and_k(ds):
    g = peers.most_similar(ds, level="force")
    assert (g.groupby("area_code").size() == 7).all()
    assert set(g["area_code"]) == set(ds.level("force")["area_code"])
    g3 = peers.most_similar(ds, k=3)
    assert (g3.groupby("area_code").size() == 3).all()
    with pytest.raises(ValueError, match="k=400"):
        peers.most_similar(ds, k=400)


def test_msg_ties_broken_by_code(small):
    chars = pd.DataFrame({"area_code": ["A", "B", "C"], "density": [1.0, 0.0, 2.0], "deprivation": [5.0, 5.0, 5.0]})
    ds = Dataset(areas=small.areas, characteristics=chars, population=small.population, counts=small.counts)
    g = peers.most_similar(ds, k=2)
    a = g[g["area_code"] == "A"].sort_values("rank")
    assert list(a["peer_code"]) == ["B", "C"]                     # equal distance: B before C
    assert a["distance"].iloc[0] == pytest.approx(a["distance"].iloc[1])


def test_weight_errors(ds, tmp_path):
    with pytest.raises(KeyError, match="no weight set 'nope'"):
        peers.most_similar(ds, weights="nope")
    with pytest.raises(peers.PeerGroupError, match="weights.imd_score"):
        peers.most_similar(ds, weights={"imd_score": -1})
    with pytest.raises(peers.PeerGroupError, match="does not have: shoe_size; available: population_density"):
        peers.most_similar(ds, weights={"shoe_size": 2})
    f = tmp_path / "w.yaml"
    f.write_text("weights:\n  imd_score: lots\n")
    with pytest.raises(peers.PeerGroupError, match=r"w.yaml, key 'weights.imd_score': 'lots' is not a number"):
        peers.most_similar(ds, weights=f)
    f.write_text("weights:\n  imd_score: 3\n")
    assert "w.yaml" in peers.most_similar(ds, weights=f).attrs["method"]


def test_explain(groups):
    ex = peers.explain(groups, "DK-C0123", top=2)
    assert len(ex) == 15 and list(ex["rank"]) == list(range(1, 16))
    shares = ex[[c for c in ex.columns if c.startswith("share_")]]
    np.testing.assert_allclose(shares.sum(axis=1), 1.0)
    first = ex.iloc[0]
    top_var = shares.iloc[0].idxmax().removeprefix("share_")
    assert first["differs_most_on"].startswith(top_var)
    assert first["differs_most_on"].count("%") == 2
    assert ex.attrs["summary"]["share"].sum() == pytest.approx(1.0)
    with pytest.raises(KeyError, match="no peer group for 'XX'"):
        peers.explain(groups, "XX")


# ---------------------------------------------------------------------------------------------------- MSG load
def test_load_cipfa_lists():
    f = shared_path("realdata", "peer_groups", "trafford_cipfa2019.csv")
    g = peers.load_groups(f, area="E08000009")
    assert len(g) == 15 and (g["area_code"] == "E08000009").all()
    assert list(g["rank"]) == list(range(1, 16)) and g["peer_code"].iloc[0] == "E06000007"
    assert g["peer_name"].iloc[0] == "Warrington"
    alt = peers.load_groups(f.with_name("trafford_cipfa_nearest_neighbours_corporate_plan.csv"), area="E08000009")
    assert list(alt["peer_code"]) == list(g["peer_code"])            # Code,Name header, same members
    crlf = peers.load_groups(f.with_name("trafford_cipfalga0724.csv"), area="E08000009", k=10)
    assert len(crlf) == 10 and crlf["peer_code"].str.match(r"^E0\d{7}$").all()
    with pytest.raises(peers.PeerGroupError, match="pass area="):
        peers.load_groups(f)


def test_load_cipfa_against_a_dataset_names_the_row(ds):
    f = shared_path("realdata", "peer_groups", "trafford_cipfa2019.csv")
    with pytest.raises(peers.PeerGroupError, match=r"trafford_cipfa2019.csv, row 1 \(line 2\), column 'area_code': "
                                                   r"unknown area code 'E06000007'"):
        peers.load_groups(f, dataset=ds, area="DK-C0001")


def test_load_pairs_and_errors(ds, tmp_path):
    f = tmp_path / "pairs.csv"
    f.write_text("area_code,peer_code\nDK-C0001,DK-C0002\nDK-C0001,DK-C0003\nDK-C0002,DK-C0001\n")
    g = peers.load_groups(f, dataset=ds)
    assert g.groupby("area_code").size().to_dict() == {"DK-C0001": 2, "DK-C0002": 1}
    assert g["area_name"].notna().all() and (g["source"] == str(f)).all()

    f.write_text("area_code,peer_code\nDK-C0001,DK-C0002\nDK-C0001,DK-C0001\n")
    with pytest.raises(peers.PeerGroupError, match=r"pairs.csv, row 2 \(line 3\), column 'peer_code': "
                                                   r"'DK-C0001' is listed as its own peer"):
        peers.load_groups(f)
    f.write_text("area_code,peer_code\nDK-C0001,DK-C0002\nDK-C0001,DK-C0003\nDK-C0001,DK-C0002\n")
    with pytest.raises(peers.PeerGroupError, match=r"row 3 \(line 4\).*listed twice \(first at row 1\)"):
        peers.load_groups(f)
    f.write_text("area_code,peer_code\nDK-C0001,DK-C0002\nDK-C0001,DK-Q9\n")
    with pytest.raises(peers.PeerGroupError, match=r"row 2 \(line 3\), column 'peer_code': unknown area code 'DK-Q9'"):
        peers.load_groups(f, dataset=ds)
    f.write_text("area_code,peer_code\nDK-C0001,DK-F01\n")
    with pytest.raises(peers.PeerGroupError, match="'DK-F01' is a force; expected a csp"):
        peers.load_groups(f, dataset=ds)
    f.write_text("area_code,peer_code\nDK-C0001,\n")
    with pytest.raises(peers.PeerGroupError, match="code is blank"):
        peers.load_groups(f)
    f.write_text("who,whom\nDK-C0001,DK-C0002\n")
    with pytest.raises(peers.PeerGroupError, match="found columns who, whom"):
        peers.load_groups(f)
    with pytest.raises(FileNotFoundError):
        peers.load_groups(tmp_path / "absent.csv")


# ---------------------------------------------------------------------------------------------------- compare
def _values() -> pd.DataFrame:
    """Four areas, one rate indicator (per 1,000, low is good), one period."""
    num = {"A": 120, "B": 80, "C": 45, "D": 300}
    den = {"A": 10_000, "B": 9_000, "C": 6_000, "D": 20_000}
    rows = []
    for a in num:
        ci = stats.rate_ci([num[a]], [den[a]], multiplier=1000)
        rows.append({"area_code": a, "indicator": "x", "period": "rolling12", "period_end": pd.Timestamp("2025-03-01"),
                     "numerator": float(num[a]), "denominator": float(den[a]), "value": ci["value"].iloc[0],
                     "lower": ci["lower"].iloc[0], "upper": ci["upper"].iloc[0], "method": "Byars 95%",
                     "kind": "rate", "polarity": "low_is_good", "multiplier": 1000.0, "complete": True})
    return pd.DataFrame(rows)


def _groups() -> pd.DataFrame:
    return pd.DataFrame({"area_code": ["A", "A", "B", "B"], "peer_code": ["B", "C", "A", "D"], "rank": [1, 2, 1, 2]})


def test_peer_benchmark_by_hand():
    v = _values()
    out = peers.compare(v, _groups(), min_peers=1).set_index("area_code")
    assert list(out.index) == ["A", "B"]                                     # only areas with a group
    assert out.loc["A", "benchmark"] == pytest.approx((120 + 80 + 45) / (10_000 + 9_000 + 6_000) * 1000)
    assert out.loc["B", "benchmark"] == pytest.approx((80 + 120 + 300) / (9_000 + 10_000 + 20_000) * 1000)
    rates = v.set_index("area_code")["value"]
    members = rates[["A", "B", "C"]]
    assert out.loc["A", "band_mean"] == pytest.approx(members.mean())
    assert out.loc["A", "band_upper"] == pytest.approx(members.mean() + members.std(ddof=1))
    assert out.loc["A", "group_rank"] == 3 and out.loc["A", "group_size"] == 3   # 12 > 8.9 > 7.5 per 1,000
    assert out.loc["A", "quartile"] == 4
    assert out.loc["A", "best_quartile"] == pytest.approx(np.quantile(members, 0.25))
    assert out.loc["A", "gap_to_benchmark"] == pytest.approx(rates["A"] - out.loc["A", "benchmark"])
    assert out.loc["A", "benchmark_method"] == "pooled MSG benchmark incl. self, k=2"
    assert out.loc["A", "significance_method"] == "Byars 95%/99.8% CI vs pooled MSG benchmark incl. self, k=2"
    # The PHE label: the area's own limits against the benchmark.
    b = out.loc["A", "benchmark"]
    l95, u95 = stats.rate_ci([120], [10_000], 1000, 0.95).iloc[0][["lower", "upper"]]
    l998, u998 = stats.rate_ci([120], [10_000], 1000, 0.998).iloc[0][["lower", "upper"]]
    want = stats.compare_to_benchmark([l95], [u95], [l998], [u998], [b]).iloc[0]
    assert out.loc["A", "significance"] == want
    assert out.loc["A", "peer_judgement"] == {"High": "worse", "Low": "better"}.get(want.split(" ")[0], "similar")

    mean_excl = peers.compare(v, _groups(), benchmark="mean", include_self=False, min_peers=1).set_index("area_code")
    assert mean_excl.loc["A", "benchmark"] == pytest.approx(rates[["B", "C"]].mean())
    assert mean_excl.loc["A", "benchmark_method"] == "mean of MSG members' values excl. self, k=2"
    assert mean_excl.loc["A", "group_rank"] == 3                              # ranks always include the area


def test_compare_incomplete_and_polarity():
    v = _values()
    v.loc[v["area_code"] == "C", ["numerator", "value"]] = np.nan             # C touches a missing month
    out = peers.compare(v, _groups(), min_peers=1).set_index("area_code")
    assert out.loc["A", "peers_n"] == 2
    assert out.loc["A", "benchmark"] == pytest.approx(200 / 19_000 * 1000)
    v2 = _values().assign(polarity="high_is_good")
    hi = peers.compare(v2, _groups(), min_peers=1).set_index("area_code")
    assert hi.loc["A", "group_rank"] == 1
    v3 = _values()
    v3.loc[v3["area_code"] == "A", ["numerator", "value"]] = np.nan
    assert peers.compare(v3, _groups(), min_peers=1).set_index("area_code").loc["A", "peer_judgement"] == "incomplete"
    assert list(peers.judge(["High (0.001)", "Low (0.025)", "Not significant", None], "none")) == \
        ["higher", "lower", "similar", "incomplete"]


def test_fast_quantiles_match_numpy():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(20, 16, 30))
    x[rng.random(x.shape) < 0.25] = np.nan
    x[:, :, 0] = np.nan                                                       # an empty group
    n = (~np.isnan(x)).sum(axis=1)
    q25, q75 = peers._quantiles(x, n, (0.25, 0.75))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        np.testing.assert_allclose(q25, np.nanquantile(x, 0.25, axis=1), equal_nan=True)
        np.testing.assert_allclose(q75, np.nanquantile(x, 0.75, axis=1), equal_nan=True)


# ---------------------------------------------------------------------------------------------------- demo stories
@pytest.fixture(scope="module")
def latest(ds):
    from perfwork.values import indicators

    return indicators(ds, period="rolling12", period_end="latest")


def test_surge_area_worse_than_peers_on_burglary(latest, groups):
    c = peers.compare(latest, groups)
    row = c[(c["area_code"] == demo.STORIES["burglary_surge"]) & (c["indicator"] == "burglary")].iloc[0]
    assert row["significance"] == "High (0.001)" and row["peer_judgement"] == "worse"
    assert row["value"] > row["band_upper"]
    assert row["quartile"] == 4


def test_overdispersion_option_flags_fewer(latest, groups):
    plain = peers.compare(latest, groups)
    od = peers.compare(latest, groups, overdispersion="auto")
    assert od["od_applied"].mean() > 0.5                                      # crime rates are overdispersed
    assert (od["peer_judgement"] == "worse").sum() < (plain["peer_judgement"] == "worse").sum() / 3
    applied = od["od_applied"].to_numpy(dtype=bool)
    assert od.loc[applied, "significance_method"].str.contains("Spiegelhalter overdispersion applied").all()
    assert (od.loc[applied, "significance_method"].str.extract(r"tau2=([0-9.e+-]+)")[0].astype(float)
            .to_numpy() == pytest.approx(od.loc[applied, "tau2"].to_numpy(), rel=1e-3))
    assert od.loc[~applied, "significance_method"].str.contains("not applied").all()
    assert not od.loc[~applied, "significance_method"].str.contains("tau2=").any()
    # Where the adjustment is not applied the test is exactly the plain one ...
    for c in ("significance", "peer_judgement"):
        assert (od.loc[~applied, c].fillna("-").to_numpy() == plain.loc[~applied, c].fillna("-").to_numpy()).all(), c
    # ... and where it is, the limits are wider: fewer significant, never a new or a stronger finding.
    sig_plain = plain.loc[applied, "significance"].fillna("Not significant")
    sig_od = od.loc[applied, "significance"].fillna("Not significant")
    assert (sig_od != "Not significant").sum() < (sig_plain != "Not significant").sum() / 2
    strength = {"Not significant": 0, "High (0.025)": 1, "Low (0.025)": -1, "High (0.001)": 2, "Low (0.001)": -2}
    a, b = sig_od.map(strength).to_numpy(), sig_plain.map(strength).to_numpy()
    assert ((a == 0) | (np.sign(a) == np.sign(b))).all() and (np.abs(a) <= np.abs(b)).all()
    # the benchmark and band do not change
    np.testing.assert_allclose(od["benchmark"], plain["benchmark"])


def _rate_values(num: dict, den: dict, polarity: str = "low_is_good") -> pd.DataFrame:
    ci = stats.rate_ci(list(num.values()), list(den.values()), multiplier=1000)
    return pd.DataFrame({"area_code": list(num), "indicator": "x", "period": "rolling12",
                         "period_end": pd.Timestamp("2025-03-01"), "numerator": [float(x) for x in num.values()],
                         "denominator": [float(d) for d in den.values()], "value": ci["value"],
                         "lower": ci["lower"], "upper": ci["upper"], "method": ci["method"].astype(str) + " 95%", "kind": "rate",
                         "polarity": polarity, "multiplier": 1000.0, "complete": True})


def _one_group(area: str, members) -> pd.DataFrame:
    others = [m for m in members if m != area]
    return pd.DataFrame({"area_code": area, "peer_code": others, "rank": range(1, len(others) + 1)})


def test_overdispersion_not_applied_is_the_plain_exact_test():
    """An area with 0 events in a group without excess variation: "auto" must read it with its own exact
    Poisson limits, as "none" does (the review's case: Not significant, not Low (0.025) from a normal test)."""
    v = _rate_values({"A": 0, "B": 1000, "C": 1000, "D": 1000}, {"A": 150, "B": 100_000, "C": 100_000, "D": 100_000})
    g = _one_group("A", "ABCD")
    none = peers.compare(v, g, min_peers=1).iloc[0]
    auto = peers.compare(v, g, overdispersion="auto", min_peers=1).iloc[0]
    assert none["significance"] == "Not significant"                          # exact upper limit 24.6 > 10.0
    assert not auto["od_applied"] and auto["tau2"] == 0
    assert auto["significance"] == none["significance"] and auto["peer_judgement"] == none["peer_judgement"]
    assert auto["significance_method"] == (none["significance_method"] + ", Spiegelhalter overdispersion auto: "
                                           "not applied (k phi within the chi-squared 95% point: no significant "
                                           "excess variation in the group)")
    assert auto["significance_method"].startswith("Exact 95%/99.8% CI vs pooled MSG benchmark")
    # "always" applies the small tau^2 there is, and says so: a normal test on the square-root scale.
    always = peers.compare(v, g, overdispersion="always", min_peers=1).iloc[0]
    assert always["od_applied"] and always["tau2"] > 0
    theta = 3000 / 300_150
    z = (0 - np.sqrt(theta)) / np.sqrt(1 / (4 * 150) + always["tau2"])
    assert -stats.z_value(0.998) < z < -stats.z_value(0.95) and always["significance"] == "Low (0.025)"
    assert "normal (square-root scale) 95%/99.8% limits" in always["significance_method"]
    assert "Spiegelhalter overdispersion applied (always), tau2=" in always["significance_method"]


def test_overdispersion_applied_widens_the_limits():
    """An overdispersed group: "auto" applies tau^2, and the labels are the z-test against
    sqrt(s^2 + tau^2) at stats.z_value(0.95) / z_value(0.998) -- fewer significant than the plain test."""
    rates = dict(zip("ABCDEFGH", (8, 9, 10, 10, 11, 12, 13, 40)))           # per 1,000, 100,000 each
    den = {a: 100_000 for a in rates}
    v = _rate_values({a: r * 100 for a, r in rates.items()}, den)
    g = pd.concat([_one_group(a, list(rates)) for a in rates], ignore_index=True)
    plain = peers.compare(v, g, min_peers=1).set_index("area_code")
    od = peers.compare(v, g, overdispersion="auto", min_peers=1).set_index("area_code")
    assert od["od_applied"].all()
    ref = stats.overdispersion(v["numerator"], v["denominator"], kind="rate")
    assert ref["exceeds"] and od["tau2"].to_numpy() == pytest.approx(ref["tau2"], rel=1e-9)
    theta = v["numerator"].sum() / v["denominator"].sum()
    z = (np.sqrt(v["numerator"] / v["denominator"]) - np.sqrt(theta)) / np.sqrt(1 / (4 * v["denominator"]) + ref["tau2"])
    z95, z998 = stats.z_value(0.95), stats.z_value(0.998)
    want = np.select([z > z998, z > z95, z < -z998, z < -z95],
                     ["High (0.001)", "High (0.025)", "Low (0.001)", "Low (0.025)"], "Not significant")
    assert list(od.loc[list(v["area_code"]), "significance"]) == list(want)
    assert (plain["significance"] != "Not significant").sum() == 8              # every area, plainly
    assert list(od["significance"]) == ["Not significant"] * 7 + ["High (0.025)"]   # only the outlier
    assert list(od["peer_judgement"]) == ["similar"] * 7 + ["worse"]


def test_judge_reads_polarity_with_stats():
    sig = ["High (0.001)", "Low (0.025)", "Not significant", None]
    assert list(peers.judge(sig, "low_is_good")) == ["worse", "better", "similar", "incomplete"]
    assert list(peers.judge(sig, "high_is_good")) == ["better", "worse", "similar", "incomplete"]
    mixed = peers.judge(sig, ["low_is_good", "high_is_good", "none", "none"])
    assert list(mixed) == ["worse", "worse", "similar", "incomplete"]
    for pol in ("low_is_good", "high_is_good", "none"):
        want = stats.significance_reading(sig, pol).astype(object).fillna("incomplete")
        assert list(peers.judge(sig, pol)) == list(want)


def test_violence_force_csps_sit_above_their_peers(ds, latest, groups):
    c = peers.compare(latest, groups)
    anc = ds.ancestors("force")
    csps = anc.loc[anc["ancestor"] == demo.STORIES["violence_force"], "area_code"]
    v = c[c["area_code"].isin(csps) & (c["indicator"] == "violence")]
    assert len(v) >= 3
    assert (v["value"] > v["benchmark"]).mean() >= 0.75


def test_vectorised_overdispersion_matches_stats(latest, groups):
    """tau^2 per group equals stats.overdispersion on that group's members against the same benchmark."""
    area = "DK-C0001"
    od = peers.compare(latest, groups, overdispersion="always")
    members = [area] + list(groups.loc[groups["area_code"] == area, "peer_code"])
    for ind in ("burglary", "all_crime", "charge_rate"):
        row = od[(od["area_code"] == area) & (od["indicator"] == ind)].iloc[0]
        m = latest[latest["area_code"].isin(members) & (latest["indicator"] == ind)]
        ref = stats.overdispersion(m["numerator"], m["denominator"], kind=row["kind"], benchmark=row["benchmark"],
                                   multiplier=row["multiplier"])
        assert row["tau2"] == pytest.approx(ref["tau2"], rel=1e-9, abs=1e-15)    # on the stats.overdispersion scale
        assert bool(row["od_applied"]) == (ref["tau2"] > 0)


def test_a_level_with_one_area_has_no_peers(small):
    with pytest.raises(peers.PeerGroupError, match=r"level 'region' has only 1 area \(R\); a level with fewer than "
                                                   r"2 areas has no peers"):
        peers.most_similar(small, level="region")


def test_groups_layout(tmp_path):
    pairs, one, other = tmp_path / "pairs.csv", tmp_path / "list.csv", tmp_path / "other.csv"
    pairs.write_text("Area Code,Peer\nDK-C0001,DK-C0002\n")
    one.write_text("\ufeffCode,Name\nDK-C0002,Two\n")
    other.write_text("who,whom\nDK-C0001,DK-C0002\n")
    assert [peers.groups_layout(f) for f in (pairs, one, other)] == ["pairs", "list", "unknown"]
    with pytest.raises(FileNotFoundError):
        peers.groups_layout(tmp_path / "absent.csv")


def test_small_dataset_defaults_and_derived_force_characteristics(small):
    g = peers.most_similar(small)                                 # 3 CSPs: k defaults to the 2 others
    assert (g.groupby("area_code").size() == 2).all()
    f = peers.most_similar(small, level="force")                  # forces have no characteristics of their own
    assert "population-weighted means" in f.attrs["method"]
    pop = small.population.sort_values("year").drop_duplicates("area_code", keep="last").set_index("area_code")
    chars = small.characteristics.set_index("area_code")
    w = pop.loc[["A", "B"], "population"]
    f1 = (chars.loc[["A", "B"]].mul(w, axis=0).sum() / w.sum())
    c = chars.loc["C"]
    z_gap = ((f1 - c) / (np.abs(f1 - c) / 2)) ** 2             # two areas: z = +/-1 on every characteristic
    assert f["distance"].iloc[0] == pytest.approx(np.sqrt(z_gap.sum()))
