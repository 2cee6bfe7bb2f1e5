"""Charts: each chart's Vega-Lite essentials on the demo (marks, encodings, the highlighted area, numbers equal to
the assessment's) and an SVG render through vl-convert; the rendering targets."""

from __future__ import annotations

import json
import re

import altair as alt
import numpy as np
import pandas as pd
import pytest

from perfwork import charts, report, stats
from perfwork.charts import render

AREA, IND, FORCE = "DK-C0123", "burglary", "DK-F16"


@pytest.fixture(scope="module")
def a():
    return report.assessment(None, targets="demo")


def spec_of(chart) -> dict:
    return chart.to_dict()            # validated against the Vega-Lite schema


def data(spec: dict, layer: dict | None = None) -> pd.DataFrame:
    """The rows a layer draws (its own data, else the chart's), from the spec's inline datasets."""
    d = (layer or {}).get("data") or spec.get("data")
    values = spec["datasets"][d["name"]] if "name" in d else d["values"]
    return pd.DataFrame(values)


def marks(spec: dict) -> list[str]:
    out = []
    for lay in spec.get("layer", [spec]):
        m = lay["mark"]
        out.append(m if isinstance(m, str) else m["type"])
    return out


def svg(chart) -> str:
    text = charts.to_svg(chart)
    assert text.lstrip().startswith("<svg") and "</svg>" in text
    return text


def test_peer_chart_ranks_members_and_marks_the_area_and_benchmark(a):
    chart = charts.peer_chart(a, AREA, IND)
    spec = spec_of(chart)
    row = a.for_area(AREA).set_index("indicator").loc[IND]
    assert marks(spec) == ["rect", "bar", "rule", "rule", "text"]
    bars = data(spec, spec["layer"][1])
    assert len(bars) == 16 and bars["is_area"].sum() == 1
    me = bars[bars["is_area"]].iloc[0]
    assert me["area_code"] == AREA and me["outline"] != "transparent" and me["judgement"] == "worse"
    assert me["value"] == pytest.approx(row["value"]) and me["upper"] == pytest.approx(row["upper"])
    # ranked: low is good for burglary, so the lowest value is drawn first; the area is last of 16
    assert bars["value"].is_monotonic_increasing and spec["layer"][1]["encoding"]["y"]["sort"][-1] == me["name"]
    ref = data(spec, spec["layer"][3])
    assert ref["benchmark"].iloc[0] == pytest.approx(row["benchmark"])
    assert ref["band_lower"].iloc[0] == pytest.approx(row["band_lower"])
    assert "against its 15 most similar CSPs" in spec["title"]["text"] and "12 months to Mar 2026" in spec["title"]["text"]
    assert "descriptive" in " ".join(spec["title"]["subtitle"]) and "15.7" in spec["description"]
    # each member's colour is its significance against the area's benchmark (perfwork.stats)
    tbl = a.table[a.table["area_code"].isin(bars["area_code"]) & (a.table["indicator"] == IND)].set_index("area_code")
    sig = stats.funnel_significance(tbl["numerator"], tbl["denominator"], kind="rate", multiplier=1000,
                                    benchmark=row["benchmark"], polarity="low_is_good")
    assert dict(zip(tbl.index, sig["reading"])) == dict(zip(bars["area_code"], bars["judgement"]))
    assert "Dalworth (this area)" in svg(chart)


def test_trend_chart_series_benchmark_and_gaps_not_zeros(a):
    spec = spec_of(charts.trend_chart(a, AREA, IND))
    s = a.series(AREA, IND)
    f = data(spec)
    assert marks(spec) == ["area", "area", "line", "line"]
    assert len(f) == len(s) and np.allclose(f["benchmark"], s["benchmark"])
    assert np.allclose(f["value"], s["value"], equal_nan=True)
    assert all(lay["mark"]["invalid"] == "break-paths-show-domains" for lay in spec["layer"])
    # DK-C0258 has months without data: its windows touching them are gaps (null), never zero
    gap = data(spec_of(charts.trend_chart(a, "DK-C0258", IND)))
    incomplete = ~gap["complete"].astype(bool)
    assert incomplete.any() and gap.loc[incomplete, "value"].isna().all() and (gap["value"].fillna(1) > 0).all()
    svg(charts.trend_chart(a, "DK-C0258", IND))


def test_funnel_limits_come_from_stats_and_highlight_the_area(a):
    spec = spec_of(charts.funnel_chart(a, AREA, IND, scope="msg"))
    row = a.for_area(AREA).set_index("indicator").loc[IND]
    centre = data(spec, spec["layer"][1])["benchmark"].iloc[0]
    assert centre == pytest.approx(row["benchmark"])         # the MSG funnel is centred on the assessment's benchmark
    pts = data(spec, spec["layer"][2])
    assert len(pts) == 16 and (pts["role"] == "this area").sum() == 1 and (pts["role"] == "peer").sum() == 15
    curves = data(spec, spec["layer"][0])
    upper = curves[curves["curve"] == "upper 99.8%"]
    expect = stats.funnel_limits(benchmark=row["benchmark"], at=upper["denominator"], kind="rate", multiplier=1000)
    assert np.allclose(upper["limit"], expect["upper_99_8"])
    whole = charts.funnel_chart(a, AREA, IND)
    allpts = data(spec_of(whole), spec_of(whole)["layer"][2])
    assert len(allpts) == len(a.areas) and (allpts["role"] == "peer").sum() == 15
    svg(whole)


