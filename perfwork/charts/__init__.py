"""Charts drawn from an ``Assessment`` (Altair 6 / Vega-Lite), and where to draw them.

    import perfwork as pw
    a = pw.report.assessment(None, targets="demo")
    chart = pw.charts.peer_chart(a, "DK-C0123", "burglary")    # an alt.Chart: nothing displayed
    pw.charts.show(chart)                                      # interactive in Lab/Voilà, a figure in reports
    pw.charts.save_chart(chart, "burglary.svg")                # files for slides

Every function takes the assessment and the keys of what to draw and computes no statistics: values,
intervals, benchmarks, bands, judgements, SPC points and target progress come from the assessment, funnel limits
and significance from ``perfwork.stats``, the group's spread from ``perfwork.peers``.
"""

from __future__ import annotations

from . import frames, style
from .comparison import funnel_chart, peer_chart, rug_chart, spine_chart, why_peers_chart
from .render import CHART_MIMETYPE, Figure, figure, interactive, save_chart, show, to_svg
from .series import rank_chart, spc_chart, target_chart, trend_chart


def profile_charts(a, area: str, indicators=None, limit: int = 3) -> list:
    """The charts of a partnership profile: the spine chart, then for each priority exception (``limit``
    highest, or ``indicators``) its peer, trend, SPC and (where it has one) target chart."""
    rows = a.for_area(area)
    if indicators is None:
        exc = rows[rows["exception"].astype(bool)].sort_values("priority", ascending=False, kind="stable")
        indicators = exc["indicator"].head(limit).tolist()
    out = [spine_chart(a, area)]
    for ind in indicators:
        out += indicator_charts(a, area, ind)
    return out


def indicator_charts(a, area: str, indicator: str) -> list:
    """One indicator's story: peer bars, trend against peers, SPC and, if it has a target, progress to it."""
    r = frames.row(a, area, indicator)
    out = [peer_chart(a, area, indicator), trend_chart(a, area, indicator), spc_chart(a, area, indicator)]
    if r.get("target"):
        out.append(target_chart(a, area, indicator))
    return out


__all__ = ["peer_chart", "trend_chart", "funnel_chart", "spc_chart", "target_chart", "spine_chart", "rug_chart",
           "why_peers_chart", "rank_chart", "profile_charts", "indicator_charts", "show", "interactive", "figure",
           "Figure",
           "save_chart", "to_svg", "CHART_MIMETYPE", "frames", "style"]
