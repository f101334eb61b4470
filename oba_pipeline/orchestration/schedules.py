"""The nightly refresh schedule: time and timezone from the environment, on whenever the daemon runs."""

import os
import re
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dagster as dg

if TYPE_CHECKING:
    from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

DEFAULT_TIME = "02:00"
DEFAULT_TIMEZONE = "Europe/London"


def nightly_cron(at: str) -> str:
    """`02:30` -> `30 2 * * *`; a clear error for anything that is not a time of day."""
    match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", at.strip())
    if not match:
        raise ValueError(f"OBA_REFRESH_TIME={at!r} is not a time of day in the form HH:MM (for example 02:00)")
    return f"{int(match.group(2))} {int(match.group(1))} * * *"


def refresh_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"OBA_REFRESH_TIMEZONE={name!r} is not an IANA time zone (for example Europe/London)") \
            from error
    return name


def build_nightly_schedule(job: "UnresolvedAssetJobDefinition") -> dg.ScheduleDefinition:
    at = os.environ.get("OBA_REFRESH_TIME", DEFAULT_TIME)
    zone = refresh_timezone(os.environ.get("OBA_REFRESH_TIMEZONE", DEFAULT_TIMEZONE))
    return dg.ScheduleDefinition(
        name="nightly_refresh", job=job, cron_schedule=nightly_cron(at), execution_timezone=zone,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=f"The full refresh every night at {at} ({zone}); set OBA_REFRESH_TIME and OBA_REFRESH_TIMEZONE.",
    )
