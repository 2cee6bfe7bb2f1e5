"""Balance of Most Similar Groups, the balanced and synthetic methods, and weighted benchmarks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import shared_path

import perfwork as pw
from perfwork import balance, peers
from perfwork.cli import build_parser
from perfwork.dataset import Dataset
from perfwork.sources import demo, ons
from perfwork.values import indicators


@pytest.fixture(scope="module")
def ds():
    return demo.load()


@pytest.fixture(scope="module")
def groups(ds) -> dict[str, pd.DataFrame]:
    return {m: peers.most_similar(ds, method=m) for m in peers.METHODS}


@pytest.fixture(scope="module")
def z(ds) -> pd.DataFrame:
    x = ds.characteristics.set_index("area_code").loc[ds.level("csp")["area_code"]]
    return (x - x.mean()) / x.std(ddof=0)


def _recomputed(g: pd.DataFrame, z: pd.DataFrame, area: str) -> pd.Series:
    """Weighted mean of the members' z-scores minus the area's, from nothing but the frame and the data."""
    rows = g[g["area_code"] == area]
    w = rows["weight"].to_numpy()
    return (z.loc[rows["peer_code"]].mul(w, axis=0).sum() / w.sum()) - z.loc[area]


@pytest.mark.parametrize("method", peers.METHODS)
def test_balance_equals_independent_recomputation(groups, z, method):
    g = groups[method]
    bal = peers.balance_table(g).set_index("area_code")
    assert len(bal) == len(z) and set(bal["balance"]) <= {"good", "fair", "poor"}
    for area in z.index[::9]:
        gap = _recomputed(g, z, area)
        mine = bal.loc[area, [f"balance_gap_{v}" for v in z.columns]].to_numpy(dtype=float)
        np.testing.assert_allclose(mine, gap.to_numpy(), atol=1e-12)
        assert bal.loc[area, "balance_rms"] == pytest.approx(np.sqrt((gap ** 2).mean()), abs=1e-12)
        assert bal.loc[area, "balance_best"] <= bal.loc[area, "balance_rms"] + 1e-6   # nothing beats the floor
    on_rows = g.drop_duplicates("area_code").set_index("area_code")["balance_rms"]
    np.testing.assert_allclose(on_rows.loc[bal.index], bal["balance_rms"])


def test_balance_with_characteristic_weights_and_transforms(ds):
    g = peers.most_similar(ds, weights="crime_drivers", method="nearest")
    weights, transforms, _ = peers.weight_set("crime_drivers")
    x = ds.characteristics.set_index("area_code").loc[ds.level("csp")["area_code"]].copy()
    for v in transforms:
        x[v] = np.log(x[v])
    zz = (x - x.mean()) / x.std(ddof=0)
    cw = np.array([weights.get(c, 1.0) for c in zz.columns])
    area = "DK-C0042"
    gap = _recomputed(g, zz, area).to_numpy()
    row = peers.balance_table(g).set_index("area_code").loc[area]
    assert row["balance_rms"] == pytest.approx(np.sqrt((cw * gap ** 2).sum() / cw.sum()), abs=1e-12)


def test_balanced_method(ds, groups, z):
    g, near = groups["balanced"], groups["nearest"]
    assert not (g["area_code"] == g["peer_code"]).any()                          # never the area itself
    assert (g.groupby("area_code").size() == 15).all() and not g.duplicated(["area_code", "peer_code"]).any()
    np.testing.assert_allclose(g.groupby("area_code")["weight"].sum(), 1.0)       # equal weights 1/k
    pd.testing.assert_frame_equal(g, peers.most_similar(ds, method="balanced"))   # deterministic
    assert (g.groupby("area_code")["distance"].diff().dropna() >= -1e-12).all()   # members nearest first
    # Members come from the 6k nearest.
    ninety = peers.most_similar(ds, method="nearest", k=90)
    cand = set(zip(ninety["area_code"], ninety["peer_code"]))
    assert all(p in cand for p in zip(g["area_code"], g["peer_code"]))
    r_bal = peers.balance_table(g)["balance_rms"]
    r_near = peers.balance_table(near)["balance_rms"]
    assert r_bal.median() < 0.75 * r_near.median()                                # median RMS gap falls
    assert (r_bal.to_numpy() <= r_near.to_numpy() + 1e-9).all()                   # swaps never make it worse
    small = peers.most_similar(ds, method="balanced", k=5)
    assert (small.groupby("area_code").size() == 5).all()
    forces = peers.most_similar(ds, method="balanced", level="force")
    assert (forces.groupby("area_code").size() == 7).all()


def test_balanced_respects_characteristic_weights(ds):
    """A characteristic weighted 0 is not balanced at all; weighting one up shrinks its gaps."""
    plain = peers.balance_table(peers.most_similar(ds, method="balanced"))
    heavy = peers.balance_table(peers.most_similar(ds, method="balanced", weights={"imd_score": 5}))
    assert heavy["balance_gap_imd_score"].abs().median() < plain["balance_gap_imd_score"].abs().median()


def test_synthetic_method(ds, groups):
    g = groups["synthetic"]
    assert not (g["area_code"] == g["peer_code"]).any()
    assert (g["weight"] > 0).all() and (g["weight"] <= 1 / peers.MIN_PEERS + 1e-6).all()
    assert g.groupby("area_code").size().between(peers.MIN_PEERS, 15).all()      # enough peers carry it
    np.testing.assert_allclose(g.groupby("area_code")["weight"].sum(), 1.0)
    pd.testing.assert_frame_equal(g, peers.most_similar(ds, method="synthetic"))
    assert peers.balance_table(g)["balance_rms"].median() < peers.balance_table(groups["balanced"])["balance_rms"].median()
    with pytest.raises(ValueError, match="method 'closest'"):
        peers.most_similar(ds, method="closest")


def test_weighted_benchmark(ds, groups):
    """A weighted group's benchmark is sum w x / sum w n; the area itself counts as one member of k+1."""
    g = groups["synthetic"]
    r12 = indicators(ds, period="rolling12", period_end="latest")
    inc = peers.compare(r12, g)
    exc = peers.compare(r12, g, include_self=False)
    mean = peers.compare(r12, g, benchmark="mean")
    assert inc["benchmark_method"].str.startswith("weighted pooled MSG benchmark").all()
    vals = r12[r12["indicator"] == "violence"].set_index("area_code")
    for area in ("DK-C0123", "DK-C0200"):
        rows = g[g["area_code"] == area]
        w = rows["weight"].to_numpy()
        num, den = vals.loc[rows["peer_code"], "numerator"].to_numpy(), vals.loc[rows["peer_code"], "denominator"].to_numpy()
        k = len(rows)
        expect_exc = (w * num).sum() / (w * den).sum() * 1000
        wi = np.r_[1 / (k + 1), w * k / (k + 1)]
        ni, di = np.r_[vals.loc[area, "numerator"], num], np.r_[vals.loc[area, "denominator"], den]
        expect_inc = (wi * ni).sum() / (wi * di).sum() * 1000
        sel = lambda t: t[(t["area_code"] == area) & (t["indicator"] == "violence")]["benchmark"].iloc[0]  # noqa: E731
        assert sel(exc) == pytest.approx(expect_exc, rel=1e-12)
        assert sel(inc) == pytest.approx(expect_inc, rel=1e-12)
        values = np.r_[vals.loc[area, "value"], vals.loc[rows["peer_code"], "value"].to_numpy()]
        assert sel(mean) == pytest.approx((wi * values).sum() / wi.sum(), rel=1e-12)


