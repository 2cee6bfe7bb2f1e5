"""Significance against a benchmark: PHE labels from 95% and 99.8% limits, and their reading with polarity."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..vocab import PeerJudgement, Significance
from ._common import (
    _POLARITIES,
    LABELS,
    _arrays,
    _labels,
)


# --------------------------------------------------------------------------------------------
# significance against a benchmark
# --------------------------------------------------------------------------------------------
def compare_to_benchmark(lower95: Any, upper95: Any, lower998: Any, upper998: Any, benchmark: Any) -> pd.Series:
    """PHE significance of a value's own confidence interval against a benchmark (METHODS 2).

    "High (0.001)" if the 99.8% lower limit is above the benchmark, else "High (0.025)" if the
    95% lower limit is; "Low (0.001)" / "Low (0.025)" for upper limits below it; otherwise
    "Not significant". Missing bounds are skipped (they cannot show a difference); the label is
    missing only where the benchmark or all four bounds are missing.
    """
    (l95, u95, l998, u998, b), index = _arrays(
        ["lower95", "upper95", "lower998", "upper998", "benchmark"],
        lower95, upper95, lower998, upper998, benchmark)
    code = _significance_codes(l998 > b, l95 > b, u998 < b, u95 < b)
    missing = np.isnan(b) | (np.isnan(l95) & np.isnan(u95) & np.isnan(l998) & np.isnan(u998))
    code[missing] = -1
    return pd.Series(_labels(code, LABELS), index=index, name="significance")


def _significance_codes(high001: np.ndarray, high025: np.ndarray, low001: np.ndarray,
                        low025: np.ndarray) -> np.ndarray:
    # np.select takes the first true condition: the PHE case_when order.
    return np.select([high001, high025, low001, low025], [0, 1, 2, 3], default=4).astype("int8")


def significance_reading(significance: Any, polarity: str | None = None) -> pd.Series:
    """Turn PHE labels into a reader's word.

    polarity "low_is_good": High -> "worse", Low -> "better"; "high_is_good": the reverse;
    "none" (or None): "higher" / "lower". "Not significant" -> "similar". Both significance
    levels (0.025 and 0.001) count; missing or "not applicable" labels give a missing reading.
    """
    pol = "none" if polarity is None else str(polarity)
    if pol not in _POLARITIES:
        raise ValueError(f"polarity must be one of {_POLARITIES} or None; got {polarity!r}")
    j = PeerJudgement
    words = {"low_is_good": (j.WORSE, j.BETTER), "high_is_good": (j.BETTER, j.WORSE), "none": (j.HIGHER, j.LOWER)}[pol]
    s = pd.Series(significance)
    text = s.astype("str")
    out = np.full(len(s), -1, dtype="int8")
    out[text.str.startswith("High").to_numpy(dtype=bool, na_value=False)] = 0
    out[text.str.startswith("Low").to_numpy(dtype=bool, na_value=False)] = 1
    out[(text == Significance.NOT_SIGNIFICANT).to_numpy(dtype=bool, na_value=False)] = 2
    cats = [words[0].value, words[1].value, j.SIMILAR.value]
    return pd.Series(_labels(out, cats), index=s.index, name="reading")
