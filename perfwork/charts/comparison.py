"""Charts comparing an area with other areas: peer bars, funnel, spine chart, tartan rug, why these peers.

Each ``*_spec`` function takes an ``Assessment`` and returns a Vega-Lite spec (a dict; ``perfwork.charts`` wraps
them as Altair charts). Nothing is computed here: the frames come from ``perfwork.charts.frames``. Titles say
what is compared, subtitles the method, and ``description`` is the chart's text alternative.
"""

from __future__ import annotations

import pandas as pd

from . import frames, style
from .style import number, short_label
from .vl import F2, F, chart, layer, mark, records

WIDTH = 560


def title(text: str, *subtitle: str) -> dict:
    return {"text": text, "subtitle": [s for s in subtitle if s], "anchor": "start", "fontSize": 15,
            "subtitleFontSize": 12, "subtitleColor": style.MUTED, "color": style.INK}


def legend(name: str) -> dict:
    return {"title": name, "orient": "bottom", "direction": "horizontal", "labelLimit": 220}


def judgement_colour(values, name: str, field: str = "judgement") -> dict:
    """Colour by peer judgement, the legend listing the judgements present."""
    return F(f"{field}:N", scale=style.scale(style.PEER, style.PEER_ORDER, values), legend=legend(name))


def tip(shorthand: str, name: str, fmt: str | None = None) -> dict:
    return F(shorthand, title=name, **({"format": fmt} if fmt else {}))


def peer_spec(a, area: str, indicator: str) -> dict:
    """iQuanta-style: one bar per group member, ranked (best at the top), the area highlighted, each bar's 95%
    interval, the MSG benchmark line and the +/-1 SD band (descriptive); colour = significance against the
    area's benchmark."""
    f, ctx = frames.peer(a, area, indicator)
    r, kind = ctx.row, ctx.kind
    bm, lo, hi = r["benchmark"], r["band_lower"], r["band_upper"]
    f["outline"] = [style.AREA if m else "transparent" for m in f["is_area"]]
    ref = records(pd.DataFrame({"benchmark": [bm], "band_lower": [lo], "band_upper": [hi],
                                "text": [f"MSG benchmark {number(bm, kind)}"], "band": ["±1 SD band (descriptive)"]}))
    y = F("name:N", sort=f["name"].tolist(), title=None, axis={"labelLimit": 200})
    tooltip = [tip("area_name:N", "Area"), tip("value:Q", "Value", ",.2f"), tip("lower:Q", "95% lower", ",.2f"),
               tip("upper:Q", "95% upper", ",.2f"), tip("judgement:N", "Against the benchmark")]
    layers = [
        layer(mark("rect", color=style.BAND, opacity=0.8), ref, x=F("band_lower:Q"), x2=F2("band_upper"),
              tooltip=[tip("band:N", "Band")]),
        layer(mark("bar", height={"band": 0.7}, strokeWidth=2.5), None, y=y,
              x=F("value:Q", title=ctx.label, scale={"zero": True}),
              color=judgement_colour(f["judgement"], "Against the MSG benchmark"),
              stroke=F("outline:N", scale=None), tooltip=tooltip),
        layer(mark("rule", color=style.INK, strokeWidth=1.2), None, x=F("lower:Q"), x2=F2("upper"), y=y,
              tooltip=tooltip),
        layer(mark("rule", color=style.INK, strokeDash=[5, 3], strokeWidth=1.5), ref, x=F("benchmark:Q"),
              tooltip=[tip("text:N", "Benchmark")]),
        layer(mark("text", align="left", dx=4, dy=-6, color=style.INK, fontSize=11), ref, x=F("benchmark:Q"),
              y={"value": 0}, text=F("text:N")),
    ]
    rank = f"ranked {r['group_rank']} of {int(r['group_size'])}" if pd.notna(r.get("group_rank")) else "not ranked"
    desc = (f"Bar chart of {ctx.label.lower()} for {ctx.where} and {ctx.group}, {ctx.period}. "
            f"{ctx.area_name}: {number(r['value'], kind)} (95% interval {number(r['lower'], kind)} to "
            f"{number(r['upper'], kind)}), {rank}; MSG benchmark {number(bm, kind)}, band "
            f"{number(lo, kind)} to {number(hi, kind)}; {style.peer_word(r['peer_judgement'])} "
            f"({r.get('significance') or 'no test'}).")
    return chart(layers, records(f), width=WIDTH, height=max(200, 20 * len(f)), description=desc,
                 title=title(f"{ctx.label}, {ctx.period}: {ctx.area_name} against {ctx.group}",
                             f"Dashed line: {r.get('benchmark_method') or 'MSG benchmark'}; shaded: ±1 SD of "
                             "members' values (descriptive).", f"Colour: {r.get('significance_method') or ''}"))


