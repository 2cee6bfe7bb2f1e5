"""The canonical data model: one shape for demo data and real data alike.

A ``Dataset`` holds five tidy tables (see the README, "Data model"):

- ``areas``: area_code, area_name, level (csp/force/region/nation), parent_code
- ``characteristics``: area_code plus one numeric column per characteristic
- ``population``: area_code, year, population, households (households may be missing)
- ``counts``: area_code, month (datetime64, first day of the month), measure, count (int64); sparse: a month
  inside the dataset's span with no row for an area and measure is a zero
- ``missing``: area_code, month, measure, reason: months with no data for an area (and everything below it), for
  every measure (measure blank) or for one measure (e.g. a force-month with street files but no stop-and-search
  file); never read as zero

Validation raises ``DataError`` naming the table (and file), row, column and what was expected.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import DataError, NotFound, UsageError

LEVELS: tuple[str, ...] = ("csp", "force", "region", "nation")
PARENT_LEVEL = {"csp": "force", "force": "region", "region": "nation"}
TABLES: tuple[str, ...] = ("areas", "characteristics", "population", "counts", "missing")
COLUMNS: dict[str, tuple[str, ...]] = {
    "areas": ("area_code", "area_name", "level", "parent_code"),
    "characteristics": ("area_code",),
    "population": ("area_code", "year", "population", "households"),
    "counts": ("area_code", "month", "measure", "count"),
    "missing": ("area_code", "month", "measure", "reason"),
}
MONTH_DTYPE = "datetime64[ns]"


@dataclass(frozen=True)
class Cube:
    """Counts as a dense array: ``values[i, t, j]`` is the count of ``measures[j]`` in ``areas[i]`` in ``months[t]``."""

    areas: pd.Index
    months: pd.DatetimeIndex
    measures: pd.Index
    values: np.ndarray


def _stripped_category(values: pd.Series) -> pd.Series:
    """Text as a categorical with surrounding spaces removed: the strip runs once per distinct value."""
    cat = values.astype("category")
    names = cat.cat.categories.astype("str").str.strip()
    if names.is_unique:
        return cat.cat.rename_categories(names)
    return values.astype("str").str.strip().astype("category")


def _sorted_categories(cat: pd.Series) -> pd.Series:
    """Used categories in sorted order, so sorting by the column is sorting by the text."""
    cat = cat.cat.remove_unused_categories()
    return cat.cat.reorder_categories(sorted(cat.cat.categories))


def _where(table: str, origin: dict[str, str], row: int | None = None, column: str | None = None) -> str:
    """'counts (data/x.csv), row 12, column count' — rows are 1-based data rows (line = row + 1 in a CSV)."""
    text = table
    if table in origin:
        text += f" ({origin[table]})"
    if row is not None:
        text += f", row {row + 1}"
        if origin.get(table, "").endswith((".csv", ".csv.gz")):
            text += f" (line {row + 2})"
    if column is not None:
        text += f", column '{column}'"
    return text


def _show(value) -> str:
    """A cell as a reader would write it: quoted text, plain numbers."""
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, (np.generic,)):
        value = value.item()
    return repr(value)


def _first_bad(mask: pd.Series | np.ndarray) -> int | None:
    idx = np.flatnonzero(np.asarray(mask))
    return int(idx[0]) if idx.size else None


def _count_note(mask) -> str:
    n = int(np.asarray(mask).sum())
    return "" if n <= 1 else f" ({n} rows in all)"


def parse_month(values: pd.Series, table: str, origin: dict[str, str], column: str = "month") -> pd.Series:
    """Months as first-of-month datetimes; accepts 'YYYY-MM', dates and datetimes. Unparseable -> DataError."""
    if pd.api.types.is_datetime64_any_dtype(values):
        parsed = values
    else:
        text = values.astype("string").str.strip()
        parsed = pd.to_datetime(text, format="%Y-%m", errors="coerce")
        retry = parsed.isna() & text.notna()
        if retry.any():
            parsed = parsed.where(~retry, pd.to_datetime(text.where(retry), format="ISO8601", errors="coerce"))
        bad = parsed.isna()
        i = _first_bad(bad)
        if i is not None:
            raise DataError(
                f"{_where(table, origin, i, column)}: {_show(values.iloc[i])} is not a month; "
                f"expected YYYY-MM (e.g. 2024-03){_count_note(bad)}"
            )
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_convert(None)
    return parsed.dt.to_period("M").dt.to_timestamp().astype(MONTH_DTYPE)


def _require_columns(df: pd.DataFrame, table: str, origin: dict[str, str],
                     optional: tuple[str, ...] = ()) -> pd.DataFrame:
    want = COLUMNS[table]
    missing = [c for c in want if c not in df.columns and c not in optional]
    if missing:
        have = ", ".join(map(str, df.columns))
        hints = []
        lower = {str(c).strip().lower(): c for c in df.columns}
        for m in missing:
            if m in lower:
                hints.append(f"'{lower[m]}' should be spelt '{m}'")
        hint = f" ({'; '.join(hints)})" if hints else ""
        raise DataError(f"{_where(table, origin)}: missing column(s) {', '.join(missing)}{hint}; found: {have}")
    return df


def _integers(df: pd.DataFrame, col: str, table: str, origin: dict[str, str], *, positive: bool = False,
              allow_missing: bool = False) -> pd.Series:
    raw = df[col]
    num = pd.to_numeric(raw, errors="coerce")
    bad_type = num.isna() & raw.notna()
    i = _first_bad(bad_type)
    if i is not None:
        raise DataError(f"{_where(table, origin, i, col)}: {_show(raw.iloc[i])} is not a number{_count_note(bad_type)}")
    if not allow_missing:
        i = _first_bad(num.isna())
        if i is not None:
            raise DataError(f"{_where(table, origin, i, col)}: value is missing; expected a whole number"
                            f"{_count_note(num.isna())}")
    vals = num.to_numpy(dtype="float64", na_value=np.nan)
    frac = np.isfinite(vals) & (vals != np.round(vals))
    i = _first_bad(frac)
    if i is not None:
        raise DataError(f"{_where(table, origin, i, col)}: {_show(raw.iloc[i])} is not a whole "
                        f"number{_count_note(frac)}")
    neg = (vals <= 0) if positive else (vals < 0)
    i = _first_bad(neg)
    if i is not None:
        want = "greater than 0" if positive else "0 or more"
        raise DataError(f"{_where(table, origin, i, col)}: {_show(raw.iloc[i])} is not allowed; expected {want}"
                        f"{_count_note(neg)}")
    return num


def _no_duplicates(df: pd.DataFrame, keys: list[str], table: str, origin: dict[str, str]) -> None:
    dup = df.duplicated(keys, keep=False)
    i = _first_bad(dup)
    if i is not None:
        first = df.loc[dup].iloc[0]
        key = ", ".join(f"{k}={first[k]}" for k in keys)
        rows = [r + 1 for r in np.flatnonzero(dup.to_numpy())[:4]]
        raise DataError(f"{_where(table, origin, i)}: duplicate key ({key}) also at rows {rows}; "
                        f"expected one row per {', '.join(keys)}")


def _known_areas(df: pd.DataFrame, codes: set[str], table: str, origin: dict[str, str], col: str = "area_code") -> None:
    unknown = ~df[col].isin(codes)
    i = _first_bad(unknown)
    if i is not None:
        raise DataError(f"{_where(table, origin, i, col)}: unknown area code {_show(df[col].iloc[i])}; "
                        f"expected a code listed in areas{_count_note(unknown)}")


@dataclass
class Dataset:
    """Areas, their characteristics and population, and monthly counts of every measure.

    Build one with ``Dataset(areas=..., characteristics=..., population=..., counts=..., missing=...)``,
    ``Dataset.from_dir(path)``, ``perfwork.load_demo()`` or ``perfwork.open_store(path)``. The constructor
    validates and normalises the tables (dtypes, sorted rows) and raises ``DataError`` on bad input.
    """

    areas: pd.DataFrame
    characteristics: pd.DataFrame
    population: pd.DataFrame
    counts: pd.DataFrame
    missing: pd.DataFrame = field(default=None)  # type: ignore[assignment]
    name: str = "dataset"
    origin: dict[str, str] = field(default_factory=dict, repr=False)
    notes: list[str] = field(default_factory=list, repr=False)  # provenance: how the tables were made

    def __post_init__(self) -> None:
        if self.missing is None:
            self.missing = pd.DataFrame({"area_code": pd.Series(dtype="str"),
                                         "month": pd.Series(dtype=MONTH_DTYPE), "reason": pd.Series(dtype="str")})
        self._validate()

    # ------------------------------------------------------------------ validation
    def _validate(self) -> None:
        """Long on purpose: the tables are checked in dependency order (areas first, then what refers to
        them) in one visible sequence."""
        o = self.origin
        areas = _require_columns(self.areas.reset_index(drop=True), "areas", o)
        for col in ("area_code", "area_name", "level"):
            blank = areas[col].isna() | (areas[col].astype("string").str.strip() == "")
            i = _first_bad(blank)
            if i is not None:
                raise DataError(f"{_where('areas', o, i, col)}: value is missing{_count_note(blank)}")
        areas = areas.assign(area_code=areas["area_code"].astype("str").str.strip(),
                             area_name=areas["area_name"].astype("str"),
                             level=areas["level"].astype("str").str.strip().str.lower(),
                             parent_code=areas["parent_code"].astype("string").str.strip().replace("", pd.NA))
        bad_level = ~areas["level"].isin(LEVELS)
        i = _first_bad(bad_level)
        if i is not None:
            raise DataError(f"{_where('areas', o, i, 'level')}: {_show(areas['level'].iloc[i])} is not a level; "
                            f"expected one of {', '.join(LEVELS)}")
        _no_duplicates(areas, ["area_code"], "areas", o)
        codes = set(areas["area_code"])
        level_of = dict(zip(areas["area_code"], areas["level"]))
        for i, (code, level, parent) in enumerate(zip(areas["area_code"], areas["level"], areas["parent_code"])):
            if level == "nation":
                continue
            if pd.isna(parent):
                raise DataError(f"{_where('areas', o, i, 'parent_code')}: {level} {code} has no parent; "
                                f"expected the code of its {PARENT_LEVEL[level]}")
            if parent not in codes:
                raise DataError(f"{_where('areas', o, i, 'parent_code')}: the parent of {level} {code}, {parent!r}, "
                                f"is not an area; expected the code of a {PARENT_LEVEL[level]} listed in areas")
            if level_of[parent] != PARENT_LEVEL[level]:
                raise DataError(f"{_where('areas', o, i, 'parent_code')}: the parent of {level} {code} is "
                                f"{parent} (a {level_of[parent]}); expected a {PARENT_LEVEL[level]}")
        self.areas = (areas[list(COLUMNS["areas"])].sort_values(["level", "area_code"], key=_level_key)
                      .reset_index(drop=True))

        chars = _require_columns(self.characteristics.reset_index(drop=True), "characteristics", o)
        chars = chars.assign(area_code=chars["area_code"].astype("str").str.strip())
        _known_areas(chars, codes, "characteristics", o)
        _no_duplicates(chars, ["area_code"], "characteristics", o)
        for col in chars.columns.drop("area_code"):
            num = pd.to_numeric(chars[col], errors="coerce")
            bad = num.isna() & chars[col].notna()
            i = _first_bad(bad)
            if i is not None:
                raise DataError(f"{_where('characteristics', o, i, col)}: {_show(chars[col].iloc[i])} is not a number")
            chars[col] = num.astype("float64")
        self.characteristics = chars.sort_values("area_code").reset_index(drop=True)

        pop = _require_columns(self.population.reset_index(drop=True), "population", o, optional=("households",))
        if "households" not in pop.columns:
            pop = pop.assign(households=np.nan)
        pop = pop.assign(area_code=pop["area_code"].astype("str").str.strip())
        _known_areas(pop, codes, "population", o)
        year = _integers(pop, "year", "population", o)
        people = _integers(pop, "population", "population", o, positive=True)
        homes = pd.to_numeric(pop["households"], errors="coerce")
        bad_homes = (homes <= 0) | (homes.isna() & pop["households"].notna())
        i = _first_bad(bad_homes)
        if i is not None:
            raise DataError(f"{_where('population', o, i, 'households')}: {_show(pop['households'].iloc[i])} is not "
                            f"allowed; expected a number greater than 0 (or blank when unknown)")
        pop = pd.DataFrame({"area_code": pop["area_code"], "year": year.astype("int64"),
                            "population": people.astype("float64"), "households": homes.astype("float64")})
        _no_duplicates(pop, ["area_code", "year"], "population", o)
        self.population = pop.sort_values(["area_code", "year"]).reset_index(drop=True)

        counts = _require_columns(self.counts.reset_index(drop=True), "counts", o)
        counts = counts.assign(area_code=_stripped_category(counts["area_code"]),
                               measure=_stripped_category(counts["measure"]))
        _known_areas(counts, codes, "counts", o)
        blank = counts["measure"].isna() | (counts["measure"] == "")
        i = _first_bad(blank)
        if i is not None:
            raise DataError(f"{_where('counts', o, i, 'measure')}: value is missing; expected a measure name")
        month = parse_month(counts["month"], "counts", o)
        count = _integers(counts, "count", "counts", o)
        counts = pd.DataFrame({"area_code": counts["area_code"].cat.set_categories(sorted(codes)), "month": month,
                               "measure": _sorted_categories(counts["measure"]), "count": count.astype("int64")})
        _no_duplicates(counts, ["area_code", "month", "measure"], "counts", o)

        # A measure lives at one level only, so summing up the geography never counts a thing twice.
        pairs = counts[["area_code", "measure"]].drop_duplicates()
        per_measure = pd.DataFrame({"measure": pairs["measure"].astype("str"),
                                    "level": pairs["area_code"].astype("str").map(level_of)}).drop_duplicates()
        multi = per_measure["measure"].duplicated(keep=False)
        if multi.any():
            m = per_measure.loc[multi, "measure"].iloc[0]
            lvls = sorted(per_measure.loc[per_measure["measure"] == m, "level"])
            at = counts["measure"] == m
            rows = pd.Series(np.flatnonzero(at.to_numpy()),
                             index=counts.loc[at, "area_code"].astype("str").map(level_of))
            row = int(rows[rows.index != rows.index[0]].iloc[0])
            raise DataError(f"{_where('counts', o, row, 'measure')}: measure {m!r} is recorded at several levels "
                            f"({', '.join(lvls)}); expected one level per measure")

        # Every count needs a population for its area and calendar year.
        have = set(zip(self.population["area_code"], self.population["year"]))
        keys = pd.DataFrame({"area_code": counts["area_code"], "year": counts["month"].dt.year}).drop_duplicates()
        keys = keys.assign(area_code=keys["area_code"].astype("str"))
        lacking = [(a, y) not in have for a, y in zip(keys["area_code"], keys["year"])]
        j = _first_bad(lacking)
        if j is not None:
            a, y = keys["area_code"].iloc[j], int(keys["year"].iloc[j])
            row = int(np.flatnonzero(((counts["area_code"] == a) & (counts["month"].dt.year == y)).to_numpy())[0])
            raise DataError(f"{_where('counts', o, row, 'month')}: counts for {a} in {y} but population has no row "
                            f"for {a} in {y}; expected a population for every area and year with counts")
        self.counts = counts.sort_values(["area_code", "measure", "month"]).reset_index(drop=True)

        miss = _require_columns(self.missing.reset_index(drop=True), "missing", o, optional=("reason", "measure"))
        if "reason" not in miss.columns:
            miss = miss.assign(reason="missing")
        if "measure" not in miss.columns:
            miss = miss.assign(measure=None)
        miss = miss.assign(area_code=miss["area_code"].astype("str").str.strip())
        _known_areas(miss, codes, "missing", o)
        measure = miss["measure"].astype("string").str.strip().replace("", pd.NA)
        miss = pd.DataFrame({"area_code": miss["area_code"], "month": parse_month(miss["month"], "missing", o),
                             "measure": measure, "reason": miss["reason"].astype("str")})
        _no_duplicates(miss, ["area_code", "month", "measure"], "missing", o)
        # A month missing for every measure, or for one measure, must have no counts of what it covers.
        near = counts[counts["area_code"].isin(miss["area_code"].unique())
                      & counts["month"].isin(miss["month"].unique())]
        near = near.assign(area_code=near["area_code"].astype("str"), measure=near["measure"].astype("str"))
        whole = near.merge(miss[miss["measure"].isna()].drop(columns="measure"), on=["area_code", "month"])
        one = near.merge(miss.dropna(subset=["measure"]).astype({"measure": "str"}),
                         on=["area_code", "month", "measure"])
        for clash, what in ((whole, ""), (one, " for its measure")):
            if len(clash):
                c = clash.iloc[0]
                hit = (miss["area_code"] == c["area_code"]) & (miss["month"] == c["month"])
                if what:
                    hit &= miss["measure"] == c["measure"]
                row = int(np.flatnonzero(hit.to_numpy())[0])
                raise DataError(f"{_where('missing', o, row, 'month')}: {c['area_code']} {c['month']:%Y-%m} is marked "
                                f"missing{what} but counts has {c['measure']!r} rows for it; expected a month to be "
                                f"either counted or missing")
        self.missing = miss.sort_values(["area_code", "month"]).reset_index(drop=True)

    # ------------------------------------------------------------------ convenience
    def cube(self) -> Cube:
        """Counts as a dense [area, month, measure] float array (zeros filled in), built once and cached."""
        key = (id(self.counts), len(self.counts))
        if getattr(self, "_cube", None) is None or self._cube[0] != key:
            areas = pd.Index(self.counts["area_code"].cat.categories)
            used = np.unique(self.counts["area_code"].cat.codes.to_numpy())
            areas = areas[used]
            measures = pd.Index(self.counts["measure"].cat.categories.astype("str"))
            months = self.months
            values = np.zeros((len(areas), len(months), len(measures)))
            ai = areas.get_indexer(self.counts["area_code"].cat.categories[self.counts["area_code"].cat.codes])
            ti = (self.counts["month"].dt.year.to_numpy() - months[0].year) * 12 + \
                (self.counts["month"].dt.month.to_numpy() - months[0].month)
            values[ai, ti, self.counts["measure"].cat.codes.to_numpy()] = self.counts["count"].to_numpy()
            self._cube = (key, Cube(areas, months, measures, values))
        return self._cube[1]

    @property
    def months(self) -> pd.DatetimeIndex:
        """Every month the dataset spans, first to last (counted or missing)."""
        stamps = pd.concat([self.counts["month"], self.missing["month"]])
        if stamps.empty:
            return pd.DatetimeIndex([], dtype=MONTH_DTYPE)
        return pd.date_range(stamps.min(), stamps.max(), freq="MS").astype(MONTH_DTYPE)

    @property
    def measures(self) -> list[str]:
        return sorted(self.counts["measure"].astype("str").unique())

    def level(self, level: str) -> pd.DataFrame:
        """The areas of one level."""
        if level not in LEVELS:
            raise UsageError(f"level {level!r} is not one of {', '.join(LEVELS)}")
        return self.areas[self.areas["level"] == level].reset_index(drop=True)

    def area(self, code: str) -> pd.Series:
        """One area's row, by code or (case-insensitive) name; a clear error for an unknown or ambiguous name."""
        hit = self.areas[self.areas["area_code"] == code]
        if hit.empty:
            hit = self.areas[self.areas["area_name"].str.lower() == str(code).lower()]
        if len(hit) > 1:
            which = ", ".join(f"{c} ({lv})" for c, lv in zip(hit["area_code"], hit["level"]))
            raise NotFound(f"{code!r} names several areas in {self.name}: {which}; give the code")
        if hit.empty:
            near = self.areas[self.areas["area_name"].str.lower().str.contains(str(code).lower(), regex=False)]
            hint = f"; did you mean {', '.join(near['area_code'].head(5))}?" if len(near) else ""
            raise NotFound(f"no area with code or name {code!r} in {self.name}{hint}")
        return hit.iloc[0]

    def ancestors(self, level: str) -> pd.DataFrame:
        """For every area below ``level`` and at it: the ``level`` area it sits in (columns area_code, ancestor)."""
        parent = dict(zip(self.areas["area_code"], self.areas["parent_code"]))
        lv = dict(zip(self.areas["area_code"], self.areas["level"]))
        target = LEVELS.index(level)
        rows = []
        for code in self.areas["area_code"]:
            here = code
            while here is not None and not pd.isna(here) and LEVELS.index(lv[here]) < target:
                here = parent[here]
            if here is not None and not pd.isna(here) and lv[here] == level:
                rows.append((code, here))
        return pd.DataFrame(rows, columns=["area_code", "ancestor"])

    def __repr__(self) -> str:
        n = self.areas["level"].value_counts()
        span = self.months
        when = f"{span[0]:%Y-%m} to {span[-1]:%Y-%m}" if len(span) else "no months"
        parts = ", ".join(f"{int(n.get(lv, 0))} {lv}" for lv in LEVELS if n.get(lv, 0))
        return (f"<Dataset {self.name!r}: {parts}; {len(self.measures)} measures; {len(span)} months ({when}); "
                f"{len(self.missing)} area-months missing>")

    # ------------------------------------------------------------------ files
    @classmethod
    def from_dir(cls, path: str | Path, name: str | None = None) -> Dataset:
        """Read ``<table>.parquet`` (or ``.csv`` / ``.csv.gz``) for each table from a folder."""
        path = Path(path)
        if not path.is_dir():
            raise FileNotFoundError(f"no dataset folder at {path}")
        frames: dict[str, pd.DataFrame] = {}
        origin: dict[str, str] = {}
        for table in TABLES:
            for suffix in (".parquet", ".csv", ".csv.gz"):
                f = path / f"{table}{suffix}"
                if f.exists():
                    if suffix == ".parquet":
                        frames[table] = pd.read_parquet(f)
                    else:
                        dtype = {"area_code": "str", "parent_code": "str", "measure": "str", "month": "str"}
                        frames[table] = pd.read_csv(f, dtype={k: v for k, v in dtype.items()}, keep_default_na=False,
                                                    na_values=[""])
                    origin[table] = str(f)
                    break
            else:
                if table != "missing":
                    raise DataError(f"{path}: no {table}.parquet or {table}.csv; expected one file per table "
                                    f"({', '.join(TABLES[:-1])}; missing is optional)")
        return cls(**frames, name=name or path.name, origin=origin)

    def to_dir(self, path: str | Path, format: str = "parquet") -> Path:
        """Write every table to ``path`` as Parquet (default) or CSV; returns the folder."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        for table in TABLES:
            df = getattr(self, table)
            if table == "counts":
                df = df.assign(area_code=df["area_code"].astype("str"), measure=df["measure"].astype("str"),
                               count=df["count"].astype("int32"))
            if format == "parquet":
                df.to_parquet(path / f"{table}.parquet", index=False, compression="zstd")
            elif format == "csv":
                out = df.copy()
                if "month" in out:
                    out["month"] = out["month"].dt.strftime("%Y-%m")
                out.to_csv(path / f"{table}.csv", index=False)
            else:
                raise ValueError(f"format {format!r}: expected 'parquet' or 'csv'")
        return path


def _level_key(col: pd.Series) -> pd.Series:
    if col.name == "level":
        return col.map({lv: i for i, lv in enumerate(LEVELS)})
    return col
