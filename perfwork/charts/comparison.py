"""Charts comparing an area with other areas: peer bars, funnel, spine chart, tartan rug, why these peers.

Each function takes an ``Assessment`` and returns an ``alt.Chart`` (nothing displayed, nothing computed: the
frames come from ``perfwork.charts.frames``). Titles say what is compared; subtitles the method; the
``description`` is the chart's text alternative. Channels are built explicitly (``style.ch``), never from
shorthand strings, which Altair parses slowly.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from . import frames, style
from .style import ch, number, short_label

WIDTH = 560


def _title(text: str, *subtitle: str) -> alt.TitleParams:
    return alt.TitleParams(text=text, subtitle=[s for s in subtitle if s], anchor="start", fontSize=15,
                           subtitleFontSize=12, subtitleColor=style.MUTED, color=style.INK)


def _legend(title: str) -> alt.Legend:
    return alt.Legend(title=title, orient="bottom", direction="horizontal", labelLimit=220)


def judgement_colour(values, title: str, field: str = "judgement") -> alt.Color:
    """Colour by peer judgement, legend listing the judgements present."""
    return ch(alt.Color, f"{field}:N", scale=style.scale(style.PEER, style.PEER_ORDER, values), legend=_legend(title))


def peer_chart(a, area: str, indicator: str) -> alt.LayerChart:
    """iQuanta-style: one bar per group member, ranked (best at the top), the area highlighted, each bar's 95%
    interval, the MSG benchmark line and the +/-1 SD band (descriptive); colour = significance against the
    area's benchmark."""
    f, ctx = frames.peer(a, area, indicator)
    r, kind = ctx.row, ctx.kind
    bm, lo, hi = r["benchmark"], r["band_lower"], r["band_upper"]
    f["outline"] = [style.AREA if m else "transparent" for m in f["is_area"]]
    ref = pd.DataFrame({"benchmark": [bm], "band_lower": [lo], "band_upper": [hi],
                        "text": [f"MSG benchmark {number(bm, kind)}"], "band": ["±1 SD band (descriptive)"]})
    y = ch(alt.Y, "name:N", sort=f["name"].tolist(), title=None, axis=alt.Axis(labelLimit=200))
    tooltip = [ch(alt.Tooltip, "area_name:N", title="Area"), ch(alt.Tooltip, "value:Q", title="Value", format=",.2f"),
               ch(alt.Tooltip, "lower:Q", title="95% lower", format=",.2f"),
               ch(alt.Tooltip, "upper:Q", title="95% upper", format=",.2f"),
               ch(alt.Tooltip, "judgement:N", title="Against the benchmark")]
    band = alt.Chart(ref).mark_rect(color=style.BAND, opacity=0.8).encode(
        ch(alt.X, "band_lower:Q"), ch(alt.X2, "band_upper:Q"), tooltip=[ch(alt.Tooltip, "band:N", title="Band")])
    bars = alt.Chart().mark_bar(height={"band": 0.7}, strokeWidth=2.5).encode(
        ch(alt.X, "value:Q", title=ctx.label, scale=alt.Scale(zero=True)), y,
        judgement_colour(f["judgement"], "Against the MSG benchmark"),
        ch(alt.Stroke, "outline:N", scale=None), tooltip=tooltip)
    ci = alt.Chart().mark_rule(color=style.INK, strokeWidth=1.2).encode(
        ch(alt.X, "lower:Q"), ch(alt.X2, "upper:Q"), y, tooltip=tooltip)
    line = alt.Chart(ref).mark_rule(color=style.INK, strokeDash=[5, 3], strokeWidth=1.5).encode(
        ch(alt.X, "benchmark:Q"), tooltip=[ch(alt.Tooltip, "text:N", title="Benchmark")])
    label = alt.Chart(ref).mark_text(align="left", dx=4, dy=-6, color=style.INK, fontSize=11).encode(
        ch(alt.X, "benchmark:Q"), alt.YValue(value=0), ch(alt.Text, "text:N"))
    rank = f"ranked {r['group_rank']} of {int(r['group_size'])}" if pd.notna(r.get("group_rank")) else "not ranked"
    desc = (f"Bar chart of {ctx.label.lower()} for {ctx.where} and {ctx.group}, {ctx.period}. "
            f"{ctx.area_name}: {number(r['value'], kind)} (95% interval {number(r['lower'], kind)} to "
            f"{number(r['upper'], kind)}), {rank}; MSG benchmark {number(bm, kind)}, band "
            f"{number(lo, kind)} to {number(hi, kind)}; {style.peer_word(r['peer_judgement'])} "
            f"({r.get('significance') or 'no test'}).")
    return alt.layer(band, bars, ci, line, label, data=f).properties(
        width=WIDTH, height=max(200, 20 * len(f)), description=desc,
        title=_title(f"{ctx.label}, {ctx.period}: {ctx.area_name} against {ctx.group}",
                     f"Dashed line: {r.get('benchmark_method') or 'MSG benchmark'}; shaded: ±1 SD of members' "
                     "values (descriptive).", f"Colour: {r.get('significance_method') or ''}"))


