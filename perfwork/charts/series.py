"""Charts of an area over time: trend against peers, SPC (Making Data Count), progress to a target, rank.

Each ``*_spec`` function takes an ``Assessment`` and returns a Vega-Lite spec (a dict); months without a value
are gaps (the line breaks), never zeros.
"""

from __future__ import annotations

import pandas as pd

from . import frames, style
from .comparison import WIDTH, legend, tip, title
from .style import number
from .vl import F2, F, chart, layer, mark, records

BREAK = "break-paths-show-domains"   # Vega-Lite: a missing value breaks the line instead of joining across it
SPC_WIDTH = WIDTH - 180              # room on the right for the variation and assurance icons
TREND_FIELDS = ["period_end", "value", "lower", "upper", "benchmark", "band_lower", "band_upper", "peer_judgement",
                "complete"]
MONTH = {"format": "%b %Y", "labelAngle": 0, "tickCount": 8}


def _month(name: str) -> dict:
    return F("period_end:T", title=name, axis=MONTH)


def trend_spec(a, area: str, indicator: str) -> dict:
    """The area's rolling-12-month value with its 95% interval, the MSG benchmark and the +/-1 SD band over the
    same months; incomplete windows are gaps."""
    s, ctx = frames.trend(a, area, indicator)
    kind = ctx.kind
    x = _month("12 months ending")
    tips = [tip("period_end:T", "12 months to", "%b %Y"), tip("value:Q", ctx.area_name, ",.2f"),
            tip("benchmark:Q", "MSG benchmark", ",.2f"), tip("peer_judgement:N", "Against peers")]
    layers = [
        layer(mark("area", color=style.BAND, opacity=0.9, invalid=BREAK), None, x=x,
              y=F("band_lower:Q", title=ctx.label), y2=F2("band_upper")),
        layer(mark("area", color=style.BLUE, opacity=0.18, invalid=BREAK), None, x=x, y=F("lower:Q"),
              y2=F2("upper")),
        layer(mark("line", color=style.INK, strokeDash=[5, 3], strokeWidth=1.5, invalid=BREAK), None, x=x,
              y=F("benchmark:Q"), tooltip=tips),
        layer(mark("line", color=style.BLUE, strokeWidth=2.5, invalid=BREAK,
                   point={"size": 18, "color": style.BLUE}), None, x=x, y=F("value:Q"), tooltip=tips),
    ]
    gaps = int((~s["complete"].astype(bool)).sum())
    have = s.dropna(subset=["value"])
    desc = (f"Line chart of {ctx.label.lower()} for {ctx.where}, 12 months ending "
            f"{s['period_end'].min():%b %Y} to {s['period_end'].max():%b %Y}, beside the benchmark of {ctx.group} "
            f"and its ±1 SD band. ")
    if len(have):
        first, last = have.iloc[0], have.iloc[-1]
        desc += (f"From {number(first['value'], kind)} ({first['period_end']:%b %Y}) to "
                 f"{number(last['value'], kind)} ({last['period_end']:%b %Y}); benchmark now "
                 f"{number(last['benchmark'], kind)}. ")
    desc += f"{gaps} window(s) without a complete 12 months are gaps." if gaps else "No gaps."
    return chart(layers, records(s[[c for c in TREND_FIELDS if c in s]]), width=WIDTH, height=260,
                 description=desc,
                 title=title(f"{ctx.label}: {ctx.area_name} over time against {ctx.group}",
                             "Blue: rolling 12 months with its 95% interval; dashed: MSG benchmark; grey: ±1 SD "
                             "band (descriptive).", "Gaps: 12-month windows touching a month without data "
                             "(never zero)."))


ICONS = {  # Making Data Count variation icons: words and colour
    "special_cause_concern": ("concern", style.VERMILLION), "special_cause_improvement": ("improvement", style.BLUE),
    "common_cause": ("common cause", style.GREY), "special_cause_neutral_high": ("neutral", style.PURPLE),
    "special_cause_neutral_low": ("neutral", style.PURPLE), "incomplete": ("no value this month", style.LIGHT)}


def _direction(r: dict) -> str:
    """'high' or 'low': which side of the mean the signal is on, read from the variation and polarity."""
    var = str(r.get("spc_variation") or "")
    if var.endswith("_high"):
        return "high"
    if var.endswith("_low"):
        return "low"
    concern = var == "special_cause_concern"
    return "high" if concern == (r.get("polarity") == "low_is_good") else "low"


def _icons(r: dict) -> list[dict]:
    var = str(r.get("spc_variation") or "common_cause")
    word, colour = ICONS.get(var, (var, style.GREY))
    letter = "" if var in ("common_cause", "incomplete") else ("H" if _direction(r) == "high" else "L")
    rule = f" ({str(r.get('spc_rule')).replace('_', ' ')})" if r.get("spc_rule") else ""
    rows = [{"i": 0, "letter": letter, "colour": colour, "text": f"Variation:\n{word}{rule}"}]
    if r.get("spc_assurance") in style.ASSURANCE:
        aw, ac, al = style.ASSURANCE[r["spc_assurance"]]
        rows.append({"i": 1, "letter": al, "colour": ac, "text": f"Assurance:\n{aw}"})
    return rows


