"""ipywidgets components of the Voilà apps (``notebooks/apps/``), served by ``perfwork serve``.

    from perfwork.apps import Dashboard, open_snapshot, wait_for_request
    app = Dashboard(open_snapshot(None))
    app.apply(wait_for_request())
    app.widget

The apps read a stored national assessment (``snapshot``) and draw with ``perfwork.charts`` and
``perfwork.report``; they compute nothing of their own. Names load on first use, so the server process never
imports the widget stack.
"""

from __future__ import annotations

import importlib

_LAZY = {"Dashboard": "dashboard", "PeerExplorer": "peer_explorer", "open_snapshot": "snapshot",
         "wait_for_request": "request", "DecisionsPanel": "decisions"}


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'perfwork.apps' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    globals()[name] = value
    return value


__all__ = list(_LAZY)
