"""core.months: the one calendar-month arithmetic, without a database."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from core.months import add_months, last_complete_month, month_end, month_number, month_start


def test_month_start_is_the_first_day_of_the_same_month():
    assert month_start(dt.date(2024, 2, 29)) == dt.date(2024, 2, 1)


@pytest.mark.parametrize(("month", "months", "expected"), [
    (dt.date(2024, 11, 1), 2, dt.date(2025, 1, 1)),
    (dt.date(2025, 1, 1), -1, dt.date(2024, 12, 1)),
    (dt.date(2025, 3, 31), -14, dt.date(2024, 1, 1)),  # any day stands for its month
    (dt.date(2025, 6, 1), 0, dt.date(2025, 6, 1)),
])
def test_add_months_crosses_year_ends_both_ways(month, months, expected):
    assert add_months(month, months) == expected


@pytest.mark.parametrize(("day", "expected"), [
    (dt.date(2024, 2, 10), dt.date(2024, 2, 29)),
    (dt.date(2023, 2, 1), dt.date(2023, 2, 28)),
    (dt.date(2024, 12, 31), dt.date(2024, 12, 31)),
])
def test_month_end_is_the_last_day_including_leap_februaries(day, expected):
    assert month_end(day) == expected


def test_month_end_takes_a_pandas_timestamp_and_returns_a_date():
    assert month_end(pd.Timestamp("2025-04-01")) == dt.date(2025, 4, 30)


def test_last_complete_month_is_the_month_itself_only_on_its_last_day():
    assert last_complete_month(dt.date(2025, 6, 30)) == pd.Timestamp("2025-06-01")
    assert last_complete_month(dt.date(2025, 6, 29)) == pd.Timestamp("2025-05-01")
    assert last_complete_month(dt.date(2025, 1, 1)) == pd.Timestamp("2024-12-01")
    assert last_complete_month(pd.Timestamp("2025-06-30 23:00")) == pd.Timestamp("2025-06-01")
    assert last_complete_month("2024-02-29") == pd.Timestamp("2024-02-01")


def test_consecutive_months_have_consecutive_numbers_and_the_series_form_agrees():
    days = [dt.date(2024, 11, 30), dt.date(2024, 12, 1), dt.date(2025, 1, 15)]
    numbers = [month_number(day) for day in days]
    assert numbers[1] - numbers[0] == 1 and numbers[2] - numbers[1] == 1
    assert list(month_number(pd.Series(pd.to_datetime(days)))) == numbers
    assert list(month_number(pd.DatetimeIndex(days))) == numbers


def test_add_months_and_month_number_agree():
    start = dt.date(2019, 7, 1)
    for offset in range(-30, 31):
        assert month_number(add_months(start, offset)) == month_number(start) + offset
