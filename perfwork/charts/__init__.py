"""Charts drawn from an ``Assessment`` (Vega-Lite, Altair 6), and where to draw them.

    from perfwork import charts, report
    a = report.assessment(None, targets="demo")
    chart = charts.peer_chart(a, "DK-C0123", "burglary")    # an alt.LayerChart: nothing displayed
    charts.show(chart)                                      # interactive in Lab/Voilà, a figure in reports
    charts.save_chart(chart, "burglary.svg")                # files for slides
    charts.peer_spec(a, "DK-C0123", "burglary")             # the same chart as a Vega-Lite dict (fast)

Every chart exists twice: ``*_spec`` builds the Vega-Lite spec as a dict (about 1 ms of work besides the
lookups: what reports use), ``*_chart`` wraps it as an Altair chart for Altair's API and the widget. Nothing is
computed here: values, intervals, benchmarks, bands, judgements, SPC points and target progress come from the
assessment, funnel limits and significance from ``perfwork.stats``, the group's spread from ``perfwork.peers``.
"""

from __future__ import annotations

from . import frames, style
from .comparison import funnel_spec, peer_spec, rug_spec, spine_spec, why_peers_spec
from .render import CHART_MIMETYPE, Figure, figure, interactive, save_chart, show, to_svg
from .series import rank_spec, spc_spec, target_spec, trend_spec
from .vl import to_altair


def peer_chart(a, area: str, indicator: str):
    """iQuanta-style peer bars (``peer_spec``) as an Altair chart."""
    return to_altair(peer_spec(a, area, indicator))


def trend_chart(a, area: str, indicator: str):
    """Rolling 12 months against the MSG benchmark and band (``trend_spec``) as an Altair chart."""
    return to_altair(trend_spec(a, area, indicator))


def funnel_chart(a, area: str, indicator: str, scope: str = "level"):
    """Funnel plot (``funnel_spec``) as an Altair chart."""
    return to_altair(funnel_spec(a, area, indicator, scope))


def spc_chart(a, area: str, indicator: str, events=None, target: float | None = None):
    """Making Data Count XmR chart (``spc_spec``; ``events``: a frame of ``date`` and ``label``) as Altair."""
    return to_altair(spc_spec(a, area, indicator, events=events, target=target))


def target_chart(a, area: str, indicator: str):
    """Progress to a target (``target_spec``) as an Altair chart."""
    return to_altair(target_spec(a, area, indicator))


def spine_chart(a, area: str):
    """Every indicator at a glance (``spine_spec``) as an Altair chart."""
    return to_altair(spine_spec(a, area))


def rug_chart(a, parent: str):
    """A force's CSPs x indicators (``rug_spec``) as an Altair chart."""
    return to_altair(rug_spec(a, parent))


def why_peers_chart(a, area: str):
    """Each peer's distance by characteristic (``why_peers_spec``) as an Altair chart."""
    return to_altair(why_peers_spec(a, area))


def rank_chart(a, area: str, indicator: str):
    """Rank in the group over time (``rank_spec``) as an Altair chart."""
    return to_altair(rank_spec(a, area, indicator))


def indicator_specs(a, area: str, indicator: str) -> list[dict]:
    """One indicator's story: peer bars, trend against peers, SPC and, if it has a target, progress to it."""
    out = [peer_spec(a, area, indicator), trend_spec(a, area, indicator), spc_spec(a, area, indicator)]
    if frames.row(a, area, indicator).get("target"):
        out.append(target_spec(a, area, indicator))
    return out


def profile_specs(a, area: str, indicators=None, limit: int = 3) -> list[dict]:
    """The charts of a partnership profile: the spine chart, then for each priority exception (the ``limit``
    highest, or ``indicators``) its peer, trend, SPC and (where it has one) target chart."""
    if indicators is None:
        rows = a.for_area(area)
        exc = rows[rows["exception"].astype(bool)].sort_values("priority", ascending=False, kind="stable")
        indicators = exc["indicator"].head(limit).tolist()
    out = [spine_spec(a, area)]
    for ind in indicators:
        out += indicator_specs(a, area, ind)
    return out


__all__ = ["peer_chart", "trend_chart", "funnel_chart", "spc_chart", "target_chart", "spine_chart", "rug_chart",
           "why_peers_chart", "rank_chart", "peer_spec", "trend_spec", "funnel_spec", "spc_spec", "target_spec",
           "spine_spec", "rug_spec", "why_peers_spec", "rank_spec", "profile_specs", "indicator_specs", "show",
           "interactive", "figure", "Figure", "save_chart", "to_svg", "to_altair", "CHART_MIMETYPE", "frames",
           "style"]
