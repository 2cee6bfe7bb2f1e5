"""How judgements and numbers look, shared by charts and report tables: colours, orders, rounding.

Colour-blind safe: "good" is blue and "bad" vermillion (never red against green), "similar" a mid grey, "not
judged" a light grey; polarity-free readings (higher / lower) are purples. Every colour used for marks has at
least 3:1 contrast against white (WCAG 1.4.11), and the judgement is always in words too (legend, tooltip,
table), so colour is never the only carrier.
"""

from __future__ import annotations

import math

import pandas as pd

from .. import vocab as V

BLUE, VERMILLION, GREY, LIGHT, PURPLE, LILAC, AMBER = ("#0b5cad", "#c8501e", "#767676", "#d0d0d0", "#5e3c99",
                                                       "#9d87c8", "#b07800")
INK, MUTED, BAND, AREA = "#1f1f1f", "#4d4d4d", "#dfe6ee", "#111111"

# Colours keyed by the assessment's vocabularies (perfwork.vocab), listed in the vocabularies' order.
PEER = {V.PeerJudgement.BETTER: BLUE, V.PeerJudgement.SIMILAR: GREY, V.PeerJudgement.WORSE: VERMILLION,
        V.PeerJudgement.HIGHER: PURPLE, V.PeerJudgement.LOWER: LILAC, "not judged": LIGHT}
PEER_ORDER = [w for w in V.PeerJudgement.words() if w in PEER] + ["not judged"]

SPC = {V.SpcVariation.IMPROVEMENT: BLUE, V.SpcVariation.COMMON_CAUSE: GREY, V.SpcVariation.CONCERN: VERMILLION,
       V.SpcVariation.NEUTRAL_HIGH: PURPLE, V.SpcVariation.NEUTRAL_LOW: PURPLE, V.SpcVariation.INCOMPLETE: LIGHT}
SPC_WORDS = {V.SpcVariation.IMPROVEMENT: "special cause: improvement", V.SpcVariation.COMMON_CAUSE: "common cause",
             V.SpcVariation.CONCERN: "special cause: concern", V.SpcVariation.NEUTRAL_HIGH: "special cause: high",
             V.SpcVariation.NEUTRAL_LOW: "special cause: low", V.SpcVariation.INCOMPLETE: "no value"}
SPC_ORDER = [SPC_WORDS[w] for w in V.SpcVariation.words()]

RAG = {V.TargetStatus.ON_TRACK: BLUE, V.TargetStatus.AT_RISK: AMBER, V.TargetStatus.OFF_TRACK: VERMILLION,
       V.TargetStatus.NOT_STARTED: LIGHT, V.TargetStatus.INCOMPLETE: LIGHT}
RAG_ORDER = list(V.TargetStatus.words())

TRAVEL = {V.Travel.IMPROVING: BLUE, V.Travel.NO_CHANGE: GREY, V.Travel.DETERIORATING: VERMILLION,
          V.Travel.INCREASING: PURPLE, V.Travel.DECREASING: LILAC}

ASSURANCE = {V.Assurance.PASS: ("passes the target consistently", BLUE, "P"),
             V.Assurance.FAIL: ("fails the target consistently", VERMILLION, "F"),
             V.Assurance.INCONSISTENT: ("hits and misses the target", AMBER, "?")}


def peer_word(judgement) -> str:
    """A peer judgement as the legend says it ('not judged' where the assessment has none)."""
    j = "" if judgement is None or judgement is pd.NA else str(judgement)
    return j if j in PEER and j != "not judged" else "not judged"


def scale(colours: dict, order: list[str], present=None) -> dict:
    """A Vega-Lite colour scale for ``order`` (domain) with ``colours``; only the values in ``present`` (when
    given) appear, so the legend lists what the chart shows."""
    if present is not None:
        have = {str(v) for v in present}
        order = [k for k in order if k in have] or order[:1]
    return {"domain": [str(k) for k in order], "range": [colours[k] for k in order]}


def text_on(colour: str) -> str:
    """Black or white text, whichever reads on ``colour`` (WCAG relative luminance)."""
    r, g, b = (int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5))
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
    lum = 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    return "#000000" if (lum + 0.05) / 0.05 >= 1.05 / (lum + 0.05) else "#ffffff"


def decimals(value: float, kind: str = "rate") -> int:
    """Decimal places a value of this size supports: three significant figures, whole numbers for counts."""
    if kind == "count":
        return 0
    a = abs(value)
    return 0 if a >= 100 else 1 if a >= 10 else 2


def number(value, kind: str = "rate", digits: int | None = None) -> str:
    """A value rounded for people ('' when there is none; thousands separated)."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    d = decimals(float(value), kind) if digits is None else digits
    return f"{float(value):,.{d}f}"


def short_label(label: str) -> str:
    """'Burglary per 1,000 households' -> 'burglary'; '(%)' units dropped; first letter lower-cased unless an
    acronym."""
    text = str(label).split(" per ")[0].replace(" (%)", "").strip()
    return text if text[:2].isupper() else text[:1].lower() + text[1:]