def test_equal_weights_give_the_plain_benchmark(ds, groups):
    r12 = indicators(ds, period="rolling12", period_end="latest")
    g = groups["balanced"]
    with_w = peers.compare(r12, g)
    without = peers.compare(r12, g.drop(columns="weight"))
    np.testing.assert_array_equal(with_w["benchmark"].to_numpy(), without["benchmark"].to_numpy())
    assert not with_w["benchmark_method"].str.contains("weighted").any()


def test_loaded_groups_get_balance(ds, z, tmp_path):
    f = tmp_path / "cipfa.csv"
    f.write_text("Code,Name\n" + "".join(f"DK-C{i:04d},peer {i}\n" for i in range(1, 16)))
    g = peers.load_groups(f, dataset=ds, area="DK-C0123")
    row = peers.balance_table(g).iloc[0]
    gap = _recomputed(g, z, "DK-C0123")
    np.testing.assert_allclose([row[f"balance_gap_{v}"] for v in z.columns], gap.to_numpy(), atol=1e-12)
    assert row["balance_rms"] == pytest.approx(np.sqrt((gap ** 2).mean()))
    assert "balance" in g.attrs["method"]
    assert "balance_rms" not in peers.load_groups(f, area="DK-C0123").columns    # no dataset: nothing to measure


