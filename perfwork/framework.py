"""Performance frameworks: which indicators an area is judged on, and how each is built.

A framework is a YAML file in ``parameters/frameworks/`` (or any path). Each indicator names its numerator
measures (police.uk slugs, outcome measures ``<category>:<group>``, or shell-style patterns such as
``"*:charged"``), its denominator (``population``, ``households`` or a list of measures), multiplier, kind
(``rate``, ``proportion``, ``count``), polarity (``low_is_good``, ``high_is_good``, ``none``), domain and
description. A local framework may ``extends: national`` and list base indicator ids with their own weights.
"""

from __future__ import annotations

import fnmatch
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import pandas as pd
import yaml

from . import _paths
from .errors import NotFound
from .measures import known_measures

FRAMEWORK_DIR = _paths.shipped_parameters() / "frameworks"  # the shipped frameworks (see _paths for the search)
KINDS = ("rate", "proportion", "count")
POLARITIES = ("low_is_good", "high_is_good", "none")
POPULATION_DENOMINATORS = ("population", "households")
REQUIRED = ("id", "label", "domain", "numerator", "denominator", "multiplier", "kind", "polarity", "description")


class FrameworkError(ValueError):
    """A framework file that does not say what perfwork needs; the message names the file, indicator and field."""


class UnknownFramework(NotFound, FrameworkError):
    """No framework of that name (or at that path)."""


@dataclass(frozen=True)
class Indicator:
    id: str
    label: str
    domain: str
    numerator: tuple[str, ...]
    denominator: str | tuple[str, ...]
    multiplier: float
    kind: str
    polarity: str
    description: str
    weight: float = 1.0
    priority: bool = False

    @property
    def per_population(self) -> bool:
        return isinstance(self.denominator, str)

    def measures(self) -> set[str]:
        """Every measure this indicator reads."""
        out = set(self.numerator)
        if not self.per_population and self.denominator:
            out |= set(self.denominator)
        return out


@dataclass
class Framework:
    name: str
    title: str
    indicators: list[Indicator]
    source: str = ""
    description: str = ""
    _by_id: dict[str, Indicator] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._by_id = {i.id: i for i in self.indicators}

    def get(self, indicator_id: str) -> Indicator:
        try:
            return self._by_id[indicator_id]
        except KeyError:
            raise NotFound(f"framework {self.name!r} has no indicator {indicator_id!r}; "
                           f"it has: {', '.join(self._by_id)}") from None

    def __iter__(self):
        return iter(self.indicators)

    def __len__(self) -> int:
        return len(self.indicators)

    @property
    def domains(self) -> list[str]:
        return list(dict.fromkeys(i.domain for i in self.indicators))

    def table(self) -> pd.DataFrame:
        """One row per indicator, measures joined by ' + '."""
        rows = []
        for ind in self.indicators:
            row = asdict(ind)
            row["numerator"] = " + ".join(ind.numerator)
            row["denominator"] = ind.denominator if ind.per_population else " + ".join(ind.denominator)
            rows.append(row)
        return pd.DataFrame(rows)

    def __repr__(self) -> str:
        return f"<Framework {self.name!r}: {len(self.indicators)} indicators in {len(self.domains)} domains>"


def _expand(patterns, where: str, field_name: str) -> tuple[str, ...]:
    if isinstance(patterns, str):
        patterns = [patterns]
    if not isinstance(patterns, list) or not patterns:
        raise FrameworkError(f"{where}: '{field_name}' must be a measure or a list of measures")
    vocab = known_measures()
    out: list[str] = []
    for p in patterns:
        p = str(p).strip()
        hits = fnmatch.filter(vocab, p) if any(ch in p for ch in "*?[") else ([p] if p in vocab else [])
        if not hits:
            close = [m for m in vocab if p.split(":")[0] in m][:5]
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise FrameworkError(f"{where}: '{field_name}' names unknown measure {p!r}{hint}; "
                                 f"expected a police.uk category slug, '<category>:<outcome group>' or a pattern")
        out += [h for h in hits if h not in out]
    return tuple(out)


