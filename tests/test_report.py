"""Reports: words, formatted tables, every report notebook under papermill for areas of different shape on the
demo and on a small dataset folder, the exported HTML page (offline, no code, every chart, the planted story),
``perfwork report``, and the page in a real browser with the network blocked (charts drawn, axe-core clean)."""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path

import pytest
from conftest import small_tables

from perfwork import cli, report
from perfwork.charts import CHART_MIMETYPE
from perfwork.dataset import Dataset

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
PROFILE, FORCE, DEEP = (NOTEBOOKS / f"{n}.ipynb" for n in ("partnership_profile", "force_overview", "peer_deep_dive"))
BAD_CELLS = {"None", "nan", "NaN", "True", "False", "<NA>", "NaT"}


@pytest.fixture(scope="module")
def small_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("small") / "data"
    Dataset(**small_tables(), name="small").to_dir(path)
    return path


RUNS = {  # name -> (notebook, parameters); demo and the small dataset, a CSP with and without exceptions, a force
    "profile_story": (PROFILE, {"AREA": "DK-C0123"}),
    "profile_quiet": (PROFILE, {"AREA": "DK-C0040"}),
    "profile_force": (PROFILE, {"AREA": "DK-F21"}),
    "force": (FORCE, {"FORCE": "DK-F16"}),
    "deep": (DEEP, {"AREA": "DK-C0123", "INDICATOR": "burglary"}),
    "small_profile": (PROFILE, {"AREA": "A", "TARGETS": None}),
    "small_profile_force": (PROFILE, {"AREA": "F1", "TARGETS": None}),
    "small_force": (FORCE, {"FORCE": "F1", "TARGETS": None}),
    "small_deep": (DEEP, {"AREA": "B", "INDICATOR": "burglary", "TARGETS": None}),
}


@pytest.fixture(scope="module")
def decision_log(tmp_path_factory):
    """The demo boards' decisions, so the profile's decisions section is the same wherever the suite runs."""
    from perfwork.decisions import demo as seeding

    path = tmp_path_factory.mktemp("log") / "decisions.sqlite"
    seeding.seed(path)
    return path


@pytest.fixture(scope="module")
def executed(small_dir, decision_log):
    """Every run above, in one warm kernel (the national work cached once per dataset)."""
    out = {}
    with report.Runner(cwd=NOTEBOOKS) as run:
        for name, (nb, params) in RUNS.items():
            params = dict(params, DATA=str(small_dir)) if name.startswith("small") else params
            params = dict(params, LOG=str(decision_log)) if nb == PROFILE else params
            out[name] = run(nb, **params)
    return out


@pytest.fixture(scope="module")
def pages(executed):
    return {name: report.notebook_html(nb) for name, nb in executed.items()}


def chart_outputs(nb) -> int:
    return sum(CHART_MIMETYPE in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))


def cells(page: str) -> list[str]:
    return [html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", page, flags=re.S)]


# ---------------------------------------------------------------------------------------------------- words
def test_headline_and_sentences_name_the_story():
    a = report.assessment(None, targets="demo")
    rows = a.for_area("DK-C0123")
    h = report.headline(rows)
    assert h.startswith("3 of Dalworth's 21 indicators need attention in the 12 months to March 2026: burglary")
    first = report.exception_sentences(rows)[0]
    assert first.startswith("Burglary per 1,000 households: 15.7 against 10.9") and "p < 0.001" in first
    assert report.headline(a.for_area("DK-C0040")).startswith("None of ")
    assert report.p_value(0.0004) == "< 0.001" and report.p_value(0.0123) == "0.012" and report.p_value(None) == ""
    blank = rows.assign(value=float("nan"), exception=False)
    assert "has a value" in report.headline(blank) and "nothing is judged" in report.headline(blank)


def test_tables_are_for_people():
    a = report.assessment(None, targets="demo")
    table = report.judgement_table(a.for_area("DK-C0123")).as_raw_html()
    texts = cells(table)
    assert "Burglary per 1,000 households" in texts and "worse than peers" in texts and "< 0.001" in texts
    assert not BAD_CELLS & set(texts) and "burglary_charge_rate" not in table  # labels, not ids
    assert "15.7" in texts and "14.8 to 16.7" in texts                          # rounded with their interval


# ---------------------------------------------------------------------------------------------------- notebooks
def test_every_notebook_runs_for_areas_of_each_shape(executed):
    # profile_story: 11 charts + the burglary SPC chart marked at the board's decision (decisions section)
    expect = {"profile_story": 11 + 1, "profile_quiet": 1, "force": 1, "deep": 4, "small_profile": 1,
              "small_force": 1, "small_deep": 4}
    for name, n in expect.items():
        assert chart_outputs(executed[name]) == n, name
    assert chart_outputs(executed["profile_force"]) >= 4
    text = json.dumps([c.get("outputs") for c in executed["small_profile"].cells])
    assert "Aville (A)" in text and "Demo Kingdom" not in text


def test_exported_page_is_offline_without_code_with_every_chart(executed, pages):
    page = pages["profile_story"]
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page, flags=re.I)
    assert not re.search(r"@import|url\(\s*['\"]?https?:", page)
    assert report.chart_count(page) == chart_outputs(executed["profile_story"]) == 12
    assert page.count('role="img"') >= 12 and page.count("<figcaption") == 12
    assert "Decisions and actions since the last review" in page and "not proof" in page
    code = [c.source for c in executed["profile_story"].cells if c.cell_type == "code"]
    assert all(src.splitlines()[0] not in page for src in code if src.strip())
    assert "In [" not in page and "execution_count" not in page and "report.Report(" not in page
    h1 = re.search(r"<h1>(.*?)</h1>", page).group(1)
    assert "DK-C0123" in h1 and "Dalworth" in h1
    headline = re.search(r"<strong>(\d+ of Dalworth.*?)</strong>", page).group(1)
    assert "burglary" in headline and headline.startswith("3 of")
    assert "<title>Dalworth (DK-C0123): Community safety performance</title>" in page
    assert page.count("<table") >= 2 and "<th" in page and not BAD_CELLS & set(cells(page))
    assert 'lang="en-GB"' in page and "size: A4" in page and 'name="viewport"' in page
    assert "The Demo Kingdom is synthetic" in page
    assert "Open Government Licence" in pages["small_profile"] and "synthetic" not in pages["small_profile"]


