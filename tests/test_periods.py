"""The period parser: every spelling it accepts, every one it refuses with its message; windows; 12 months before."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from perfwork import periods as P
from perfwork.errors import UsageError


@pytest.mark.parametrize("given, end, label, fy", [
    ("2025-03", "2025-03-01", "12 months to Mar 2025", False),
    ("2025-3", "2025-03-01", "12 months to Mar 2025", False),
    (" 2025-03 ", "2025-03-01", "12 months to Mar 2025", False),
    ("2025-03-17", "2025-03-01", "12 months to Mar 2025", False),
    ("2025-12", "2025-12-01", "12 months to Dec 2025", False),
    ("2024/25", "2025-03-01", "2024/25", True),
    ("2024-25", "2025-03-01", "2024/25", True),
    ("2024/2025", "2025-03-01", "2024/25", True),
    ("FY2024/25", "2025-03-01", "2024/25", True),
    ("fy 2024-25", "2025-03-01", "2024/25", True),
    ("1999/00", "2000-03-01", "1999/00", True),
    (pd.Timestamp("2025-03-31 23:00"), "2025-03-01", "12 months to Mar 2025", False),
    (dt.date(2025, 3, 9), "2025-03-01", "12 months to Mar 2025", False),
    (dt.datetime(2025, 3, 9, 12), "2025-03-01", "12 months to Mar 2025", False),
    (np.datetime64("2025-03-09"), "2025-03-01", "12 months to Mar 2025", False),
])
def test_accepted_spellings(given, end, label, fy):
    p = P.parse(given)
    assert p.end == pd.Timestamp(end) and p.label == label and p.financial_year is fy
    assert P.month(given) == pd.Timestamp(end)


@pytest.mark.parametrize("given, message", [
    ("2025-13", "period end '2025-13': month 13 is not 1 to 12; expected a financial year 'YYYY/YY'"),
    ("2025-00", "period end '2025-00': month 0 is not 1 to 12"),
    ("2025-02-30", "period end '2025-02-30': 2025-02 has no day 30"),
    ("2023/25", "period end '2023/25' is not a financial year; expected consecutive years such as 2023/24"),
    ("2024-26", "period end '2024-26': month 26 is not 1 to 12; expected a financial year 'YYYY/YY'"),
    ("2024/2026", "period end '2024/2026' is not a financial year"),
    ("202503", "period end '202503' is not a period; expected a financial year 'YYYY/YY' (e.g. 2024/25, which "
               "ends in March 2025) or a month 'YYYY-MM' (e.g. 2025-03, the last month of a 12-month period)"),
    ("March 2025", "period end 'March 2025' is not a period"),
    ("25-03", "period end '25-03' is not a period"),
    ("", "period end '' is not a period"),
    ("latest", "period end 'latest' is not a period"),
    (2025, "period end 2025 is not a period"),
    (None, "period end None is not a period"),
    (pd.NaT, "period end NaT is not a period"),
])
def test_rejected_spellings_say_what_is_expected(given, message):
    with pytest.raises(P.PeriodError) as err:
        P.parse(given)
    assert str(err.value).startswith(message)


def test_the_caller_names_what_is_being_read():
    with pytest.raises(P.PeriodError, match=r"^key 'baseline': '2025-13': month 13"):
        P.parse("2025-13", what="key 'baseline':")


def test_period_errors_are_usage_errors():
    assert issubclass(P.PeriodError, UsageError) and issubclass(P.PeriodError, ValueError)


def test_select_latest_all_and_named_ends():
    have = pd.date_range("2024-01-01", "2024-06-01", freq="MS")
    assert list(P.select(have)) == [pd.Timestamp("2024-06-01")]
    assert list(P.select(have, "latest")) == [pd.Timestamp("2024-06-01")]
    assert list(P.select(have, "all")) == list(have)
    assert list(P.select(have, ["2024-05", "2024-02-14", "2024-05"])) == [pd.Timestamp("2024-02-01"),
                                                                          pd.Timestamp("2024-05-01")]
    with pytest.raises(P.PeriodError, match="no rolling 12-month period ends in 2023-12; available 2024-01 to 2024-06"):
        P.select(have, ["2024-02", "2023-12"])
    with pytest.raises(P.PeriodError, match="no monthly period ends in the data"):
        P.select(pd.DatetimeIndex([]), None, kind="monthly")


def test_months_before_and_between():
    assert P.months_before(pd.Timestamp("2024-03-01")) == pd.Timestamp("2023-03-01")
    assert P.months_before(pd.Timestamp("2024-01-01"), 3) == pd.Timestamp("2023-10-01")
    s = pd.Series(pd.to_datetime(["2024-03-01", "2025-01-01"]))
    assert list(P.months_before(s)) == list(pd.to_datetime(["2023-03-01", "2024-01-01"]))
    assert list(P.months_between(pd.to_datetime(["2023-03-01", "2024-12-01"]),
                                 pd.to_datetime(["2024-03-01", "2025-01-01"]))) == [12, 1]


def test_windows_of_each_kind():
    months = pd.date_range("2023-02-01", "2024-07-01", freq="MS")  # Feb 2023 .. Jul 2024: 18 months
    fy = P.windows(months, "fy")
    assert list(fy["period_start"]) == [pd.Timestamp("2023-04-01")] and list(fy["period_end"]) == [
        pd.Timestamp("2024-03-01")]
    q = P.windows(months, "quarter")
    assert list(q["period_start"].dt.month) == [4, 7, 10, 1, 4]       # Jan-Mar 2023 is not wholly inside
    r12 = P.windows(months, "rolling12")
    assert len(r12) == 7 and (r12["end"] - r12["start"] == 11).all()
    ytd = P.windows(months, "ytd")
    assert ytd.iloc[-1]["period_start"] == pd.Timestamp("2024-04-01") and ytd.iloc[0]["period_start"] == \
        pd.Timestamp("2023-04-01")
    with pytest.raises(UsageError, match="period 'weekly' is not one of month"):
        P.windows(months, "weekly")
