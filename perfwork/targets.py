"""Targets, trajectories and closing the gap to peers.

A target (METHODS §5) is a baseline period, a direction, a percentage change (or an absolute level) and a
deadline, e.g. "reduce burglary by 10% from 2023/24 by 2025/26". Targets live in YAML files, one file per
area or partnership plan, in ``parameters/targets/`` (``load_targets("demo")`` reads them all) or anywhere::

    area: E22000003                 # the area the targets belong to (or give 'area' on each target)
    title: Community Safety Plan 2024-26
    targets:
      - indicator: burglary          # an indicator id of the framework
        baseline: 2023/24            # a financial year, or 'YYYY-MM' for the 12 months ending that month
        direction: reduce            # reduce | increase
        change_pct: 10               # percent change from the baseline ... or 'level: 8.5' (indicator units)
        deadline: 2025/26            # a financial year (its March) or 'YYYY-MM'
        tolerance_pct: 5             # optional (default 5): how close to the trajectory is "at risk"

Progress (``progress``) is judged on rolling 12-month values:

- baseline value = the 12 months ending the baseline's last month (a financial year's value);
- target value = baseline x (1 -/+ change_pct / 100), or the level;
- trajectory: a straight line from the baseline value (at the baseline's last month) to the target value (at
  the deadline), read at the latest month (a level the baseline already meets is held flat);
- projection: the current trend continued to the deadline, i.e. the latest value plus its change over the last
  12 months, pro rata per month (``monthly_change`` = (value - value 12 months before) / 12);
- RAG rule (``RAG_RULE``): on track when the latest value is at or better than the trajectory; at risk when
  it is worse but within tolerance_pct of the trajectory or the projection reaches the target by the deadline;
  off track otherwise. "not started" before the baseline ends, "incomplete" when the latest 12 months touch a
  missing month or the baseline cannot be computed.

Closing the gap to peers (``gap_closing``, METHODS §5): the distance to the MSG benchmark (and to the group's
best quartile) and, at the current monthly rate of change, the months it would take to close it ("not closing"
when the trend runs the other way).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from . import _paths, periods, vocab
from .dataset import DataError
from .frames import polarity_sign
from .vocab import TargetStatus as S

TARGET_DIR = _paths.shipped_parameters() / "targets"  # the demo targets; a project's own come first (_paths)
DIRECTIONS = ("reduce", "increase")
DEFAULT_TOLERANCE = 5.0
RAG = tuple(s.value for s in vocab.RAG)
RAG_RULE = ("on track: latest rolling 12 months at or better than the trajectory; at risk: worse than the "
            "trajectory but within {tol} of it, or the current trend (last 12 months' change, continued) reaches "
            "the target by the deadline; off track: otherwise")
TARGET_COLUMNS = ("target_id", "area_code", "indicator", "baseline", "baseline_end", "direction", "change_pct",
                  "level", "deadline", "tolerance_pct", "description", "source")
PROGRESS_COLUMNS = TARGET_COLUMNS + ("period_end", "baseline_value", "target_value", "trajectory", "value",
                                     "monthly_change", "projection", "months_left", "target_status", "target_gap",
                                     "target_rule")
_KEYS = {"indicator", "area", "area_code", "baseline", "direction", "change_pct", "level", "deadline",
         "tolerance_pct", "description", "id"}


class TargetError(DataError):
    """A target file that does not say what perfwork needs; the message names the file, key and what was expected."""


# ---------------------------------------------------------------------------------------------------- load
def parse_period_end(text, where: str, key: str) -> tuple[pd.Timestamp, str]:
    """A target's baseline or deadline (``periods.parse``: 'YYYY/YY' financial year, 'YYYY-MM' month)
    -> (last month, label); ``TargetError`` names the file and key."""
    try:
        p = periods.parse(text, what=f"key '{key}':")
    except periods.PeriodError as exc:
        raise TargetError(f"{where}: {exc}") from None
    return p.end, p.label


def _number(raw: dict, key: str, where: str, low: float | None = None, high: float | None = None):
    v = raw[key]
    if isinstance(v, str) and v.strip().endswith("%"):
        v = v.strip()[:-1]
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise TargetError(f"{where}: key '{key}': {raw[key]!r} is not a number") from None
    if not math.isfinite(x) or (low is not None and x < low) or (high is not None and x > high):
        rng = f"between {low:g} and {high:g}" if high is not None else f"{low:g} or more"
        raise TargetError(f"{where}: key '{key}': {raw[key]!r} is out of range; expected a number {rng}")
    return x


def _target(raw, where: str, area_default, framework, areas: set | None) -> dict:
    if not isinstance(raw, dict):
        raise TargetError(f"{where}: expected a mapping with keys indicator, baseline, direction, change_pct or "
                          f"level, deadline; got {raw!r}")
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        raise TargetError(f"{where}: unknown key(s) {', '.join(unknown)}; expected {', '.join(sorted(_KEYS))}")
    for key in ("indicator", "baseline", "direction", "deadline"):
        if raw.get(key) in (None, ""):
            raise TargetError(f"{where}: key '{key}' is missing")
    area = raw.get("area", raw.get("area_code", area_default))
    if area in (None, ""):
        raise TargetError(f"{where}: key 'area' is missing; expected the area code here or at the top of the file")
    area = str(area).strip()
    if areas is not None and area not in areas:
        raise TargetError(f"{where}: key 'area': {area!r} is not an area of the dataset")
    ind = str(raw["indicator"]).strip()
    if framework is not None:
        try:
            framework.get(ind)
        except KeyError:
            raise TargetError(f"{where}: key 'indicator': {ind!r} is not in framework {framework.name!r}; expected "
                              f"one of {', '.join(i.id for i in framework)}") from None
    direction = str(raw["direction"]).strip().lower()
    if direction not in DIRECTIONS:
        raise TargetError(f"{where}: key 'direction': {raw['direction']!r}; expected 'reduce' or 'increase'")
    has_pct, has_level = raw.get("change_pct") is not None, raw.get("level") is not None
    if has_pct == has_level:
        raise TargetError(f"{where}: expected exactly one of 'change_pct' (percent change from the baseline) "
                          f"or 'level' (an absolute value of the indicator)")
    pct = _number(raw, "change_pct", where, 0, 100 if direction == "reduce" else 1000) if has_pct else np.nan
    level = _number(raw, "level", where, 0) if has_level else np.nan
    baseline_end, label = parse_period_end(raw["baseline"], where, "baseline")
    deadline, _ = parse_period_end(raw["deadline"], where, "deadline")
    if deadline <= baseline_end:
        raise TargetError(f"{where}: key 'deadline': {raw['deadline']!r} ends {deadline:%b %Y}, not after the "
                          f"baseline ({baseline_end:%b %Y}); expected a later deadline")
    tol = _number(raw, "tolerance_pct", where, 0, 100) if raw.get("tolerance_pct") is not None else DEFAULT_TOLERANCE
    if has_pct:
        text = f"{direction} by {pct:g}% from {label} by {deadline:%b %Y}"
    else:
        text = f"{direction} to {level:g} from {label} by {deadline:%b %Y}"
    return {"target_id": str(raw.get("id") or f"{area}:{ind}"), "area_code": area, "indicator": ind,
            "baseline": label, "baseline_end": baseline_end, "direction": direction, "change_pct": pct,
            "level": level, "deadline": deadline, "tolerance_pct": tol,
            "description": str(raw.get("description") or text).strip(), "source": where.split(",")[0]}


def _files(spec) -> list[Path]:
    if isinstance(spec, (list, tuple)):
        return [f for s in spec for f in _files(s)]
    p = Path(spec)
    if p.is_dir():
        return sorted(list(p.glob("*.yaml")) + list(p.glob("*.yml")))
    if p.suffix in (".yaml", ".yml"):
        if not p.exists():
            raise FileNotFoundError(f"no target file at {p}")
        return [p]
    if str(spec) in ("demo", "all", "default"):
        return _paths.demo_targets()
    named = _paths.find("targets", str(spec))
    if named is not None:
        return [named]
    where = ", ".join(str(d / "targets") for d in _paths.parameter_dirs())
    have = ", ".join(_paths.available("targets"))
    raise FileNotFoundError(f"no target file or folder {spec!r} (looked in {where}; available: {have or 'none'})")


def default_targets(dataset) -> str | None:
    """The targets to judge ``dataset`` against when none are named: the demo targets where every area they
    are for is in the data (the Demo Kingdom), none otherwise."""
    areas = set(dataset.areas["area_code"])
    for path in _paths.demo_targets():
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        codes = {doc.get("area", doc.get("area_code"))} | {t.get("area") for t in doc.get("targets") or []
                                                           if isinstance(t, dict)}
        if not (codes - {None}) <= areas:
            return None
    return "demo" if _paths.demo_targets() else None


def load_targets(spec="demo", framework=None, dataset=None) -> pd.DataFrame:
    """Targets from YAML: a file, a folder, a list of them, a name in ``parameters/targets/``, or "demo" (every
    file there). With ``framework`` (name or Framework) the indicators are checked, with ``dataset`` the areas.
    Returns one row per target (``TARGET_COLUMNS``). ``TargetError`` names the file, key and what was expected.
    """
    if isinstance(spec, pd.DataFrame):
        return spec
    if framework is not None and not hasattr(framework, "get"):
        from .framework import load_framework

        framework = load_framework(framework)
    areas = set(dataset.areas["area_code"]) if dataset is not None else None
    rows = []
    for path in _files(spec):
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise TargetError(f"{path}: not valid YAML: {exc}") from None
        if not isinstance(doc, dict) or not isinstance(doc.get("targets"), list):
            raise TargetError(f"{path}: expected a mapping with a 'targets' list (and usually 'area')")
        extra = sorted(set(doc) - {"area", "area_code", "title", "description", "targets"})
        if extra:
            raise TargetError(f"{path}: unknown top-level key(s) {', '.join(extra)}; expected area, title, "
                              f"description, targets")
        for i, raw in enumerate(doc["targets"]):
            rows.append(_target(raw, f"{path}, targets[{i}]", doc.get("area", doc.get("area_code")), framework, areas))
    out = pd.DataFrame(rows, columns=list(TARGET_COLUMNS))
    dup = out.duplicated(["area_code", "indicator"], keep=False)
    if dup.any():
        d = out[dup]
        raise TargetError(f"{d['source'].iloc[1]}: a second target for {d['area_code'].iloc[0]} "
                          f"{d['indicator'].iloc[0]} (also in {d['source'].iloc[0]}); expected one target per area "
                          f"and indicator")
    for c in ("baseline_end", "deadline"):
        out[c] = pd.to_datetime(out[c]).astype("datetime64[ns]")
    return out


# ---------------------------------------------------------------------------------------------------- progress
def _rolling12(values: pd.DataFrame) -> pd.DataFrame:
    v = values[values["period"] == "rolling12"] if "period" in values.columns else values
    return v[["area_code", "indicator", "period_end", "value"]]


def target_values(targets: pd.DataFrame, values: pd.DataFrame) -> pd.DataFrame:
    """Each target's baseline and absolute target value: a copy of ``targets`` (``load_targets`` rows, or
    anything it accepts) with ``baseline_value`` (the rolling 12 months ending ``baseline_end``; NaN when
    ``values`` do not hold it or it is incomplete) and ``target_value`` (``level``, or baseline x
    (1 -/+ change_pct / 100) for reduce / increase).

    ``values``: an ``indicators(period="rolling12")`` frame holding the baseline months."""
    targets = load_targets(targets)
    v = _rolling12(values).rename(columns={"period_end": "baseline_end", "value": "baseline_value"})
    base = targets[["area_code", "indicator", "baseline_end"]].merge(
        v, on=["area_code", "indicator", "baseline_end"], how="left")["baseline_value"]
    base = base.to_numpy(dtype="float64", na_value=np.nan)
    pct = targets["change_pct"].to_numpy(dtype="float64")
    sign = np.where(targets["direction"].to_numpy() == "reduce", -1.0, 1.0)
    target = np.where(np.isnan(pct), targets["level"].to_numpy(dtype="float64"), base * (1 + sign * pct / 100))
    return targets.assign(baseline_value=base, target_value=target)


def progress(values: pd.DataFrame, targets: pd.DataFrame, period_end=None) -> pd.DataFrame:
    """Each target's position at each period end (all in ``values``, or only ``period_end``).

    ``values``: an ``indicators(period="rolling12")`` frame holding at least the baseline month, the period
    ends and the 12 months before them. Returns one row per target and period end (``PROGRESS_COLUMNS``):
    target columns plus period_end, baseline_value, target_value (``target_values``), trajectory, value,
    monthly_change, projection, months_left, target_status (on track / at risk / off track / not started /
    incomplete), target_gap (value - trajectory) and target_rule.
    """
    targets = load_targets(targets)
    v = _rolling12(values)
    if targets.empty:
        return pd.DataFrame(columns=list(PROGRESS_COLUMNS))
    ends = v[["period_end"]].drop_duplicates()
    if period_end is not None:
        ends = ends[ends["period_end"].isin(periods.months(period_end))]
    t = target_values(targets, v).merge(ends, how="cross")
    t = t.merge(v, on=["area_code", "indicator", "period_end"], how="left")
    prev = v.rename(columns={"period_end": "_prev_end", "value": "_prev"})
    t = t.assign(_prev_end=periods.months_before(t["period_end"], 12)).merge(
        prev, on=["area_code", "indicator", "_prev_end"], how="left")

    reduce = (t["direction"] == "reduce").to_numpy()
    base = t["baseline_value"].to_numpy(dtype="float64", na_value=np.nan)
    target = t["target_value"].to_numpy(dtype="float64", na_value=np.nan)
    span = periods.months_between(t["baseline_end"], t["deadline"])
    done = periods.months_between(t["baseline_end"], t["period_end"])
    frac = np.clip(done / span, 0, 1)
    # A trajectory only moves the target's way: a level the baseline already meets is held from the start.
    wrong_way = np.where(reduce, target > base, target < base)
    traj = np.where(wrong_way, target, base + (target - base) * frac)
    value = t["value"].to_numpy(dtype="float64", na_value=np.nan)
    slope = (value - t["_prev"].to_numpy(dtype="float64", na_value=np.nan)) / 12
    left = np.maximum(span - done, 0)
    projection = value + slope * left
    tol = t["tolerance_pct"].to_numpy(dtype="float64") / 100

    def at_or_better(a, b):
        return np.where(reduce, a <= b + 1e-12 * np.abs(b), a >= b - 1e-12 * np.abs(b))

    with np.errstate(invalid="ignore"):
        on = at_or_better(value, traj)
        near = np.abs(value - traj) <= tol * np.abs(traj)
        reaches = at_or_better(projection, target)
        status = np.where(on, S.ON_TRACK.value, np.where(near | reaches, S.AT_RISK.value, S.OFF_TRACK.value))
    status = np.where(np.isnan(value) | np.isnan(base), S.INCOMPLETE.value, status.astype(object))
    status = np.where(done <= 0, S.NOT_STARTED.value, status)
    t["trajectory"] = np.where(done >= 0, traj, np.nan)
    t["monthly_change"] = slope
    t["projection"] = projection
    t["months_left"] = left
    t["target_status"] = status
    t["target_gap"] = value - t["trajectory"]
    t["target_rule"] = [RAG_RULE.format(tol=f"{x:g}%") for x in t["tolerance_pct"]]
    return t[list(PROGRESS_COLUMNS)].reset_index(drop=True)


# ---------------------------------------------------------------------------------------------------- gap closing
def gap_closing(table: pd.DataFrame, reference: str = "benchmark", change_col: str = "monthly_change",
                prefix: str = "gap") -> pd.DataFrame:
    """Months to reach a reference value at the current rate of change.

    ``table`` needs value, polarity, ``reference`` (e.g. benchmark or best_quartile) and ``change_col`` (the
    value's change per month: the last 12 months' change / 12). Adds ``<prefix>_months`` (months to close, 0
    when already at or better than the reference, NaN otherwise) and ``<prefix>_status``: "at or better than
    <reference>", "closing: about N months", "not closing", "no judgement" (polarity none) or "incomplete".
    Returns a new frame; ``table`` is left as it was.
    """
    months, status = gap_arrays(table["value"], table[reference], table[change_col], table["polarity"],
                                reference.replace("_", " "))
    return table.assign(**{f"{prefix}_months": months, f"{prefix}_status": status})


def gap_arrays(value, reference, rate, polarity, name: str = "benchmark") -> tuple[np.ndarray, np.ndarray]:
    """The work of ``gap_closing`` on arrays: (months, status)."""
    def f(x):
        if isinstance(x, np.ndarray) and x.dtype.kind == "f":
            return x
        return pd.to_numeric(pd.Series(x), errors="coerce").to_numpy(dtype="float64", na_value=np.nan)

    value, ref, rate = f(value), f(reference), f(rate)
    good = polarity_sign(polarity)                       # +1: higher is better, -1: lower is better, 0: none
    sign = np.where(good == 0, np.nan, -good)
    worse_by = (value - ref) * sign                      # > 0: the area is worse than the reference
    improving = -rate * sign                             # > 0: moving the good way, per month
    with np.errstate(invalid="ignore", divide="ignore"):
        months = np.where(worse_by <= 0, 0.0, np.where(improving > 0, np.ceil(worse_by / improving), np.nan))
        closing = ~(worse_by <= 0) & ~np.isnan(worse_by) & ~np.isnan(rate) & (improving > 0)
        status = np.select(
            [np.isnan(sign), np.isnan(worse_by), worse_by <= 0, np.isnan(rate), improving > 0],
            ["no judgement", "incomplete", f"at or better than {name}", "incomplete", "closing"],
            "not closing").astype(object)
    if closing.any():
        status[closing] = [f"closing: about {m:,.0f} months" for m in months[closing]]
    return np.where(np.isnan(sign), np.nan, months), status