ROLES = ["this area", "peer", "other"]
CURVES = (("lower_95", "lower 95%", "95%"), ("upper_95", "upper 95%", "95%"), ("lower_99_8", "lower 99.8%", "99.8%"),
          ("upper_99_8", "upper 99.8%", "99.8%"))


def funnel_spec(a, area: str, indicator: str, scope: str = "level") -> dict:
    """Funnel plot: every area of the level (or the group, ``scope="msg"``) by denominator, the benchmark and
    the 95% and 99.8% limits from ``stats.funnel_limits`` (overdispersion-adjusted when the assessment used
    it), the area and its peers highlighted."""
    f, lim, ctx = frames.funnel(a, area, indicator, scope)
    kind, centre = ctx.kind, lim.attrs["benchmark"]
    long = pd.concat([lim[["denominator", c]].rename(columns={c: "limit"}).assign(curve=name, level=lvl)
                      for c, name, lvl in CURVES], ignore_index=True)
    f["outline"] = [style.AREA if r == "this area" else "transparent" for r in f["role"]]
    x = F("denominator:Q", title=_denominator_title(a, indicator), scale={"type": "log"})
    tooltip = [tip("area_name:N", "Area"), tip("value:Q", "Value", ",.2f"), tip("denominator:Q", "Denominator", ",.0f"),
               tip("judgement:N", "Against the benchmark"), tip("role:N", "")]
    me = f[f["role"] == "this area"]
    layers = [
        layer(mark("line", color=style.MUTED, strokeWidth=1.2), records(long), x=x, y=F("limit:Q"),
              detail=F("curve:N"), strokeDash=F("level:N", scale={"domain": ["95%", "99.8%"],
                                                                   "range": [[4, 3], [1, 0]]},
                                                 legend=legend("Control limits"))),
        layer(mark("rule", color=style.INK, strokeWidth=1.5), [{"benchmark": centre}], y=F("benchmark:Q")),
        layer(mark("point", filled=True, opacity=0.9, strokeWidth=1.5), records(f), x=x,
              y=F("value:Q", title=ctx.label), color=judgement_colour(f["judgement"], "Against the benchmark"),
              shape=F("role:N", scale={"domain": ROLES, "range": ["diamond", "circle", "circle"]},
                      legend=legend("")),
              size=F("role:N", scale={"domain": ROLES, "range": [220, 60, 18]}, legend=None),
              stroke=F("outline:N", scale=None), tooltip=tooltip),
        layer(mark("text", align="left", dx=9, fontWeight="bold", color=style.INK),
              records(me[["denominator", "value", "area_name"]]), x=x, y=F("value:Q"), text=F("area_name:N")),
    ]
    who = "its most similar group" if scope == "msg" else f"every {frames.NOUN[ctx.level][0]}"
    v = me["value"].iloc[0] if len(me) else float("nan")
    what = "MSG benchmark" if scope == "msg" else "pooled value of all areas"
    desc = (f"Funnel plot of {ctx.label.lower()}, {ctx.period}, for {who} ({len(f)} areas) against the {what} "
            f"{number(centre, kind)}, with 95% and 99.8% control limits. {ctx.area_name}: {number(v, kind)}, "
            f"{me['judgement'].iloc[0] if len(me) else 'no value'}.")
    method = lim["method"].iloc[0] if "method" in lim else ""
    adjusted = "overdispersion-adjusted" if lim.attrs.get("overdispersion_applied") else "no overdispersion adjustment"
    return chart(layers, width=WIDTH, height=340, description=desc,
                 title=title(f"{ctx.label}, {ctx.period}: {ctx.area_name} and {who} against the {what}",
                             f"Limits: {method} 95% (dashed) and 99.8% (solid); {adjusted}."))


