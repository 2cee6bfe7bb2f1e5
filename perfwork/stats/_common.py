"""Constants and input handling shared by the statistics modules (validation, labels, z values)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from ..vocab import Significance

# PHE significance labels, most significant first (the 0.001 tests are checked first).
LABELS = tuple(s.value for s in (Significance.HIGH_001, Significance.HIGH_025, Significance.LOW_001,
                               Significance.LOW_025, Significance.NOT_SIGNIFICANT))
SIGNIFICANCE_LEVELS = (0.95, 0.998)
NOT_APPLICABLE_DSR = "Not applicable for events less than 10 for dsrs"
# chi-squared (1 df) critical value Fingertips uses for the recent-trend marker (p = 0.002).
TREND_THRESHOLD = 9.5495

_POLARITIES = ("low_is_good", "high_is_good", "none")


# --------------------------------------------------------------------------------------------
# input handling
# --------------------------------------------------------------------------------------------
def _level(level: float) -> float:
    """Accept 0.95 or 95 style levels (a percentage from 50 up); reject anything else."""
    lv = float(level)
    if 50.0 <= lv < 100.0:
        lv = lv / 100.0
    if not 0.0 < lv < 1.0:
        raise ValueError(f"level must be in (0, 1) (or a percentage in [50, 100)); got {level!r}")
    return lv


def z_value(level: float = 0.95) -> float:
    """Two-sided normal quantile for a confidence level (1.959964 at 95%, 3.090232 at 99.8%)."""
    return float(special.ndtri(0.5 + _level(level) / 2.0))


def _first_index(*args: Any) -> pd.Index | None:
    for a in args:
        if isinstance(a, pd.Series):
            return a.index
    return None


def _to_float(x: Any, name: str) -> np.ndarray:
    if isinstance(x, (pd.Series, pd.Index)):
        x = x.to_numpy(dtype="float64", na_value=np.nan)
    try:
        arr = np.asarray(x, dtype="float64")
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric (array-like of numbers); {exc}") from None
    return arr


def _arrays(names: Sequence[str], *values: Any) -> tuple[list[np.ndarray], pd.Index | None]:
    """Convert inputs to float arrays of one common 1-D length (scalars broadcast)."""
    arrs = [_to_float(v, n) for v, n in zip(values, names)]
    try:
        arrs = [np.atleast_1d(a) for a in np.broadcast_arrays(*arrs)]
    except ValueError:
        shapes = ", ".join(f"{n}={a.shape}" for n, a in zip(names, arrs))
        raise ValueError(f"inputs must have the same length or be scalars; got {shapes}") from None
    if arrs and arrs[0].ndim != 1:
        raise ValueError(f"inputs must be one-dimensional; got shape {arrs[0].shape}")
    index = _first_index(*values)
    series = [(n, v) for n, v in zip(names, values) if isinstance(v, pd.Series)]
    for n, v in series[1:]:
        if not v.index.equals(index):
            raise ValueError(f"{series[0][0]} and {n} are Series with different indexes; "
                             "align them first (values are matched by position)")
    if index is not None and len(index) != len(arrs[0]):
        index = None
    return [np.array(a, dtype="float64") for a in arrs], index


def _positions(mask: np.ndarray, index: pd.Index | None, limit: int = 10) -> str:
    pos = np.flatnonzero(mask)
    shown = pos[:limit].tolist()
    more = f" (and {len(pos) - limit} more)" if len(pos) > limit else ""
    if index is not None and not isinstance(index, pd.RangeIndex):
        labels = [index[p] for p in shown]
        return f"position(s) {shown}{more}, index label(s) {labels}"
    return f"position(s) {shown}{more}"


def _check(mask: np.ndarray, index: pd.Index | None, func: str, what: str) -> None:
    if mask.any():
        raise ValueError(f"{func}: {what}; failed at {_positions(mask, index)}")


def _validate(func: str, index: pd.Index | None, count: np.ndarray | None = None,
              denominator: np.ndarray | None = None, proportion: bool = False) -> None:
    with np.errstate(invalid="ignore"):
        if count is not None:
            _check(count < 0, index, func, "counts must be >= 0 (negative count)")
            _check(np.isinf(count), index, func, "counts must be finite")
        if denominator is not None:
            _check(denominator <= 0, index, func, "denominators must be > 0 (zero or negative denominator)")
            _check(np.isinf(denominator), index, func, "denominators must be finite")
        if proportion and count is not None and denominator is not None:
            _check(count > denominator, index, func,
                   "for a proportion the count must be <= its denominator")


def _frame(data: dict[str, Any], index: pd.Index | None) -> pd.DataFrame:
    return pd.DataFrame(data, index=index if index is not None else None)


def _labels(codes: np.ndarray, categories: Sequence[str]) -> pd.Categorical:
    """Build a categorical from integer codes (-1 = missing) without touching Python strings."""
    return pd.Categorical.from_codes(codes.astype("int8", copy=False), categories=list(categories))