def test_spc_chart_points_limits_icons_and_events(a):
    events = pd.DataFrame({"date": ["2025-06-15"], "label": ["Burglary task force started"]})
    chart = charts.spc_chart(a, AREA, IND, events=events, target=0.8)
    spec = spec_of(chart)
    p = a.spc(AREA, IND)
    f = data(spec, spec["layer"][0])
    assert len(f) == len(p) and np.allclose(f["mean"], p["mean"]) and np.allclose(f["upper"], p["upper"])
    assert set(f["point"]) >= {"common cause", "special cause: concern"}
    layered = [data(spec, lay) for lay in spec["layer"] if lay.get("data")]
    joined = json.dumps(spec)
    assert "Burglary task force started" in joined and "Variation:\\nconcern" in joined
    assert "Assurance" in spec["description"] and "1 decision(s) marked" in spec["description"]
    assert any("target" in t and t["target"].iloc[0] == 0.8 for t in layered)
    assert "Burglary task force started" not in json.dumps(spec_of(charts.spc_chart(a, AREA, IND)))
    svg(chart)


def test_target_chart_trajectory_and_status_from_the_assessment(a):
    spec = spec_of(charts.target_chart(a, AREA, IND))
    row = a.for_area(AREA).set_index("indicator").loc[IND]
    plan = data(spec, spec["layer"][1])
    assert plan["value"].iloc[-1] == pytest.approx(row["target_value"])
    now = data(spec, spec["layer"][3])
    assert now["status"].iloc[0] == row["target_status"] == "off track"
    proj = data(spec, spec["layer"][2])
    assert proj["value"].iloc[-1] == pytest.approx(row["projection"])
    with pytest.raises(KeyError, match="no target"):
        charts.target_chart(a, AREA, "robbery")


def test_spine_chart_every_indicator_with_the_assessments_judgement(a):
    spec = spec_of(charts.spine_chart(a, AREA))
    f = data(spec)
    rows = a.for_area(AREA)
    assert len(f) == len(rows) == 21
    assert dict(zip(f["indicator"], f["judgement"])) == dict(zip(rows["indicator"], rows["peer_judgement"]))
    assert (f["x"].abs() <= 1 + 1e-9).all()
    burglary = f.set_index("indicator").loc[IND]
    assert burglary["x"] < 0 and burglary["shape"] == "diamond"   # worse: left of the benchmark; an exception
    svg(charts.spine_chart(a, AREA))


def test_rug_and_why_peers(a):
    spec = spec_of(charts.rug_chart(a, FORCE))
    f = data(spec)
    csps = a.areas[a.areas["parent_code"] == FORCE]
    assert set(f["area_code"]) == set(csps["area_code"]) and len(f) == 21 * len(csps)
    svg(charts.rug_chart(a, FORCE))
    why = spec_of(charts.why_peers_chart(a, AREA))
    w = data(why)
    total = w.groupby("peer_code")["part"].sum()
    dist = a.peers(AREA).set_index("peer_code")["distance"]
    assert np.allclose(total.sort_index(), (dist ** 2).sort_index())
    svg(charts.why_peers_chart(a, AREA))


def test_rank_chart_reads_the_group_rank(a):
    spec = spec_of(charts.rank_chart(a, AREA, IND))
    f = data(spec, spec["layer"][1])
    s = a.series(AREA, IND)
    assert np.allclose(f["rank"], s["group_rank"].astype(float))
    y = spec["layer"][1]["encoding"]["y"]["scale"]
    assert y["domain"] == [1, 16] and y["reverse"] is True                 # 1 = best at the top


def test_render_targets(a, tmp_path, monkeypatch):
    chart = charts.peer_chart(a, AREA, IND)
    for name in ("x.svg", "x.png", "x.json"):
        assert charts.save_chart(chart, tmp_path / name).stat().st_size > 1000
    assert (tmp_path / "x.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="expected a .svg"):
        charts.save_chart(chart, tmp_path / "x.gif")
    monkeypatch.delenv("PERFWORK_CHARTS", raising=False)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    fig = charts.show(chart)
    bundle = fig._repr_mimebundle_()
    assert set(bundle) == {charts.CHART_MIMETYPE, "text/plain"} and "Dalworth" in bundle["text/plain"]
    assert bundle[charts.CHART_MIMETYPE]["description"].startswith("Bar chart of burglary")
    monkeypatch.setenv("JPY_SESSION_NAME", "x.ipynb")            # a JupyterLab kernel: the offline widget
    widget = charts.show(chart)
    assert isinstance(widget, alt.JupyterChart) and alt.JupyterChart._is_offline
    assert not re.search(r"""(?:from|import)\s*\(?\s*["']https?://""", widget._esm)   # bundled, nothing fetched
    monkeypatch.setenv("PERFWORK_CHARTS", "report")
    assert isinstance(charts.show(chart), render.Figure)


def test_more_than_5000_rows_does_not_break_a_figure():
    big = pd.DataFrame({"x": np.arange(6000), "y": np.sin(np.arange(6000) / 50)})
    chart = alt.Chart(big).mark_line().encode(x="x:Q", y="y:Q").properties(title="t", description="d")
    assert len(charts.figure(chart).spec["datasets"].popitem()[1]) == 6000
    assert len(data(charts.trend_spec(report.assessment(None, targets="demo"), AREA, IND))) == 49