ROLES = ["this area", "peer", "other"]


def funnel_chart(a, area: str, indicator: str, scope: str = "level") -> alt.LayerChart:
    """Funnel plot: every area of the level (or the group, ``scope="msg"``) by denominator, the benchmark and
    the 95% and 99.8% limits from ``stats.funnel_limits`` (overdispersion-adjusted when the assessment used
    it), the area and its peers highlighted."""
    f, lim, ctx = frames.funnel(a, area, indicator, scope)
    kind, centre = ctx.kind, lim.attrs["benchmark"]
    long = pd.concat([lim[["denominator", c]].rename(columns={c: "limit"}).assign(curve=name, level=lvl)
                      for c, name, lvl in (("lower_95", "lower 95%", "95%"), ("upper_95", "upper 95%", "95%"),
                                           ("lower_99_8", "lower 99.8%", "99.8%"),
                                           ("upper_99_8", "upper 99.8%", "99.8%"))], ignore_index=True)
    f["outline"] = [style.AREA if r == "this area" else "transparent" for r in f["role"]]
    x = ch(alt.X, "denominator:Q", title=_denominator_title(a, indicator), scale=alt.Scale(type="log"))
    curves = alt.Chart(long).mark_line(color=style.MUTED, strokeWidth=1.2).encode(
        x, ch(alt.Y, "limit:Q"), ch(alt.Detail, "curve:N"),
        ch(alt.StrokeDash, "level:N", scale=alt.Scale(domain=["95%", "99.8%"], range=[[4, 3], [1, 0]]),
           legend=_legend("Control limits")))
    base = alt.Chart(pd.DataFrame({"benchmark": [centre]})).mark_rule(color=style.INK, strokeWidth=1.5).encode(
        ch(alt.Y, "benchmark:Q"))
    tooltip = [ch(alt.Tooltip, "area_name:N", title="Area"), ch(alt.Tooltip, "value:Q", title="Value", format=",.2f"),
               ch(alt.Tooltip, "denominator:Q", title="Denominator", format=",.0f"),
               ch(alt.Tooltip, "judgement:N", title="Against the benchmark"), ch(alt.Tooltip, "role:N", title="")]
    pts = alt.Chart(f).mark_point(filled=True, opacity=0.9, strokeWidth=1.5).encode(
        x, ch(alt.Y, "value:Q", title=ctx.label), judgement_colour(f["judgement"], "Against the benchmark"),
        ch(alt.Shape, "role:N", scale=alt.Scale(domain=ROLES, range=["diamond", "circle", "circle"]),
           legend=_legend("")),
        ch(alt.Size, "role:N", scale=alt.Scale(domain=ROLES, range=[220, 60, 18]), legend=None),
        ch(alt.Stroke, "outline:N", scale=None), tooltip=tooltip)
    me = f[f["role"] == "this area"]
    lab = alt.Chart(me).mark_text(align="left", dx=9, fontWeight="bold", color=style.INK).encode(
        x, ch(alt.Y, "value:Q"), ch(alt.Text, "area_name:N"))
    who = "its most similar group" if scope == "msg" else f"every {frames.NOUN[ctx.level][0]}"
    v = me["value"].iloc[0] if len(me) else float("nan")
    what = "MSG benchmark" if scope == "msg" else "pooled value of all areas"
    desc = (f"Funnel plot of {ctx.label.lower()}, {ctx.period}, for {who} ({len(f)} areas) against the {what} "
            f"{number(centre, kind)}, with 95% and 99.8% control limits. {ctx.area_name}: {number(v, kind)}, "
            f"{me['judgement'].iloc[0] if len(me) else 'no value'}.")
    method = lim["method"].iloc[0] if "method" in lim else ""
    adjusted = "overdispersion-adjusted" if lim.attrs.get("overdispersion_applied") else "no overdispersion adjustment"
    return alt.layer(curves, base, pts, lab).properties(
        width=WIDTH, height=340, description=desc,
        title=_title(f"{ctx.label}, {ctx.period}: {ctx.area_name} and {who} against the {what}",
                     f"Limits: {method} 95% (dashed) and 99.8% (solid); {adjusted}."))