def _icon_layers(icons: list[dict]) -> list[dict]:
    """The icons to the right of the plot, as in Making Data Count, each with its words beside it."""
    y = {"value": {"expr": "16 + 40 * datum.i"}}
    at = {"value": SPC_WIDTH + 24}
    return [layer(mark("circle", size=520, opacity=1), icons, x=at, y=y, color=F("colour:N", scale=None),
                  tooltip=[tip("text:N", "")]),
            layer(mark("text", color="#ffffff", fontWeight="bold", fontSize=13), icons, x=at, y=y,
                  text=F("letter:N")),
            layer(mark("text", align="left", fontSize=11, color=style.INK, lineBreak="\n"), icons,
                  x={"value": SPC_WIDTH + 44}, y=y, text=F("text:N"))]


def spc_spec(a, area: str, indicator: str, events: pd.DataFrame | None = None, target: float | None = None) -> dict:
    """Making Data Count XmR chart of the monthly values: points coloured by point type, the mean and process
    limits of each segment, rebase lines, an optional ``target`` line (on the monthly scale), the variation and
    assurance icons with their text, and ``events`` (a frame with ``date`` and ``label``, e.g. decisions) as
    rules with tooltips."""
    p, ctx = frames.spc(a, area, indicator)
    r = ctx.row
    x = _month("month")
    tips = [tip("period_end:T", "Month", "%b %Y"), tip("value:Q", "Value", ",.3f"), tip("point:N", "Point"),
            tip("special_cause_type:N", "Rule")]
    pts = records(p[["period_end", "value", "segment", "mean", "lower", "upper", "point", "point_type",
                     "special_cause_type"]])
    words = {style.SPC_WORDS[k]: v for k, v in style.SPC.items()}
    layers = [layer(mark("line", color=style.MUTED, strokeDash=[4, 3], strokeWidth=1, interpolate="step-after",
                         invalid=BREAK), pts, x=x, y=F(f"{col}:Q"), detail=F("segment:N"))
              for col in ("lower", "upper")]
    layers += [
        layer(mark("line", color=style.INK, strokeWidth=1.3, interpolate="step-after"), pts, x=x,
              y=F("mean:Q", title=f"{ctx.label} (month)"), detail=F("segment:N")),
        layer(mark("line", color="#9a9a9a", strokeWidth=1.2, invalid=BREAK), pts, x=x, y=F("value:Q")),
        layer(mark("point", filled=True, size=55), pts, x=x, y=F("value:Q"), tooltip=tips,
              color=F("point:N", scale=style.scale(words, style.SPC_ORDER, p["point"]), legend=legend("Point"))),
    ]
    starts = p.groupby("segment")["period_end"].min().iloc[1:]
    if len(starts):
        layers.append(layer(mark("rule", color=style.PURPLE, strokeDash=[2, 2]),
                            records(pd.DataFrame({"date": starts.to_numpy(), "label": "limits recalculated"})),
                            x=F("date:T"), tooltip=[tip("label:N", "Rebase")]))
    if target is not None:
        layers.append(layer(mark("rule", color=style.AMBER, strokeWidth=2),
                            [{"target": float(target), "label": f"target {number(target)}"}],
                            y=F("target:Q"), tooltip=[tip("label:N", "Target")]))
    if events is not None and len(events):
        ev = pd.DataFrame({"date": pd.to_datetime(events["date"]), "label": events["label"].astype(str)})
        layers.append(layer(mark("rule", color=style.INK, strokeWidth=1.5, strokeDash=[1, 2]), records(ev),
                            x=F("date:T"), tooltip=[tip("date:T", "Date", "%d %b %Y"), tip("label:N", "Decision")]))
    icons = _icons(r)
    layers += _icon_layers(icons)
    last = p.dropna(subset=["value"]).tail(1)
    lim = (f"mean {number(last['mean'].iloc[0])}, process limits {number(last['lower'].iloc[0])} to "
           f"{number(last['upper'].iloc[0])}. " if len(last) else "")
    desc = (f"SPC chart of monthly {ctx.label.lower()} for {ctx.where}, {p['period_end'].min():%b %Y} to "
            f"{p['period_end'].max():%b %Y}: {lim}" + "; ".join(i["text"].replace("\n", " ") for i in icons) +
            f". {int((p['point_type'] != 'common_cause').sum())} of {len(p)} points are special cause.")
    if events is not None and len(events):
        desc += f" {len(events)} decision(s) marked."
    return chart(layers, width=SPC_WIDTH, height=280, description=desc,
                 title=title(f"{ctx.label}: is {ctx.area_name}'s month-to-month variation usual?",
                             r.get("spc_method") or "XmR chart, NHS Making Data Count rules",
                             "Solid: mean; dashed: process limits; purple dotted: limits recalculated."))


