"""Vega-Lite specs written as plain dicts, and the Altair charts made from them.

The chart functions build their Vega-Lite spec directly: Altair's objects cost 20-40 ms per chart to build and
convert back to a dict, which a profile of ten or more charts per area cannot afford. ``to_altair`` turns a
spec into an ``alt.LayerChart`` / ``alt.Chart`` for anyone who wants Altair's API (and for the interactive
widget); the tests validate every spec against the Vega-Lite schema through it.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

SCHEMA = "https://vega.github.io/schema/vega-lite/v6.4.1.json"
TYPES = {"Q": "quantitative", "N": "nominal", "T": "temporal", "O": "ordinal"}
# Text a board member can read in print and on a phone: Vega's 10-11 px defaults are small
CONFIG = {"axis": {"labelFontSize": 12, "titleFontSize": 12}, "legend": {"labelFontSize": 12, "titleFontSize": 12},
          "text": {"fontSize": 12}}


def F(shorthand: str, **kw) -> dict:
    """An encoding channel from 'field:T' plus its properties (None-valued properties are left out, except
    ``scale=None`` / ``legend=None``, which Vega-Lite reads as 'none')."""
    field, _, t = shorthand.rpartition(":")
    out = {"field": field, "type": TYPES[t]}
    out.update(kw)
    return out


def F2(field: str, **kw) -> dict:
    """A secondary position channel (x2, y2): it takes its type from the primary."""
    return {"field": field, **kw}


def layer(mark: str, data: list | None = None, **encoding) -> dict:
    """One layer: a mark (a type, or a dict with its properties) and its encodings; ``data`` as ``values``."""
    spec: dict = {"mark": mark if isinstance(mark, dict) else {"type": mark}, "encoding": encoding}
    if data is not None:
        spec["data"] = {"values": data}
    return spec


def mark(kind: str, **props) -> dict:
    return {"type": kind, **props}


def chart(layers: list[dict], data: list | None = None, **props) -> dict:
    """A layered chart: layers, shared data, and top-level properties (title, width, height, description)."""
    spec = {"$schema": SCHEMA, "layer": layers, "config": CONFIG, **props}
    if data is not None:
        spec["data"] = {"values": data}
    return spec


def _column(s: pd.Series) -> list:
    if isinstance(s.dtype, pd.CategoricalDtype):
        s = s.astype(object)
    if pd.api.types.is_datetime64_any_dtype(s):
        # ISO local time, as Altair writes datetimes: the reader's browser shows the month it was
        return [None if v is None else v for v in s.dt.strftime("%Y-%m-%dT%H:%M:%S").astype(object)
                .where(s.notna(), None).tolist()]
    if pd.api.types.is_bool_dtype(s):
        return [bool(v) for v in s.tolist()]
    if pd.api.types.is_numeric_dtype(s):
        arr = s.to_numpy(dtype="float64", na_value=np.nan)
        if pd.api.types.is_integer_dtype(s) and not np.isnan(arr).any():
            return [int(v) for v in arr.tolist()]
        return [None if math.isnan(v) or math.isinf(v) else v for v in arr.tolist()]
    return [None if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)) else
            v if isinstance(v, (str, bool, int, float)) else str(v) for v in s.tolist()]


def records(frame: pd.DataFrame) -> list[dict]:
    """A frame as Vega-Lite inline values: missing values as null (a gap, never zero), dates as ISO strings."""
    cols = {str(c): _column(frame[c]) for c in frame.columns}
    names = list(cols)
    return [dict(zip(names, row)) for row in zip(*cols.values())]


def to_altair(spec: dict, validate: bool = False):
    """The spec as an Altair chart (``LayerChart`` when layered), for Altair's API and the widget."""
    import altair as alt

    cls = alt.LayerChart if "layer" in spec else alt.Chart
    return cls.from_dict(spec, validate=validate)
