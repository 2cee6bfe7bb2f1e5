"""``perfwork serve`` in a child process, for tests, benchmarks and scripts:

    with Server(port=8870, pool=2) as s:
        requests.get(s.url("voila/render/dashboard.ipynb"))
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """Start ``perfwork serve`` with ``args`` (e.g. ``["--token", "t"]``) and wait until it answers and its
    pool is warm; stop it (and every kernel it started) on exit. ``log`` collects its output."""

    def __init__(self, *args: str, port: int | None = None, pool: int = 2, log: Path | None = None,
                 ready: str = "Kernel pool of dashboard.ipynb is filled", timeout: float = 180, env=None):
        self.port = port or free_port()
        self.args = ["--port", str(self.port), "--pool", str(pool), *args]
        self.log_path = Path(log) if log else None
        self.ready, self.timeout, self.env = (ready if pool else None), timeout, env
        self.base = next((self.args[i + 1] for i, a in enumerate(self.args[:-1]) if a == "--base-url"), "/")
        self.base = self.base if self.base.endswith("/") else self.base + "/"

    def url(self, path: str = "") -> str:
        return f"http://127.0.0.1:{self.port}{self.base}{path}"

    def __enter__(self) -> "Server":
        self._out = open(self.log_path, "w+") if self.log_path else open(os.devnull, "w+")
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **(self.env or {})}
        self.proc = subprocess.Popen([sys.executable, "-m", "perfwork.cli", "serve", *self.args], env=env,
                                     stdout=self._out, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"perfwork serve exited with {self.proc.returncode}: {self.output()[-3000:]}")
            if self._answers() and (not self.ready or self.ready in self.output()):
                return self
            time.sleep(0.25)
        self.__exit__()
        raise TimeoutError(f"perfwork serve not ready after {self.timeout}s: {self.output()[-3000:]}")

    def _answers(self) -> bool:
        try:
            urllib.request.urlopen(self.url("voila/static/voila.js"), timeout=2).close()
            return True
        except urllib.error.HTTPError:
            return True
        except OSError:
            return False

    def output(self) -> str:
        if not self.log_path:
            return ""
        self._out.flush()
        return self.log_path.read_text(errors="replace")

    def __exit__(self, *exc) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)      # the server and the kernels it started
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._out.close()
