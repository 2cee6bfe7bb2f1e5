"""Pure, vectorised statistics for perfwork (shared/METHODS.md sections 1-3).

One module per statistic family, as PHEindicatormethods groups them: ``rates`` (Poisson limits on counts and
rates), ``proportions`` (Wilson), ``dsr`` (directly standardised rates), ``benchmark`` (PHE significance against
a benchmark), ``funnels`` (funnel significance, limits, overdispersion), ``change`` (two-period rate ratio test)
and ``trend`` (Fingertips recent trend). The public names are re-exported here: ``perfwork.stats.rate_ci``.

Arrays (or pandas Series) in, DataFrames out. Nothing here imports from perfwork, reads files or
keeps state, so every room can call it and it can be tested against the R reference packages alone.

Conventions
-----------
* ``level`` is a confidence level in (0, 1); 95 or 99.8 (percentages from 50) are accepted too.
* Outputs keep the index of the first pandas Series passed in (otherwise a RangeIndex).
* NaN in -> NaN out. Impossible inputs (negative counts, denominators <= 0, a proportion's count
  above its denominator) raise ``ValueError`` naming the positions and what was expected.
* Methods follow PHEindicatormethods (OHID/UKHSA Fingertips) exactly where the reference files
  in shared/reference pin them down; where they and METHODS.md differ the reference wins and the
  function's docstring says so.

Police recorded crime is a full count, not a survey: the Poisson models below describe random
variation around an underlying rate, not recording-practice changes. Say so wherever a judgement
from them is published.
"""

from __future__ import annotations

from ._common import (
    LABELS,
    NOT_APPLICABLE_DSR,
    SIGNIFICANCE_LEVELS,
    TREND_THRESHOLD,
    z_value,
)
from .benchmark import compare_to_benchmark, significance_reading
from .change import poisson_change_test
from .dsr import dsr
from .funnels import funnel_limits, funnel_points, funnel_significance, overdispersion
from .proportions import proportion_ci, wilson
from .rates import byar, exact_poisson, poisson_limits, rate_ci
from .trend import trend_marker

__all__ = [
    "LABELS",
    "NOT_APPLICABLE_DSR",
    "SIGNIFICANCE_LEVELS",
    "TREND_THRESHOLD",
    "z_value",
    "byar",
    "exact_poisson",
    "poisson_limits",
    "wilson",
    "rate_ci",
    "proportion_ci",
    "dsr",
    "compare_to_benchmark",
    "significance_reading",
    "funnel_significance",
    "funnel_limits",
    "funnel_points",
    "overdispersion",
    "poisson_change_test",
    "trend_marker",
]
