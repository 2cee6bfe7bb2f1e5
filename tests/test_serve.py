"""perfwork serve, server side (no browser): what the server sends and what it refuses.

One server for the module, started with a token, a viewer cap of 2 and an apps folder holding copies of the
real apps, a notebook whose cell fails, and data and source files that must never be served.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import psutil
import pytest

from perfwork.apps.background import Server
from perfwork.apps.request import Request

ROOT = Path(__file__).resolve().parents[1]
APPS = ROOT / "notebooks" / "apps"
TOKEN = "t0ken-for-tests"
SECRETS = ["data.csv", "store.duckdb", "values.parquet", "log.sqlite", "helper.py", "table.xlsx", "settings.json"]


def _notebook(cells: list[str]) -> dict:
    return {"cells": [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": c}
                      for c in cells], "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                                   "language": "python"}},
            "nbformat": 4, "nbformat_minor": 5}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    apps = tmp_path_factory.mktemp("apps")
    for nb in APPS.glob("*.ipynb"):
        shutil.copy(nb, apps / nb.name)
    (apps / "broken.ipynb").write_text(json.dumps(_notebook(
        ["SECRET_SOURCE_MARKER = 41", "raise ValueError('SECRET_ERROR_MARKER ' + str(SECRET_SOURCE_MARKER))"])))
    for name in SECRETS:
        (apps / name).write_text("SECRET_FILE_MARKER\n")
    (apps.parent / "outside.csv").write_text("SECRET_FILE_MARKER\n")
    log = apps.parent / "serve.log"
    with Server("--token", TOKEN, "--max-viewers", "2", "--apps", str(apps), pool=1, log=log) as s:
        s.apps = apps
        yield s


def get(server, path: str, token: bool = True, **headers):
    """(status, body, headers) of a GET; redirects are not followed."""
    url = server.url(path)
    if token:
        headers["Authorization"] = f"token {TOKEN}"

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **k):
            return None

    req = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.build_opener(NoRedirect).open(req, timeout=120) as r:
            return r.status, r.read().decode("utf-8", "replace"), r.headers
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace"), e.headers


def render(server, path: str) -> tuple[int, str]:
    """Render an app page, then shut its kernel down (so the viewer cap is not used up)."""
    status, body, _ = get(server, path)
    m = re.search(r'"kernelId": "([0-9a-f-]{36})"', body)
    if m:
        req = urllib.request.Request(server.url(f"voila/api/shutdown/{m.group(1)}"), method="POST",
                                     headers={"Authorization": f"token {TOKEN}"})
        urllib.request.urlopen(req, timeout=30).close()
    return status, body


def test_page_has_no_notebook_source_and_loads_nothing_from_outside(server):
    status, body = render(server, "voila/render/dashboard.ipynb")
    assert status == 200
    assert "jupyter-config-data" in body and "perfwork.css" in body
    source = json.loads((APPS / "dashboard.ipynb").read_text())["cells"]
    for cell in source:
        for line in "".join(cell["source"]).splitlines():
            if line.strip():
                assert line.strip() not in body, f"notebook source in the page: {line!r}"
    remote = re.findall(r'(?:src|href)\s*=\s*["\'](?:https?:)?//[^"\']+', body)
    assert not remote, remote
    assert "cdn.jsdelivr" not in body and "fontawesome" not in body.lower()


def test_template_cannot_be_swapped_back_to_the_stock_page(server):
    status, body = render(server, "voila/render/dashboard.ipynb?template=lab&theme=dark")
    assert status == 200 and "perfwork.css" in body and "cdn.jsdelivr" not in body


def test_error_in_a_cell_shows_no_traceback(server):
    status, body = render(server, "voila/render/broken.ipynb")
    assert status == 200
    assert "There was an error when executing cell" in body
    for marker in ("SECRET_ERROR_MARKER", "ValueError", "Traceback", "SECRET_SOURCE_MARKER"):
        assert marker not in body


@pytest.mark.parametrize("path", [f"voila/files/{n}" for n in SECRETS + ["dashboard.ipynb", "broken.ipynb"]]
                         + [f"voila/render/{n}" for n in SECRETS]
                         + ["voila/files/../outside.csv", "voila/files/%2e%2e/outside.csv",
                            "voila/files/..%2foutside.csv", "voila/render/..%2foutside.csv",
                            "voila/files//etc/passwd", "voila/render/%2fetc%2fpasswd",
                            "voila/static/..%2f..%2fREADME.md", "voila/templates/perfwork/..%2f..%2fpage.html",
                            "voila/api/contents/", "voila/api/contents/dashboard.ipynb", "voila/tree",
                            "api/contents", "api/kernels", "voila/render/../../README.md"])
def test_data_source_and_outside_files_are_not_served(server, path):
    status, body, headers = get(server, path)
    if status in (301, 302):          # Voilà sends non-notebooks under render/ to files/: follow it once
        status, body, headers = get(server, urllib.parse.urljoin(server.url(path), headers["Location"])
                                    .removeprefix(server.url()))
    assert status in (403, 404), (path, status)
    assert "SECRET_FILE_MARKER" not in body and "root:" not in body


@pytest.mark.parametrize("area, indicator", [("<script>alert('x')</script>", "A" * 5000),
                                             ("dk-c0001\"><img src=x onerror=alert(1)>", "%00%ff';--")])
def test_junk_area_in_the_link_neither_errors_nor_echoes(server, area, indicator):
    status, body = render(server, "voila/render/dashboard.ipynb?area=" + urllib.parse.quote(area)
                          + "&indicator=" + urllib.parse.quote(indicator) + "&area=DK-C9999")
    assert status in (200, 400, 414, 431)
    assert "There was an error" not in body
    assert "<script>alert" not in body and "onerror=alert" not in body and "A" * 200 not in body


def test_query_values_are_only_compared_with_known_codes():
    from perfwork.apps import Dashboard, open_snapshot

    app = Dashboard(open_snapshot(None))
    first = app.area
    app.apply(Request({"area": "<b>DK-C0001</b>", "indicator": "__class__"}))
    assert app.area == first and app.indicator.value in app.ids
    assert "&lt;b&gt;DK-C0001&lt;/b&gt;" in app.message.value and "<b>" not in app.message.value
    assert "__class__" in app.message.value and app.message.layout.display == "block"
    app.apply(Request({"area": "dk-c0123", "indicator": "BURGLARY"}))
    assert app.area == "DK-C0123" and app.indicator.value == "burglary" and app.message.layout.display == "none"
    assert "Dalworth" in app.headline.value


def test_binds_to_127_0_0_1_only(server):
    conns = psutil.Process(server.proc.pid).net_connections(kind="inet")
    listening = {c.laddr.ip for c in conns if c.status == psutil.CONN_LISTEN}
    assert listening == {"127.0.0.1"}


def test_token_is_enforced(server):
    status, body, headers = get(server, "voila/render/dashboard.ipynb", token=False)
    assert status in (302, 401, 403) and "jupyter-config-data" not in body
    if status == 302:
        assert "login" in headers["Location"]
    status, _, _ = get(server, "voila/render/dashboard.ipynb?token=wrong", token=False)
    assert status in (302, 401, 403)


def test_past_the_viewer_cap_a_busy_page(server):
    held = [get(server, "voila/render/dashboard.ipynb") for _ in range(2)]
    assert all(s == 200 for s, _, _ in held)
    status, body, headers = get(server, "voila/render/dashboard.ipynb")
    assert status == 503 and headers["Retry-After"] == "30"
    assert "busy" in body and "try again" in body and "jupyter-config-data" not in body
    for _, page, _ in held:
        kid = re.search(r'"kernelId": "([0-9a-f-]{36})"', page).group(1)
        req = urllib.request.Request(server.url(f"voila/api/shutdown/{kid}"), method="POST",
                                     headers={"Authorization": f"token {TOKEN}"})
        urllib.request.urlopen(req, timeout=30).close()
    assert render(server, "voila/render/dashboard.ipynb")[0] == 200


def test_apps_notebooks_are_thin_and_stored_without_outputs():
    for path in APPS.glob("*.ipynb"):
        code = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
        assert "parameters" in code[0]["metadata"].get("tags", []), path.name
        for cell in code:
            assert not cell.get("outputs") and cell.get("execution_count") is None, path.name
            assert len("".join(cell["source"]).splitlines()) <= 10, path.name


@pytest.mark.parametrize("waiter", ["perfwork", "voila"])
def test_preheated_kernel_gets_its_request_as_voila_hands_it_over(monkeypatch, waiter):
    """perfwork's ``wait_for_request`` speaks Voilà's protocol (so an app kernel need not import voila.utils):
    both read the same environment, wait on the same websocket and set the same variables."""
    import threading

    from websockets.sync.server import serve

    from perfwork.apps import request

    seen = []

    def handler(ws):
        seen.append(ws.request.path)
        ws.send(json.dumps({"QUERY_STRING": "area=DK-C0123&indicator=burglary", "HTTP_X_USER": "A. Manager"}))

    with serve(handler, "127.0.0.1", 0) as srv:
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        port = str(srv.socket.getsockname()[1])
        for k, v in {"VOILA_PREHEAT": "True", "VOILA_KERNEL_ID": "k-1", "VOILA_APP_PORT": port,
                     "VOILA_SERVER_URL": "/apps/", "PERFWORK_USER_HEADER": "X-User", "QUERY_STRING": "",
                     "HTTP_X_USER": ""}.items():      # set here so that the test's end restores them
            monkeypatch.setenv(k, v)
        if waiter == "voila":
            from voila.utils import wait_for_request

            wait_for_request()
            got = request.current()
        else:
            got = request.wait_for_request()
        srv.shutdown()
    assert seen == ["/apps/voila/query/k-1"]
    assert got == Request({"area": "DK-C0123", "indicator": "burglary"}, viewer="A. Manager")


def test_an_app_kernel_loads_neither_altair_nor_scipy_stats_nor_voila(tmp_path):
    """What keeps a served kernel small (benchmarks/voila.py: about 210 MB, the goal 250): the dashboard and the
    peer explorer, built, handed their request and switched to another area, never import Altair (with jsonschema, ~45 MB),
    scipy.stats (~60 MB), vl-convert or Voilà's server modules (~45 MB)."""
    import subprocess
    import sys

    from perfwork.apps import snapshot

    snapshot.build(None)          # as perfwork serve does before any kernel starts (building needs all of scipy)
    code = ("import sys\n"
            "from perfwork.apps import Dashboard, open_snapshot, wait_for_request\n"
            "app = Dashboard(open_snapshot(None))\n"
            "app.apply(wait_for_request())\n"
            "app.picker.area.value = 'DK-C0123'\n"
            "app.tabs.selected_index = 2\n"
            "assert app.tab_charts['spc'].children[0].spec['title']\n"
            "from perfwork.apps import PeerExplorer\n"
            "peers = PeerExplorer(open_snapshot(None))\n"
            "peers.apply(wait_for_request())\n"
            "peers.picker.area.value = 'DK-C0123'\n"
            "assert 'Dalworth' in peers.funnel.spec['title']['text']\n"
            "print(sorted(m for m in ('altair', 'jsonschema', 'scipy.stats', 'vl_convert', 'voila.utils') "
            "if m in sys.modules))\n")
    env = {**os.environ, "PERFWORK_CHART_BUNDLE": "jupyterchart-test.js", "VOILA_BASE_URL": "/",
           "VOILA_PREHEAT": "False"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_snapshots_no_app_has_opened_for_a_month_are_pruned(tmp_path):
    import time

    from perfwork.apps import snapshot

    def made(name: str, days_ago: float) -> Path:
        d = tmp_path / name
        d.mkdir()
        (d / "meta.json").write_text("{}")
        t = time.time() - days_ago * 86400
        os.utime(d / "meta.json", (t, t))
        return d

    old, current = made("old", 40), made("current", 90)
    made("recent", 3)
    (tmp_path / "static").mkdir()                               # the chart bundle's folder: no snapshot
    assert snapshot.prune(tmp_path, keep=current) == [old]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["current", "recent", "static"]
