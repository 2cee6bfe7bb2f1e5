"""A notebook for every area, with papermill's semantics, on warm kernels: on this machine or a Dask cluster.

    import perfwork as pw
    result = pw.batch.run("notebooks/partnership_profile.ipynb", "reports/", areas="level:csp")
    result.exit_code, result.failed, result.index

Each area's executed notebook is what ``papermill NOTEBOOK OUT -p AREA CODE ...`` writes (parameters injected after
the ``parameters`` cell, papermill's metadata, its error banner on failure); the kernels are started and warmed
once per worker and put back to a clean snapshot before each area (``_state``). A notebook tells the index about
itself with ``record``: the batch never reads its cells.
"""

from __future__ import annotations

from ._plan import BatchError, expand_areas
from ._run import BatchResult, run
from ._worker import SUMMARY_MIME


class Record:
    """What a notebook says about its area for the batch index: shown as its headline, kept as data."""

    def __init__(self, headline: str, exceptions: int | None = None, **more):
        self.data = {"headline": str(headline), "exceptions": None if exceptions is None else int(exceptions), **more}

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"text/markdown": self.data["headline"], "text/plain": self.data["headline"], SUMMARY_MIME: self.data}


def record(headline: str, exceptions: int | None = None, **more) -> Record:
    """The area's headline and number of exceptions for the batch's index and summary.csv. Display it (leave it as
    a cell's last expression, or ``display(...)``): it shows the headline and carries the values as
    ``application/vnd.perfwork.batch+json``; any JSON-able ``more`` fields are kept in the manifest."""
    return Record(headline, exceptions, **more)


__all__ = ["run", "record", "Record", "BatchResult", "BatchError", "expand_areas", "SUMMARY_MIME"]
