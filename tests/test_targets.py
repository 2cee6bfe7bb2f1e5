"""Targets: loading with clear errors, trajectories, RAG, and closing the gap to peers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from perfwork import targets as T
from perfwork.sources import demo

S = demo.STORIES


@pytest.fixture(scope="module")
def ds():
    return demo.load()


def _write(tmp_path, text: str, name: str = "t.yaml"):
    f = tmp_path / name
    f.write_text(text)
    return f


GOOD = """area: DK-C0001
targets:
  - indicator: burglary
    baseline: 2023/24
    direction: reduce
    change_pct: 10
    deadline: 2025/26
"""


# ---------------------------------------------------------------------------------------------------- loading
def test_demo_targets_load(ds):
    tg = T.load_targets("demo", framework="national", dataset=ds)
    assert len(tg) >= 10 and tg["area_code"].nunique() >= 4
    assert {S["burglary_surge"], S["improving"], S["recording_change"], S["violence_force"]} <= set(tg["area_code"])
    assert list(tg.columns) == list(T.TARGET_COLUMNS)
    b = tg[(tg["area_code"] == S["burglary_surge"]) & (tg["indicator"] == "burglary")].iloc[0]
    assert b["baseline_end"] == pd.Timestamp("2024-03-01") and b["deadline"] == pd.Timestamp("2026-03-01")
    assert b["change_pct"] == 10 and b["direction"] == "reduce" and np.isnan(b["level"])


@pytest.mark.parametrize("text, expected", [
    ("2023/24", ("2024-03-01", "2023/24")),
    ("2023-24", ("2024-03-01", "2023/24")),
    ("FY2025/26", ("2026-03-01", "2025/26")),
    ("2024/2025", ("2025-03-01", "2024/25")),
    ("2024-06", ("2024-06-01", "12 months to Jun 2024")),
])
def test_period_parsing(text, expected):
    ts, label = T.parse_period_end(text, "f", "baseline")
    assert ts == pd.Timestamp(expected[0]) and label == expected[1]


@pytest.mark.parametrize("change, message", [
    ("    change_pct: 10\n", None),
    ("    change_pct: 10\n    level: 5\n", "exactly one of 'change_pct'"),
    ("", "exactly one of 'change_pct'"),
    ("    change_pct: ten\n", "key 'change_pct': 'ten' is not a number"),
    ("    change_pct: 150\n", "key 'change_pct': 150 is out of range; expected a number between 0 and 100"),
    ("    change_pct: 10\n    colour: red\n", "unknown key\\(s\\) colour"),
])
def test_target_value_errors(tmp_path, change, message):
    text = ("area: DK-C0001\ntargets:\n  - indicator: burglary\n    baseline: 2023/24\n    direction: reduce\n"
            "    deadline: 2025/26\n" + change)
    f = _write(tmp_path, text)
    if message is None:
        assert len(T.load_targets(f)) == 1
        return
    with pytest.raises(T.TargetError, match=rf"t.yaml, targets\[0\].*{message}"):
        T.load_targets(f)


@pytest.mark.parametrize("old, new, message", [
    ("direction: reduce", "direction: down", "key 'direction': 'down'; expected 'reduce' or 'increase'"),
    ("baseline: 2023/24", "baseline: 2023", "key 'baseline': 2023 is not a period; expected a financial year"),
    ("baseline: 2023/24", "baseline: 2023/25", "not a financial year; expected consecutive years"),
    ("deadline: 2025/26", "deadline: 2022/23", "key 'deadline': '2022/23' ends Mar 2023, not after the baseline"),
    ("indicator: burglary", "indicator: burglery", "key 'indicator': 'burglery' is not in framework 'national'"),
    ("area: DK-C0001", "area: DK-C9999", "key 'area': 'DK-C9999' is not an area of the dataset"),
    ("    deadline: 2025/26\n", "", "key 'deadline' is missing"),
])
def test_target_errors_name_file_key_and_expectation(tmp_path, ds, old, new, message):
    f = _write(tmp_path, GOOD.replace(old, new))
    with pytest.raises(T.TargetError, match=message) as err:
        T.load_targets(f, framework="national", dataset=ds)
    assert "t.yaml" in str(err.value)


def test_file_level_errors(tmp_path):
    with pytest.raises(T.TargetError, match="expected a mapping with a 'targets' list"):
        T.load_targets(_write(tmp_path, "- just a list\n"))
    with pytest.raises(T.TargetError, match="not valid YAML"):
        T.load_targets(_write(tmp_path, "targets: [\n"))
    with pytest.raises(T.TargetError, match="unknown top-level key\\(s\\) owner"):
        T.load_targets(_write(tmp_path, GOOD + "owner: me\n"))
    with pytest.raises(T.TargetError, match="key 'area' is missing"):
        T.load_targets(_write(tmp_path, GOOD.replace("area: DK-C0001\n", "")))
    _write(tmp_path, GOOD, "a.yaml")
    _write(tmp_path, GOOD, "b.yaml")
    with pytest.raises(T.TargetError, match="a second target for DK-C0001 burglary"):
        T.load_targets([tmp_path / "a.yaml", tmp_path / "b.yaml"])
    with pytest.raises(FileNotFoundError, match="no target file or folder 'nosuch'"):
        T.load_targets("nosuch")


# ---------------------------------------------------------------------------------------------------- progress
def _series(values: dict[str, float], indicator="x", area="A") -> pd.DataFrame:
    return pd.DataFrame({"area_code": area, "indicator": indicator, "period": "rolling12",
                         "period_end": pd.to_datetime(list(values)), "value": list(values.values()),
                         "complete": True})


def _target(**kw) -> pd.DataFrame:
    row = {"target_id": "A:x", "area_code": "A", "indicator": "x", "baseline": "2023/24",
           "baseline_end": pd.Timestamp("2024-03-01"), "direction": "reduce", "change_pct": 10.0, "level": np.nan,
           "deadline": pd.Timestamp("2026-03-01"), "tolerance_pct": 5.0, "description": "d", "source": "test"}
    row.update(kw)
    return pd.DataFrame([row])


@pytest.mark.parametrize("latest, status", [
    (94.0, "on track"),     # trajectory 95 (12 of 24 months from 100 to 90): at or better than it
    (95.0, "on track"),
    (97.0, "at risk"),      # worse than 95 but within 5% of it
    (101.0, "off track"),   # 6% off the trajectory and rising: projection 102 misses 90
    (120.0, "off track"),
])
def test_progress_rag(latest, status):
    v = _series({"2024-03-01": 100.0, "2025-03-01": latest})
    p = T.progress(v, _target(), period_end=pd.Timestamp("2025-03-01")).iloc[0]
    assert p["baseline_value"] == 100.0 and p["target_value"] == pytest.approx(90.0)
    assert p["trajectory"] == pytest.approx(95.0)
    assert p["monthly_change"] == pytest.approx((latest - 100.0) / 12)
    assert p["projection"] == pytest.approx(latest + (latest - 100.0))            # 12 months to the deadline
    assert p["target_status"] == status
    assert "on track: latest rolling 12 months at or better than the trajectory" in p["target_rule"]


def test_at_risk_when_the_trend_reaches_the_target():
    # baseline Mar 2023 = 100, deadline Mar 2026; at Mar 2025 the trajectory is 93.3, the value 99 (6% off), but
    # it fell 16 in the last 12 months: projected 83 by the deadline, within the target of 90.
    v = _series({"2023-03-01": 100.0, "2024-03-01": 115.0, "2025-03-01": 99.0})
    p = T.progress(v, _target(baseline_end=pd.Timestamp("2023-03-01")), period_end=pd.Timestamp("2025-03-01")).iloc[0]
    assert p["trajectory"] == pytest.approx(100 - 10 * 24 / 36)
    assert p["projection"] == pytest.approx(83.0)
    assert p["target_status"] == "at risk"


def test_progress_by_hand():
    v = _series({"2024-03-01": 100.0, "2025-03-01": 97.0, "2026-03-01": 85.0})
    p = T.progress(v, _target()).set_index("period_end")
    assert p.loc["2024-03-01", "target_status"] == "not started"
    r = p.loc["2025-03-01"]
    assert r["trajectory"] == pytest.approx(95.0) and r["target_status"] == "at risk"        # within 5% of 95
    assert r["projection"] == pytest.approx(97.0 - 3.0)                                     # -3 a year, 12 months left
    r = p.loc["2026-03-01"]
    assert r["trajectory"] == pytest.approx(90.0) and r["target_status"] == "on track" and r["months_left"] == 0
    far = _series({"2024-03-01": 100.0, "2025-03-01": 120.0})
    assert T.progress(far, _target()).set_index("period_end").loc["2025-03-01", "target_status"] == "off track"
    gap = _series({"2024-03-01": 100.0, "2025-03-01": np.nan})
    assert T.progress(gap, _target()).set_index("period_end").loc["2025-03-01", "target_status"] == "incomplete"
    up = T.progress(_series({"2024-03-01": 50.0, "2025-03-01": 56.0}),
                    _target(direction="increase", change_pct=20.0)).set_index("period_end").loc["2025-03-01"]
    assert up["target_value"] == pytest.approx(60.0) and up["trajectory"] == pytest.approx(55.0)
    assert up["target_status"] == "on track"
    met = T.progress(_series({"2024-03-01": 70.0, "2025-03-01": 75.0}),
                     _target(change_pct=np.nan, level=80.0)).set_index("period_end").loc["2025-03-01"]
    assert met["trajectory"] == pytest.approx(80.0) and met["target_status"] == "on track"  # level already met: held


def test_demo_target_stories(ds):
    from perfwork.values import indicators

    tg = T.load_targets("demo", framework="national", dataset=ds)
    v = indicators(ds, period="rolling12", areas=[S["burglary_surge"], S["improving"], S["recording_change"]])
    p = T.progress(v, tg, period_end=pd.Timestamp("2026-03-01")).dropna(subset=["value"]).set_index(
        ["area_code", "indicator"])
    assert p.loc[(S["burglary_surge"], "burglary"), "target_status"] == "off track"
    assert p.loc[(S["improving"], "all_crime"), "target_status"] == "on track"
    assert p.loc[(S["recording_change"], "violence"), "target_status"] == "off track"


# ---------------------------------------------------------------------------------------------------- gap closing
def test_gap_closing_by_hand():
    t = pd.DataFrame({
        "value":     [12.0, 12.0, 12.0, 8.0, 12.0, 12.0, np.nan],
        "benchmark": [10.0, 10.0, 10.0, 10.0, 10.0, 10.0, 10.0],
        "monthly_change": [-0.5, 0.5, 0.0, 0.3, -0.5, np.nan, -1.0],
        "polarity": ["low_is_good"] * 4 + ["none", "low_is_good", "low_is_good"],
    })
    before = t.copy()
    out = T.gap_closing(t, "benchmark", "monthly_change", "gap")
    pd.testing.assert_frame_equal(t, before)                                  # a new frame; the input is untouched
    assert list(out["gap_months"].iloc[:4]) == [4.0, pytest.approx(np.nan, nan_ok=True), pytest.approx(np.nan, nan_ok=True), 0.0]
    assert list(out["gap_status"]) == ["closing: about 4 months", "not closing", "not closing",
                                       "at or better than benchmark", "no judgement", "incomplete", "incomplete"]
    hi = T.gap_closing(pd.DataFrame({"value": [40.0], "best_quartile": [45.0], "monthly_change": [0.4],
                                     "polarity": ["high_is_good"]}), "best_quartile", "monthly_change", "bq")
    assert hi["bq_months"].iloc[0] == 13 and hi["bq_status"].iloc[0] == "closing: about 13 months"


def test_target_values_one_rule_for_progress_and_spc():
    v = _series({"2024-03-01": 100.0, "2025-03-01": 97.0}, indicator="x")
    tg = pd.concat([_target(), _target(target_id="A:y", indicator="y", direction="increase", change_pct=20.0),
                    _target(target_id="A:z", indicator="z", change_pct=np.nan, level=80.0)], ignore_index=True)
    v = pd.concat([v, _series({"2024-03-01": 50.0}, indicator="y")], ignore_index=True)
    tv = T.target_values(tg, v)
    assert list(tv.columns) == list(tg.columns) + ["baseline_value", "target_value"]
    np.testing.assert_allclose(tv["baseline_value"], [100.0, 50.0, np.nan])
    np.testing.assert_allclose(tv["target_value"], [90.0, 60.0, 80.0])          # -10%, +20%, a level
    assert "target_value" not in tg.columns
    p = T.progress(v, tg, period_end=pd.Timestamp("2025-03-01")).set_index("indicator")
    assert list(T.progress(v, tg).columns) == list(T.PROGRESS_COLUMNS)
    np.testing.assert_allclose(p.loc[["x", "y", "z"], "target_value"], [90.0, 60.0, 80.0])
    assert p.loc["z", "target_status"] == "incomplete"                        # no baseline value
