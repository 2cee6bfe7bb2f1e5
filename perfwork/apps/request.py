"""Who is looking and what the link asked for, read after Voilà hands a preheated kernel to a viewer.

A preheated kernel runs the app's first cells before anyone asks for the page; ``wait_for_request`` pauses it
until a viewer arrives and Voilà passes the request on (``voila.utils.wait_for_request``: the query string and
the headers named by ``--user-header`` become environment variables). Outside Voilà it returns at once.
"""

from __future__ import annotations

import os
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
    from voila.utils import wait_for_request as _wait

    _wait()
    return current()
