"""Change between two periods: the exact conditional Poisson test of a rate ratio."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from ._common import (
    _arrays,
    _check,
    _frame,
    _level,
    _validate,
)


# --------------------------------------------------------------------------------------------
# change between two periods
# --------------------------------------------------------------------------------------------
def poisson_change_test(prev_count: Any, curr_count: Any, prev_exposure: Any = 1, curr_exposure: Any = 1,
                        level: float = 0.95) -> pd.DataFrame:
    """Exact conditional test of a change in a Poisson rate between two periods (METHODS 3).

    Given x1 + x2, x2 ~ Binomial(x1 + x2, t2 / (t1 + t2)). Two-sided p-value by the "minlike"
    rule of R's binom.test / scipy (sum of the probabilities no larger than the observed one,
    relative tolerance 1e-7), vectorised; the rate-ratio (curr / prev) interval transforms the
    Clopper-Pearson limits p of that binomial: RR = p / (1 - p) * t1 / t2.

    Zero counts: x2 = 0 gives rate_ratio 0 with lower 0; x1 = 0 gives an infinite rate ratio and
    upper limit; both zero give NaN rate ratio, limits (0, inf) and p-value 1.
    Columns: prev_count, curr_count, rate_ratio, lower, upper, p_value, method.
    """
    (x1, x2, t1, t2), index = _arrays(["prev_count", "curr_count", "prev_exposure", "curr_exposure"],
                                      prev_count, curr_count, prev_exposure, curr_exposure)
    func = "poisson_change_test"
    _validate(func, index, x1, None)
    _validate(func, index, x2, t1)
    _validate(func, index, None, t2)
    with np.errstate(invalid="ignore"):
        _check((x1 != np.round(x1)) | (x2 != np.round(x2)), index, func,
               "the exact test needs whole-number counts")
    alpha = 1.0 - _level(level)
    n = x1 + x2
    prob = t2 / (t1 + t2)
    ok = ~np.isnan(n) & ~np.isnan(prob)
    pval = np.full(n.size, np.nan)
    pval[ok] = _binom_two_sided(x2[ok], n[ok], prob[ok])
    with np.errstate(divide="ignore", invalid="ignore"):
        p_lo = np.where(x2 > 0, special.betaincinv(np.maximum(x2, 1e-300), n - x2 + 1, alpha / 2), 0.0)
        p_hi = np.where(x2 < n, special.betaincinv(x2 + 1, np.maximum(n - x2, 1e-300), 1 - alpha / 2), 1.0)
        odds = t1 / t2
        lower = p_lo / (1 - p_lo) * odds
        upper = np.where(p_hi >= 1.0, np.inf, p_hi / (1 - p_hi) * odds)
        rr = (x2 / t2) / (x1 / t1)
    rr[(x1 == 0) & (x2 == 0)] = np.nan
    for a in (lower, upper):
        a[~ok] = np.nan
    res = _frame({"prev_count": x1, "curr_count": x2, "rate_ratio": rr, "lower": lower,
                  "upper": upper, "p_value": pval}, index)
    res["method"] = "Exact conditional binomial test (two-sided, minlike); Clopper-Pearson rate-ratio CI"
    return res


def _binom_two_sided(x: np.ndarray, n: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Vectorised two-sided binomial p-value, same algorithm as R's binom.test.

    The pmf is unimodal with its mode within one of n p, so the set of outcomes on the far side
    whose probability is <= d (1 + 1e-7) is a tail; its edge is found by bisection on k.
    """
    from scipy import stats as _st  # here, not at import: scipy.stats is some 60 MB an app kernel never needs

    rel = 1.0 + 1e-7
    # Reflecting k -> n - k, p -> 1 - p maps an outcome above the mean onto one below it with the same
    # p-value, so only the lower side needs a search.
    flip = x > n * p
    x, p = np.where(flip, n - x, x), np.where(flip, 1.0 - p, p)
    d = _st.binom.pmf(x, n, p)
    m = n * p
    out = np.ones(x.size)
    below = x < m
    if below.any():
        # count y of i in [ceil(m), n] with pmf(i) <= d*rel; pmf decreasing there: bisect for the first such k
        xb, nb, pb, db, mb = x[below], n[below], p[below], d[below], m[below]
        lo = np.ceil(mb)
        hi = nb + 1.0  # n + 1 when there is none
        for _ in range(64):
            active = lo < hi
            if not active.any():
                break
            mid = np.floor((lo + hi) / 2.0)
            good = _st.binom.pmf(mid, nb, pb) <= db * rel
            hi = np.where(active & good, mid, hi)
            lo = np.where(active & ~good, mid + 1.0, lo)
        y = nb - lo + 1.0
        out[below] = _st.binom.cdf(xb, nb, pb) + _st.binom.sf(nb - y, nb, pb)
    return np.minimum(1.0, out)
