"""``perfwork serve``: the managers' Voilà apps (notebooks/apps/) on the demo, a store or a dataset folder."""

from __future__ import annotations

import argparse


def cmd_serve(args: argparse.Namespace) -> int:
    from ..apps import server

    if args.max_viewers < 1:
        raise ValueError("--max-viewers must be at least 1")
    print("preparing the national assessment for the apps (cached after the first run) ...", flush=True)
    env = server.prepare(args.data)
    if args.user_header:
        env["PERFWORK_USER_HEADER"] = args.user_header
    if args.log:
        env["PERFWORK_LOG"] = args.log
    config = server.voila_config(port=args.port, ip=args.ip, base_url=args.base_url, token=args.token,
                                 user_header=args.user_header, pool_size=args.pool, max_viewers=args.max_viewers,
                                 cull_idle_timeout=args.cull_idle, cull_interval=args.cull_interval,
                                 chart_bundle=env.get("PERFWORK_CHART_BUNDLE"))
    host = "127.0.0.1" if args.ip in ("0.0.0.0", "::", "") else args.ip
    query = f"?token={args.token}" if args.token else ""
    base = config.Voila.base_url
    print(f"perfwork apps: http://{host}:{args.port}{base}voila/render/dashboard.ipynb{query}", flush=True)
    print(f"               http://{host}:{args.port}{base}voila/render/peer_explorer.ipynb{query}", flush=True)
    server.run(config, apps_dir=args.apps or server.APPS_DIR, env=env)
    return 0


def add_serve_commands(sub) -> None:
    p = sub.add_parser("serve", help="serve the managers' apps (dashboard, peer explorer) with Voilà",
                       description="Serve notebooks/apps/ with Voilà: sources stripped, tracebacks hidden, no file "
                                   "served, a preheated kernel pool holding the national assessment.")
    p.add_argument("--data", metavar="STORE_OR_DIR",
                   help="a perfwork DuckDB store or a dataset folder; default: the demo")
    p.add_argument("--port", type=int, default=8866)
    p.add_argument("--ip", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--base-url", default="/", help="URL prefix, e.g. /perfwork/ behind a reverse proxy")
    p.add_argument("--token", help="require this token (?token=... once, then a cookie)")
    p.add_argument("--user-header", metavar="HEADER",
                   help="a header set by a single-sign-on proxy naming the viewer (e.g. X-Remote-User)")
    p.add_argument("--log", metavar="FILE_OR_URL",
                   help="the decision log the dashboard's panel reads and writes "
                        "(default: $PERFWORK_LOG or the demo log)")
    p.add_argument("--apps", metavar="DIR", help="the folder of app notebooks to serve (default: notebooks/apps)")
    p.add_argument("--pool", type=int, default=2, help="preheated kernels kept ready (default 2)")
    p.add_argument("--max-viewers", type=int, default=20, help="kernels in use at once before 'busy' (default 20)")
    p.add_argument("--cull-idle", type=int, default=3600, metavar="SECONDS",
                   help="shut down a viewer's kernel after this long without activity (default 3600)")
    p.add_argument("--cull-interval", type=int, default=60, metavar="SECONDS", help="how often to check (default 60)")
    p.set_defaults(func=cmd_serve)
