"""Charts of an area over time: trend against peers, SPC (Making Data Count) and progress to a target.

Each function takes an ``Assessment`` and returns an ``alt.Chart``; months without a value are gaps (the line
breaks), never zeros.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from . import frames, style
from .comparison import WIDTH, _legend, _title
from .style import ch, number

BREAK = "break-paths-show-domains"   # Vega-Lite: a missing value breaks the line instead of joining across it
SPC_WIDTH = WIDTH - 180            # room on the right for the variation and assurance icons
TREND_FIELDS = ["period_end", "value", "lower", "upper", "benchmark", "band_lower", "band_upper", "peer_judgement",
                "complete"]
MONTH = alt.Axis(format="%b %Y", labelAngle=0, tickCount=8)


def trend_chart(a, area: str, indicator: str) -> alt.LayerChart:
    """The area's rolling-12-month value with its 95% interval, the MSG benchmark and the +/-1 SD band over the
    same months; incomplete windows are gaps."""
    s, ctx = frames.trend(a, area, indicator)
    kind = ctx.kind
    s = s.assign(series=ctx.area_name)
    x = ch(alt.X, "period_end:T", title="12 months ending", axis=MONTH)
    tip = [ch(alt.Tooltip, "period_end:T", title="12 months to", format="%b %Y"),
           ch(alt.Tooltip, "value:Q", title=ctx.area_name, format=",.2f"),
           ch(alt.Tooltip, "benchmark:Q", title="MSG benchmark", format=",.2f"),
           ch(alt.Tooltip, "peer_judgement:N", title="Against peers")]
    band = alt.Chart().mark_area(color=style.BAND, opacity=0.9, invalid=BREAK).encode(
        x, ch(alt.Y, "band_lower:Q", title=ctx.label), ch(alt.Y2, "band_upper:Q"))
    ci = alt.Chart().mark_area(color=style.BLUE, opacity=0.18, invalid=BREAK).encode(
        x, ch(alt.Y, "lower:Q"), ch(alt.Y2, "upper:Q"))
    bench = alt.Chart().mark_line(color=style.INK, strokeDash=[5, 3], strokeWidth=1.5, invalid=BREAK).encode(
        x, ch(alt.Y, "benchmark:Q"), tooltip=tip)
    line = alt.Chart().mark_line(color=style.BLUE, strokeWidth=2.5, invalid=BREAK, point=alt.OverlayMarkDef(
        size=18, color=style.BLUE)).encode(x, ch(alt.Y, "value:Q"), tooltip=tip)
    gaps = int((~s["complete"].astype(bool)).sum())
    last = s.dropna(subset=["value"]).tail(1)
    first = s.dropna(subset=["value"]).head(1)
    desc = (f"Line chart of {ctx.label.lower()} for {ctx.where}, 12 months ending "
            f"{s['period_end'].min():%b %Y} to {s['period_end'].max():%b %Y}, beside the benchmark of {ctx.group} "
            f"and its ±1 SD band. ")
    if len(last):
        desc += (f"From {number(first['value'].iloc[0], kind)} ({first['period_end'].iloc[0]:%b %Y}) to "
                 f"{number(last['value'].iloc[0], kind)} ({last['period_end'].iloc[0]:%b %Y}); benchmark now "
                 f"{number(last['benchmark'].iloc[0], kind)}. ")
    desc += f"{gaps} window(s) without a complete 12 months are gaps." if gaps else "No gaps."
    return alt.layer(band, ci, bench, line, data=s[[c for c in TREND_FIELDS if c in s]]).properties(
        width=WIDTH, height=260, description=desc,
        title=_title(f"{ctx.label}: {ctx.area_name} over time against {ctx.group}",
                     "Blue: rolling 12 months with its 95% interval; dashed: MSG benchmark; grey: ±1 SD band "
                     "(descriptive).", "Gaps: 12-month windows touching a month without data (never zero)."))


ICONS = {  # Making Data Count variation icons: words and colour
    "special_cause_concern": ("concern", style.VERMILLION), "special_cause_improvement": ("improvement", style.BLUE),
    "common_cause": ("common cause", style.GREY), "special_cause_neutral_high": ("neutral", style.PURPLE),
    "special_cause_neutral_low": ("neutral", style.PURPLE), "incomplete": ("no value this month", style.LIGHT)}


def _icons(r: dict) -> pd.DataFrame:
    var = r.get("spc_variation") or "common_cause"
    word, colour = ICONS.get(var, (str(var), style.GREY))
    letter = "" if var in ("common_cause", "incomplete") else ("H" if _direction(r) == "high" else "L")
    rows = [{"i": 0, "letter": letter, "colour": colour, "text": f"Variation:\n{word}" + (
        f" ({str(r.get('spc_rule')).replace('_', ' ')})" if r.get("spc_rule") else "")}]
    if r.get("spc_assurance") in style.ASSURANCE:
        aw, ac, letter = style.ASSURANCE[r["spc_assurance"]]
        rows.append({"i": 1, "letter": letter, "colour": ac, "text": f"Assurance:\n{aw}"})
    return pd.DataFrame(rows)


def _direction(r: dict) -> str:
    """'high' or 'low': which side of the mean the signal is on, read from the variation and polarity."""
    var = str(r.get("spc_variation") or "")
    if var.endswith("_high"):
        return "high"
    if var.endswith("_low"):
        return "low"
    concern = var == "special_cause_concern"
    low_good = r.get("polarity") == "low_is_good"
    return "high" if concern == low_good else "low"


def spc_chart(a, area: str, indicator: str, events: pd.DataFrame | None = None,
              target: float | None = None) -> alt.LayerChart:
    """Making Data Count XmR chart of the monthly values: points coloured by point type, the mean and process
    limits of each segment, rebase lines, an optional ``target`` line (on the monthly scale), the variation and
    assurance icons with their text, and ``events`` (a frame with ``date`` and ``label``, e.g. decisions) as
    rules with tooltips."""
    p, ctx = frames.spc(a, area, indicator)
    r = ctx.row
    x = ch(alt.X, "period_end:T", title="month", axis=MONTH)
    tip = [ch(alt.Tooltip, "period_end:T", title="Month", format="%b %Y"),
           ch(alt.Tooltip, "value:Q", title="Value", format=",.3f"), ch(alt.Tooltip, "point:N", title="Point"),
           ch(alt.Tooltip, "special_cause_type:N", title="Rule")]
    seg = alt.Chart(p[["period_end", "value", "segment", "mean", "lower", "upper", "point", "point_type",
                       "special_cause_type"]])
    limits = [seg.mark_line(color=style.MUTED, strokeDash=[4, 3], strokeWidth=1, interpolate="step-after",
                            invalid=BREAK).encode(x, ch(alt.Y, f"{col}:Q"), ch(alt.Detail, "segment:N"))
              for col in ("lower", "upper")]
    mean = seg.mark_line(color=style.INK, strokeWidth=1.3, interpolate="step-after").encode(
        x, ch(alt.Y, "mean:Q", title=f"{ctx.label} (month)"), ch(alt.Detail, "segment:N"))
    line = seg.mark_line(color="#9a9a9a", strokeWidth=1.2, invalid=BREAK).encode(x, ch(alt.Y, "value:Q"))
    pts = seg.mark_point(filled=True, size=55).encode(
        x, ch(alt.Y, "value:Q"), tooltip=tip,
        color=ch(alt.Color, "point:N", scale=style.scale({style.SPC_WORDS[k]: v for k, v in style.SPC.items()},
                                                        style.SPC_ORDER, p["point"]), legend=_legend("Point")))
    layers = [*limits, mean, line, pts]
    starts = p.groupby("segment")["period_end"].min().iloc[1:]
    if len(starts):
        layers.append(alt.Chart(pd.DataFrame({"date": starts.to_numpy(), "label": "limits recalculated"})).mark_rule(
            color=style.PURPLE, strokeDash=[2, 2]).encode(
            ch(alt.X, "date:T"), tooltip=[ch(alt.Tooltip, "label:N", title="Rebase")]))
    if target is not None:
        layers.append(alt.Chart(pd.DataFrame({"target": [target], "label": [f"target {number(target)}"]})).mark_rule(
            color=style.AMBER, strokeWidth=2).encode(
            ch(alt.Y, "target:Q"), tooltip=[ch(alt.Tooltip, "label:N", title="Target")]))
    if events is not None and len(events):
        ev = pd.DataFrame({"date": pd.to_datetime(events["date"]), "label": events["label"].astype(str)})
        layers.append(alt.Chart(ev).mark_rule(color=style.INK, strokeWidth=1.5, strokeDash=[1, 2]).encode(
            ch(alt.X, "date:T"), tooltip=[ch(alt.Tooltip, "date:T", title="Date", format="%d %b %Y"),
                                          ch(alt.Tooltip, "label:N", title="Decision")]))
    icons = _icons(r)
    # the icons sit to the right of the plot, as in Making Data Count, each with its words beside it
    icon_y = alt.YValue(value=alt.ExprRef(expr="16 + 40 * datum.i"))
    layers.append(alt.Chart(icons).mark_circle(size=520, opacity=1).encode(
        alt.XValue(value=SPC_WIDTH + 24), icon_y, ch(alt.Color, "colour:N", scale=None),
        tooltip=[ch(alt.Tooltip, "text:N", title="")]))
    layers.append(alt.Chart(icons).mark_text(color="#ffffff", fontWeight="bold", fontSize=13).encode(
        alt.XValue(value=SPC_WIDTH + 24), icon_y, ch(alt.Text, "letter:N")))
    layers.append(alt.Chart(icons).mark_text(align="left", fontSize=11, color=style.INK, lineBreak="\n").encode(
        alt.XValue(value=SPC_WIDTH + 44), icon_y, ch(alt.Text, "text:N")))
    last = p.dropna(subset=["value"]).tail(1)
    desc = (f"SPC chart of monthly {ctx.label.lower()} for {ctx.where}, {p['period_end'].min():%b %Y} to "
            f"{p['period_end'].max():%b %Y}: mean {number(last['mean'].iloc[0]) if len(last) else ''}, process "
            f"limits {number(last['lower'].iloc[0]) if len(last) else ''} to "
            f"{number(last['upper'].iloc[0]) if len(last) else ''}. " + "; ".join(icons["text"]) +
            f". {int((p['point_type'] != 'common_cause').sum())} of {len(p)} points are special cause.")
    if events is not None and len(events):
        desc += f" {len(events)} decision(s) marked."
    return alt.layer(*layers).properties(
        width=SPC_WIDTH, height=280, description=desc,
        title=_title(f"{ctx.label}: is {ctx.area_name}'s month-to-month variation usual?",
                     r.get("spc_method") or "XmR chart, NHS Making Data Count rules",
                     "Solid: mean; dashed: process limits; purple dotted: limits recalculated."))


def target_chart(a, area: str, indicator: str) -> alt.LayerChart:
    """Progress to a target: the baseline, the trajectory to the deadline, the rolling-12 actuals, the
    projection of the current trend and the RAG status (``targets.progress``)."""
    s, prog, ctx = frames.target(a, area, indicator)
    kind = ctx.kind
    status = prog.get("target_status") or "incomplete"
    x = ch(alt.X, "period_end:T", title="12 months ending", axis=MONTH)
    plan = pd.DataFrame({"period_end": [prog["baseline_end"], prog["deadline"]],
                         "value": [prog["baseline_value"], prog["target_value"]], "what": ["baseline", "target"]})
    proj = pd.DataFrame({"period_end": [prog["period_end"], prog["deadline"]],
                         "value": [prog["value"], prog["projection"]], "what": ["latest", "projection"]})
    y = ch(alt.Y, "value:Q")
    tip = [ch(alt.Tooltip, "what:N", title=""), ch(alt.Tooltip, "period_end:T", title="12 months to", format="%b %Y"),
           ch(alt.Tooltip, "value:Q", title="Value", format=",.2f")]
    actual = alt.Chart(s).mark_line(color=style.BLUE, strokeWidth=2.5, invalid=BREAK).encode(
        x, ch(alt.Y, "value:Q", title=ctx.label, scale=alt.Scale(zero=False)),
        tooltip=[ch(alt.Tooltip, "period_end:T", title="12 months to", format="%b %Y"),
                 ch(alt.Tooltip, "value:Q", title="Actual", format=",.2f")])
    traj = alt.Chart(plan).mark_line(color=style.INK, strokeWidth=1.5, point=alt.OverlayMarkDef(
        filled=True, size=70, color=style.INK)).encode(x, y, tooltip=tip)
    ahead = alt.Chart(proj).mark_line(color=style.RAG[status], strokeDash=[6, 4], strokeWidth=2).encode(
        x, y, tooltip=tip)
    now = alt.Chart(proj.head(1).assign(status=status)).mark_point(
        filled=True, size=260, shape="diamond", stroke=style.AREA).encode(
        x, y, ch(alt.Color, "status:N", scale=style.scale(style.RAG, style.RAG_ORDER, [status]),
                 legend=_legend("Target status")),
        tooltip=[ch(alt.Tooltip, "status:N", title="Status"),
                 ch(alt.Tooltip, "value:Q", title="Latest", format=",.2f")])
    desc = (f"Target chart for {ctx.label.lower()} in {ctx.where}: {ctx.row.get('target')}. Baseline "
            f"{number(prog['baseline_value'], kind)}, target {number(prog['target_value'], kind)} by "
            f"{prog['deadline']:%b %Y}; latest {number(prog['value'], kind)} against a trajectory of "
            f"{number(prog['trajectory'], kind)}; the current trend projects {number(prog['projection'], kind)}. "
            f"Status: {status}.")
    return alt.layer(actual, traj, ahead, now).properties(
        width=WIDTH, height=260, description=desc,
        title=_title(f"{ctx.label}: {ctx.area_name}'s target — {status}", str(ctx.row.get("target") or ""),
                     "Blue: actual (rolling 12 months); black: baseline to target; dashed: the last 12 months' "
                     "change continued to the deadline."))


def rank_chart(a, area: str, indicator: str) -> alt.LayerChart:
    """The area's rank in its group at every rolling-12 period end (1 = best; 1 = highest for polarity none),
    with the quartile boundaries; windows without a value are gaps."""
    s, ctx = frames.trend(a, area, indicator)
    s = s.assign(rank=s["group_rank"].astype("Float64").where(s["value"].notna()).astype(float))
    size = int(s["group_size"].max()) if s["group_size"].notna().any() else ctx.k + 1
    x = ch(alt.X, "period_end:T", title="12 months ending", axis=MONTH)
    y = ch(alt.Y, "rank:Q", title="rank in the group (1 = best)" if ctx.polarity != "none" else "rank (1 = highest)",
              scale=alt.Scale(domain=[size, 1], nice=False), axis=alt.Axis(tickMinStep=1, format="d"))
    quart = pd.DataFrame({"rank": [size * q / 4 + 0.5 for q in (1, 2, 3)],
                          "label": ["best quarter above", "middle", "worst quarter below"]})
    rules = alt.Chart(quart).mark_rule(color=style.LIGHT, strokeDash=[3, 3]).encode(ch(alt.Y, "rank:Q"))
    line = alt.Chart(s[["period_end", "rank", "group_size", "peer_judgement"]]).mark_line(
        color=style.BLUE, strokeWidth=2, invalid=BREAK, point=alt.OverlayMarkDef(
        size=24, color=style.BLUE)).encode(
        x, y, tooltip=[ch(alt.Tooltip, "period_end:T", title="12 months to", format="%b %Y"),
                       ch(alt.Tooltip, "rank:Q", title="Rank"), ch(alt.Tooltip, "group_size:Q", title="of"),
                       ch(alt.Tooltip, "peer_judgement:N", title="Against peers")])
    have = s.dropna(subset=["rank"])
    desc = (f"Line chart of {ctx.area_name}'s rank for {ctx.label.lower()} among {ctx.group} plus itself "
            f"({size} areas), 12 months ending {s['period_end'].min():%b %Y} to {s['period_end'].max():%b %Y}"
            + (f": from {int(have['rank'].iloc[0])} to {int(have['rank'].iloc[-1])}." if len(have) else "."))
    return alt.layer(rules, line).properties(
        width=WIDTH, height=220, description=desc,
        title=_title(f"{ctx.label}: {ctx.area_name}'s rank among {ctx.group} over time",
                     "1 = best given the indicator's polarity; dotted lines: quarters of the group."))
