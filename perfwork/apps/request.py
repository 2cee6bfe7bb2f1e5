"""Who is looking and what the link asked for, read after Voilà hands a preheated kernel to a viewer.

A preheated kernel runs the app's first cells before anyone asks for the page; ``wait_for_request`` pauses it
until a viewer arrives and Voilà passes the request on: the query string and the headers named by ``--user-header``
become environment variables. It is ``voila.utils.wait_for_request`` (the same environment variables, the same
``voila/query/<kernel id>`` websocket, one JSON message) without importing ``voila.utils``, which would load Voilà's
server modules (jupyter_server, nbconvert, ...: some 45 MB) into every app kernel. Outside Voilà it returns at once.
"""

from __future__ import annotations

import gc
import json
import os
import warnings
from dataclasses import dataclass, field
from urllib.parse import parse_qs

MAX_VALUE = 64        # longer query values are not codes: ignored, and never echoed in full


@dataclass
class Request:
    """The query string's parameters (first value of each, as text) and the signed-on viewer, if any."""

    params: dict = field(default_factory=dict)
    viewer: str | None = None

    def get(self, name: str) -> str | None:
        return self.params.get(name)


def current() -> Request:
    """The request as the environment holds it now (query string, the user header's variable)."""
    qs = parse_qs(os.environ.get("QUERY_STRING", ""), keep_blank_values=True)
    params = {k: v[0] for k, v in qs.items() if v}
    header = os.environ.get("PERFWORK_USER_HEADER")
    viewer = os.environ.get("HTTP_" + header.upper().replace("-", "_")) if header else None
    return Request(params=params, viewer=(viewer or "").strip()[:MAX_VALUE] or None)


def wait_for_request() -> Request:
    """Pause a preheated kernel until its viewer's request arrives, then return it."""
    if os.environ.get("VOILA_BASE_URL") is not None:
        # In a Voilà kernel what exists now (modules, the stored assessment, the app's widgets) lives as long as
        # the kernel: frozen, a full garbage collection no longer scans it, which otherwise pauses an area switch
        # for 50-70 ms.
        gc.collect()
        gc.freeze()
    if os.environ.get("VOILA_PREHEAT", "False") != "False":
        info = _request_info(_query_url())
        if info is not None:
            os.environ.update(json.loads(info))
    return current()


def _query_url() -> str:
    """Where Voilà's query handler waits for this kernel (as ``voila.utils.wait_for_request`` builds it)."""
    e = os.environ.get
    base = e("VOILA_WS_BASE_URL", e("VOILA_SERVER_URL", "/"))
    return (f"{e('VOILA_WS_PROTOCOL', 'ws')}://{e('VOILA_APP_IP', '127.0.0.1')}:{e('VOILA_APP_PORT', '8866')}"
            f"{base}voila/query/{e('VOILA_KERNEL_ID')}")


def _request_info(url: str) -> str | None:
    from websockets.sync.client import connect

    try:
        with connect(url, open_timeout=5) as ws:   # blocks until the kernel is handed to a viewer
            return ws.recv()
    except (TimeoutError, ConnectionRefusedError) as exc:
        warnings.warn(f"Failed to connect to {url}: {exc}", stacklevel=2)
        return None
