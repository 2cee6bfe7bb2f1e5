"""The decision and action log: append-only history, checked input, text as data, concurrent writers, crashes,
the review of whether actions worked, the CLI, the exports and the dashboard panel. Every log test runs on SQLite
and, when $PERFWORK_TEST_PG_URL names a server (``.ci/run`` starts one), on PostgreSQL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

import perfwork as pw
from perfwork import decisions as dec
from perfwork import stats
from perfwork.cli import main
from perfwork.decisions import export, render
from perfwork.decisions import log as dlog

ROOT = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("PERFWORK_TEST_PG_URL")
NASTY = ["<script>alert(1)</script>", "{{7*7}}", "'; DROP TABLE decision_versions; --", "=1+1",
         "Line one\nline \"two\", with commas; and ünïcödé"]
TODAY = date(2026, 6, 1)


@pytest.fixture(params=["sqlite", "postgresql"])
def log_url(request, tmp_path):
    """A fresh, empty log: an SQLite file, or a schema of its own on the test PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'log.sqlite'}"
        dlog.close_logs()
        return
    if not PG_URL:
        pytest.skip("PostgreSQL variant: set PERFWORK_TEST_PG_URL (.ci/run starts a server and sets it)")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL)
    try:
        with admin.begin() as c:
            c.exec_driver_sql(f"CREATE SCHEMA {schema}")
    except sa.exc.OperationalError as exc:
        pytest.skip(f"PostgreSQL at {PG_URL} cannot be reached: {exc.orig}")
    yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    dlog.close_logs()
    with admin.begin() as c:
        c.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
    admin.dispose()


@pytest.fixture(scope="module")
def small_assessment():
    from conftest import small_tables

    return pw.assess_all(pw.Dataset(**small_tables(), name="small"), min_peers=1)  # its groups are tiny


def _count(log, table: str) -> int:
    with dec.open_log(log).read() as c:
        return int(c.exec_driver_sql(f"SELECT COUNT(*) FROM {table}").scalar())


def _add(a, log, **kw):
    args = {"area": "B", "indicator": "burglary", "decision": "Target-harden homes", "author": "Board chair",
            "decided_on": "2025-04-15", "today": TODAY}
    args.update(kw)
    return dec.record(a, log, **args)


# ------------------------------------------------------------------------------------------ the log itself
def test_record_keeps_the_judgement_it_was_based_on(small_assessment, log_url):
    a = small_assessment
    did = _add(a, log_url, meeting="Board, April 2025",
               actions=[{"action": "Fit locks", "owner": "Housing", "due": "2025-06-30"}])
    d = dec.decisions(log_url)
    assert d["decision_id"].tolist() == [did] and d["version"].tolist() == [1]
    row = d.iloc[0]
    assert (row["area_code"], row["indicator"], row["decided_on"], row["period_end"]) == \
        ("B", "burglary", pd.Timestamp("2025-04-15"), pd.Timestamp("2025-03-01"))
    snap = row["snapshot"]["indicator"]
    then = a.for_area("B").set_index("indicator").loc["burglary"]
    for field in ("value", "benchmark", "peer_judgement", "travel", "spc_variation", "reasons"):
        want = None if pd.isna(then[field]) else then[field]                 # no value is stored as null
        assert snap[field] == (want.item() if hasattr(want, "item") else want), field
    assert row["snapshot"]["period_end"] == "2025-03"
    assert row["snapshot"]["run"]["dataset"] == a.run.dataset and row["snapshot"]["run"]["inputs"] == a.run.inputs
    acts = dec.actions(log_url, today=TODAY)
    assert acts[["action", "owner", "status", "decision_id"]].values.tolist() == [["Fit locks", "Housing", "open", did]]
    assert bool(acts["overdue"].iloc[0])                       # due 2025-06-30, still open on 2026-06-01


