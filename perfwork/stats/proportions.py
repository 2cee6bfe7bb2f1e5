"""Confidence limits on proportions: the Wilson score interval."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._common import (
    _arrays,
    _frame,
    _labels,
    _validate,
    z_value,
)


def wilson(count: Any, denominator: Any, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score limits on the proportion scale (0-1).

    (2x + z^2 -/+ z sqrt(z^2 + 4x(1 - x/n))) / (2 (n + z^2)); no validation (see proportion_ci).
    """
    (x, n), _ = _arrays(["count", "denominator"], count, denominator)
    z = z_value(level)
    z2 = z * z
    with np.errstate(divide="ignore", invalid="ignore"):
        root = z * np.sqrt(z2 + 4.0 * x * (1.0 - x / n))
        den = 2.0 * (n + z2)
        lower = (2.0 * x + z2 - root) / den
        upper = (2.0 * x + z2 + root) / den
    return lower, upper



def proportion_ci(count: Any, denominator: Any, multiplier: float = 100, level: float = 0.95) -> pd.DataFrame:
    """Proportion x / n * multiplier with Wilson score limits (PHEindicatormethods ``phe_proportion``).

    Columns: value, lower, upper, method ("Wilson").
    """
    (x, n), index = _arrays(["count", "denominator"], count, denominator)
    _validate("proportion_ci", index, x, n, proportion=True)
    lo, up = wilson(x, n, level)
    method = _labels(np.zeros(x.size, dtype="int8"), ["Wilson"])
    return _frame({"value": x / n * multiplier, "lower": lo * multiplier, "upper": up * multiplier,
                   "method": method}, index)
