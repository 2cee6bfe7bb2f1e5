"""The words perfwork judges in, each vocabulary in one place, in the order charts and apps list and colour them.

Each vocabulary is a ``StrEnum``: its members are the strings the assessment table holds (``"worse" ==
PeerJudgement.WORSE``), ``Vocab.dtype()`` is the ordered pandas categorical dtype (best first where there is
a best) and ``Vocab.categorical(values)`` turns a column into it, refusing words outside the vocabulary.
``categorize(table)`` does that for every judgement column of an assessment table.

Nothing here imports from perfwork: statistics, SPC and the analysis modules all read their words from here.
"""

from __future__ import annotations

from enum import StrEnum

import pandas as pd


class _Vocab(StrEnum):
    @classmethod
    def words(cls) -> tuple[str, ...]:
        return tuple(m.value for m in cls)

    @classmethod
    def dtype(cls) -> pd.CategoricalDtype:
        return pd.CategoricalDtype(list(cls.words()), ordered=True)

    @classmethod
    def categorical(cls, values) -> pd.Series:
        """``values`` as this vocabulary's ordered categorical (missing stays missing)."""
        s = pd.Series(values, dtype="object")
        bad = s.notna() & ~s.isin(cls.words())
        if bad.any():
            raise ValueError(f"{cls.__name__}: {s[bad].iloc[0]!r} is not one of {', '.join(cls.words())}")
        return s.astype(cls.dtype())


class Significance(_Vocab):
    """PHE significance of a value against a benchmark (the area's 95% and 99.8% limits), highest first."""
    HIGH_001 = "High (0.001)"
    HIGH_025 = "High (0.025)"
    NOT_SIGNIFICANT = "Not significant"
    LOW_025 = "Low (0.025)"
    LOW_001 = "Low (0.001)"


class PeerJudgement(_Vocab):
    """The significance read with polarity: better / similar / worse, or higher / lower without a polarity."""
    BETTER = "better"
    SIMILAR = "similar"
    WORSE = "worse"
    HIGHER = "higher"
    LOWER = "lower"
    INCOMPLETE = "incomplete"
    TOO_FEW_PEERS = "too few peers with data"


class Direction(_Vocab):
    """Last 12 months against the previous 12, without polarity."""
    INCREASE = "increase"
    NO_CHANGE = "no significant change"
    DECREASE = "decrease"
    INCOMPLETE = "incomplete"
    NO_PREVIOUS = "no previous period"


class Travel(_Vocab):
    """Direction of travel with polarity (increasing / decreasing where the indicator has no polarity)."""
    IMPROVING = "improving"
    NO_CHANGE = "no significant change"
    DETERIORATING = "deteriorating"
    INCREASING = "increasing"
    DECREASING = "decreasing"
    INCOMPLETE = "incomplete"
    NO_PREVIOUS = "no previous period"


class Improvement(_Vocab):
    """Which way is better for an SPC chart (from polarity)."""
    INCREASE = "increase"
    DECREASE = "decrease"
    NEUTRAL = "neutral"


class SpcVariation(_Vocab):
    """Making Data Count variation icon: the point type at the period end ("incomplete": that month is missing)."""
    COMMON_CAUSE = "common_cause"
    IMPROVEMENT = "special_cause_improvement"
    CONCERN = "special_cause_concern"
    NEUTRAL_HIGH = "special_cause_neutral_high"
    NEUTRAL_LOW = "special_cause_neutral_low"
    INCOMPLETE = "incomplete"


class SpcRule(_Vocab):
    """The Making Data Count rule that flagged a special-cause point."""
    OUTSIDE_LIMITS = "outside_limits"
    TREND = "trend"
    TWO_OF_THREE = "two_of_three"
    SHIFT = "shift"


class Assurance(_Vocab):
    """Making Data Count assurance icon: can the process meet its target?"""
    PASS = "consistent_pass"
    INCONSISTENT = "inconsistent"
    FAIL = "consistent_fail"


class TargetStatus(_Vocab):
    """RAG status of a target, and the two states in which there is no RAG yet."""
    ON_TRACK = "on track"
    AT_RISK = "at risk"
    OFF_TRACK = "off track"
    NOT_STARTED = "not started"
    INCOMPLETE = "incomplete"


class RecentTrend(_Vocab):
    """The Fingertips recent trend, without polarity."""
    INCREASING = "Increasing"
    NO_CHANGE = "No significant change"
    DECREASING = "Decreasing"
    CANNOT = "Cannot be calculated"


class TrendMarker(_Vocab):
    """The Fingertips recent-trend marker with polarity (the plain trend where there is none)."""
    INCREASING_BETTER = "Increasing and getting better"
    DECREASING_BETTER = "Decreasing and getting better"
    NO_CHANGE = "No significant change"
    INCREASING_WORSE = "Increasing and getting worse"
    DECREASING_WORSE = "Decreasing and getting worse"
    INCREASING = "Increasing"
    DECREASING = "Decreasing"
    CANNOT = "Cannot be calculated"


RAG = (TargetStatus.ON_TRACK, TargetStatus.AT_RISK, TargetStatus.OFF_TRACK)

# The judgement columns of an assessment table and their vocabularies.
COLUMNS: dict[str, type[_Vocab]] = {
    "significance": Significance,
    "peer_judgement": PeerJudgement,
    "direction": Direction,
    "travel": Travel,
    "spc_variation": SpcVariation,
    "spc_rule": SpcRule,
    "spc_assurance": Assurance,
    "target_status": TargetStatus,
    "recent_trend": RecentTrend,
    "trend_marker": TrendMarker,
}


def categorize(table: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``table`` with every judgement column it has as its vocabulary's ordered categorical."""
    return table.assign(**{c: v.categorical(table[c]) for c, v in COLUMNS.items() if c in table.columns})
