"""Period ends, windows and "12 months before": the one place perfwork reads and shifts months.

A period end is the first day of a period's last month (``2025-03-01`` for the 12 months to March 2025 and for
the financial year 2024/25). ``parse`` accepts, and nothing else:

- a month: ``"2025-03"``, ``"2025-3"``, ``"2025-03-17"`` (a day in the month; dropped);
- a financial year, April to March, meaning its March: ``"2024/25"``, ``"2024-25"``, ``"2024/2025"``,
  ``"FY2024/25"``, ``"FY 2024-25"`` (the years must be consecutive);
- a ``datetime``, ``date``, ``pandas.Timestamp`` or ``numpy.datetime64`` (its month).

Anything else raises ``PeriodError`` saying what was given and what is expected. ``select`` picks period ends
out of those a table holds: ``None`` or ``"latest"`` the latest, ``"all"`` every one, otherwise each asked
for, which must be there (never dropped silently).
"""

from __future__ import annotations

import datetime as _dt
import re
from typing import NamedTuple

import numpy as np
import pandas as pd

from .errors import UsageError

PERIODS: tuple[str, ...] = ("month", "rolling12", "quarter", "fy", "ytd")
EXPECTED = ("expected a financial year 'YYYY/YY' (e.g. 2024/25, which ends in March 2025) or a month 'YYYY-MM' "
            "(e.g. 2025-03, the last month of a 12-month period)")

_MONTH = re.compile(r"(\d{4})-(\d{1,2})(?:-(\d{1,2}))?")
_FY = re.compile(r"(?:FY\s*)?(\d{4})\s*[/-]\s*(\d{2}|\d{4})", flags=re.I)


class PeriodError(UsageError):
    """A period end that cannot be read, or is not in the data; the message says what was expected."""


class Period(NamedTuple):
    end: pd.Timestamp  # the first day of the last month
    label: str  # "2024/25" or "12 months to Mar 2025"
    financial_year: bool


def parse(value, what: str = "period end") -> Period:
    """One period end (see the module docstring for the accepted spellings)."""
    if isinstance(value, (pd.Timestamp, _dt.date, np.datetime64)) and not pd.isna(value):
        ts = pd.Timestamp(value)
        end = pd.Timestamp(year=ts.year, month=ts.month, day=1)
        return Period(end, f"12 months to {end:%b %Y}", False)
    if not isinstance(value, str):
        raise PeriodError(f"{what} {value!r} is not a period; {EXPECTED}")
    s = value.strip()
    fy = _financial_year(s)
    m = _MONTH.fullmatch(s)
    if m and not (fy and fy[1] == fy[0] + 1 and int(m.group(2)) > 12):  # "2023-24" a year, "2023-12" a month
        year, month, day = int(m.group(1)), int(m.group(2)), m.group(3)
        if not 1 <= month <= 12:
            raise PeriodError(f"{what} {value!r}: month {month} is not 1 to 12; {EXPECTED}")
        if day is not None:
            try:
                _dt.date(year, month, int(day))
            except ValueError:
                raise PeriodError(f"{what} {value!r}: {year}-{month:02d} has no day {int(day)}; {EXPECTED}") from None
        end = pd.Timestamp(year=year, month=month, day=1)
        return Period(end, f"12 months to {end:%b %Y}", False)
    if fy:
        start, full = fy
        if full != start + 1:
            raise PeriodError(f"{what} {value!r} is not a financial year; expected consecutive years such as "
                              f"2023/24")
        return Period(pd.Timestamp(year=start + 1, month=3, day=1), f"{start}/{str(start + 1)[-2:]}", True)
    raise PeriodError(f"{what} {value!r} is not a period; {EXPECTED}")


def _financial_year(s: str) -> tuple[int, int] | None:
    """(first year, second year in full) of a 'YYYY/YY'-like spelling, or None."""
    m = _FY.fullmatch(s)
    if not m:
        return None
    start, end_y = int(m.group(1)), int(m.group(2))
    return start, end_y if end_y >= 1000 else (start + 1) // 100 * 100 + end_y


