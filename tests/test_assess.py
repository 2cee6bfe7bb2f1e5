"""The assessment table: stories found, exceptions with reasons, methods, ordering, Excel and the CLI."""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
import pytest

from perfwork import judgement, peers
from perfwork.sources import demo
from perfwork.values import indicators

A = judgement
S = demo.STORIES


@pytest.fixture(scope="module")
def ds():
    return demo.load()


@pytest.fixture(scope="module")
def values(ds):
    return {"rolling12": indicators(ds, period="rolling12"), "month": indicators(ds, period="month")}


@pytest.fixture(scope="module")
def table(ds, values):
    return A.assess(ds, targets="demo", values=values)


def _row(t, area, indicator):
    hit = t[(t["area_code"] == area) & (t["indicator"] == indicator)]
    assert len(hit) == 1
    return hit.iloc[0]


def test_shape_and_methods(ds, table):
    n_csp, n_ind = len(ds.level("csp")), 21
    assert len(table) == n_csp * n_ind
    assert not table.duplicated(["area_code", "indicator", "period_end"]).any()
    assert list(table.columns) == A.COLUMNS
    judged = table[table["value"].notna()]
    for col in ("value_method", "benchmark_method", "significance_method", "band_method", "change_method",
                "spc_method", "trend_method", "gap_method", "exception_rule", "priority_rule"):
        assert judged[col].notna().all() and (judged[col].astype(str) != "").all(), col
    assert judged["significance_method"].str.contains("95%/99.8% CI vs pooled MSG benchmark incl. self, k=15").all()
    assert "descriptive" in judged["band_method"].iloc[0]
    assert set(table.attrs["method"]) >= {"groups", "benchmark", "change", "spc", "target", "exception", "priority"}


def test_ordering_by_priority(table):
    ex = table["exception"].to_numpy()
    assert not (np.diff(ex.astype(int)) > 0).any()                            # exceptions first
    pr = table.loc[table["exception"], "priority"].to_numpy()
    assert (np.diff(pr) <= 0).all()                                           # highest priority first
    assert (table.loc[table["exception"], "reasons"] != "").all()
    assert (table.loc[~table["exception"], "reasons"] == "").all()
    assert (table.loc[~table["exception"], "priority"] == 0).all()


def test_surge_story(table):
    r = _row(table, S["burglary_surge"], "burglary")
    assert r["exception"] and r["peer_judgement"] == "worse" and r["travel"] == "deteriorating"
    assert "worse than MSG (99.8%)" in r["reasons"]
    assert "deteriorating: +" in r["reasons"] and "p<0.001" in r["reasons"]
    assert r["target_status"] == "off track" and "off track for target" in r["reasons"]
    assert r["gap_status"] == "not closing"
    mine = table[(table["area_code"] == S["burglary_surge"]) & table["exception"]]
    assert mine.iloc[0]["indicator"] == "burglary"                            # its top priority


def test_improving_story(table):
    r = _row(table, S["improving"], "all_crime")
    assert r["travel"] == "improving" and not r["exception"]
    assert r["trend_marker"] == "Decreasing and getting better"
    assert r["spc_variation"] == "special_cause_improvement"
    assert r["target_status"] == "on track"


def test_missing_months_story(ds, values):
    t = A.assess(ds, area=S["missing_months"], period_end="2024-03", values=values)
    assert (t["travel"] == "incomplete").all()
    assert t["value"].isna().all() and (t["peer_judgement"] == "incomplete").all()
    assert (t["reasons"] == "").all() and not t["exception"].any()          # no exception without a value
    assert t["notes"].str.contains(r"no value: \d+ of 12 months with data, missing: .*partial='annualise'").all()
    assert not t["travel"].isin(["improving", "deteriorating", "decreasing"]).any()


def test_recording_change_story(ds, values):
    t = A.assess(ds, area=S["recording_change"], period_end="2025-03", values=values)
    r = _row(t, S["recording_change"], "violence")
    assert r["travel"] == "deteriorating" and r["change_pct"] > 20 and r["exception"]
    assert r["spc_shift"]
    assert "recorded crime is a full count" in t.attrs["method"]["change"]


