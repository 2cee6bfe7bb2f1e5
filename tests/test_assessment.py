"""The Assessment: computed once per level, read per area exactly as pw.assess gives it; its run record, carried
by every export; fingerprints that follow the content."""

from __future__ import annotations

import json

import openpyxl
import pandas as pd
import pytest

import perfwork as pw
from perfwork import assessment, provenance
from perfwork.cli import main
from perfwork.dataset import Dataset
from perfwork.errors import UsageError
from perfwork.sources import demo


@pytest.fixture(scope="module")
def ds():
    return demo.load()


@pytest.fixture(scope="module")
def csp(ds):
    return pw.assess_all(ds, targets="demo", cache=False)


@pytest.fixture(scope="module")
def force(ds):
    return pw.assess_all(ds, level="force", targets="demo", cache=False)


@pytest.mark.parametrize("level, area", [("csp", "DK-C0001"), ("csp", "DK-C0123"), ("csp", "DK-C0314"),
                                         ("force", "DK-F21"), ("force", "DK-F03")])
def test_for_area_equals_assess_for_that_area(ds, csp, force, level, area):
    a = csp if level == "csp" else force
    one = pw.assess(ds, area=area, level=level, targets="demo")
    got = a.for_area(area)
    pd.testing.assert_frame_equal(got, one)
    assert got.attrs == one.attrs


def test_for_area_by_name_and_clear_errors(ds, csp):
    name = ds.area("DK-C0042")["area_name"]
    pd.testing.assert_frame_equal(csp.for_area(name), csp.for_area("DK-C0042"))
    with pytest.raises(UsageError, match=r"DK-F21 .* is a force, not a csp; pass level='force'"):
        csp.for_area("DK-F21")
    with pytest.raises(KeyError, match="no area with code or name 'DK-C9999'"):
        csp.for_area("DK-C9999")


def test_what_for_area_hands_out_is_a_copy(csp):
    first = csp.for_area("DK-C0007")
    first["value"] = -1.0
    assert (csp.for_area("DK-C0007")["value"] != -1.0).any()


def test_series_spc_and_peers_are_that_area_and_indicator(csp):
    s = csp.series("DK-C0123", "burglary")
    assert s["period_end"].is_monotonic_increasing and len(s) == csp.values["rolling12"]["period_end"].nunique()
    last = csp.for_area("DK-C0123").set_index("indicator").loc["burglary"]
    assert s["value"].iloc[-1] == pytest.approx(last["value"])
    assert s["benchmark"].iloc[-1] == pytest.approx(last["benchmark"])
    pts = csp.spc("DK-C0123", "burglary")
    assert pts["period_end"].max() == last["period_end"] and len(pts) == 60
    g = csp.peers("DK-C0123")
    assert list(g["rank"]) == list(range(1, 16)) and set(g["area_code"]) == {"DK-C0123"}
    with pytest.raises(KeyError, match="has no indicator 'burglery'"):
        csp.series("DK-C0123", "burglery")


def test_history_is_the_national_peer_comparison_on_the_series_columns(csp):
    """Compared one indicator at a time and kept to the series columns, it equals ``peers.compare`` run on every
    rolling-12 row at once (values and dtypes)."""
    from perfwork import peers

    keys = ["area_code", "indicator", "period_end"]
    cols = keys + [c for c in assessment.SERIES_COLUMNS if c != "period_end"]
    whole = peers.compare(csp.values["rolling12"], csp.groups)[cols].sort_values(keys).reset_index(drop=True)
    mine = csp.history()[cols].sort_values(keys).reset_index(drop=True)
    pd.testing.assert_frame_equal(mine, whole)


def test_cache_is_keyed_by_the_inputs(ds):
    assessment.clear_cache()
    a = pw.assess_all(ds)
    assert pw.assess_all(ds) is a                                   # same inputs: the same result
    assert pw.assess_all(ds, framework=pw.load_framework("national")) is a
    # None judges each area at its own latest 12 months; "latest" every area at the data's: another request
    assert pw.assess_all(ds, period_end="latest") is not a
    assert pw.assess_all(demo.load()) is a                          # same content, another object
    assert pw.assess_all(ds, benchmark="mean") is not a             # another option
    assert pw.assess_all(ds, targets="demo") is not a               # targets
    assert pw.assess_all(ds, cache=False) is not a
    assessment.clear_cache()


def test_precomputed_values_must_match_level_and_framework(ds, csp):
    with pytest.raises(ValueError, match=r"values\['rolling12'\]: level csp; expected force"):
        pw.assess(ds, level="force", values=csp.values)
    local = pw.load_framework("local-example")
    with pytest.raises(ValueError, match=r"values\['rolling12'\]: indicators .*framework 'local-example'"):
        pw.assess(ds, framework=local, values=csp.values)