def _denominator_title(a, indicator: str) -> str:
    den = a.framework.get(indicator).denominator
    return f"{den} (denominator)" if isinstance(den, str) else "crimes (denominator)"


def spine_chart(a, area: str) -> alt.LayerChart:
    """Fingertips-style spine chart: every indicator of the framework for one area, its value (coloured by the
    peer judgement) against its group's range (light) and interquartile range (dark), the MSG benchmark at the
    centre, better to the right."""
    f, ctx = frames.spine(a, area)
    f["value_text"] = [number(v, k) for v, k in zip(f["value"], f["kind"])]
    f["benchmark_text"] = [number(v, k) for v, k in zip(f["benchmark"], f["kind"])]
    f["range_text"] = [f"{number(lo, k)} to {number(hi, k)}" for lo, hi, k in zip(f["min"], f["max"], f["kind"])]
    f["shape"] = ["diamond" if e else "circle" for e in f["exception"]]
    y = ch(alt.Y, "label:N", sort=None, title=None, axis=alt.Axis(labelLimit=330))
    x = ch(alt.X, "range_lo:Q", scale=alt.Scale(domain=[-1.05, 1.05]), title=None,
           axis=alt.Axis(values=[-1, 0, 1], labelExpr="datum.value < 0 ? '← worse' : datum.value > 0 ? "
                         "'better →' : 'benchmark'"))
    tooltip = [ch(alt.Tooltip, "label:N", title="Indicator"), ch(alt.Tooltip, "value_text:N", title="Value"),
               ch(alt.Tooltip, "benchmark_text:N", title="MSG benchmark"),
               ch(alt.Tooltip, "range_text:N", title="Group range"),
               ch(alt.Tooltip, "judgement:N", title="Against peers")]
    rng = alt.Chart().mark_bar(color="#e3e3e3", height=14).encode(x, ch(alt.X2, "range_hi:Q"), y, tooltip=tooltip)
    iqr = alt.Chart().mark_bar(color="#a9a9a9", height=14).encode(
        ch(alt.X, "iqr_lo:Q"), ch(alt.X2, "iqr_hi:Q"), y, tooltip=tooltip)
    mid = alt.Chart(pd.DataFrame({"x": [0.0]})).mark_rule(color=style.INK, strokeWidth=1.5).encode(ch(alt.X, "x:Q"))
    dot = alt.Chart().mark_point(filled=True, size=110, stroke=style.AREA, strokeWidth=0.8).encode(
        ch(alt.X, "x:Q"), y, ch(alt.Shape, "shape:N", scale=None),
        judgement_colour(f["judgement"], "Against peers"), tooltip=tooltip)
    worse = ", ".join(short_label(x) for x in f.loc[f["judgement"] == "worse", "label"]) or "none"
    better = ", ".join(short_label(x) for x in f.loc[f["judgement"] == "better", "label"]) or "none"
    desc = (f"Spine chart of {len(f)} indicators for {ctx.where}, {ctx.period}, each against the range and "
            f"quartiles of {ctx.group}. Worse than peers: {worse}. Better than peers: {better}.")
    return alt.layer(rng, iqr, mid, dot, data=f).properties(
        width=380, height=22 * len(f), description=desc,
        title=_title(f"Every indicator, {ctx.period}: {ctx.area_name} against {ctx.group}",
                     "Centre line: MSG benchmark. Light bar: the group's range; dark bar: its middle half "
                     "(25th to 75th percentile).", "Diamonds: indicators that need attention."))