def test_a_shared_bundle_instead_of_an_embedded_one(executed, tmp_path):
    page = report.notebook_html(executed["deep"], bundle="vega.js")
    assert '<script src="vega.js"></script>' in page and len(page) < 200_000
    assert report.write_bundle(tmp_path).stat().st_size > 500_000
    with pytest.raises(ValueError, match="relative path"):
        report.notebook_html(executed["deep"], bundle="https://cdn.example/vega.js")


def test_perfwork_report_command(small_dir, tmp_path, capsys):
    out = tmp_path / "deep.html"
    assert cli.main(["report", str(DEEP), "--area", "A", "--data", str(small_dir), "-p", "TARGETS", "None",
                     "-p", "INDICATOR", "violence", "--out", str(out)]) == 0
    page = out.read_text()
    assert report.chart_count(page) == 4 and "Aville (A)" in page
    assert cli.main(["report", str(DEEP), "--area", "A", "-p", "INDICATR", "x"]) == 2
    assert "has no parameter INDICATR" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------------- browser
def test_report_in_chromium_offline_draws_every_chart_and_passes_axe(pages, tmp_path):
    pytest.importorskip("playwright")
    if not shutil.which("chromium") and not Path("/usr/bin/chromium").exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import sync_playwright

    path = tmp_path / "profile.html"
    path.write_text(pages["profile_story"], encoding="utf-8")
    requested = []

    def only_the_file(route):
        requested.append(route.request.url)
        return route.continue_() if route.request.url.startswith("file://") else route.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        try:
            ctx = browser.new_context(viewport={"width": 1100, "height": 900}, offline=True)
            ctx.route("**/*", only_the_file)
            page = ctx.new_page()
            page.goto(path.as_uri())
            page.wait_for_function("document.querySelectorAll('figure.pw-chart[data-rendered]').length === "
                                   "document.querySelectorAll('figure.pw-chart').length", timeout=60_000)
            figs = page.locator("figure.pw-chart")
            assert figs.count() == 12
            for i in range(figs.count()):
                assert figs.nth(i).locator("svg").count() == 1 and figs.nth(i).locator("svg").is_visible()
                assert figs.nth(i).locator("svg .mark-symbol, svg .mark-rect, svg .mark-line, svg path").count() > 0
            result = Axe().run(page)
            bad = [(v["id"], v["impact"], v["nodes"][0]["html"][:120]) for v in result.response["violations"]
                   if v["impact"] in ("serious", "critical")]
            assert not bad, bad
            page.screenshot(path=str(tmp_path / "profile.png"), full_page=True)
            phone = browser.new_context(viewport={"width": 390, "height": 800}, offline=True).new_page()
            phone.goto(path.as_uri())
            phone.wait_for_selector("figure.pw-chart[data-rendered]")
            assert phone.evaluate("document.documentElement.scrollWidth") <= 400   # nothing wider than a phone
            phone.screenshot(path=str(tmp_path / "profile-phone.png"))
        finally:
            browser.close()
    assert requested and all(u.startswith("file://") for u in requested)
    assert (tmp_path / "profile.png").stat().st_size > 50_000
