"""When a source counts as stale: the one rule `oba status`, the freshness checks and the dashboard share.

A nightly source whose newest file is older than `OBA_FRESHNESS_HOURS` (36 by default) has not
arrived: the refresh re-used last night's file. A time-based source whose latest date is more than
`OBA_FRESHNESS_DATA_DAYS` (45 by default) behind has arrived but stopped moving (the export ran on a
stale copy). The population estimates are annual, so they may be up to 400 days old.

Kept free of Dagster so the dashboard can import it without paying Dagster's start-up.
"""

from __future__ import annotations

import os
from datetime import date, datetime, timedelta

ANNUAL_SOURCES = {"population": timedelta(days=400)}
TIME_BASED = ("referrals", "caseloads", "spend", "family_outcomes")


def max_file_age(source: str) -> timedelta:
    if source in ANNUAL_SOURCES:
        return ANNUAL_SOURCES[source]
    return timedelta(hours=float(os.environ.get("OBA_FRESHNESS_HOURS", "36")))


def max_data_lag() -> timedelta:
    return timedelta(days=float(os.environ.get("OBA_FRESHNESS_DATA_DAYS", "45")))


def freshness_findings(source: str, loaded_at: datetime | None, last_date: date | None,
                       now: datetime) -> list[str]:
    """What is stale about one source, in words; empty when it is fresh."""
    findings = []
    if loaded_at is None:
        return [f"{source}: no file of this source was loaded"]
    age = now - loaded_at
    if age > max_file_age(source):
        findings.append(f"{source}: the newest file was written {_age(age)} ago ({loaded_at:%Y-%m-%d %H:%M} UTC), "
                        f"older than the {_age(max_file_age(source))} allowed, so tonight's extract has not arrived")
    # Monthly sources date a row by its month's first day: measure from the end of the latest month.
    covered_to = _month_end(last_date) if last_date is not None else None
    if source in TIME_BASED and covered_to is not None and now.date() - covered_to > max_data_lag():
        findings.append(f"{source}: the data runs only to {covered_to:%B %Y}, {(now.date() - covered_to).days} days "
                        f"ago (more than {max_data_lag().days} allowed), so the export may be of a stale copy")
    return findings


def _month_end(day: date) -> date:
    following = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return following - timedelta(days=1)


def _age(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:.0f} hours" if hours < 72 else f"{hours / 24:.0f} days"