def rug_chart(a, parent: str) -> alt.LayerChart:
    """'Tartan rug': every area inside ``parent`` (a force's CSPs) x every indicator, coloured by the peer
    judgement of each CSP against its own Most Similar Group, the value in each cell."""
    f, name = frames.rug(a, parent)
    f["value_text"] = [number(v, k) for v, k in zip(f["value"], f["kind"])]
    f["short"] = [short_label(x) for x in f["label"]]
    f["text_colour"] = [style.text_on(style.PEER[j]) for j in f["judgement"]]
    order = list(dict.fromkeys(f["short"]))
    x = ch(alt.X, "short:N", sort=order, title=None, axis=alt.Axis(labelAngle=-50, labelLimit=180, orient="top"))
    y = ch(alt.Y, "area:N", title=None, axis=alt.Axis(labelLimit=220))
    tooltip = [ch(alt.Tooltip, "area:N", title="Area"), ch(alt.Tooltip, "label:N", title="Indicator"),
               ch(alt.Tooltip, "value_text:N", title="Value"), ch(alt.Tooltip, "judgement:N", title="Against peers")]
    cells = alt.Chart().mark_rect(stroke="#ffffff", strokeWidth=1).encode(
        x, y, judgement_colour(f["judgement"], "Against its Most Similar Group"), tooltip=tooltip)
    text = alt.Chart().mark_text(fontSize=9).encode(x, y, ch(alt.Text, "value_text:N"),
                                                    ch(alt.Color, "text_colour:N", scale=None))
    n = f["area_code"].nunique()
    worst = f[f["judgement"] == "worse"].groupby("area")["indicator"].size().sort_values(ascending=False)
    top = f"; most worse-than-peer indicators: {worst.index[0]} ({worst.iloc[0]})" if len(worst) else ""
    end = pd.Timestamp(f["period_end"].iloc[0])
    desc = (f"Grid of {n} areas in {name} by {len(order)} indicators, 12 months to {end:%b %Y}, each cell "
            f"coloured by the area's judgement against its own most similar areas{top}.")
    noun = frames.NOUN.get(a.level, (a.level, a.level + "s"))[0]
    return alt.layer(cells, text, data=f.drop(columns=["period_end"])).properties(
        width=max(360, 26 * len(order)), height=24 * n, description=desc,
        title=_title(f"Every {noun} in {name} against its Most Similar Group, 12 months to {end:%b %Y}",
                     "Each cell: the value; colour: better, similar or worse than the area's own peers (95% "
                     "interval against the pooled MSG benchmark)."))


def why_peers_chart(a, area: str) -> alt.Chart:
    """For one area, each peer's squared distance broken down by characteristic (stacked), nearest first."""
    f, ctx = frames.why(a, area)
    tooltip = [ch(alt.Tooltip, "peer:N", title="Peer"), ch(alt.Tooltip, "characteristic:N", title="Characteristic"),
               ch(alt.Tooltip, "share:Q", title="Share of the distance²", format=".0%"),
               ch(alt.Tooltip, "distance:Q", title="Distance", format=".2f")]
    top = f.groupby("characteristic")["part"].sum().sort_values(ascending=False)
    desc = (f"Stacked bars for the {f['peer'].nunique()} peers of {ctx.where}, nearest first: each peer's squared "
            f"distance split by characteristic. Over the group the largest parts are "
            f"{', '.join(top.index[:3])}.")
    peers_in_order = f.sort_values("rank")["peer"].drop_duplicates().tolist()
    return alt.Chart(f).mark_bar().encode(
        ch(alt.X, "part:Q", aggregate="sum", title="squared distance (sum of the characteristics' parts)"),
        ch(alt.Y, "peer:N", sort=peers_in_order, title=None, axis=alt.Axis(labelLimit=220)),
        ch(alt.Color, "characteristic:N", scale=alt.Scale(scheme="tableau10"), sort=list(top.index),
           legend=alt.Legend(title="Characteristic", orient="right")),
        ch(alt.Order, "part:Q", sort="descending"), tooltip=tooltip,
    ).properties(width=440, height=20 * f["peer"].nunique(), description=desc,
                 title=_title(f"Why these peers: what separates {ctx.area_name} from {ctx.group}",
                              "Each bar: the peer's squared Euclidean distance on z-scores of the characteristics; "
                              "shorter is more similar."))
