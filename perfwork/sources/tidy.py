"""Tidy CSV files (population, households, characteristics, peer groups): one reader, one set of rules.

- Every row must have the header's number of fields. A row with more is an error naming its line: most often a
  number written with an unquoted thousands separator (``E08000011,2020,154,517``), which would otherwise shift
  every later column. Empty trailing fields (some exports end every line with a comma) are allowed.
- Numbers may carry thousands separators when the field is quoted (``"154,517"``, common in ONS downloads).
- Columns are found by their ONS names as well as perfwork's (``Code``/``Name``/``Year``/``Population``,
  ``LAD19CD``, ``All ages``, ``mid-2019`` ...); when a required one is not there, the error lists the names
  that are recognised for it.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..dataset import DataError

# Recognised column names per role (compared case-insensitively, spaces, '-' and '_' alike); patterns in ().
ALIASES: dict[str, tuple[str, ...]] = {
    "area_code": ("area_code", "code", "area code", "areacode", "geography code", "geography_code", "ons code",
                  "la code", "lad_code", "csp_code", "force_code", "pfa_code", "(lad|ua|csp|pfa)\\d\\dcd",
                  "ladcd", "admin_geography"),
    "area_name": ("area_name", "name", "area name", "geography", "geography name", "la name",
                  "(lad|ua|csp|pfa)\\d\\dnm", "ladnm"),
    "year": ("year", "mid_year", "mid year", "calendar_years", "time", "period"),
    "population": ("population", "all ages", "all_ages", "persons", "total population", "usual residents",
                   "estimated population", "v4_0", "obs_value"),
    "households": ("households", "number of households", "household estimate", "household estimates",
                   "total households", "all households"),
}
# a column holding one year's figure: 'mid-2019', 'Mid 2019', 'Estimated Population mid-2019', 'Households 2019'
WIDE_YEAR = re.compile(r"(?:(?:estimated\s+)?population\s+|households\s+)?(?:mid[\s_-]*)?(\d{4})", re.I)
THOUSANDS = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?")


def norm(name) -> str:
    return re.sub(r"[\s_-]+", " ", str(name).strip().lower())


def find(columns, role: str) -> str | None:
    """The first column recognised for ``role`` (an ``ALIASES`` key), or None."""
    pats = [re.compile(norm(a).replace(" ", r"[\s_-]+") if "\\" in a else re.escape(norm(a))) for a in ALIASES[role]]
    for pat in pats:
        for c in columns:
            if pat.fullmatch(norm(c)):
                return c
    return None


def expected(role: str) -> str:
    return ", ".join(a for a in ALIASES[role][:6] if "\\" not in a)


def wide_years(columns) -> list[tuple[str, int]]:
    """Columns holding one year each (``mid-2019`` ...) with their years."""
    out = []
    for c in columns:
        m = WIDE_YEAR.fullmatch(str(c).strip())
        if m and 1900 < int(m.group(1)) < 2200:
            out.append((c, int(m.group(1))))
    return out


def _text(path: Path):
    raw = open(path, "rb")
    if str(path).lower().endswith(".gz"):
        raw = gzip.GzipFile(fileobj=raw)
    return io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")


def read_frame(path: str | Path, error=DataError) -> pd.DataFrame:
    """A tidy CSV as stripped strings (blank cells None), every row checked against the header's field count.
    ``.attrs['lines']`` holds each row's line in the file (for messages: :func:`line`), ``.attrs['path']`` it."""
    path = Path(path)
    rows, lines = [], []
    try:
        with _text(path) as f:
            reader = csv.reader(f, strict=True)
            header = next(reader, None)
            if header is None:
                raise error(f"{path}: the file is empty; expected a header row")
            header = [h.strip() for h in header]
            while header and header[-1] == "":  # a trailing comma on every line
                header.pop()
            width, end = len(header), reader.line_num
            for row in reader:
                start, end = end + 1, reader.line_num
                if not any(x.strip() for x in row):
                    continue
                while len(row) > width and row[-1].strip() == "":
                    row = row[:-1]
                if len(row) != width:
                    raise error(_width_message(path, start, row, header))
                rows.append([x.strip() or None for x in row])
                lines.append(start)
    except UnicodeDecodeError as e:
        raise error(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    except csv.Error as e:
        raise error(f"{path}, line {reader.line_num}: cannot be read as CSV ({e})") from None
    except (OSError, EOFError) as e:
        raise error(f"{path}: cannot be read ({e})") from None
    df = pd.DataFrame(rows, columns=header, dtype=object)
    df.attrs.update(lines=lines, path=str(path))
    return df


def _width_message(path: Path, line_no: int, row: list[str], header: list[str]) -> str:
    if len(row) < len(header):
        return (f"{path}, line {line_no}: {len(row)} fields, but the header has {len(header)} "
                f"({', '.join(header)}); the row is short")
    hint = ""
    if any(re.fullmatch(r"\d{3}(\.\d+)?", x.strip()) for x in row[len(header) - 1:]):
        hint = ("; a number with an unquoted thousands separator (154,517) splits into two fields: quote it "
                "(\"154,517\") or write it without the comma")
    return (f"{path}, line {line_no}: {len(row)} fields, but the header has {len(header)} "
            f"({', '.join(header)}){hint}")


def line(df: pd.DataFrame, position: int) -> int:
    """The file line of the row at ``position`` (0-based) of a frame from :func:`read_frame`."""
    lines = df.attrs.get("lines")
    return int(lines[position]) if lines and position < len(lines) else position + 2


def numbers(values: pd.Series) -> pd.Series:
    """Text to floats: thousands separators removed where they are separators ('154,517', '1,234.5'), blanks
    NaN, anything else that is not a number NaN too (the caller says which value and why)."""
    s = values.astype(object).where(values.notna(), None)
    s = s.map(lambda v: v.replace(",", "") if isinstance(v, str) and THOUSANDS.fullmatch(v.strip()) else v)
    return pd.to_numeric(s, errors="coerce")


def number_column(df: pd.DataFrame, column: str, rows=None, what: str = "a number",
                  expected_text: str = "a number greater than 0", whole: bool = False, positive: bool = True,
                  blank_ok: bool = False) -> pd.Series:
    """``df[column]`` (the ``rows`` mask, when given) as floats. The first value that is not ``what`` is a
    DataError naming the file, line, the file's column, the value and what was expected."""
    raw = df[column] if rows is None else df.loc[rows, column]
    vals = numbers(raw)
    bad = (vals.isna() & raw.notna()) if blank_ok else vals.isna()
    if positive:
        bad |= vals <= 0
    if whole:
        bad |= vals.notna() & (vals % 1 != 0)
    if bad.any():
        label = bad.index[np.flatnonzero(bad.to_numpy())[0]]
        value = raw.loc[label]
        shown = "a blank value" if value is None or pd.isna(value) else repr(value)
        raise DataError(f"{df.attrs.get('path', 'file')}, line {line(df, df.index.get_loc(label))}, column "
                        f"'{column}': {shown} is not {what}; expected {expected_text}")
    return vals.astype(float)


def require(df: pd.DataFrame, roles: tuple[str, ...], what: str) -> dict[str, str]:
    """{role: column} for ``roles``; a missing one is an error listing the names recognised for it."""
    got, lacking = {}, []
    for r in roles:
        c = find(df.columns, r)
        if c is None:
            lacking.append(f"{r} ({expected(r)} ...)")
        got[r] = c
    if lacking:
        raise DataError(f"{df.attrs.get('path', 'file')}: not a recognised {what}; found columns "
                        f"{', '.join(map(str, df.columns))}; expected a column for " + "; ".join(lacking))
    return got
