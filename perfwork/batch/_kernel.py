"""A warm kernel that runs one area's notebook after another with papermill's semantics.

``WarmKernel`` starts a Jupyter kernel once, imports what the notebooks need (``_state.warm``), and for each area:
puts the kernel back to the post-warm-up snapshot (``_state.restore``), then runs papermill's own steps on the
notebook: ``parameterize_notebook`` (the ``injected-parameters`` cell), ``prepare_notebook_metadata``,
``remove_error_markers``, the nbclient engine through papermill's ``NotebookExecutionManager`` (cell and notebook
metadata, timings, status), and ``raise_for_execution_errors`` (the error banner and the anchor before the failing
cell). Only the kernel start and the imports are shared; what a fresh ``papermill`` run writes, this writes.

A cell that times out or a kernel that dies is recorded the way papermill records a cell error (an error output,
the cell's ``exception`` metadata, the banner); the kernel is then restarted and warmed again for the next area.
"""

from __future__ import annotations

import ast
import copy
import json
import os
import threading

import nbformat
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine
from papermill.exceptions import PapermillExecutionError
from papermill.execute import prepare_notebook_metadata, raise_for_execution_errors, remove_error_markers
from papermill.parameterize import parameterize_notebook

_STATE = "__import__('perfwork.batch._state', fromlist=['_'])"


class KernelStateError(RuntimeError):
    """The kernel could not be warmed or put back to its snapshot."""


class _WarmClient(PapermillNotebookClient):
    """papermill's client on a kernel that outlives it; a timeout or a dead kernel fails the cell like an error."""

    fatal: BaseException | None = None

    def execute(self, **kwargs):
        self.reset_execution_trackers()
        with self.setup_kernel(**kwargs):
            self.papermill_execute_cells()
            if self.fatal is None:
                info_msg = self.wait_for_reply(self.kc.kernel_info())
                self.nb.metadata["language_info"] = info_msg["content"]["language_info"]
            else:
                self.nb.metadata["language_info"] = self.language_info
            self.set_widgets_metadata()
        return self.nb

    def papermill_execute_cells(self):
        for index, cell in enumerate(self.nb.cells):
            try:
                self.nb_man.cell_start(cell, index)
                self.execute_cell(cell, index)
            except CellExecutionError as ex:
                self.nb_man.cell_exception(self.nb.cells[index], cell_index=index, exception=ex)
                break
            except (CellTimeoutError, DeadKernelError) as ex:
                self.fatal = ex
                _fail_cell(self.nb.cells[index], ex)
                self.nb_man.cell_exception(self.nb.cells[index], cell_index=index, exception=ex)
                break
            finally:
                self.nb_man.cell_complete(self.nb.cells[index], cell_index=index)


def _fail_cell(cell, ex: BaseException) -> None:
    what = "timed out" if isinstance(ex, CellTimeoutError) else "the kernel died"
    text = f"{what} while running this cell: {ex}".strip()
    cell.outputs.append(nbformat.v4.new_output("error", ename=type(ex).__name__, evalue=text, traceback=[text]))


class _WarmEngine(NBClientEngine):
    @classmethod
    def execute_managed_notebook(cls, nb_man, kernel_name, warm=None, execution_timeout=None, **kwargs):
        # iopub_timeout: how long the outputs may trail a cell's reply (nbclient's 4 s fails busy machines)
        client = _WarmClient(nb_man, km=warm.km, timeout=execution_timeout, kernel_name=kernel_name,
                             startup_timeout=warm.startup_timeout, log_output=False, iopub_timeout=60)
        client.kc = warm.kc
        client.language_info = warm.language_info
        try:
            return client.execute()
        finally:
            warm.broken = client.fatal is not None


