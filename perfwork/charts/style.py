"""How judgements and numbers look, shared by charts and report tables: colours, orders, rounding.

Colour-blind safe: "good" is blue and "bad" vermillion (never red against green), "similar" a mid grey, "not
judged" a light grey; polarity-free readings (higher / lower) are purples. Every colour used for marks has at
least 3:1 contrast against white (WCAG 1.4.11), and the judgement is always in words too (legend, tooltip,
table), so colour is never the only carrier.
"""

from __future__ import annotations

import math

import pandas as pd

BLUE, VERMILLION, GREY, LIGHT, PURPLE, LILAC, AMBER = ("#0b5cad", "#c8501e", "#767676", "#d0d0d0", "#5e3c99",
                                                       "#9d87c8", "#b07800")
INK, MUTED, BAND, AREA = "#1f1f1f", "#4d4d4d", "#dfe6ee", "#111111"

PEER = {"better": BLUE, "similar": GREY, "worse": VERMILLION, "higher": PURPLE, "lower": LILAC,
        "not judged": LIGHT}
PEER_ORDER = ["better", "similar", "worse", "higher", "lower", "not judged"]

SPC = {"special_cause_improvement": BLUE, "common_cause": GREY, "special_cause_concern": VERMILLION,
       "special_cause_neutral_high": PURPLE, "special_cause_neutral_low": PURPLE}
SPC_WORDS = {"special_cause_improvement": "special cause: improvement", "common_cause": "common cause",
             "special_cause_concern": "special cause: concern", "special_cause_neutral_high": "special cause: high",
             "special_cause_neutral_low": "special cause: low"}
SPC_ORDER = ["special cause: improvement", "common cause", "special cause: concern", "special cause: high",
             "special cause: low"]

RAG = {"on track": BLUE, "at risk": AMBER, "off track": VERMILLION, "not started": LIGHT, "incomplete": LIGHT}
RAG_ORDER = ["on track", "at risk", "off track", "not started", "incomplete"]

TRAVEL = {"improving": BLUE, "no significant change": GREY, "deteriorating": VERMILLION, "increasing": PURPLE,
          "decreasing": LILAC}


def peer_word(judgement) -> str:
    """A peer judgement as the legend says it ('not judged' where the assessment has none)."""
    j = "" if judgement is None else str(judgement)
    return j if j in PEER and j != "not judged" else "not judged"


def scale(colours: dict, order: list[str], present=None):
    """An Altair colour scale for ``order`` (domain) with ``colours``; only the values in ``present`` (when
    given) appear, so the legend lists what the chart shows."""
    import altair as alt

    if present is not None:
        have = set(present)
        order = [k for k in order if k in have] or order[:1]
    return alt.Scale(domain=order, range=[colours[k] for k in order])


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
