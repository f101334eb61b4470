"""Retention of the raw landing area: raw files and raw tables are deleted once a load has succeeded.

The landing area (`OBA_HOME/landing/<run>/` and the warehouse's `raw_<source>` tables) is the only place
names, identifiers and exact dates of birth exist. By default, as soon as a refresh has published, the
copies of the night's files and the raw tables are deleted; the rows set aside as they arrived
(`rejected_rows.csv`, which the data team needs to fix the source system) are kept for
`OBA_REJECTED_RETENTION_DAYS` days (30 by default) and then deleted with their folder. Set
`OBA_LANDING_RETENTION_DAYS` to keep the copies of the files for that many days instead (for a partnership
whose information governance lead agrees a longer period, e.g. to re-run a night).
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from dataclasses import dataclass, field

import duckdb

from oba_pipeline.config import Home

log = logging.getLogger(__name__)

LANDING_DAYS_ENV = "OBA_LANDING_RETENTION_DAYS"
REJECTED_DAYS_ENV = "OBA_REJECTED_RETENTION_DAYS"
DEFAULT_REJECTED_DAYS = 30
REJECTED_FILE = "rejected_rows.csv"


class RetentionConfigError(ValueError):
    """A retention setting is not a whole number of days."""


@dataclass
class RetentionOutcome:
    """What a retention pass deleted, for the run's metadata and the log."""

    files_deleted: list[str] = field(default_factory=list)
    folders_deleted: list[str] = field(default_factory=list)
    raw_tables_dropped: list[str] = field(default_factory=list)


def _days(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit():
        raise RetentionConfigError(f"{name} must be a whole number of days (0 or more), not {raw!r}.")
    return int(raw)


def apply_retention(home: Home, run_id: str, con: duckdb.DuckDBPyConnection | None = None,
                    *, now: float | None = None) -> RetentionOutcome:
    """Delete what the landing area no longer needs after run `run_id` published successfully."""
    landing_days = _days(LANDING_DAYS_ENV, 0)
    rejected_days = _days(REJECTED_DAYS_ENV, DEFAULT_REJECTED_DAYS)
    now = time.time() if now is None else now
    outcome = RetentionOutcome()
    if landing_days == 0:
        run_folder = home.landing / run_id
        for path in sorted(run_folder.rglob("*")) if run_folder.is_dir() else []:
            if path.is_file() and path.name != REJECTED_FILE:
                path.unlink()
                outcome.files_deleted.append(str(path.relative_to(home.landing)))
        if con is not None:
            for (table,) in con.execute("select table_name from information_schema.tables "
                                        "where table_name like 'raw\\_%' escape '\\'").fetchall():
                # Names come from the catalogue of the database itself, never from user input.
                con.execute(f'drop table "{table}"')
                outcome.raw_tables_dropped.append(table)
    for folder in sorted(home.landing.iterdir()) if home.landing.is_dir() else []:
        if not folder.is_dir() or folder.name == run_id:
            continue
        age_days = (now - folder.stat().st_mtime) / 86_400
        if age_days >= rejected_days:
            shutil.rmtree(folder, ignore_errors=True)
            outcome.folders_deleted.append(folder.name)
        elif age_days >= landing_days:
            # Includes copies left behind by runs that did not publish: the next successful load clears them.
            for path in sorted(folder.rglob("*")):
                if path.is_file() and path.name != REJECTED_FILE:
                    path.unlink()
                    outcome.files_deleted.append(str(path.relative_to(home.landing)))
    # Empty folders (no rejected rows) serve no one.
    for folder in sorted(home.landing.glob("*/*"), reverse=True):
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    for folder in home.landing.glob("*"):
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    log.info("landing retention: %d files, %d folders deleted, raw tables dropped: %s",
             len(outcome.files_deleted), len(outcome.folders_deleted), outcome.raw_tables_dropped)
    return outcome