class WarmKernel:
    """One kernel, warmed once, reused area after area."""

    def __init__(self, kernel_name: str = "python3", warm_modules=(), warm_packages=("perfwork",), cwd=None,
                 startup_timeout: float = 60, skip=("perfwork.cli", "perfwork.batch"), env=None):
        self.kernel_name = kernel_name
        self.warm_modules = list(warm_modules)
        self.warm_packages = list(warm_packages)
        self.skip = list(skip)
        self.env = dict(env or {})  # set in the kernel's environment, over this process's
        self.cwd = cwd or os.getcwd()
        self.startup_timeout = startup_timeout
        self.km = self.kc = None
        self.thread = None
        self.broken = False
        self.language_info = {}

    # -- lifecycle ---------------------------------------------------------------------------------------------
    def start(self) -> "WarmKernel":
        self.km = AsyncKernelManager(kernel_name=self.kernel_name)
        run_sync(self.km.start_kernel)(cwd=self.cwd, env={**os.environ, **self.env})
        self._connect()
        reply = run_sync(self.kc._async_recv_reply)(self.kc.kernel_info(), timeout=self.startup_timeout)
        self.language_info = reply["content"]["language_info"]
        self.call(f"{_STATE}.warm({self.warm_modules!r}, {self.warm_packages!r}, {self.skip!r})", timeout=600)
        self.broken = False
        return self

    def _connect(self) -> None:
        """A client for the calling thread: zmq.asyncio sockets belong to the event loop of the thread that made
        them, and ``run_sync`` gives each thread its own loop."""
        if self.kc is not None:
            self.kc.stop_channels()
        self.kc = self.km.client()
        self.kc.start_channels()
        run_sync(self.kc.wait_for_ready)(timeout=self.startup_timeout)
        self.kc.allow_stdin = False
        self.thread = threading.get_ident()

    def adopt(self) -> None:
        """Before using a kernel from another thread than last time (a kept kernel, a new pool)."""
        if self.km is not None and self.thread != threading.get_ident():
            self._connect()

    def close(self) -> None:
        if self.kc is not None:
            self.kc.stop_channels()
        if self.km is not None and self.km.has_kernel:
            try:
                run_sync(self.km.shutdown_kernel)(now=True)
            except Exception:  # noqa: BLE001 - already gone
                pass
        self.km = self.kc = None

    def restart(self) -> None:
        self.close()
        self.start()

    def interrupt(self) -> None:
        if self.km is not None and self.km.has_kernel:
            run_sync(self.km.interrupt_kernel)()

    # -- kernel-side calls -------------------------------------------------------------------------------------
    def call(self, code: str, result: str | None = None, timeout: float = 60):
        """Run ``code`` silently (no history, no execution count, nothing in the user namespace); return the
        JSON-able value of the expression ``result``."""
        expressions = {"r": f"__import__('json').dumps({result})"} if result else {}
        reply = run_sync(self.kc._async_execute_interactive)(
            code, silent=True, store_history=False, user_expressions=expressions, timeout=timeout,
            output_hook=lambda msg: None, allow_stdin=False)
        content = reply["content"]
        if content["status"] != "ok":
            tb = "\n".join(content.get("traceback", [])) or f"{content.get('ename')}: {content.get('evalue')}"
            raise KernelStateError(f"kernel call failed: {code}\n{tb}")
        if not result:
            return None
        value = content["user_expressions"]["r"]
        if value.get("status") != "ok":
            raise KernelStateError(f"kernel call failed: {result}: {value.get('ename')}: {value.get('evalue')}")
        return json.loads(ast.literal_eval(value["data"]["text/plain"]))

    def reset(self) -> list[str]:
        """Back to the snapshot (or a new warm kernel after a timeout or death); returns what had changed."""
        if self.km is None or self.broken or not run_sync(self.km.is_alive)():
            self.restart()
            return ["kernel restarted"]
        return self.call(f"{_STATE}._changes = {_STATE}.restore()", result=f"{_STATE}._changes", timeout=120)

    def peak_rss_mb(self) -> float:
        """The kernel process's peak resident memory (Linux VmHWM), read from outside: safe from any thread."""
        pid = getattr(getattr(self.km, "provisioner", None), "pid", None)
        try:
            with open(f"/proc/{pid}/status") as f:
                return next(int(line.split()[1]) / 1024 for line in f if line.startswith("VmHWM:"))
        except (OSError, StopIteration, ValueError):
            return 0.0

    # -- one area ----------------------------------------------------------------------------------------------
    def run(self, template, parameters: dict, input_path: str, output_path: str, timeout: float | None = None):
        """Execute one area; returns (notebook, error) where error is papermill's PapermillExecutionError or None."""
        self.reset()
        nb = parameterize_notebook(copy.deepcopy(template), parameters, kernel_name=self.kernel_name)
        nb = prepare_notebook_metadata(nb, input_path, output_path)
        nb = remove_error_markers(nb)
        nb = _WarmEngine.execute_notebook(nb, self.kernel_name, progress_bar=False, autosave_cell_every=0,
                                          warm=self, execution_timeout=timeout)
        try:
            raise_for_execution_errors(nb, None)
        except PapermillExecutionError as error:
            return nb, error
        return nb, None