def month(value, what: str = "period end") -> pd.Timestamp:
    """The first day of the month a period end names."""
    return parse(value, what).end


def months(values, what: str = "period end") -> pd.DatetimeIndex:
    """Several period ends (one, a list, a Series or an index) as sorted unique month starts."""
    if isinstance(values, (str, pd.Timestamp, _dt.date, np.datetime64)):
        values = [values]
    if isinstance(values, pd.DatetimeIndex | pd.Series) and pd.api.types.is_datetime64_any_dtype(values):
        idx = pd.DatetimeIndex(values)
        out = pd.DatetimeIndex(pd.to_datetime({"year": idx.year, "month": idx.month, "day": 1}))
    else:
        out = pd.DatetimeIndex([month(v, what) for v in values])
    return out.astype("datetime64[ns]").unique().sort_values()


def select(available, wanted=None, kind: str = "rolling 12-month") -> pd.DatetimeIndex:
    """The period ends ``wanted`` among ``available``: None / "latest" the latest, "all" every one, else each
    asked for; one that is not available raises ``PeriodError`` naming it and the range there is."""
    have = pd.DatetimeIndex(pd.unique(pd.DatetimeIndex(available))).sort_values()
    if not len(have):
        raise PeriodError(f"no {kind} period ends in the data")
    if wanted is None or (isinstance(wanted, str) and wanted.strip().lower() == "latest"):
        return have[-1:]
    if isinstance(wanted, str) and wanted.strip().lower() == "all":
        return have
    want = months(wanted)
    bad = want[~want.isin(have)]
    if len(bad):
        raise PeriodError(f"no {kind} period ends in {bad[0]:%Y-%m}; available {have[0]:%Y-%m} to {have[-1]:%Y-%m}")
    return want


def month_number(values) -> np.ndarray:
    """Months since year 0 (int64): differences are whole months."""
    idx = pd.DatetimeIndex(values)
    return idx.year.to_numpy().astype(np.int64) * 12 + idx.month.to_numpy() - 1


def months_between(start, end) -> np.ndarray:
    """Whole months from ``start`` to ``end`` (element-wise)."""
    return month_number(end) - month_number(start)


def months_before(values, n: int = 12):
    """The month ``n`` months earlier (``n=12``: the same month a year before), for a Timestamp, Series or index."""
    if isinstance(values, pd.Series):
        return values - pd.DateOffset(months=n)
    return pd.Timestamp(values) - pd.DateOffset(months=n) if np.ndim(values) == 0 else \
        pd.DatetimeIndex(values) - pd.DateOffset(months=n)


def windows(month_index: pd.DatetimeIndex, period: str) -> pd.DataFrame:
    """The periods of one kind inside ``month_index``: columns start, end (positions, inclusive), period_start,
    period_end. Kinds: month; rolling12 (12 months ending each month); quarter (calendar quarters, also the
    financial quarters) and fy (April to March) wholly inside; ytd (April to each month)."""
    if period not in PERIODS:
        raise UsageError(f"period {period!r} is not one of {', '.join(PERIODS)}")
    n = len(month_index)
    t = np.arange(n)
    month_no = month_index.month.to_numpy()
    if period == "month":
        start, end = t, t
    elif period == "rolling12":
        end = t[t >= 11]
        start = end - 11
    elif period in ("quarter", "fy"):
        length = 3 if period == "quarter" else 12
        first = np.isin(month_no, [1, 4, 7, 10]) if period == "quarter" else month_no == 4
        start = t[first & (t + length - 1 < n)]
        end = start + length - 1
    else:  # ytd: back to the most recent April
        back = (month_no - 4) % 12
        start = t - back
        keep = start >= 0
        start, end = start[keep], t[keep]
    return pd.DataFrame({"start": start.astype(int), "end": end.astype(int),
                         "period_start": month_index[start], "period_end": month_index[end]})
