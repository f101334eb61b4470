"""Working days in England: weekends and England bank holidays excluded, from the `holidays` package."""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache

import holidays
import polars as pl


@cache
def _england_holidays(first_year: int, last_year: int) -> frozenset[date]:
    calendar = holidays.country_holidays("GB", subdiv="ENG", years=range(first_year, last_year + 1))
    return frozenset(calendar.keys())


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _england_holidays(day.year, day.year)


def working_days_between(start: date, end: date) -> int:
    """Working days after `start` up to and including `end` (the start day is day 0).

    A referral on a Friday with the assessment authorised the next Monday took 1 working day.
    """
    if end < start:
        return -working_days_between(end, start)
    bank = _england_holidays(start.year, end.year)
    days = 0
    current = start
    while current < end:
        current += timedelta(days=1)
        if current.weekday() < 5 and current not in bank:
            days += 1
    return days


def calendar_frame(first: date, last: date) -> pl.DataFrame:
    """One row per day: whether it is a working day, and a running count of working days.

    The difference between two days' `working_day_index` is the number of working days between them,
    so marts can compute timescales with one join instead of a loop per record.
    """
    bank = _england_holidays(first.year, last.year)
    days = pl.date_range(first, last, interval="1d", eager=True).alias("calendar_date")
    frame = pl.DataFrame({"calendar_date": days})
    bank_days = pl.Series("bank", sorted(bank), dtype=pl.Date)
    return frame.with_columns(
        is_working_day=(pl.col("calendar_date").dt.weekday() <= 5)
        & ~pl.col("calendar_date").is_in(bank_days.implode()),
    ).with_columns(working_day_index=pl.col("is_working_day").cast(pl.Int64).cum_sum())