def _indicator(raw: dict, where: str) -> Indicator:
    if not isinstance(raw, dict):
        raise FrameworkError(f"{where}: expected a mapping of indicator fields, got {raw!r}")
    where = f"{where} ({raw.get('id', '?')})"
    missing = [k for k in REQUIRED if k not in raw]
    if missing:
        raise FrameworkError(f"{where}: missing field(s) {', '.join(missing)}")
    unknown = set(raw) - set(REQUIRED) - {"weight", "priority"}
    if unknown:
        raise FrameworkError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}; expected {', '.join(REQUIRED)}, "
                             f"weight, priority")
    if raw["kind"] not in KINDS:
        raise FrameworkError(f"{where}: kind {raw['kind']!r} is not one of {', '.join(KINDS)}")
    if raw["polarity"] not in POLARITIES:
        raise FrameworkError(f"{where}: polarity {raw['polarity']!r} is not one of {', '.join(POLARITIES)}")
    numerator = _expand(raw["numerator"], where, "numerator")
    den = raw["denominator"]
    if raw["kind"] == "count":
        if den not in (None, "none"):
            raise FrameworkError(f"{where}: a count has no denominator; expected 'denominator: none'")
        den = ()
    elif raw["kind"] == "rate" and isinstance(den, str) and den in POPULATION_DENOMINATORS:
        pass
    elif raw["kind"] == "proportion" or (raw["kind"] == "rate" and isinstance(den, list)):
        if isinstance(den, str) and den in POPULATION_DENOMINATORS:
            raise FrameworkError(f"{where}: a proportion's denominator must be measures (the crimes it is a share "
                                 f"of), not {den!r}")
        den = _expand(den, where, "denominator")
        if raw["kind"] == "proportion" and not set(numerator) <= set(den) and not all(
                any(n.startswith(d + ":") for d in den) for n in numerator):
            raise FrameworkError(f"{where}: a proportion's numerator must be part of its denominator "
                                 f"(outcomes of the denominator's crimes)")
    else:
        raise FrameworkError(f"{where}: denominator {den!r} is not 'population', 'households' or a list of measures")
    try:
        multiplier = float(raw["multiplier"])
        weight = float(raw.get("weight", 1.0))
    except (TypeError, ValueError):
        raise FrameworkError(f"{where}: multiplier and weight must be numbers") from None
    if multiplier <= 0 or weight < 0:
        raise FrameworkError(f"{where}: expected multiplier > 0 and weight >= 0")
    return Indicator(id=str(raw["id"]), label=str(raw["label"]), domain=str(raw["domain"]), numerator=numerator,
                     denominator=den, multiplier=multiplier, kind=raw["kind"], polarity=raw["polarity"],
                     description=str(raw["description"]).strip(), weight=weight,
                     priority=bool(raw.get("priority", False)))


def load_framework(name_or_path: str | Path = "national") -> Framework:
    """A framework by name (a file in parameters/frameworks/) or path; ``FrameworkError`` on a bad file."""
    if isinstance(name_or_path, Framework):
        return name_or_path
    path = Path(name_or_path)
    if not path.suffix:
        path = _paths.find("frameworks", str(name_or_path)) or FRAMEWORK_DIR / f"{name_or_path}.yaml"
    if not path.exists():
        have = ", ".join(_paths.available("frameworks"))
        raise UnknownFramework(f"no framework {name_or_path!r} (looked for {path}); available: {have}")
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise FrameworkError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(doc, dict) or "indicators" not in doc:
        raise FrameworkError(f"{path}: expected a mapping with an 'indicators' list")
    base = load_framework(doc["extends"]) if doc.get("extends") else None
    out: list[Indicator] = []
    for i, raw in enumerate(doc["indicators"] or []):
        where = f"{path}, indicators[{i}]"
        if base is not None and isinstance(raw, dict) and set(raw) <= {"id", "weight", "priority"}:
            try:
                ind = base.get(raw.get("id"))
            except KeyError as exc:
                raise FrameworkError(f"{where}: {exc.args[0]}") from None
            try:
                weight = float(raw.get("weight", ind.weight))
            except (TypeError, ValueError):
                raise FrameworkError(f"{where} ({ind.id}): weight {raw.get('weight')!r} is not a number") from None
            ind = replace(ind, weight=weight, priority=bool(raw.get("priority", ind.priority)))
        else:
            ind = _indicator(raw, where)
        if any(o.id == ind.id for o in out):
            raise FrameworkError(f"{where}: indicator id {ind.id!r} appears twice")
        out.append(ind)
    if not out:
        raise FrameworkError(f"{path}: the framework has no indicators")
    return Framework(name=path.stem, title=str(doc.get("title", path.stem)), indicators=out, source=str(path),
                     description=str(doc.get("description", "")).strip())
