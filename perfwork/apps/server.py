"""Voilà, configured for managers' apps: what it serves, what it hides, how many it runs at once.

``voila_config`` holds every setting in one place (the README explains each); ``PerfworkVoila`` adds what Voilà
has no setting for: a cap on live kernels with a "busy, try again" page, a landing redirect instead of the file
tree and contents API, and the offline chart bundle served as a static file.
"""

from __future__ import annotations

import os
from pathlib import Path

import tornado.web
from traitlets import Integer
from traitlets.config import Config

APPS_DIR = Path(__file__).resolve().parents[2] / "notebooks" / "apps"
SHARE_DIR = Path(__file__).resolve().parent / "share"      # holds voila/templates/perfwork
TEMPLATE = "perfwork"
EXTENSIONS = ["@voila-dashboards/widgets-manager8", "@jupyter-widgets/jupyterlab-manager", "anywidget"]
# Files under the apps folder that /voila/files/ may serve: none (the apps draw their charts in the page and
# hand out downloads as data: links). The denylist repeats the data and source types for defence in depth.
FILE_ALLOWLIST: list[str] = []
FILE_DENYLIST = [r".*\.(ipynb|py|pyc|csv|tsv|gz|zip|parquet|feather|arrow|duckdb|sqlite|sqlite3|db|xlsx|json|yaml|yml"
                 r"|toml|cfg|ini|env|log|sh)", r"(.*/)?\..*"]