def test_every_change_is_a_new_version_and_nothing_is_overwritten(small_assessment, log_url):
    did = _add(small_assessment, log_url, actions=[{"action": "Fit locks", "owner": "Housing", "due": "2025-06-30"}])
    dec.update_decision(log_url, did, by="Secretary", decision="Target-harden 200 homes", note="wording agreed")
    dec.update_action(log_url, 1, by="Housing", status="done")
    dec.withdraw(log_url, "A1", by="Chair", reason="duplicate of another action")
    h = dec.history(log_url)
    assert h[["kind", "id", "version", "recorded_by"]].values.tolist() == [
        ["decision", "D1", 1, "Board chair"], ["action", "A1", 1, "Board chair"], ["decision", "D1", 2, "Secretary"],
        ["action", "A1", 2, "Housing"], ["action", "A1", 3, "Chair"]]
    assert h["decision"].dropna().tolist() == ["Target-harden homes", "Target-harden 200 homes"]
    assert h["recorded_at"].is_monotonic_increasing
    cur = dec.actions(log_url)
    assert cur["version"].tolist() == [3] and bool(cur["withdrawn"].iloc[0]) and cur["status"].iloc[0] == "done"
    assert dec.open_actions(log_url).empty
    with pytest.raises(dec.EntryError, match="nothing to change"):
        dec.withdraw(log_url, "A1", by="Chair", reason="again")
    engine = dec.open_log(log_url).engine
    for sql in ("UPDATE decision_versions SET decision = 'rewritten'", "DELETE FROM action_versions",
                "DELETE FROM decisions", "UPDATE schema_version SET version = 9"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as c:
            c.exec_driver_sql(sql)
    assert _count(log_url, "decision_versions") == 2 and _count(log_url, "action_versions") == 3


def test_withdrawn_decision_stays_visible(small_assessment, log_url):
    did = _add(small_assessment, log_url, actions=[{"action": "Patrols", "owner": "Police", "due": "2025-05-01"}])
    dec.withdraw(log_url, f"D{did}", by="Chair", reason="recorded against the wrong area")
    d = dec.decisions(log_url)
    assert bool(d["withdrawn"].iloc[0]) and d["note"].iloc[0] == "recorded against the wrong area"
    assert dec.decisions(log_url, include_withdrawn=False).empty
    assert dec.open_actions(log_url).empty                       # its actions no longer stand
    assert len(dec.show(log_url, "D1")["versions"]) == 2


@pytest.mark.parametrize("field, kwargs", [
    ("area", {"area": "Nowhere"}),
    ("indicator", {"indicator": "burglery"}),
    ("decision", {"decision": "   "}),
    ("author", {"author": None}),
    ("due", {"actions": [{"action": "Fit locks", "owner": "Housing", "due": "2025-02-30"}]}),
    ("status", {"actions": [{"action": "Fit locks", "owner": "Housing", "status": "finished"}]}),
    ("owner", {"actions": [{"action": "Fit locks", "owner": ""}]}),
    ("decided_on", {"decided_on": "14/10/2025"}),
    ("decided_on", {"decided_on": "2030-01-01"}),
    ("decision", {"decision": "a\x00b"}),
])
def test_bad_input_names_the_field_and_writes_nothing(small_assessment, log_url, field, kwargs):
    _add(small_assessment, log_url)
    with pytest.raises(dec.EntryError) as err:
        _add(small_assessment, log_url, **kwargs)
    assert err.value.field == field and str(err.value).startswith(f"{field}: ")
    assert _count(log_url, "decisions") == 1 and _count(log_url, "decision_versions") == 1
    assert _count(log_url, "actions") == 0


def test_bad_updates_write_nothing(small_assessment, log_url):
    _add(small_assessment, log_url, actions=[{"action": "Fit locks", "owner": "Housing"}])
    for call, field in ((lambda: dec.update_action(log_url, 1, by="X", status="closed"), "status"),
                        (lambda: dec.update_action(log_url, 1, by="X", due="soon"), "due"),
                        (lambda: dec.update_action(log_url, 1, by="", status="done"), "by"),
                        (lambda: dec.update_action(log_url, 7, by="X", status="done"), "action_id"),
                        (lambda: dec.update_decision(log_url, 1, by="X"), "changes"),
                        (lambda: dec.show(log_url, "X9"), "id")):
        with pytest.raises(dec.EntryError) as err:
            call()
        assert err.value.field == field
    assert _count(log_url, "action_versions") == 1 and _count(log_url, "decision_versions") == 1


def test_text_is_data_in_the_log_and_the_exports(small_assessment, log_url, tmp_path):
    from openpyxl import load_workbook

    for i, text in enumerate(NASTY):
        _add(small_assessment, log_url, decision=text, author=f"{text} author",
             actions=[{"action": text, "owner": "Owner " + str(i)}])
    assert dec.decisions(log_url)["decision"].tolist() == NASTY        # '; DROP TABLE changed nothing
    assert dec.actions(log_url)["action"].tolist() == NASTY
    export.to_csv(log_url, tmp_path / "log.csv", with_history=True)
    back = pd.read_csv(tmp_path / "log.csv", dtype=str, keep_default_na=False)
    assert back.loc[back["kind"] == "decision", "decision"].tolist() == NASTY
    assert back.loc[back["kind"] == "action", "action"].tolist() == NASTY
    export.to_xlsx(log_url, tmp_path / "log.xlsx", with_history=True)
    wb = load_workbook(tmp_path / "log.xlsx")
    assert wb.sheetnames == ["About", "Decisions", "Actions", "Decision history", "Action history"]
    ws = wb["Decisions"]
    col = [c.value for c in ws[1]].index("decision")
    cells = [row[col] for row in ws.iter_rows(min_row=2)]
    assert [c.value for c in cells] == NASTY and {c.data_type for c in cells} == {"s"}   # "=1+1" is not a formula
    page = render.review_html(dec.review(small_assessment, log_url)) + render.actions_html(dec.open_actions(log_url))
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "{{7*7}}" in page


# ------------------------------------------------------------------------------------------ concurrency, crashes
WORKER = """
import sys, perfwork as pw
from perfwork import decisions as dec
url, data, who, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
a = pw.assess_all(pw.Dataset.from_dir(data, name="small"))
print("ready", flush=True)
sys.stdin.readline()                                        # start together
for i in range(n):
    d = dec.record(a, url, area="B", indicator="burglary", decision=f"{who} decision {i}", author=who,
                   decided_on="2025-04-15", actions=[{"action": f"{who} action {i}", "owner": who}])
    if i % 10 == 0:
        acts = dec.actions(url)
        aid = int(acts.loc[acts["action"] == f"{who} action {i}", "action_id"].iloc[0])
        dec.update_action(url, aid, by=who, status="done")
print("finished", flush=True)
"""


def test_four_processes_writing_at_once_lose_nothing(log_url, tmp_path):
    from conftest import small_tables

    data = pw.Dataset(**small_tables(), name="small").to_dir(tmp_path / "data")
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    dec.open_log(log_url)                                      # the schema exists before the race starts
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    procs = [subprocess.Popen([sys.executable, str(script), log_url, str(data), f"w{k}", "100"], env=env,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for k in range(4)]
    for p in procs:
        assert p.stdout.readline().strip() == "ready", p.stderr.read()
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    results = [p.communicate(timeout=600) for p in procs]
    for p, (out, err) in zip(procs, results):
        assert p.returncode == 0 and "finished" in out, err
        assert "locked" not in err.lower()
    d = dec.decisions(log_url)
    assert len(d) == 400 and d["decision_id"].is_unique
    assert sorted(d["decision"]) == sorted(f"w{k} decision {i}" for k in range(4) for i in range(100))
    h = dec.history(log_url)
    acts = h[h["kind"] == "action"]
    assert len(acts) == 400 + 40 and (acts.groupby("id")["version"].max() <= 2).all()
    assert (dec.actions(log_url)["status"] == "done").sum() == 40


CRASHER = """
import sys, time, perfwork as pw
from perfwork import decisions as dec
from perfwork.decisions import entries
url, data = sys.argv[1], sys.argv[2]
a = pw.assess_all(pw.Dataset.from_dir(data, name="small"))
for i in range(5):
    dec.record(a, url, area="B", indicator="burglary", decision=f"kept {i}", author="w", decided_on="2025-04-15")
def hang(*args, **kwargs):
    print("inside the transaction", flush=True)
    time.sleep(600)
entries._insert_action = hang
dec.record(a, url, area="B", indicator="burglary", decision="half", author="w", decided_on="2025-04-15",
           actions=[{"action": "never stored", "owner": "w"}])
"""


def test_a_crash_inside_a_write_loses_nothing_committed_and_leaves_no_half_entry(small_assessment, log_url,
                                                                                   tmp_path):
    from conftest import small_tables

    data = pw.Dataset(**small_tables(), name="small").to_dir(tmp_path / "data")
    script = tmp_path / "crash.py"
    script.write_text(CRASHER)
    p = subprocess.Popen([sys.executable, str(script), log_url, str(data)], env=dict(os.environ, PYTHONPATH=str(ROOT)),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    assert line.strip() == "inside the transaction", p.stderr.read()
    p.send_signal(signal.SIGKILL)
    p.wait(timeout=30)
    assert _count(log_url, "decisions") == 5 and _count(log_url, "decision_versions") == 5
    assert _count(log_url, "actions") == 0 and _count(log_url, "action_versions") == 0
    assert dec.decisions(log_url)["decision"].tolist() == [f"kept {i}" for i in range(5)]
    _add(small_assessment, log_url)                                   # the log takes writes again
    assert _count(log_url, "decisions") == 6


def test_schema_is_versioned_and_a_newer_log_is_refused(log_url):
    log = dec.open_log(log_url)
    with log.read() as c:
        assert c.execute(sa.select(dlog.schema_version.c.version)).scalars().all() == [dlog.SCHEMA_VERSION]
    assert dlog.migrate(log) == dlog.SCHEMA_VERSION                    # opening again applies nothing
    old = dlog.SCHEMA_VERSION
    try:
        dlog.SCHEMA_VERSION = old - 1
        with pytest.raises(dec.LogError, match="upgrade perfwork"):
            dlog.migrate(log)
    finally:
        dlog.SCHEMA_VERSION = old


def test_sqlite_log_uses_wal_and_a_busy_timeout(tmp_path):
    log = dec.open_log(tmp_path / "wal.sqlite")
    with log.read() as c:
        assert c.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert c.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 10_000
    dlog.close_logs()


def test_log_location_from_argument_environment_or_demo(tmp_path, monkeypatch):
    monkeypatch.delenv(dec.ENV, raising=False)
    assert dlog.log_url() == f"sqlite:///{dec.DEMO_LOG}"
    monkeypatch.setenv(dec.ENV, str(tmp_path / "env.sqlite"))
    assert dlog.log_url() == f"sqlite:///{tmp_path / 'env.sqlite'}"
    assert dlog.log_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"
    assert "data/decisions-demo.sqlite" in (ROOT / ".gitignore").read_text()


# ------------------------------------------------------------------------------------------ the review on the demo
@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    ds = pw.load_demo()
    a = pw.assess_all(ds, targets="demo")
    path = tmp_path_factory.mktemp("demo") / "demo.sqlite"
    from perfwork.decisions import demo as seeding

    assert seeding.seed(path, dataset=ds) == len(seeding.STORIES)
    yield ds, a, path
    dlog.close_logs()


def test_demo_seeding_is_idempotent(demo):
    from perfwork.decisions import demo as seeding

    ds, _, path = demo
    before = dec.history(path)
    assert seeding.seed(path, dataset=ds) == 0
    pd.testing.assert_frame_equal(dec.history(path), before)
    d = dec.decisions(path)
    from perfwork.provenance import dataset_fingerprint

    assert {s["run"]["dataset"] for s in d["snapshot"]} == {dataset_fingerprint(ds)}   # keyed to the data used
    assert d["withdrawn"].sum() == 1 and set(d["area_code"]) == {"DK-C0123", "DK-C0201", "DK-C0067", "DK-F21",
                                                                  "DK-C0258"}


def test_review_of_the_burglary_surge(demo):
    _, a, path = demo
    r = dec.review(a, path)
    row = r[(r["area_code"] == "DK-C0123") & (r["indicator"] == "burglary")].iloc[0]
    # by hand: 12 months before October 2025 (Oct 2024 - Sep 2025) against Nov 2025 - Mar 2026
    m = a.values["month"]
    s = m[(m["area_code"] == "DK-C0123") & (m["indicator"] == "burglary")].set_index("period_end")
    before = s.loc["2024-10-01":"2025-09-01"]
    after = s.loc["2025-11-01":"2026-03-01"]
    assert (row["months_before"], row["months_after"], row["months_missing"]) == (12, 5, 0)
    assert row["count_before"] == before["numerator"].sum() and row["count_after"] == after["numerator"].sum()
    t = stats.poisson_change_test(before["numerator"].sum(), after["numerator"].sum(), before["denominator"].sum(),
                                  after["denominator"].sum())
    assert row["p_value"] == pytest.approx(t["p_value"].iloc[0]) and row["direction"] == "increase"
    assert row["change_pct"] == pytest.approx((t["rate_ratio"].iloc[0] - 1) * 100)
    assert row["words"].startswith(f"Burglary per 1,000 households has risen {row['change_pct']:.0f}% since the "
                                   "decision of 2025-10-14 (5 months since against the 12 before; p<0.001)")
    # SPC: the chart of Assessment.spc; the surge's special causes of concern began 2025-04, before the decision
    pts = a.spc("DK-C0123", "burglary")
    after_pts = pts[pts["period_end"] > "2025-10-01"]
    assert (after_pts["point_type"] == "special_cause_concern").any()
    assert row["spc_from"] == pd.Timestamp("2025-04-01") and "began before the decision" in row["words"]
    assert "still worse than peers" in row["words"] and "target: still off track" in row["words"]
    assert "not proof" in r.attrs["caveat"] and r.attrs["withdrawn"] == 1
    assert "Shop-watch" not in " ".join(r["decision"])              # the withdrawn decision is not reviewed


def test_review_of_the_other_stories(demo):
    ds, a, path = demo
    r = dec.review(ds, path).set_index("area_code")               # a Dataset: assessed once per level here
    assert r.loc["DK-C0201", "travel"] == "improving" and "has fallen" in r.loc["DK-C0201", "words"]
    assert r.loc["DK-C0067", "direction"] == "increase"
    assert r.loc["DK-C0067", "spc_from"] == pd.Timestamp("2024-04-01")    # the recording change, before the audit
    assert r.loc["DK-F21", "area_name"] == "Shepstoke Police" and r.loc["DK-F21", "months_after"] == 14
    wide = r.loc["DK-C0258"]
    assert wide["label"] == "area-wide" and wide["words"].startswith("Area-wide decision of 2024-01-15")
    text = dec.review_text(dec.review(a, path, area="DK-C0123"))
    assert text.count("\nD") == 0 and text.startswith("D1 DK-C0123 Dalworth: Burglary") and "not proof" in text


def test_review_counts_missing_months_never_zero(demo, tmp_path):
    _, a, _ = demo
    path = tmp_path / "m.sqlite"
    dec.record(a, path, area="DK-C0258", indicator="burglary", decision="Check the gap", author="Analyst",
               decided_on="2024-06-20")
    row = dec.review(a, path).iloc[0]
    # Jun 2023 - May 2024 before: Oct and Nov 2023 have no data
    assert (row["months_before"], row["months_missing"]) == (10, 2)
    assert "2 without data" in row["words"]


def test_open_actions_mark_the_exceptions(demo):
    _, a, path = demo
    acts = dec.open_actions(path, today=date(2026, 6, 1))
    assert set(acts["area_code"]) == {"DK-C0123", "DK-F21"} and acts["overdue"].all()
    t = dec.with_open_actions(a.table, path, today=date(2026, 6, 1))
    marked = t[t["open_actions"] > 0][["area_code", "indicator"]].values.tolist()
    assert marked == [["DK-C0123", "burglary"]]        # DK-F21 is a force: not in the CSP table
    ev = render.decision_events(dec.decisions(path, area="DK-C0123", include_withdrawn=False), "burglary")
    assert ev["date"].tolist() == [pd.Timestamp("2025-10-14")] and ev["label"].iloc[0] == "D1 decision 2025-10-14"


# ------------------------------------------------------------------------------------------ CLI and panel
def test_cli_add_list_show_update_review_export(demo, tmp_path, capsys):
    _, _, seeded = demo
    log = str(tmp_path / "cli.sqlite")
    assert main(["decisions", "add", "--area", "DK-C0123", "--indicator", "burglary", "--decision", NASTY[0],
                 "--author", "Chair", "--date", "2025-11-20", "--action", "Fit locks", "--owner", "Housing",
                 "--due", "2026-01-31", "--log", log]) == 0
    assert "recorded decision D1" in capsys.readouterr().out
    assert main(["decisions", "update", "A1", "--by", "Housing", "--status", "done", "--log", log]) == 0
    assert main(["decisions", "list", "--log", log]) == 0
    out = capsys.readouterr().out
    assert NASTY[0] in out and "done" in out
    assert main(["decisions", "show", "D1", "--log", log]) == 0
    assert "judgement then (12 months to 2025-10)" in capsys.readouterr().out
    assert main(["decisions", "review", "--log", log, "--area", "Dalworth"]) == 0
    out = capsys.readouterr().out
    assert "Burglary per 1,000 households has risen" in out and "p<0.001" in out and "not proof" in out
    assert main(["decisions", "export", "--xlsx", str(tmp_path / "x.xlsx"), "--history", "--log", log]) == 0
    assert (tmp_path / "x.xlsx").exists()
    assert main(["decisions", "update", "A1", "--by", "X", "--status", "closed", "--log", log]) == 2
    assert "status: 'closed' is not one of open, done, dropped" in capsys.readouterr().err
    assert main(["decisions", "add", "--area", "DK-C0123", "--decision", "x", "--author", "y", "--action", "a",
                 "--log", log]) == 2
    assert "owner:" in capsys.readouterr().err
    assert main(["decisions", "list", "--open", "--log", str(seeded)]) == 0
    assert "OVERDUE" in capsys.readouterr().out
    assert main(["decisions", "update", "D1", "--by", "Chair", "--add-action", "--action", "Patrols", "--owner",
                 "Police", "--due", "2026-02-28", "--log", log]) == 0
    assert main(["decisions", "update", "D1", "--by", "Chair", "--withdraw", "--log", log]) == 2
    assert "note: say why" in capsys.readouterr().err
    assert main(["decisions", "update", "D1", "--by", "Chair", "--withdraw", "--note", "wrong area", "--log", log]) == 0
    assert main(["decisions", "list", "--log", log]) == 0
    out = capsys.readouterr().out
    assert "D1 [WITHDRAWN]" in out and "Patrols" in out
    assert main(["decisions", "show", "D1", "--log", log]) == 0
    out = capsys.readouterr().out
    assert "v2 " in out and "(withdrawn): wrong area" in out


def test_cli_real_data_needs_a_named_log(small_assessment, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv(dec.ENV, raising=False)
    folder = small_assessment.dataset.to_dir(tmp_path / "d")
    assert main(["decisions", "review", "--data", str(folder)]) == 2
    assert "--log: name the decision log" in capsys.readouterr().err


def test_every_verb_has_help(capsys):
    for verb in ("add", "list", "show", "update", "review", "export", "seed-demo"):
        with pytest.raises(SystemExit) as done:
            main(["decisions", verb, "--help"])
        assert done.value.code == 0 and "usage: perfwork decisions" in capsys.readouterr().out


def test_dashboard_panel_records_and_escapes(demo, tmp_path):
    pytest.importorskip("ipywidgets")
    from perfwork.apps.decisions import DecisionsPanel

    _, a, _ = demo
    log = tmp_path / "panel.sqlite"
    panel = DecisionsPanel("DK-C0123", a, log, user=None, today=date(2026, 6, 1))
    assert [v for _, v in panel.exception.options][-1] is None and "burglary" in [v for _, v in
                                                                                  panel.exception.options]
    panel.select("burglary")
    panel.text.value = NASTY[0] + " " + NASTY[1]
    panel.record_button.click()
    assert "author: is required" in panel.message.value and dec.decisions(log).empty   # no name: nothing written
    panel.name.value = "Chair <b>"
    panel.decided_on.value = date(2025, 11, 20)
    panel.action.value, panel.owner.value, panel.due.value = "Fit locks", "Housing", date(2026, 1, 31)
    panel.record_button.click()
    assert "decision D1 recorded" in panel.message.value
    d = dec.decisions(log)
    assert d["decision"].tolist() == [NASTY[0] + " " + NASTY[1]] and d["author"].tolist() == ["Chair <b>"]
    shown = panel.review_view.value + panel.actions_view.value
    assert "&lt;script&gt;alert(1)&lt;/script&gt; {{7*7}}" in shown and "<script>" not in shown
    assert "Chair &lt;b&gt;" in shown and "Overdue" in panel.actions_view.value
    assert "has risen" in panel.review_view.value and "not proof" in panel.review_view.value
    panel.done_button.click()
    assert dec.actions(log)["status"].tolist() == ["done"] and "No open actions" in panel.actions_view.value
    signed_in = DecisionsPanel("DK-C0123", a, log, user="j.smith", today=date(2026, 6, 1))
    assert "Recorded as <strong>j.smith</strong>" in signed_in.widget.children[3].children[4].value


def test_partnership_profile_reviews_the_decisions_and_marks_the_spc_chart(demo, tmp_path, monkeypatch):
    """The profile's section as the notebook shows it (``r.decisions(LOG)``), through the report's HTML export."""
    nbformat = pytest.importorskip("nbformat")
    from IPython.core.formatters import DisplayFormatter

    from perfwork import report

    _, a, _ = demo
    log = tmp_path / "profile.sqlite"
    assert main(["decisions", "add", "--area", "DK-C0123", "--indicator", "burglary", "--decision",
                 f"{NASTY[0]} {NASTY[1]} {NASTY[2]}", "--author", "Chair", "--date", "2025-10-14", "--action",
                 "Fit locks", "--owner", "Housing", "--due", "2026-01-31", "--log", str(log)]) == 0
    profile = json.loads((ROOT / "notebooks" / "partnership_profile.ipynb").read_text())
    assert any("r.decisions(LOG)" in "".join(c["source"]) for c in profile["cells"])
    items = report.Report("DK-C0123", targets="demo").decisions(log)
    outputs = [nbformat.v4.new_output("display_data", data=DisplayFormatter().format(item)[0]) for item in items]
    page = report.notebook_html(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("", outputs=outputs)]))
    assert "Decisions and actions since the last review" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; {{7*7}} &#x27;; DROP TABLE" in page and "<script>alert" not in page
    assert "Burglary per 1,000 households has risen" in page and "not proof" in page and "Overdue" in page
    assert len(items) == 2 and "1 decision(s) marked" in page               # the SPC chart, marked
    monkeypatch.delenv(dec.ENV, raising=False)
    monkeypatch.setattr(dlog, "DEMO_LOG", tmp_path / "never-made.sqlite")
    none = report.Report("DK-C0123", targets="demo").decisions(None)
    assert "No decision log" in none[0].text and not (tmp_path / "never-made.sqlite").exists()


def test_a_decision_recorded_through_the_cli_appears_in_the_dashboard(tmp_path, monkeypatch):
    pytest.importorskip("ipywidgets")
    from perfwork.apps import Dashboard, open_snapshot
    from perfwork.apps.request import Request

    log = str(tmp_path / "dash.sqlite")
    monkeypatch.setenv(dec.ENV, log)                        # as perfwork serve --log passes it to the kernels
    assert main(["decisions", "add", "--area", "DK-C0123", "--indicator", "burglary", "--decision",
                 f"{NASTY[0]} {NASTY[1]}", "--author", "Chair", "--date", "2025-11-20", "--action", "Fit locks",
                 "--owner", "Housing", "--due", "2026-01-31"]) == 0
    app = Dashboard(open_snapshot(None), area="DK-C0123", indicator="burglary")
    panel = app.panel
    assert app.decisions.children == (panel.widget,)
    shown = panel.actions_view.value + panel.review_view.value
    assert "&lt;script&gt;alert(1)&lt;/script&gt; {{7*7}}" in shown and "<script>" not in shown
    assert "Overdue" in panel.actions_view.value and "Burglary per 1,000 households has risen" in shown
    assert "[1 open action, 1 overdue]" in app.exceptions.value                # the exceptions list marks it
    app.apply(Request({"area": "DK-C0123"}, viewer="j.smith"))                  # the proxy's signed-in user
    panel = app.panel
    panel.select("burglary")
    panel.text.value = "Second decision"
    panel.record_button.click()
    assert "decision D2 recorded" in panel.message.value
    d = dec.decisions(log)
    assert d["author"].tolist() == ["Chair", "j.smith"] and d["period_end"].iloc[1] == pd.Timestamp("2026-03-01")
    assert d["snapshot"].iloc[1]["indicator"]["peer_judgement"] == "worse"
    panel.text.value = "typed for Dalworth, not yet recorded"
    app.picker.area.value = "DK-C0201"                      # the panel turns to the new area in place
    assert app.panel is panel and panel.area == "DK-C0201" and "(DK-C0201)" in panel.heading.value
    assert panel.text.value == "" and "No open actions" in panel.actions_view.value
    assert "Recorded as <strong>j.smith</strong>" in panel.form.children[4].value


def test_review_reads_a_lagging_area_at_its_own_period_end(tmp_path):
    """An area whose force's files stop three months early is reviewed at its own period end: "now" is its own
    judgement, and the months after its data ends are neither "since the decision" nor "without data"."""
    from perfwork.dataset import Dataset

    ds = pw.load_demo()
    last = ds.counts["month"].max()
    cut = [last - pd.DateOffset(months=k) for k in range(3)]
    counts = ds.counts[~((ds.counts["area_code"] == "DK-C0123") & ds.counts["month"].isin(cut))]
    gap = pd.DataFrame({"area_code": "DK-C0123", "month": cut, "measure": None, "reason": "no street file yet"})
    lagging = Dataset(areas=ds.areas, characteristics=ds.characteristics, population=ds.population,
                      counts=counts, missing=pd.concat([ds.missing, gap], ignore_index=True), name="lagging")
    a = pw.assess_all(lagging, targets="demo")
    own_end = last - pd.DateOffset(months=3)
    assert a.for_area("DK-C0123")["period_end"].iloc[0] == own_end
    path = tmp_path / "lagging.sqlite"
    dec.record(a, path, area="DK-C0123", indicator="burglary", decision="Target the hotspots", author="Chair",
               decided_on=(own_end - pd.DateOffset(months=6)).strftime("%Y-%m-15"))
    row = dec.review(a, path).iloc[0]
    assert row["period_end_now"] == own_end and row["peer_now"] == "worse"
    assert (row["months_before"], row["months_after"], row["months_missing"]) == (12, 6, 0)
    dlog.close_logs()
