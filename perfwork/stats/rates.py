"""Confidence limits on counts and rates: exact Poisson, Byar, and the PHE switch between them."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from ._common import (
    _arrays,
    _frame,
    _labels,
    _level,
    _validate,
    z_value,
)


# --------------------------------------------------------------------------------------------
# confidence limits on counts and proportions
# --------------------------------------------------------------------------------------------
def byar(count: Any, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Byar's approximation to exact Poisson limits on a count.

    L = x (1 - 1/(9x) - z/(3 sqrt x))^3, U = (x+1) (1 - 1/(9(x+1)) + z/(3 sqrt(x+1)))^3.
    As in PHEindicatormethods' ``byars_lower``, a lower limit that would be negative (tiny counts
    at high confidence) is returned as NaN, as is the lower limit at x = 0. Use
    :func:`poisson_limits` for the exact/Byar hybrid that is defined everywhere.
    """
    (x,), _ = _arrays(["count"], count)
    z = z_value(level)
    with np.errstate(divide="ignore", invalid="ignore"):
        lower = x * (1.0 - 1.0 / (9.0 * x) - z / (3.0 * np.sqrt(x))) ** 3
        x1 = x + 1.0
        upper = x1 * (1.0 - 1.0 / (9.0 * x1) + z / (3.0 * np.sqrt(x1))) ** 3
    lower[~(lower >= 0)] = np.nan
    return lower, upper


def exact_poisson(count: Any, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Exact (chi-squared) Poisson limits on a count.

    L = chi2.ppf(alpha/2, 2x)/2 (0 at x = 0), U = chi2.ppf(1 - alpha/2, 2x + 2)/2, computed as
    the equivalent inverse regularised gamma function (chi2.ppf(q, 2k)/2 == gammaincinv(k, q)).
    """
    (x,), _ = _arrays(["count"], count)
    alpha = 1.0 - _level(level)
    with np.errstate(invalid="ignore"):
        lower = np.where(x > 0, special.gammaincinv(np.where(x > 0, x, 1.0), alpha / 2.0), 0.0)
        upper = special.gammaincinv(x + 1.0, 1.0 - alpha / 2.0)
    lower[np.isnan(x)] = np.nan
    return lower, upper


def poisson_limits(count: Any, level: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """PHE hybrid limits on a count: exact Poisson below 10 events, Byar from 10.

    Returns (lower, upper, method_code) with method_code 0 = "Exact", 1 = "Byars", -1 = missing.
    The chi-squared quantile is evaluated only for counts below 10, and for whole-number counts
    through a 10-entry lookup table, so a million areas cost a few vectorised passes.
    """
    (x,), _ = _arrays(["count"], count)
    lv = _level(level)
    z = z_value(lv)
    # Byar everywhere (cheap, in place), then the exact limits overwrite counts below 10.
    with np.errstate(divide="ignore", invalid="ignore"):
        lower = _byar_part(x, -z)
        upper = _byar_part(x + 1.0, z)
    code = np.where(x >= 10, 1, -1).astype("int8")

    small = x < 10  # NaN compares False: stays missing
    if small.any():
        xs = x[small]
        table_l, table_u = exact_poisson(np.arange(10.0), lv)
        whole = xs == np.floor(xs)
        ls = np.empty(xs.size)
        us = np.empty(xs.size)
        k = xs[whole].astype(np.intp)
        ls[whole] = table_l[k]
        us[whole] = table_u[k]
        if not whole.all():
            ls[~whole], us[~whole] = exact_poisson(xs[~whole], lv)
        lower[small] = ls
        upper[small] = us
        code[small] = 0
    missing = code < 0
    lower[missing] = np.nan
    upper[missing] = np.nan
    return lower, upper, code


def _byar_part(x: np.ndarray, zs: float) -> np.ndarray:
    """x (1 - 1/(9x) + zs/(3 sqrt x))^3 with few temporaries (zs = -z lower, +z upper on x + 1)."""
    t = np.sqrt(x)
    t *= 3.0 / zs
    np.reciprocal(t, out=t)  # zs / (3 sqrt x)
    u = 9.0 * x
    np.reciprocal(u, out=u)
    t -= u
    t += 1.0
    u = t * t
    u *= t
    u *= x
    return u



def rate_ci(count: Any, denominator: Any, multiplier: float = 1000, level: float = 0.95) -> pd.DataFrame:
    """Crude rate x / n * multiplier with PHE confidence limits.

    Exact Poisson limits below 10 events, Byar from 10 (PHEindicatormethods ``phe_rate``).
    Columns: value, lower, upper, method ("Exact" / "Byars"; missing where the count is missing).
    A count above its denominator is allowed (rates can exceed the multiplier).
    """
    (x, n), index = _arrays(["count", "denominator"], count, denominator)
    _validate("rate_ci", index, x, n)
    lo, up, code = poisson_limits(x, level)
    scale = multiplier / n
    return _frame(
        {"value": x * scale, "lower": lo * scale, "upper": up * scale,
         "method": _labels(code, ["Exact", "Byars"])},
        index,
    )