def test_words_for_poor_balance(groups):
    bal = peers.balance_table(groups["nearest"])
    poor = bal[bal["balance"] == "poor"].iloc[0]
    gaps = poor.filter(like="balance_gap_").astype(float)
    worst = gaps.abs().idxmax().removeprefix("balance_gap_")
    side, level = ("below", "too low") if gaps[f"balance_gap_{worst}"] < 0 else ("above", "too high")
    assert f"mean {worst} is" in poor["balance_note"] and side in poor["balance_note"]
    assert f"expected level is likely {level}" in poor["balance_note"]
    hopeless = bal[bal["balance_best"] > balance.FAIR]
    assert hopeless["balance_note"].str.contains("no group of other areas can match").all()
    assert bal.loc[bal["balance"] == "fair", "balance_note"].str.startswith("fair balance").all()


def test_cli_peers_shows_balance(ds, capsys):
    p = build_parser()
    args = p.parse_args(["peers", "--area", "DK-C0123"])
    assert args.func(args, ds) == 0
    out = capsys.readouterr().out
    assert "Balance: " in out and "Group mean minus area (SD): " in out and "(balanced)" in out
    args = p.parse_args(["peers", "--area", "DK-C0123", "--method", "synthetic"])
    assert args.func(args, ds) == 0
    out = capsys.readouterr().out
    assert " weight " in out and "synthetic-control weights" in out


def test_real_national_characteristics():
    """The Indices of Deprivation 2019 domain scores of 317 English districts, with Trafford's published CIPFA
    nearest neighbours: every method runs in well under a second, balanced beats nearest-k, and the published
    list gets its balance figures."""
    iod = ons.read_characteristics(shared_path("realdata", "area_characteristics", "IoD2019_LAD_summaries.csv"))
    wide = iod.frame.pivot_table(index="area_code", columns="variable", values="value").reset_index()
    wide.columns.name = None
    codes = wide["area_code"].tolist()
    areas = pd.DataFrame({"area_code": ["N", "R", "F"] + codes, "area_name": ["England", "Region", "Force"] + codes,
                          "level": ["nation", "region", "force"] + ["csp"] * len(codes),
                          "parent_code": [None, "N", "R"] + ["F"] * len(codes)})
    pop = pd.DataFrame({"area_code": codes, "year": 2019, "population": 100_000, "households": 40_000})
    counts = pd.DataFrame({"area_code": pd.Series(dtype=str), "month": pd.Series(dtype="datetime64[ns]"),
                           "measure": pd.Series(dtype=str), "count": pd.Series(dtype="int64")})
    real = Dataset(areas=areas, characteristics=wide, population=pop, counts=counts, name="IoD2019")
    medians = {}
    for method in peers.METHODS:
        g = peers.most_similar(real, method=method)
        assert not (g["area_code"] == g["peer_code"]).any() and g["area_code"].nunique() == len(codes)
        medians[method] = peers.balance_table(g)["balance_rms"].median()
    assert medians["synthetic"] < medians["balanced"] < 0.75 * medians["nearest"]
    cipfa = peers.load_groups(shared_path("realdata", "peer_groups", "trafford_cipfa2019.csv"), dataset=real,
                              area="E08000009")
    row = peers.balance_table(cipfa).iloc[0]
    z = wide.set_index("area_code")
    z = (z - z.mean()) / z.std(ddof=0)
    gap = z.loc[cipfa["peer_code"]].mean() - z.loc["E08000009"]
    assert row["members"] == 15 and row["balance_rms"] == pytest.approx(np.sqrt((gap ** 2).mean()))


def test_floors(groups, z):
    """No group beats the convex-hull floor, and no group of k equal members beats the capped floor."""
    cw = np.ones(z.shape[1])
    capped = balance.best_possible(z.to_numpy(), cw, cap=1 / 15)
    hull = peers.balance_table(groups["balanced"])["balance_best"].to_numpy()
    for method in ("nearest", "balanced"):
        r = peers.balance_table(groups[method])["balance_rms"].to_numpy()
        assert (capped <= r + 1e-6).all()
    assert (hull <= capped + 1e-6).all()


def test_method_is_an_assessment_option(ds):
    t = pw.assess(ds, area="DK-C0123", method="nearest", targets=None)
    assert "k=15 nearest" in t.attrs["method"]["groups"]
    assert t.attrs["method"]["balance"] == "balance " + _note(peers.most_similar(ds, method="nearest"), "DK-C0123")
    t = pw.assess(ds, area="DK-C0123", targets=None)                   # the default: balanced
    assert "(balanced)" in t.attrs["method"]["groups"]
    assert t.attrs["method"]["balance"] == "balance " + _note(peers.most_similar(ds), "DK-C0123")


def _note(groups: pd.DataFrame, area: str) -> str:
    return peers.balance_table(groups).set_index("area_code").loc[area, "balance_note"]