def test_run_record_says_what_the_numbers_rest_on(ds, csp):
    run = csp.run
    assert run.perfwork_version == pw.__version__ and run.dataset == provenance.dataset_fingerprint(ds)
    assert run.framework == "national" and run.framework_fingerprint == provenance.framework_fingerprint(
        pw.load_framework("national"))
    assert run.level == "csp" and run.period_end == "2026-03"
    assert "k=15 chosen among the 90 nearest" in run.peer_method and "(balanced)" in run.peer_method
    assert run.options["benchmark"] == "pooled" and run.options["overdispersion"] == "none"
    assert run.targets_fingerprint is not None and "exception when any of" in run.methods["exception"]


def test_same_inputs_same_fingerprints_one_count_changed_another(tables):
    a, b = Dataset(**tables, name="one"), Dataset(**{k: v.copy() for k, v in tables.items()}, name="two")
    assert provenance.dataset_fingerprint(a) == provenance.dataset_fingerprint(b)   # content, not name
    r1 = pw.assess_all(a, cache=False).run
    r2 = pw.assess_all(b, cache=False).run
    assert (r1.dataset, r1.framework_fingerprint, r1.peers_fingerprint) == (r2.dataset, r2.framework_fingerprint,
                                                                            r2.peers_fingerprint)
    counts = tables["counts"].copy()
    counts.loc[17, "count"] += 1
    c = Dataset(**{**tables, "counts": counts}, name="one")
    assert provenance.dataset_fingerprint(c) != provenance.dataset_fingerprint(a)
    assert pw.assess_all(c, cache=False).run.inputs != r1.inputs
    fw = pw.load_framework("local-example")
    assert provenance.framework_fingerprint(fw) != r1.framework_fingerprint


def test_the_same_data_from_parquet_and_csv_fingerprint_the_same(small, tmp_path):
    pq = Dataset.from_dir(small.to_dir(tmp_path / "pq"))
    csv = Dataset.from_dir(small.to_dir(tmp_path / "csv", format="csv"))
    assert provenance.dataset_fingerprint(pq) == provenance.dataset_fingerprint(csv) == \
        provenance.dataset_fingerprint(small)


def _sidecar_inputs(path) -> str:
    return json.loads(provenance.sidecar(path).read_text())["inputs"]


def test_every_export_carries_the_run_record(ds, csp, tmp_path, capsys):
    # Assessment.to_csv: run columns on every row, the whole record beside the file
    out = csp.to_csv(tmp_path / "a.csv", areas="DK-C0001")
    table = pd.read_csv(out)
    assert len(table) == 21 and set(table["run_inputs"]) == {csp.run.inputs} == {_sidecar_inputs(out)}
    assert set(table["dataset_fingerprint"]) == {csp.run.dataset}
    # Assessment.to_xlsx: the record on the Method sheet
    wb = openpyxl.load_workbook(csp.to_xlsx(tmp_path / "a.xlsx", areas="DK-C0001"))
    method = {r[0]: r[1] for r in wb["Method"].iter_rows(values_only=True)}
    assert method["run: dataset"] == csp.run.dataset and method["run: inputs"] == csp.run.inputs
    # the CLI's exports: assess --csv/--xlsx, indicators --csv, peers --csv
    assert main(["assess", "--area", "DK-C0001", "--csv", str(tmp_path / "c.csv"),
                 "--xlsx", str(tmp_path / "c.xlsx")]) == 0
    assert _sidecar_inputs(tmp_path / "c.csv") == csp.run.inputs      # same inputs as the assessment above
    method = {r[0]: r[1] for r in openpyxl.load_workbook(tmp_path / "c.xlsx")["Method"].iter_rows(values_only=True)}
    assert method["run: inputs"] == csp.run.inputs
    assert f"inputs {csp.run.inputs}" in capsys.readouterr().out
    for cmd in (["indicators", "--area", "DK-C0001"], ["peers", "--area", "DK-C0001"]):
        f = tmp_path / f"{cmd[0]}.csv"
        assert main([*cmd, "--csv", str(f)]) == 0
        rec = provenance.read_run(f)
        assert rec["dataset"] == csp.run.dataset and set(pd.read_csv(f)["run_inputs"]) == {rec["inputs"]}
    assert provenance.read_run(tmp_path / "indicators.csv")["framework_fingerprint"] == csp.run.framework_fingerprint
    assert "k=15 chosen among the 90 nearest" in provenance.read_run(tmp_path / "peers.csv")["peer_method"]
