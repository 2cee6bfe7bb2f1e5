"""The dashboard in a real browser (Playwright driving Debian's chromium) on ``perfwork serve``: it renders,
switches areas in place, downloads the numbers, stays on 127.0.0.1 and passes axe-core; and ten viewers at once
(websocket clients, as the page's JavaScript talks to its kernel) are all served, their kernels culled after
they leave. One server for the module."""

from __future__ import annotations

import asyncio
import io
import json
import re
import time
import uuid
from pathlib import Path

import pandas as pd
import psutil
import pytest

from perfwork.apps.background import Server

CHROMIUM = Path("/usr/bin/chromium")
APPS = Path(__file__).resolve().parents[1] / "notebooks" / "apps"
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")
CULL_IDLE, CULL_INTERVAL, POOL = 30, 2, 2
WAIT = 120_000   # ms: the machine may be busy


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with Server("--max-viewers", "12", "--cull-idle", str(CULL_IDLE), "--cull-interval", str(CULL_INTERVAL),
                pool=POOL, log=log) as s:
        yield s


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield b
        b.close()


def open_dashboard(browser, server, query: str = ""):
    """A new page on the dashboard, every request it makes recorded, waited on until widgets and charts show."""
    context = browser.new_context(viewport={"width": 1280, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    page.requests, page.errors = [], []
    page.on("request", lambda r: page.requests.append(r.url))
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.goto(server.url("voila/render/dashboard.ipynb" + query), timeout=WAIT)
    page.wait_for_selector(".pw-overview svg .role-title-text", timeout=WAIT)
    page.wait_for_selector(".pw-chart svg .role-title-text", timeout=WAIT)
    return context, page


def pick(page, label: str, option_text: str) -> None:
    """Choose, in the dropdown labelled ``label``, the option whose text contains ``option_text``."""
    select = page.get_by_label(label, exact=True)
    select.select_option(label=select.locator("option", has_text=option_text).first.text_content())


def test_dashboard_switches_area_and_indicator_and_downloads(browser, server, tmp_path):
    context, page = open_dashboard(browser, server)
    first = page.locator(".pw-headline").inner_text()
    assert "indicators" in first and "Dalworth" not in first
    pick(page, "Area", "DK-C0123")
    page.wait_for_function("document.querySelector('.pw-headline').innerText.includes('Dalworth')", timeout=WAIT)
    titles = "[...document.querySelectorAll('.pw-overview svg .role-title-text, .pw-chart svg .role-title-text')]"
    page.wait_for_function(titles + ".every(t => t.textContent.includes('Dalworth'))", timeout=WAIT)
    exceptions = page.locator(".pw-exceptions").inner_text()
    assert "Burglary per 1,000 households" in exceptions and "worse than peers" in exceptions

    pick(page, "Indicator", "Burglary per 1,000 households")
    page.wait_for_function(titles + ".some(t => t.textContent.includes('Burglary'))", timeout=WAIT)
    with page.expect_download(timeout=WAIT) as dl:
        page.get_by_role("button", name="Assessment (CSV)").click()
    rows = pd.read_csv(io.StringIO(Path(dl.value.path()).read_text()))
    assert dl.value.suggested_filename == "assessment-DK-C0123.csv"
    assert len(rows) == 21 and set(rows["area_code"]) == {"DK-C0123"}
    assert rows.set_index("indicator").loc["burglary", "exception"]

    page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page).response["violations"]
    bad = [(v["id"], v["impact"], v["help"], [n["html"][:200] for n in v["nodes"][:5]])
           for v in found if v["impact"] in ("serious", "critical")]
    assert not bad, bad
    outside = [u for u in page.requests if not u.startswith((server.url(), "data:", "blob:"))]
    assert not outside, outside
    assert not page.errors, page.errors
    context.close()


def test_link_preselects_and_reports_what_it_ignored(browser, server):
    context, page = open_dashboard(browser, server, "?area=DK-C0067&indicator=nonsense")
    assert "DK-C0067" in page.get_by_label("Area", exact=True).input_value()
    assert "Dalworth" not in page.locator(".pw-headline").inner_text()
    message = page.locator(".pw-message").inner_text()
    assert "nonsense" in message and "does not have" in message
    context.close()


def kernels(server) -> int:
    """Kernels the server is running (exited ones not yet reaped do not count)."""
    n = 0
    for p in psutil.Process(server.proc.pid).children():
        try:
            n += p.status() != psutil.STATUS_ZOMBIE and "ipykernel_launcher" in " ".join(p.cmdline())
        except psutil.Error:
            pass
    return n


async def _viewer(server, done: asyncio.Barrier) -> dict:
    """One viewer as a websocket client: fetch the page (Voilà runs the app for it), connect to its kernel and
    ask for the widgets' comms, as the page's JavaScript does; hold the connection until all ten are in."""
    import websockets

    url = server.url("voila/render/dashboard.ipynb")
    status, body = await asyncio.to_thread(_fetch, url)
    kernel = re.search(r'"kernelId": "([0-9a-f-]{36})"', body).group(1)
    ws_url = server.url(f"api/kernels/{kernel}/channels").replace("http://", "ws://") + f"?session_id={uuid.uuid4()}"
    async with websockets.connect(ws_url, max_size=None, open_timeout=120) as ws:
        msg_id = uuid.uuid4().hex
        await ws.send(json.dumps({"header": {"msg_id": msg_id, "msg_type": "comm_info_request", "username": "",
                                             "session": uuid.uuid4().hex, "date": "", "version": "5.3"},
                                  "parent_header": {}, "metadata": {}, "channel": "shell",
                                  "content": {"target_name": "jupyter.widget"}, "buffers": []}))
        while True:
            reply = json.loads(await asyncio.wait_for(ws.recv(), 120))
            if reply.get("parent_header", {}).get("msg_id") == msg_id and reply["msg_type"] == "comm_info_reply":
                break
        await done.wait()
    return {"status": status, "error": "There was an error" in body, "finished": "voila_finish" in body,
            "widgets": len(reply["content"]["comms"])}


def _fetch(url: str) -> tuple[int, str]:
    import urllib.request

    with urllib.request.urlopen(url, timeout=240) as r:
        return r.status, r.read().decode("utf-8", "replace")


def test_ten_viewers_at_once_then_their_kernels_are_culled(server):
    async def run():
        done = asyncio.Barrier(10)
        return await asyncio.gather(*(_viewer(server, done) for _ in range(10)))

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as ex:              # Playwright's sync API holds this thread's event loop
        results = ex.submit(asyncio.run, run()).result()
    assert all(r["status"] == 200 and r["finished"] and not r["error"] for r in results), results
    assert all(r["widgets"] > 20 for r in results), results       # each page's dashboard is alive in its kernel
    idle = POOL * len(list(APPS.glob("*.ipynb")))                  # each app keeps its own pool
    deadline = time.monotonic() + CULL_IDLE + 4 * CULL_INTERVAL + 30
    while kernels(server) > idle and time.monotonic() < deadline:   # the clients left without shutting down
        time.sleep(1)
    assert kernels(server) <= idle, f"{kernels(server)} kernels still running"


def test_peer_explorer_switches_to_an_official_list(browser, server, tmp_path):
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page.goto(server.url("voila/render/peer_explorer.ipynb?area=DK-C0123&indicator=burglary"), timeout=WAIT)
    page.wait_for_selector(".pw-funnel svg .role-title-text", timeout=WAIT)
    assert "Dalworth" in page.locator(".pw-funnel svg .role-title-text").first.text_content()
    assert "Distance" in page.locator(".pw-peers").inner_text()
    official = tmp_path / "cipfa.csv"
    official.write_text("Code,Name\nDK-C0041,Yarstead\nDK-C0042,Kelthorpe\nDK-C0043,Garminster\n")
    with page.expect_file_chooser(timeout=WAIT) as chooser:
        page.locator(".widget-upload").click()
    chooser.value.set_files(str(official))
    page.wait_for_function("document.querySelector('.pw-peers').innerText.includes('The official list: 3 peers')",
                           timeout=WAIT)
    assert "Kelthorpe (DK-C0042)" in page.locator(".pw-peers").inner_text()
    context.close()