def test_one_area_equals_its_rows_of_all(ds, table, values):
    one = A.assess(ds, area=S["burglary_surge"], targets="demo", values=values)
    all_rows = table[table["area_code"] == S["burglary_surge"]]
    cols = ["indicator", "value", "benchmark", "significance", "group_rank", "p_value", "travel", "spc_variation",
            "target_status", "exception", "priority", "reasons"]
    a = one[cols].sort_values("indicator").reset_index(drop=True)
    b = all_rows[cols].sort_values("indicator").reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b, check_dtype=False)
    by_name = A.assess(ds, area=str(all_rows["area_name"].iloc[0]), values=values)
    assert (by_name["area_code"] == S["burglary_surge"]).all()


def test_outcome_lag_is_not_an_exception(table):
    out = table[table["indicator"].isin(["positive_outcomes", "charge_rate"])]
    lag = out[out["notes"].str.contains("outcome lag")]
    assert len(lag) > 0
    assert not lag["reasons"].str.contains("deteriorating|SPC").any()


def test_options_and_history(ds, values):
    ends = ["2025-03", "2026-03"]
    t = A.assess(ds, period_end=ends, values=values, benchmark="mean", include_self=False, overdispersion="auto",
                 k=10)
    assert sorted(t["period_end"].unique()) == list(pd.to_datetime(ends))
    assert t["period_end"].iloc[0] == pd.Timestamp("2026-03-01")             # newest first
    assert t["benchmark_method"].str.startswith("mean of MSG members' values excl. self, k=10").all()
    assert t["significance_method"].str.contains("overdispersion").all()
    # Rows whose group has no adjustment applied get exactly the plain comparison; applied rows say so.
    plain = A.assess(ds, period_end=ends, values=values, benchmark="mean", include_self=False, k=10)
    key = ["area_code", "indicator", "period_end"]
    m = t.merge(plain, on=key, suffixes=("", "_plain"))
    assert len(m) == len(t)
    applied = m["significance_method"].str.contains("overdispersion applied")
    assert applied.any() and (~applied).any()
    same = m[~applied]
    assert (same["significance"].fillna("-") == same["significance_plain"].fillna("-")).all()
    assert (same["peer_judgement"] == same["peer_judgement_plain"]).all()
    assert same["significance_method"].str.contains("CI vs mean of MSG members' values").all()
    assert m.loc[applied, "significance_method"].str.contains("tau2=").all()
    n_sig = lambda col: (m.loc[applied, col].fillna("Not significant") != "Not significant").sum()  # noqa: E731
    assert n_sig("significance") < n_sig("significance_plain")
    with pytest.raises(ValueError, match="no rolling 12-month period ends in 2021-05"):
        A.assess(ds, period_end="2021-05", values=values)
    with pytest.raises(ValueError, match="is a force, not a csp"):
        A.assess(ds, area="DK-F21", values=values)
    with pytest.raises(ValueError, match="assess works for csp and force"):
        A.assess(ds, level="region", values=values)


def test_official_groups(ds, values, tmp_path):
    f = tmp_path / "groups.csv"
    f.write_text("area_code,peer_code\n" + "".join(f"{S['burglary_surge']},DK-C{i:04d}\n" for i in range(1, 11)))
    t = A.assess(ds, area=S["burglary_surge"], peers=f, values=values)
    assert t["benchmark_method"].str.contains("k=10 \\(groups.csv\\)").all()
    assert (t["group_size"] == 11).all()


def test_force_level(ds):
    t = A.assess(ds, level="force", targets="demo")
    assert t["area_code"].nunique() == len(ds.level("force"))
    assert t["benchmark_method"].str.contains("k=7").all()
    r = _row(t, S["violence_force"], "violence")
    assert r["peer_judgement"] == "worse" and r["value"] > r["benchmark"]
    # Target (parameters/targets/DK-F21.yaml): reduce violence by 10% from 2023/24 by 2026/27. At Mar 2026,
    # 24 of 36 months in, the value is worse than the trajectory but within the 5% tolerance: at risk.
    r12 = indicators(ds, period="rolling12", level="force", areas=[S["violence_force"]])
    base = r12[(r12["indicator"] == "violence") & (r12["period_end"] == "2024-03-01")]["value"].iloc[0]
    assert r["target_value"] == pytest.approx(0.9 * base)
    assert r["trajectory"] == pytest.approx(base + (0.9 * base - base) * 24 / 36)
    assert r["trajectory"] < r["value"] <= 1.05 * r["trajectory"]
    assert r["target_status"] == "at risk"


