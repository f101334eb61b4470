"""Dates for the generator: the reporting window, working days and the shape of a year.

Everything works on numpy `datetime64[D]` arrays (NaT = no date), so thousands of episodes can be
dated in one call. Working days exclude weekends and England bank holidays, as DfE's 45-working-day
assessment measure does.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, timedelta

import holidays
import numpy as np

DAY = np.timedelta64(1, "D")
NAT = np.datetime64("NaT", "D")


@dataclass(frozen=True)
class Window:
    """The dates that frame one generated data set.

    sim_start      first day simulated (quiet history so long-running episodes exist)
    burn_in_start  start of the fully simulated burn-in before the window
    lookback_start referrals open on or after this day are written, so that a referral early in the
                   window can be checked for a previous referral within 12 months
    start          first day of the reporting window (1 April)
    end            extract date: nothing in the files is later than this
    """

    sim_start: date
    burn_in_start: date
    lookback_start: date
    start: date
    end: date

    @property
    def months(self) -> int:
        """Whole or part months from the window start to the end date."""
        return (self.end.year - self.start.year) * 12 + self.end.month - self.start.month + 1

    def month_at(self, fraction: float) -> date:
        """The first day of the month `fraction` of the way through the window."""
        return add_months(self.start, int(round(fraction * self.months)))


def make_window(end: date, window_years: int, burn_in_years: int, history_years: int) -> Window:
    """The window ends on `end` and starts 1 April `window_years` reporting years before the one
    containing `end` (so 31 Oct 2026 with 7 years gives 1 April 2019)."""
    start = date(fy_start_year_of(end) - window_years, 4, 1)
    burn_in = date(start.year - burn_in_years, 4, 1)
    return Window(
        sim_start=date(burn_in.year - history_years, 4, 1),
        burn_in_start=burn_in,
        lookback_start=date(start.year - 1, 4, 1),
        start=start,
        end=end,
    )


def fy_start_year_of(day: date) -> int:
    """Calendar year in which the April-March reporting year containing `day` starts."""
    return day.year if day.month >= 4 else day.year - 1


def fy_start_years(days: np.ndarray) -> np.ndarray:
    """Vectorised `fy_start_year_of` for a datetime64[D] array."""
    months = days.astype("datetime64[M]")
    years = months.astype("datetime64[Y]").astype(np.int64) + 1970
    month_no = (months - months.astype("datetime64[Y]")).astype(np.int64) + 1
    return np.where(month_no >= 4, years, years - 1)


def add_months(day: date, months: int) -> date:
    """First day of the month `months` after the month of `day`."""
    index = day.year * 12 + (day.month - 1) + months
    return date(index // 12, index % 12 + 1, 1)


def month_starts(first: date, last: date) -> list[date]:
    """First days of every month from the month of `first` to the month of `last` inclusive."""
    out = []
    current = date(first.year, first.month, 1)
    while current <= last:
        out.append(current)
        current = add_months(current, 1)
    return out


def month_end(day: date) -> date:
    return add_months(day, 1) - timedelta(days=1)


def england_bank_holidays(first_year: int, last_year: int) -> np.ndarray:
    """England (and Wales) bank holidays as a sorted datetime64[D] array."""
    return _bank_holidays(first_year, last_year).copy()


@functools.lru_cache(maxsize=8)
def _bank_holidays(first_year: int, last_year: int) -> np.ndarray:
    # Every authority of a national run asks for the same years: look them up once per process.
    found = holidays.country_holidays("GB", subdiv="ENG", years=range(first_year, last_year + 1))
    return np.array(sorted(found.keys()), dtype="datetime64[D]")


def add_working_days(days: np.ndarray, offsets: np.ndarray, hols: np.ndarray) -> np.ndarray:
    """`offsets` working days after each day; a weekend or holiday start counts from the next
    working day, so the result is `offsets` working days counted with the referral as day 0."""
    valid = ~np.isnat(days)
    out = np.full(days.shape, NAT)
    out[valid] = np.busday_offset(days[valid], offsets[valid], roll="forward", holidays=hols)
    return out


def working_days_between(first: np.ndarray, last: np.ndarray, hols: np.ndarray) -> np.ndarray:
    """Working days from `first` (day 0) to `last`; -1 where either date is missing."""
    valid = ~(np.isnat(first) | np.isnat(last))
    out = np.full(first.shape, -1, dtype=np.int64)
    out[valid] = np.busday_count(first[valid], last[valid], holidays=hols)
    return out


# Relative referral volume by calendar month. School-term rhythms drive it: schools are a fifth of
# referrals, so August (summer holiday) dips hard, the autumn term is the busiest time of year and
# Easter pulls April down. The second half of December is handled separately (Christmas).
MONTH_FACTOR = np.array([1.00, 1.02, 1.04, 0.92, 1.02, 1.04, 1.00, 0.74, 1.02, 1.12, 1.13, 1.06])
WEEKEND_FACTOR = 0.28  # police and out-of-hours referrals still arrive at weekends
HOLIDAY_FACTOR = 0.35
LATE_DECEMBER_FACTOR = 0.60  # 18-31 December


def daily_referral_weights(days: np.ndarray, hols: np.ndarray) -> np.ndarray:
    """Relative referral intensity per day, normalised to average 1 over the days given."""
    months = days.astype("datetime64[M]")
    month_no = (months - months.astype("datetime64[Y]")).astype(np.int64)
    day_of_month = (days - months.astype("datetime64[D]")).astype(np.int64) + 1
    weights = MONTH_FACTOR[month_no].copy()
    weights[(month_no == 11) & (day_of_month >= 18)] *= LATE_DECEMBER_FACTOR
    weekday = (days.astype(np.int64) + 3) % 7  # 0 = Monday (1970-01-01 was a Thursday)
    weights[weekday >= 5] *= WEEKEND_FACTOR
    weights[np.isin(days, hols)] *= HOLIDAY_FACTOR
    return weights / weights.mean()


def school_term_factor(days: np.ndarray) -> np.ndarray:
    """How open schools are on each day (1 in term, low in holidays): shapes school referrals."""
    months = days.astype("datetime64[M]")
    month_no = (months - months.astype("datetime64[Y]")).astype(np.int64)
    day_of_month = (days - months.astype("datetime64[D]")).astype(np.int64) + 1
    factor = np.ones(days.shape)
    factor[month_no == 7] = 0.12  # August
    factor[(month_no == 6) & (day_of_month >= 22)] = 0.35  # end of July
    factor[(month_no == 11) & (day_of_month >= 18)] = 0.30  # Christmas
    factor[(month_no == 3) & (day_of_month <= 14)] = 0.55  # Easter (approximate)
    factor[(month_no == 8) & (day_of_month <= 4)] = 0.5  # first days of September
    return factor


def to_np(day: date) -> np.datetime64:
    return np.datetime64(day, "D")


def iso(days: np.ndarray) -> list[str | None]:
    """ISO strings for a datetime64[D] array, None for NaT."""
    text = np.datetime_as_string(days, unit="D")
    return [None if t == "NaT" else str(t) for t in text]