def voila_config(port: int = 8866, ip: str = "127.0.0.1", base_url: str = "/", token: str | None = None,
                 user_header: str | None = None, pool_size: int = 2, max_viewers: int = 20,
                 cull_idle_timeout: int = 3600, cull_interval: int = 60, chart_bundle: str | None = None) -> Config:
    """The traitlets configuration ``perfwork serve`` starts Voilà with. ``chart_bundle``: the file name of the
    chart module under ``voila/static/`` (``prepare``), which the page starts loading before any widget asks."""
    c = Config()
    c.Voila.ip = ip
    c.Voila.port = int(port)
    c.Voila.port_retries = 0                       # a taken port is an error, not a silent move elsewhere
    c.Voila.base_url = base_url if base_url.endswith("/") else base_url + "/"
    c.Voila.open_browser = False
    c.Voila.config_file_paths = []                  # no stray voila.json from the working directory
    c.Voila.token = token or None                   # None: no token (a proxy in front does the sign-on)
    c.Voila.tornado_settings = {"headers": {
        # Belt and braces for "loads nothing from outside": the browser refuses any other origin.
        "Content-Security-Policy": "default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval' blob:; "
                                   "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
                                   "font-src 'self' data:; connect-src 'self' ws: wss:; frame-ancestors 'self'",
        "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}}
    v = c.VoilaConfiguration
    v.template = TEMPLATE
    v.theme = "light"
    v.allow_template_override = "NO"                # ?template=lab would bring back the CDN links
    v.allow_theme_override = "NO"
    v.strip_sources = True
    v.show_tracebacks = False
    v.file_allowlist = FILE_ALLOWLIST
    v.file_denylist = FILE_DENYLIST
    v.extension_allowlist = EXTENSIONS
    v.preheat_kernel = pool_size > 0
    v.default_pool_size = int(pool_size)
    v.http_header_envs = [user_header] if user_header else []
    v.resources = {"perfwork": {"chart_bundle": chart_bundle}} if chart_bundle else {}
    c.MappingKernelManager.cull_idle_timeout = int(cull_idle_timeout)
    c.MappingKernelManager.cull_interval = int(cull_interval)
    c.MappingKernelManager.cull_connected = True    # an open but untouched tab does not hold a place forever
    # Refill the pool 2 s after a viewer takes a kernel: a kernel preheating while the viewer's page starts up
    # competes with it for the CPU (measured on 2 cores: first chart 1.45-1.55 s with 0.2 s, 1.2-1.35 s with 2 s).
    c.VoilaKernelManager.fill_delay = 2.0
    c.PerfworkVoila.max_viewers = int(max_viewers)
    return c


def _voila():
    from voila.app import Voila
    from voila.static_file_handler import TemplateStaticFileHandler
    from voila.tornado.handler import TornadoVoilaHandler

    class TemplateStatic(TemplateStaticFileHandler):
        """Voilà's template assets, answering a malformed path (no ``<template>/static/``) with 404, not 500."""

        def parse_url_path(self, path):
            try:
                return super().parse_url_path(path)
            except (AssertionError, ValueError):
                raise tornado.web.HTTPError(404) from None

        @classmethod
        def get_absolute_path(cls, root, path):
            try:
                return super().get_absolute_path(root, path)
            except (AssertionError, ValueError):
                raise tornado.web.HTTPError(404) from None

    class CappedVoilaHandler(TornadoVoilaHandler):
        """Renders an app unless ``max_viewers`` kernels are already in use: then a 503 "busy" page."""

        @tornado.web.authenticated
        async def get(self, path=None):
            app = self.settings["perfwork_app"]
            if app.viewers() >= app.max_viewers:
                self.set_status(503)
                self.set_header("Retry-After", "30")
                self.finish(self.render_template("busy.html", retry_after=30, max_viewers=app.max_viewers,
                                                 base_url=self.base_url))
                return
            await super().get(path)

    class LandingHandler(tornado.web.RequestHandler):
        def get(self):
            self.redirect(self.settings["base_url"] + "voila/render/dashboard.ipynb")

    class PerfworkVoila(Voila):
        max_viewers = Integer(20, config=True, help="Most kernels in use by viewers at once (the pool aside).")

        def setup_template_dirs(self):
            super().setup_template_dirs()
            bundle = os.environ.get("PERFWORK_CHART_BUNDLE_DIR")
            if bundle:
                self.static_paths.insert(0, bundle)

        def viewers(self) -> int:
            """Live kernels outside the ready pool. A pool entry still waiting out ``fill_delay`` has no kernel
            yet; one whose kernel is starting counts for the second or so until it joins the pool."""
            km = self.kernel_manager
            ready = {t.result()["kernel_id"] for pool in getattr(km, "_pools", {}).values() for t in pool
                     if t.done() and not t.cancelled() and t.exception() is None}
            return len(set(km.list_kernel_ids()) - ready)

        def init_handlers(self):
            keep = []
            for h in super().init_handlers():
                pattern, handler = h[0], h[1]
                if handler is TornadoVoilaHandler:
                    h = (pattern, CappedVoilaHandler, *h[2:])
                elif handler is TemplateStaticFileHandler:
                    h = (pattern, TemplateStatic, *h[2:])
                elif pattern == self.server_url or "/voila/tree" in pattern or "/voila/api/contents" in pattern:
                    continue                        # no file tree, no contents API: only the apps themselves
                keep.append(h)
            return [(self.server_url, LandingHandler), *keep]

        def init_settings(self):
            settings = super().init_settings()
            settings["perfwork_app"] = self
            return settings

    return PerfworkVoila


def run(config: Config, apps_dir: Path = APPS_DIR, env: dict | None = None) -> None:
    """Start Voilà on ``apps_dir`` with ``config`` (blocks until stopped). ``env`` reaches every kernel, as does
    ``perfwork._kernels.KERNEL_ENV`` (what keeps a kernel's memory down)."""
    from .._kernels import kernel_env

    os.environ.update(kernel_env())
    os.environ.update(env or {})
    os.environ["JUPYTER_PATH"] = os.pathsep.join(p for p in (str(SHARE_DIR), os.environ.get("JUPYTER_PATH")) if p)
    ip = config.Voila.ip
    os.environ["VOILA_APP_IP"] = "127.0.0.1" if ip in ("", "0.0.0.0", "::", "localhost") else ip
    app = _voila()(config=config)
    app.initialize([str(apps_dir)])
    app.start()


def prepare(data=None) -> dict:
    """Build (or find in the cache) the snapshot of the national assessment and the chart bundle, in a child
    process so the server itself never holds the assessment; returns the environment the kernels need."""
    import json
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "perfwork.apps.server", str(data or "")], check=True,
                         stdout=subprocess.PIPE, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _prepare_here(data: str | None) -> dict:
    from . import offline, snapshot

    snap = snapshot.build(data or None)
    bundle_dir = snapshot.cache_root() / "static"
    name = offline.write_bundle(bundle_dir)
    return {snapshot.ENV: str(snap), offline.BUNDLE_ENV: name, offline.BUNDLE_DIR_ENV: str(bundle_dir),
            "PERFWORK_DATA": str(Path(data).resolve()) if data else ""}


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(_prepare_here(sys.argv[1] if len(sys.argv) > 1 else None)))
