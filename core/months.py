"""Calendar months, the one arithmetic every app uses. Pure Python and pandas, no Django.

A month is named by its first day (``date(2025, 6, 1)`` or ``Timestamp("2025-06-01")``);
any day of a month stands for that month. The bank's monthly balances describe
finished months, and the churn window counts whole months after a month-end, so
the same few operations recur in the feature code, the labels, the alert rules and
the dashboard: they live here once.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd


def month_start(day: dt.date) -> dt.date:
    """The first day of ``day``'s month."""
    return day.replace(day=1)


def month_number(day):
    """Months since year 0, so that consecutive months differ by one: an int for one date,
    an int64 array for a Series or DatetimeIndex of dates."""
    if isinstance(day, pd.Series | pd.DatetimeIndex):
        days = pd.DatetimeIndex(day)
        return days.year.to_numpy(dtype=np.int64) * 12 + days.month.to_numpy(dtype=np.int64) - 1
    return day.year * 12 + day.month - 1


def add_months(month: dt.date, months: int) -> dt.date:
    """The first day of the month ``months`` after ``month``'s (negative: before)."""
    index = month_number(month) + months
    return dt.date(index // 12, index % 12 + 1, 1)


def month_end(month: dt.date) -> dt.date:
    """The last day of ``month``'s month."""
    return add_months(month, 1) - dt.timedelta(days=1)


def last_complete_month(as_of: dt.date | pd.Timestamp | str) -> pd.Timestamp:
    """The first day of the latest month that has ended on or before ``as_of`` (on a
    month's last day, that month itself)."""
    next_day = pd.Timestamp(as_of).date() + dt.timedelta(days=1)
    return pd.Timestamp(add_months(next_day, -1))