def _denominator_title(a, indicator: str) -> str:
    den = a.framework.get(indicator).denominator
    return f"{den} (denominator)" if isinstance(den, str) else "crimes (denominator)"


def spine_spec(a, area: str) -> dict:
    """Fingertips-style spine chart: every indicator of the framework for one area, its value (coloured by the
    peer judgement) against its group's range (light) and interquartile range (dark), the MSG benchmark at the
    centre, better to the right."""
    f, ctx = frames.spine(a, area)
    f["value_text"] = [number(v, k) for v, k in zip(f["value"], f["kind"])]
    f["benchmark_text"] = [number(v, k) for v, k in zip(f["benchmark"], f["kind"])]
    f["range_text"] = [f"{number(lo, k)} to {number(hi, k)}" for lo, hi, k in zip(f["min"], f["max"], f["kind"])]
    f["shape"] = ["diamond" if e else "circle" for e in f["exception"]]
    y = F("label:N", sort=None, title=None, axis={"labelLimit": 330})
    x = F("range_lo:Q", scale={"domain": [-1.05, 1.05]}, title=None,
          axis={"values": [-1, 0, 1], "labelExpr": "datum.value < 0 ? '← worse' : datum.value > 0 ? "
                "'better →' : 'benchmark'"})
    tooltip = [tip("label:N", "Indicator"), tip("value_text:N", "Value"), tip("benchmark_text:N", "MSG benchmark"),
               tip("range_text:N", "Group range"), tip("judgement:N", "Against peers")]
    layers = [
        layer(mark("bar", color="#e3e3e3", height=14), None, x=x, x2=F2("range_hi"), y=y, tooltip=tooltip),
        layer(mark("bar", color="#a9a9a9", height=14), None, x=F("iqr_lo:Q"), x2=F2("iqr_hi"), y=y,
              tooltip=tooltip),
        layer(mark("rule", color=style.INK, strokeWidth=1.5), [{"x": 0.0}], x=F("x:Q")),
        layer(mark("point", filled=True, size=110, stroke=style.AREA, strokeWidth=0.8), None, x=F("x:Q"), y=y,
              shape=F("shape:N", scale=None), color=judgement_colour(f["judgement"], "Against peers"),
              tooltip=tooltip),
    ]
    worse = ", ".join(short_label(x) for x in f.loc[f["judgement"] == "worse", "label"]) or "none"
    better = ", ".join(short_label(x) for x in f.loc[f["judgement"] == "better", "label"]) or "none"
    desc = (f"Spine chart of {len(f)} indicators for {ctx.where}, {ctx.period}, each against the range and "
            f"quartiles of {ctx.group}. Worse than peers: {worse}. Better than peers: {better}.")
    return chart(layers, records(f), width=380, height=max(22 * len(f), 44), description=desc,
                 title=title(f"Every indicator, {ctx.period}: {ctx.area_name} against {ctx.group}",
                             "Centre line: MSG benchmark. Light bar: the group's range; dark bar: its middle half "
                             "(25th to 75th percentile).", "Diamonds: indicators that need attention."))


