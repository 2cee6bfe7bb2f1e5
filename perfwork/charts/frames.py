"""The frames behind each chart, read from an ``Assessment``: lookups and reshaping only.

Every number a chart draws comes from the assessment (values, intervals, benchmarks, bands, judgements, SPC
points, target progress) or from ``perfwork.stats`` / ``perfwork.peers`` (funnel limits and significance,
group spread); nothing here estimates anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import peers as _peers
from .. import stats as _stats
from .. import targets as _targets
from . import style

NOUN = {"csp": ("CSP", "CSPs"), "force": ("force", "forces")}


@dataclass
class Context:
    """What a chart's title and description say: the area, the indicator and the comparison."""

    area_code: str
    area_name: str
    level: str
    label: str = ""
    kind: str = "rate"
    polarity: str = "none"
    period_end: pd.Timestamp | None = None
    k: int = 0
    row: dict = field(default_factory=dict)

    @property
    def period(self) -> str:
        return f"12 months to {self.period_end:%b %Y}" if self.period_end is not None else ""

    @property
    def group(self) -> str:
        noun = NOUN.get(self.level, (self.level, self.level + "s"))[1]
        return f"its {self.k} most similar {noun}"

    @property
    def where(self) -> str:
        return f"{self.area_name} ({self.area_code})"


def row(a, area: str, indicator: str) -> dict:
    """The assessment's row for one area and indicator, as a dict."""
    rows = a.for_area(area)
    hit = rows[rows["indicator"] == indicator]
    if hit.empty:
        raise KeyError(f"{indicator!r} is not an indicator of this assessment ({a.framework.name})")
    return hit.iloc[0].to_dict()


def context(a, area: str, indicator: str | None = None) -> Context:
    if indicator is None:
        r = a.for_area(area).iloc[0].to_dict()
        r.update(label="", kind="rate", polarity="none")
    else:
        r = row(a, area, indicator)
    k = int(a.peers(r["area_code"])["peer_code"].size)
    return Context(r["area_code"], r["area_name"], r["level"], r["label"], r["kind"], r["polarity"],
                   pd.Timestamp(r["period_end"]), k, r)


def _at_end(a, indicator: str, end) -> pd.DataFrame:
    t = a.table
    return t[(t["indicator"] == indicator) & (t["period_end"] == end)]


def _reading(rows: pd.DataFrame, benchmark: float, kind: str, polarity: str, mult: float) -> list[str]:
    """Each row's significance against one benchmark (``stats.funnel_significance``) as a legend word."""
    ok = rows["numerator"].notna() & rows["denominator"].notna() & (rows["denominator"] > 0)
    out = ["not judged"] * len(rows)
    if ok.any() and np.isfinite(benchmark):
        sub = rows[ok]
        fk = "proportion" if kind == "proportion" else "rate"
        den = sub["denominator"] if kind != "count" else pd.Series(1.0, index=sub.index)
        mult = 1.0 if kind == "count" else mult
        sig = _stats.funnel_significance(sub["numerator"].to_numpy(float), den.to_numpy(float), kind=fk,
                                         multiplier=mult, benchmark=benchmark, polarity=polarity)
        for pos, r in zip(np.flatnonzero(ok.to_numpy()), sig["reading"].astype(object)):
            out[pos] = style.peer_word(r)
    return out


def peer(a, area: str, indicator: str) -> tuple[pd.DataFrame, Context]:
    """One bar per group member (the area and its peers) at the period end: value, 95% limits, rank order and
    significance against the area's MSG benchmark."""
    ctx = context(a, area, indicator)
    members = [ctx.area_code] + a.peers(ctx.area_code)["peer_code"].tolist()
    rows = _at_end(a, indicator, ctx.period_end).set_index("area_code").reindex(members).reset_index()
    bm = float(ctx.row["benchmark"]) if pd.notna(ctx.row["benchmark"]) else float("nan")
    reading = _reading(rows, bm, ctx.kind, ctx.polarity, a.framework.get(indicator).multiplier)
    reading[0] = style.peer_word(ctx.row.get("peer_judgement"))   # the area: exactly the assessment's word
    names = a.areas.set_index("area_code")["area_name"]
    f = pd.DataFrame({"area_code": members, "area_name": names.reindex(members).to_numpy(),
                      "value": rows["value"].to_numpy(float), "lower": rows["lower"].to_numpy(float),
                      "upper": rows["upper"].to_numpy(float), "judgement": reading,
                      "is_area": [c == ctx.area_code for c in members]})
    low_good = ctx.polarity == "low_is_good"
    f = f.sort_values("value", ascending=low_good, na_position="last", kind="stable").reset_index(drop=True)
    f["position"] = np.arange(1, len(f) + 1)
    f["name"] = f["area_name"].astype(str) + np.where(f["is_area"], " (this area)", "")
    return f, ctx