def target_spec(a, area: str, indicator: str) -> dict:
    """Progress to a target: the baseline, the trajectory to the deadline, the rolling-12 actuals, the
    projection of the current trend and the RAG status (``targets.progress``)."""
    s, prog, ctx = frames.target(a, area, indicator)
    kind = ctx.kind
    status = str(prog.get("target_status") or "incomplete")
    x = _month("12 months ending")
    plan = records(pd.DataFrame({"period_end": [prog["baseline_end"], prog["deadline"]],
                                 "value": [prog["baseline_value"], prog["target_value"]],
                                 "what": ["baseline", "target"]}))
    proj = records(pd.DataFrame({"period_end": [prog["period_end"], prog["deadline"]],
                                 "value": [prog["value"], prog["projection"]], "what": ["latest", "projection"]}))
    tips = [tip("what:N", ""), tip("period_end:T", "12 months to", "%b %Y"), tip("value:Q", "Value", ",.2f")]
    layers = [
        layer(mark("line", color=style.BLUE, strokeWidth=2.5, invalid=BREAK), records(s), x=x,
              y=F("value:Q", title=ctx.label, scale={"zero": False}),
              tooltip=[tip("period_end:T", "12 months to", "%b %Y"), tip("value:Q", "Actual", ",.2f")]),
        layer(mark("line", color=style.INK, strokeWidth=1.5, point={"filled": True, "size": 70, "color": style.INK}),
              plan, x=x, y=F("value:Q"), tooltip=tips),
        layer(mark("line", color=style.RAG[status], strokeDash=[6, 4], strokeWidth=2), proj, x=x, y=F("value:Q"),
              tooltip=tips),
        layer(mark("point", filled=True, size=260, shape="diamond", stroke=style.AREA), [dict(proj[0], status=status)],
              x=x, y=F("value:Q"), color=F("status:N", scale=style.scale(style.RAG, style.RAG_ORDER, [status]),
                                          legend=legend("Target status")),
              tooltip=[tip("status:N", "Status"), tip("value:Q", "Latest", ",.2f")]),
    ]
    desc = (f"Target chart for {ctx.label.lower()} in {ctx.where}: {ctx.row.get('target')}. Baseline "
            f"{number(prog['baseline_value'], kind)}, target {number(prog['target_value'], kind)} by "
            f"{prog['deadline']:%b %Y}; latest {number(prog['value'], kind)} against a trajectory of "
            f"{number(prog['trajectory'], kind)}; the current trend projects {number(prog['projection'], kind)}. "
            f"Status: {status}.")
    return chart(layers, width=WIDTH, height=260, description=desc,
                 title=title(f"{ctx.label}: {ctx.area_name}'s target — {status}", str(ctx.row.get("target") or ""),
                             "Blue: actual (rolling 12 months); black: baseline to target; dashed: the last 12 "
                             "months' change continued to the deadline."))


def rank_spec(a, area: str, indicator: str) -> dict:
    """The area's rank in its group at every rolling-12 period end (1 = best; 1 = highest for polarity none),
    with the quarters of the group; windows without a value are gaps."""
    s, ctx = frames.trend(a, area, indicator)
    s = s.assign(rank=s["group_rank"].astype("Float64").where(s["value"].notna()).astype(float))
    size = int(s["group_size"].max()) if s["group_size"].notna().any() else ctx.k + 1
    y = F("rank:Q", title="rank in the group (1 = best)" if ctx.polarity != "none" else "rank (1 = highest)",
          scale={"domain": [1, size], "reverse": True, "nice": False, "zero": False},
          axis={"tickMinStep": 1, "format": "d"})
    quarters = [{"rank": size * q / 4 + 0.5} for q in (1, 2, 3)]
    layers = [
        layer(mark("rule", color=style.GREY, strokeDash=[3, 3]), quarters, y=F("rank:Q")),
        layer(mark("line", color=style.BLUE, strokeWidth=2, invalid=BREAK, point={"size": 24, "color": style.BLUE}),
              records(s[["period_end", "rank", "group_size", "peer_judgement"]]), x=_month("12 months ending"),
              y=y, tooltip=[tip("period_end:T", "12 months to", "%b %Y"), tip("rank:Q", "Rank"),
                            tip("group_size:Q", "of"), tip("peer_judgement:N", "Against peers")]),
    ]
    have = s.dropna(subset=["rank"])
    desc = (f"Line chart of {ctx.area_name}'s rank for {ctx.label.lower()} among {ctx.group} plus itself "
            f"({size} areas), 12 months ending {s['period_end'].min():%b %Y} to {s['period_end'].max():%b %Y}"
            + (f": from {int(have['rank'].iloc[0])} to {int(have['rank'].iloc[-1])}." if len(have) else "."))
    return chart(layers, width=WIDTH, height=220, description=desc,
                 title=title(f"{ctx.label}: {ctx.area_name}'s rank among {ctx.group} over time",
                             "1 = best given the indicator's polarity; dotted lines: quarters of the group."))