def rug_spec(a, parent: str) -> dict:
    """'Tartan rug': every area inside ``parent`` (a force's CSPs) x every indicator, coloured by the peer
    judgement of each CSP against its own Most Similar Group, the value in each cell."""
    f, name = frames.rug(a, parent)
    f["value_text"] = [number(v, k) for v, k in zip(f["value"], f["kind"])]
    f["short"] = [short_label(x) for x in f["label"]]
    f["text_colour"] = [style.text_on(style.PEER[j]) for j in f["judgement"]]
    order = list(dict.fromkeys(f["short"]))
    x = F("short:N", sort=order, title=None, axis={"labelAngle": -50, "labelLimit": 180, "orient": "top"})
    y = F("area:N", title=None, axis={"labelLimit": 220})
    tooltip = [tip("area:N", "Area"), tip("label:N", "Indicator"), tip("value_text:N", "Value"),
               tip("judgement:N", "Against peers")]
    layers = [
        layer(mark("rect", stroke="#ffffff", strokeWidth=1), None, x=x, y=y, tooltip=tooltip,
              color=judgement_colour(f["judgement"], "Against its Most Similar Group")),
        layer(mark("text", fontSize=9), None, x=x, y=y, text=F("value_text:N"),
              color=F("text_colour:N", scale=None)),
    ]
    n = f["area_code"].nunique()
    worst = f[f["judgement"] == "worse"].groupby("area")["indicator"].size().sort_values(ascending=False)
    top = f"; most worse-than-peer indicators: {worst.index[0]} ({worst.iloc[0]})" if len(worst) else ""
    end = pd.Timestamp(f["period_end"].iloc[0])
    desc = (f"Grid of {n} areas in {name} by {len(order)} indicators, 12 months to {end:%b %Y}, each cell "
            f"coloured by the area's judgement against its own most similar areas{top}.")
    noun = frames.NOUN.get(a.level, (a.level, a.level + "s"))[0]
    return chart(layers, records(f.drop(columns=["period_end"])), width=max(360, 26 * len(order)), height=24 * n,
                 description=desc,
                 title=title(f"Every {noun} in {name} against its Most Similar Group, 12 months to {end:%b %Y}",
                             "Each cell: the value; colour: better, similar or worse than the area's own peers "
                             "(95% interval against the pooled MSG benchmark)."))


def why_peers_spec(a, area: str) -> dict:
    """For one area, each peer's squared distance broken down by characteristic (stacked), nearest first."""
    f, ctx = frames.why(a, area)
    tooltip = [tip("peer:N", "Peer"), tip("characteristic:N", "Characteristic"),
               tip("share:Q", "Share of the distance²", ".0%"), tip("distance:Q", "Distance", ".2f")]
    top = f.groupby("characteristic")["part"].sum().sort_values(ascending=False)
    desc = (f"Stacked bars for the {f['peer'].nunique()} peers of {ctx.where}, nearest first: each peer's squared "
            f"distance split by characteristic. Over the group the largest parts are "
            f"{', '.join(top.index[:3])}.")
    order = f.sort_values("rank")["peer"].drop_duplicates().tolist()
    bars = layer("bar", None,
                 x=F("part:Q", aggregate="sum", title="squared distance (sum of the characteristics' parts)"),
                 y=F("peer:N", sort=order, title=None, axis={"labelLimit": 220}),
                 color=F("characteristic:N", scale={"scheme": "tableau10"}, sort=list(top.index),
                         legend={"title": "Characteristic", "orient": "right"}),
                 order=F("part:Q", sort="descending"), tooltip=tooltip)
    return chart([bars], records(f), width=440, height=20 * f["peer"].nunique(), description=desc,
                 title=title(f"Why these peers: what separates {ctx.area_name} from {ctx.group}",
                             "Each bar: the peer's squared Euclidean distance on z-scores of the characteristics; "
                             "shorter is more similar."))