def trend(a, area: str, indicator: str) -> tuple[pd.DataFrame, Context]:
    """The rolling-12 series beside the MSG benchmark and band (``Assessment.series``); incomplete windows
    keep their row with no value."""
    ctx = context(a, area, indicator)
    s = a.series(ctx.area_code, indicator).copy()
    s.loc[~s["complete"].astype(bool), ["value", "lower", "upper"]] = np.nan
    return s, ctx


def funnel(a, area: str, indicator: str, scope: str = "level") -> tuple[pd.DataFrame, pd.DataFrame, Context]:
    """Points (every area of the level, or the group with ``scope="msg"``) and funnel limits at 95% and 99.8%
    around the benchmark (the level's pooled value, or the area's MSG benchmark) from ``stats.funnel_limits``."""
    if scope not in ("level", "msg"):
        raise ValueError(f"scope {scope!r}: expected 'level' or 'msg'")
    ctx = context(a, area, indicator)
    if ctx.kind not in ("rate", "proportion"):
        raise ValueError(f"{indicator}: a funnel plot needs a rate or a proportion, not a {ctx.kind}")
    pts = _at_end(a, indicator, ctx.period_end)
    group = set(a.peers(ctx.area_code)["peer_code"])
    if scope == "msg":
        pts = pts[pts["area_code"].isin(group | {ctx.area_code})]
    pts = pts[pts["value"].notna() & (pts["denominator"] > 0)].reset_index(drop=True)
    mult = float(a.framework.get(indicator).multiplier)
    od = a.options.get("overdispersion", "none")
    bm = float(ctx.row["benchmark"]) if scope == "msg" else None
    den = pts["denominator"].to_numpy(float)
    grid = np.geomspace(den.min() * 0.9, den.max() * 1.1, 80)
    lim = _stats.funnel_limits(pts["numerator"].to_numpy(float), den, kind=ctx.kind, multiplier=mult,
                               benchmark=bm, at=grid, overdispersion=od)
    centre = float(lim.attrs["benchmark"])
    f = pd.DataFrame({"area_code": pts["area_code"], "area_name": pts["area_name"], "value": pts["value"],
                      "denominator": den, "judgement": _reading(pts, centre, ctx.kind, ctx.polarity, mult)})
    f["role"] = np.where(f["area_code"] == ctx.area_code, "this area",
                         np.where(f["area_code"].isin(group), "peer", "other"))
    lim.attrs["scope"] = scope
    return f, lim, ctx


def spc(a, area: str, indicator: str) -> tuple[pd.DataFrame, Context]:
    """The XmR points (``Assessment.spc``) with the point type in words."""
    ctx = context(a, area, indicator)
    p = a.spc(ctx.area_code, indicator).copy()
    p["point"] = p["point_type"].map(style.SPC_WORDS).fillna("common cause")
    return p, ctx


def target(a, area: str, indicator: str) -> tuple[pd.DataFrame, dict, Context]:
    """The rolling-12 actuals and the target's progress at the period end (``targets.progress``): baseline,
    target value, deadline, trajectory, projection and RAG."""
    ctx = context(a, area, indicator)
    tg = a.targets
    if tg is None or not ctx.row.get("target"):
        raise KeyError(f"{ctx.where} has no target for {indicator}")
    tg = tg[(tg["area_code"] == ctx.area_code) & (tg["indicator"] == indicator)]
    r12 = a.values["rolling12"]
    mine = r12[(r12["area_code"] == ctx.area_code) & (r12["indicator"] == indicator)]
    prog = _targets.progress(mine, tg, period_end=ctx.period_end).iloc[0].to_dict()
    s = trend(a, area, indicator)[0][["period_end", "value"]]
    return s, prog, ctx


