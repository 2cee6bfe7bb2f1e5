"""Directly standardised rates (PHE: Dobson limits, no rate below 10 events)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ._common import (
    _arrays,
    _level,
    _positions,
    _validate,
)
from .rates import byar


# --------------------------------------------------------------------------------------------
# directly standardised rates
# --------------------------------------------------------------------------------------------
def dsr(count: Any, population: Any, standard_population: Any, group: Any = None,
        multiplier: float = 100000, level: float | Sequence[float] = 0.95) -> pd.DataFrame:
    """Directly standardised rate with Dobson limits (PHEindicatormethods ``phe_dsr``).

    One row per ``group`` (e.g. area), from long data with one row per standardisation category
    (age band); categories must line up across groups. A missing count in a category counts as 0.
    DSR = sum(w x / n) / sum(w) * multiplier; var = sum(x (w/n)^2) / sum(w)^2; limits
    DSR + sqrt(var / X) (Byar(X) - X) * multiplier with X the total count. Groups with a total
    count below 10 get NaN (PHE does not publish DSRs on fewer than 10 events).

    ``level`` may be one level (columns lower, upper) or several (columns lower95, upper95,
    lower99_8, upper99_8, ...). Columns also: total_count, total_pop, value, statistic, method.
    """
    (x, n, w), _ = _arrays(["count", "population", "standard_population"], count, population,
                           standard_population)
    _validate("dsr", None, x, n)
    g = np.zeros(x.size, dtype=np.intp) if group is None else None
    if group is None:
        keys = pd.Index(["all"], name="group")
    else:
        codes, uniques = pd.factorize(pd.Series(group).to_numpy(), sort=False)
        if (codes < 0).any():
            raise ValueError(f"dsr: group labels must not be missing; {_positions(codes < 0, None)}")
        g = codes
        keys = pd.Index(uniques, name=getattr(group, "name", None) or "group")
    k = len(keys)
    x0 = np.where(np.isnan(x), 0.0, x)
    total_count = np.bincount(g, weights=x0, minlength=k)
    total_pop = np.bincount(g, weights=n, minlength=k)
    sum_w = np.bincount(g, weights=w, minlength=k)
    wt_rate = np.bincount(g, weights=x0 * w / n, minlength=k)
    sq_rate = np.bincount(g, weights=x0 * (w / n) ** 2, minlength=k)
    value = wt_rate / sum_w * multiplier
    var = sq_rate / sum_w**2
    out: dict[str, Any] = {"total_count": total_count, "total_pop": total_pop, "value": value}
    levels = [level] if np.isscalar(level) else list(level)
    ok = total_count >= 10
    for lv in levels:
        bl, bu = byar(total_count, lv)
        with np.errstate(divide="ignore", invalid="ignore"):
            sd = np.sqrt(var / total_count)
            lo = value + sd * (bl - total_count) * multiplier
            hi = value + sd * (bu - total_count) * multiplier
        suffix = "" if len(levels) == 1 else _level_suffix(lv)
        out["lower" + suffix] = np.where(ok, lo, np.nan)
        out["upper" + suffix] = np.where(ok, hi, np.nan)
    out["value"] = np.where(ok, value, np.nan)
    per = f"{multiplier:,.0f}".replace(",", "")
    out["statistic"] = np.where(ok, f"dsr per {per}", "dsr NA for total count < 10")
    out["method"] = "Dobson"
    return pd.DataFrame(out, index=keys)


def _level_suffix(level: float) -> str:
    """0.95 -> '95', 0.998 -> '99_8' (the PHE column naming)."""
    pct = round(_level(level) * 100, 6)
    text = f"{pct:g}"
    return text.replace(".", "_")