def test_to_xlsx(table, tmp_path):
    import openpyxl

    one = table[table["area_code"] == S["burglary_surge"]].copy()
    one.attrs = table.attrs
    path = A.to_xlsx(one, tmp_path / "out" / "assess.xlsx")
    wb = openpyxl.load_workbook(path)
    domains = list(dict.fromkeys(one["domain"]))
    assert wb.sheetnames == domains + ["Method"]
    ws = wb["Method"]
    text = " ".join(str(c.value) for row in ws.iter_rows() for c in row)
    assert "pooled MSG benchmark incl. self, k=15" in text and "exception when any of" in text
    first = wb[domains[0]]
    header = [c.value for c in first[1]]
    assert "reasons" in header and "benchmark_method" not in header
    assert first.max_row == (one["domain"] == domains[0]).sum() + 1


def test_exception_table_text(table):
    text = A.exception_table(table[table["area_code"] == S["burglary_surge"]])
    assert "why: worse than MSG (99.8%)" in text and "Burglary per 1,000 households" in text
    assert "Method:" in text


# ---------------------------------------------------------------------------------------------------- CLI
def _parser():
    from perfwork.cli.judge import add_assess_commands, add_peers_commands

    parser = argparse.ArgumentParser(prog="perfwork")
    sub = parser.add_subparsers(dest="command", required=True)
    add_peers_commands(sub)
    add_assess_commands(sub)
    return parser


def test_cli_help(capsys):
    """Each command's help says what it does and names the options a user needs."""
    wanted = {"peers": ["Most Similar Group", "--groups", "--weights", "--k", "--csv"],
              "assess": ["Most Similar Group", "--period-end", "--targets", "--benchmark", "--overdispersion",
                         "--xlsx", "exceptions"]}
    for cmd, words in wanted.items():
        with pytest.raises(SystemExit) as e:
            _parser().parse_args([cmd, "--help"])
        assert e.value.code == 0
        text = " ".join(capsys.readouterr().out.split())
        assert all(w in text for w in words), (cmd, [w for w in words if w not in text])


def test_cli_peers_and_assess(ds, capsys, tmp_path):
    args = _parser().parse_args(["peers", "--area", S["burglary_surge"]])
    assert args.needs_data and args.func(args, ds) == 0
    out = capsys.readouterr().out
    g = peers.most_similar(ds)
    first = g[(g["area_code"] == S["burglary_surge"]) & (g["rank"] == 1)]["peer_code"].iloc[0]
    assert f"{S['burglary_surge']}): 15 peers" in out and first in out and "differs most on" in out

    csv, xlsx = tmp_path / "a.csv", tmp_path / "a.xlsx"
    args = _parser().parse_args(["assess", "--area", S["burglary_surge"], "--csv", str(csv), "--xlsx", str(xlsx)])
    assert args.func(args, ds) == 0
    out = capsys.readouterr().out
    assert "why: worse than MSG (99.8%)" in out and "off track for target" in out
    assert len(pd.read_csv(csv)) == 21 and xlsx.exists()


def test_cli_groups_from_one_areas_list(ds, capsys, tmp_path):
    """A list of one area's peers (no peer column) is that of the one --area; with two areas it is an error."""
    f = tmp_path / "cipfa.csv"
    f.write_text("Code,Name\n" + "".join(f"DK-C{i:04d},peer {i}\n" for i in range(1, 11)))
    args = _parser().parse_args(["peers", "--area", S["burglary_surge"], "--groups", str(f)])
    assert args.func(args, ds) == 0
    assert f"{S['burglary_surge']}): 10 peers" in capsys.readouterr().out
    args = _parser().parse_args(["assess", "--area", S["burglary_surge"], "--groups", str(f), "--targets", "none"])
    assert args.func(args, ds) == 0
    args = _parser().parse_args(["peers", "--area", S["burglary_surge"], "--area", "DK-C0002", "--groups", str(f)])
    with pytest.raises(peers.PeerGroupError, match="pass area="):
        args.func(args, ds)


def test_small_dataset_all_levels(small):
    csp = A.assess(small, min_peers=1)  # the hand-made dataset's groups are tiny
    assert csp["area_code"].nunique() == 3 and csp["benchmark_method"].str.contains("k=2").all()
    force = A.assess(small, level="force", min_peers=1)
    assert set(force["area_code"]) == {"F1", "F2"}
    f1 = force[(force["area_code"] == "F1") & (force["indicator"] == "all_crime")].iloc[0]
    both = force[force["indicator"] == "all_crime"]
    assert f1["benchmark"] == pytest.approx(both["numerator"].sum() / both["denominator"].sum() * 1000)
