"""The same batch on a Dask distributed cluster: each Dask worker thread holds its own warm kernel (kept between
tasks and batches; a worker plugin shuts them down with the worker). A worker lost mid-batch has its areas rerun
elsewhere by the scheduler; the client writes every output, so workers need the data, not the output folder."""

from __future__ import annotations

import uuid

from distributed import Client, WorkerPlugin, as_completed
from distributed.client import FutureCancelledError

from . import _worker

PLUGIN = "perfwork-batch-kernels"


class KernelPlugin(WorkerPlugin):
    """Closes the worker's warm kernels when the worker stops."""

    def teardown(self, worker):
        _worker.close_all()


def _run_area(task: dict) -> dict:
    return _worker.run_area(task)


def run_on_cluster(address: str, tasks: list[dict], arrived, timeout: float = 60) -> None:
    if not tasks:
        return
    with Client(address, timeout=timeout) as client:
        client.register_plugin(KernelPlugin(), name=PLUGIN)
        run_id = uuid.uuid4().hex[:8]
        futures = [client.submit(_run_area, task, key=f"perfwork-batch-{task['area']}-{run_id}", pure=False)
                   for task in tasks]
        by_key = {f.key: t for f, t in zip(futures, tasks)}
        try:
            for future in as_completed(futures):
                try:
                    result = future.result()
                except (FutureCancelledError, Exception) as exc:  # noqa: BLE001 - e.g. KilledWorker after retries
                    result = {"area": by_key[future.key]["area"], "status": "failed", "notebook": None,
                              "html": None, "summary": {}, "seconds": 0.0, "worker": "",
                              "error": f"{type(exc).__name__}: {exc}".replace("\n", " ")[:500]}
                arrived(result)
        except BaseException:
            client.cancel(futures)
            raise
