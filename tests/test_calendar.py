"""Working days in England, checked by hand against the bank holiday calendar."""

from datetime import date, timedelta

import polars as pl
import pytest

from oba_pipeline.indicators.calendar import calendar_frame, is_working_day, working_days_between


@pytest.mark.parametrize(
    ("start", "end", "expected", "why"),
    [
        (date(2024, 3, 1), date(2024, 3, 4), 1, "Friday to Monday: the weekend does not count"),
        (date(2024, 3, 4), date(2024, 3, 4), 0, "the referral day itself is day 0"),
        # Thu 28 Mar 2024 -> Tue 2 Apr: Good Friday and Easter Monday are bank holidays.
        (date(2024, 3, 28), date(2024, 4, 2), 1, "Easter 2024"),
        # Fri 20 Dec 2024 -> Fri 3 Jan 2025: 23, 24, 27, 30, 31 Dec and 2, 3 Jan; 25, 26 Dec and 1 Jan off.
        (date(2024, 12, 20), date(2025, 1, 3), 7, "Christmas and New Year"),
        # In 2020 the early May bank holiday moved to Friday 8 May for VE Day.
        (date(2020, 5, 7), date(2020, 5, 11), 1, "VE Day 2020"),
        (date(2022, 9, 16), date(2022, 9, 20), 1, "the State Funeral on Monday 19 September 2022"),
        (date(2023, 5, 5), date(2023, 5, 9), 1, "the Coronation bank holiday on Monday 8 May 2023"),
    ],
)
def test_working_days_between(start: date, end: date, expected: int, why: str) -> None:
    assert working_days_between(start, end) == expected, why


def test_45_working_days_boundary_across_christmas() -> None:
    # From Fri 1 Dec 2023: 18 working days to 29 Dec (25, 26 Dec off), 22 in January (1 Jan off), so day 40
    # is 31 Jan and day 45 is Wed 7 Feb 2024.
    start = date(2023, 12, 1)
    assert working_days_between(start, date(2024, 2, 7)) == 45
    assert working_days_between(start, date(2024, 2, 8)) == 46


def test_is_working_day() -> None:
    assert not is_working_day(date(2025, 12, 25))
    assert not is_working_day(date(2025, 8, 25))  # summer bank holiday in England
    assert is_working_day(date(2025, 8, 4))  # Scotland's summer holiday, not England's
    assert not is_working_day(date(2025, 8, 2))  # a Saturday


def test_calendar_index_gives_the_same_answers_as_counting() -> None:
    frame = calendar_frame(date(2019, 1, 1), date(2026, 12, 31))
    index = dict(zip(frame.get_column("calendar_date"), frame.get_column("working_day_index"), strict=True))
    start = date(2019, 3, 7)
    for offset in range(0, 2500, 37):
        for length in (0, 1, 13, 45, 90):
            a = start + timedelta(days=offset)
            b = a + timedelta(days=length)
            assert index[b] - index[a] == working_days_between(a, b)
    assert frame.schema["working_day_index"] == pl.Int64
