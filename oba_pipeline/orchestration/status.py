"""`oba status`: what is published, what the last refresh did, and what failed, in a few lines."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

import duckdb

from oba_pipeline.config import Home
from oba_pipeline.orchestration.freshness import freshness_findings
from oba_pipeline.publish import SNAPSHOT_DB, current_snapshot, lock_owner, read_manifest, snapshots

REFRESH_JOB = "refresh"


def published_sources(snapshot_db: str) -> list[dict[str, Any]]:
    con = duckdb.connect(snapshot_db, read_only=True)
    try:
        return con.execute("select source, rows_loaded, rows_rejected, first_date, last_date, loaded_at "
                           "from sources order by source").pl().to_dicts()
    except duckdb.CatalogException:
        return []
    finally:
        con.close()


def last_runs(home: Home, limit: int = 10) -> tuple[list[Any], Any] | None:
    """The latest refresh runs recorded under the home's Dagster instance, newest first."""
    import dagster as dg

    if not (home.dagster_home / "dagster.yaml").exists():
        return None
    previous = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = str(home.dagster_home)
    try:
        instance = dg.DagsterInstance.get()
        return list(instance.get_runs(filters=dg.RunsFilter(job_name=REFRESH_JOB), limit=limit)), instance
    finally:
        if previous is None:
            os.environ.pop("DAGSTER_HOME", None)
        else:
            os.environ["DAGSTER_HOME"] = previous


def status_report(home: Home, now: datetime | None = None) -> str:
    """A plain-text account for the terminal."""
    from oba_pipeline.orchestration.runs import run_problems

    now = now or datetime.now(UTC).replace(tzinfo=None)
    lines = [f"OBA home: {home.root}"]
    live = current_snapshot(home)
    if live is None:
        lines.append("Published: nothing yet (run `oba refresh`).")
    else:
        manifest = read_manifest(live)
        lines.append(f"Published: snapshot {live.name}, published {manifest.get('published_at')}, "
                     f"extracts up to {manifest.get('extract_date')}, run {manifest.get('run_id')}")
        for row in published_sources(str(live / SNAPSHOT_DB)):
            stale = freshness_findings(row["source"], row["loaded_at"], row["last_date"], now)
            lines.append(f"  {row['source']:<16} {row['rows_loaded']:>9,} rows, dates {row['first_date']} to "
                         f"{row['last_date']}, file of {row['loaded_at']} UTC" + ("  STALE" if stale else ""))
            lines.extend(f"      {finding}" for finding in stale)
    kept = snapshots(home)
    if kept:
        marks = [f"{p.name}{' (live)' if p == live else ''}" for p in kept]
        lines.append(f"Kept snapshots (oldest first; `oba rollback` goes back one): {', '.join(marks)}")
    owner = lock_owner(home)
    lines.append(f"Writer lock: held by {owner.get('purpose')} (process {owner.get('pid')}, since {owner.get('since')})"
                 if owner else "Writer lock: free (no refresh running)")
    found = last_runs(home)
    runs, instance = found if found else ([], None)
    if not runs:
        lines.append("Last refresh: none recorded.")
        return "\n".join(lines)
    last = runs[0]
    lines.append(f"Last refresh: run {last.run_id} {last.status.value.lower()}"
                 + (f" (started by {last.tags.get('dagster/schedule_name') or last.tags.get('dagster/sensor_name')})"
                    if last.tags.get("dagster/schedule_name") or last.tags.get("dagster/sensor_name") else ""))
    record = instance.get_run_record_by_id(last.run_id) if instance else None
    if record is not None and record.start_time:
        started = datetime.fromtimestamp(record.start_time, UTC)
        ended = datetime.fromtimestamp(record.end_time, UTC) if record.end_time else None
        lines.append(f"  started {started:%Y-%m-%d %H:%M:%S} UTC"
                     + (f", took {(ended - started).total_seconds():.0f} s" if ended else ", still running or killed"))
    problems = run_problems(instance, last.run_id, home) if instance else []
    for problem in problems:
        label = "FAILED" if problem.severity == "error" else "WARNING"
        lines.append(f"  {label} {problem.line()}")
    failed = [run for run in runs[1:] if run.status.value == "FAILURE"]
    if not problems and failed:
        lines.append(f"Last failed refresh: run {failed[0].run_id}")
        for problem in run_problems(instance, failed[0].run_id, home) if instance else []:
            lines.append(f"  {problem.line()}")
    return "\n".join(lines)