SPINE_COLUMNS = ["indicator", "label", "domain", "x", "range_lo", "range_hi", "iqr_lo", "iqr_hi", "value", "benchmark",
                 "min", "max", "q25", "q75", "kind", "judgement", "exception"]


def spine(a, area: str) -> tuple[pd.DataFrame, Context]:
    """Every indicator for one area against its group's range and quartiles (``peers.spread``), each row scaled
    so the benchmark is at the centre and the further extreme at +/-1, better to the right (higher to the right
    for polarity none)."""
    rows = a.for_area(area)
    ctx = context(a, area)
    members = [ctx.area_code] + a.peers(ctx.area_code)["peer_code"].tolist()
    t = a.table[a.table["period_end"] == ctx.period_end]
    sp = _peers.spread(t, members).set_index("indicator")
    out = []
    for _, r in rows.iterrows():
        s = sp.loc[r["indicator"]] if r["indicator"] in sp.index else None
        bm = r["benchmark"]
        if s is None or pd.isna(bm):
            continue
        half = max(abs(s["max"] - bm), abs(s["min"] - bm)) or 1.0
        sign = -1.0 if r["polarity"] == "low_is_good" else 1.0
        pos = {k: sign * (s[k] - bm) / half for k in ("min", "q25", "q75", "max")}
        lo_r, hi_r = sorted((pos["min"], pos["max"])), sorted((pos["q25"], pos["q75"]))
        out.append({"indicator": r["indicator"], "label": r["label"], "domain": r["domain"],
                    "x": sign * (r["value"] - bm) / half if pd.notna(r["value"]) else np.nan,
                    "range_lo": lo_r[0], "range_hi": lo_r[1], "iqr_lo": hi_r[0], "iqr_hi": hi_r[1],
                    "value": r["value"], "benchmark": bm, "min": s["min"], "max": s["max"], "q25": s["q25"],
                    "q75": s["q75"], "kind": r["kind"], "judgement": style.peer_word(r["peer_judgement"]),
                    "exception": bool(r["exception"])})
    # no benchmark at all (e.g. too few peers with data): an empty chart, not a missing column
    return pd.DataFrame(out, columns=SPINE_COLUMNS), ctx


def rug(a, parent: str) -> tuple[pd.DataFrame, str]:
    """Every area inside ``parent`` (a force's CSPs) x every indicator, with its peer judgement."""
    prow = a.dataset.area(parent)
    codes = a.areas.loc[a.areas["parent_code"] == prow["area_code"], "area_code"]
    t = a.table[a.table["area_code"].isin(set(codes)) & (a.table["period_end"] == a.table["period_end"].max())]
    if t.empty:
        raise KeyError(f"no {a.level}s of this assessment lie in {prow['area_code']} ({prow['area_name']})")
    f = t[["area_code", "area_name", "indicator", "label", "domain", "value", "kind", "benchmark",
           "peer_judgement", "exception", "period_end"]].copy()
    f["judgement"] = [style.peer_word(j) for j in f["peer_judgement"]]
    f["area"] = f["area_name"].astype(str) + " (" + f["area_code"].astype(str) + ")"
    f = f.drop(columns="peer_judgement")
    return f.reset_index(drop=True), str(prow["area_name"])


def why(a, area: str) -> tuple[pd.DataFrame, Context]:
    """Each peer's squared distance broken down by characteristic (``peers.explain`` shares x distance^2)."""
    ctx = context(a, area)
    ex = _peers.explain(a.groups, ctx.area_code)
    ex.attrs = {}   # the group summary frame rides in attrs; reshaping doesn't need it
    shares = [c for c in ex.columns if c.startswith("share_")]
    if not shares:
        raise KeyError(f"{ctx.where}: the peer groups carry no characteristics (loaded from a file)")
    long = ex.melt(id_vars=["rank", "peer_code", "peer_name", "distance"], value_vars=shares,
                   var_name="characteristic", value_name="share")
    long["characteristic"] = long["characteristic"].str.removeprefix("share_").str.replace("_", " ")
    long["part"] = long["share"] * long["distance"] ** 2
    long["peer"] = long["rank"].astype(int).astype(str) + ". " + long["peer_name"].astype(str)
    return long, ctx
