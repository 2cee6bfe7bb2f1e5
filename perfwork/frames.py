"""Small frame and array helpers shared by ``peers``, ``trends``, ``targets`` and ``assess``.

They sit below those modules (peers -> trends -> targets -> assess all import from here, never from each other
for these), so no analysis module has to import another just to reshape a column.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from .periods import month_number


def as_object(col) -> np.ndarray:
    """A text column as a numpy object array, fast for Arrow strings (factorize, then take the uniques)."""
    codes, uniques = pd.factorize(col, use_na_sentinel=True)
    lookup = np.append(np.asarray(uniques, dtype=object), None)
    return lookup[codes]


_STR = pd.Series(["a"]).dtype  # pandas' default text dtype


def text(uniques, codes) -> pd.Series:
    """A text column of pandas' default dtype from its distinct values and a code per row (-1: missing).

    Built by Arrow's ``take``: turning a long object array into Arrow strings costs more than the rest of an
    indicator table."""
    codes = np.asarray(codes)
    idx = pa.array(codes.astype(np.int64), mask=codes < 0)
    arr = pa.array([None if u is None else str(u) for u in uniques], type=pa.large_string()).take(idx)
    return pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array([arr]), dtype=_STR), copy=False)


def category(uniques, codes) -> pd.Series:
    """A categorical column from its distinct values and a code per row (-1: missing): for descriptive text that
    repeats on every row of a long table (labels, kinds, methods), one code per row instead of the text."""
    codes = np.asarray(codes, dtype=np.int64)
    inverse, cats = pd.factorize(pd.Index([None if u is None else str(u) for u in uniques], dtype=object))
    inverse = np.append(inverse, -1)                      # code -1 (missing) stays missing
    return pd.Series(pd.Categorical.from_codes(inverse[np.where(codes < 0, len(inverse) - 1, codes)],
                                               categories=pd.Index(cats, dtype=_STR)), copy=False)


def index_of(col, index: pd.Index) -> np.ndarray:
    """``index.get_indexer(col)`` via the column's unique values (much faster for long Arrow string columns)."""
    codes, uniques = pd.factorize(col, use_na_sentinel=True)
    return np.append(index.get_indexer(uniques), -1)[codes]


def row_keys(frame: pd.DataFrame, areas: pd.Index, inds: pd.Index, months_back: int = 0) -> np.ndarray:
    """One int64 per (area, indicator, period_end) row: for aligning frames without string merges.
    Unknown areas or indicators give -1."""
    a = index_of(frame["area_code"], areas)
    i = index_of(frame["indicator"], inds)
    m = month_number(frame["period_end"]) - months_back
    key = (a.astype(np.int64) * len(inds) + i) * 1_000_000 + m
    return np.where((a < 0) | (i < 0), -1, key)


def polarity_sign(polarity) -> np.ndarray:
    """+1 where higher is better ("high_is_good"), -1 where lower is better ("low_is_good"), 0 otherwise
    ("none": no judgement). Multiply a difference by it: > 0 is the good way, < 0 the bad way.

    The one place a polarity becomes a direction; the words for a PHE label come from
    ``stats.significance_reading`` and for a trend from ``stats.trend_marker``."""
    pol = np.asarray(polarity, dtype=object)
    return np.where(pol == "high_is_good", 1.0, np.where(pol == "low_is_good", -1.0, 0.0))
