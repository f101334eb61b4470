"""Running a full refresh from Python (what `oba refresh` does) and summarising it for a person."""

from __future__ import annotations

import gc
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from oba_pipeline.config import Home
from oba_pipeline.orchestration.runs import Problem, problems_from_events
from oba_pipeline.publish import WriterBusyError, current_snapshot, read_manifest, recover, writer_lock

log = logging.getLogger(__name__)

DAGSTER_YAML = """\
telemetry:
  enabled: false
"""


@dataclass
class RefreshOutcome:
    """What a refresh did, in words a data team can act on."""

    success: bool
    run_id: str
    snapshot: Path | None
    failures: list[str] = field(default_factory=list)
    failed_checks: list[str] = field(default_factory=list)
    loads: list[dict[str, object]] = field(default_factory=list)
    rejected_messages: list[str] = field(default_factory=list)
    # Published (national) files that could not be used; the refresh carries on without them.
    benchmark_messages: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    notified: dict[str, bool] = field(default_factory=dict)


def prepare_instance(home: Home) -> dg.DagsterInstance:
    """A persistent Dagster instance under OBA_HOME, so runs appear in the Dagster UI too."""
    home.ensure()
    config = home.dagster_home / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML, encoding="utf-8")
    os.environ["DAGSTER_HOME"] = str(home.dagster_home)
    return dg.DagsterInstance.get()


def run_refresh(home: Home, input_dir: Path, *, log_level: str = "WARNING", full: bool = False,
                backfill: tuple[str, str] | None = None, notify_failures: bool = True,
                lock_timeout: float | None = None) -> RefreshOutcome:
    """Materialise every asset on the extracts in `input_dir`, publishing only if every check passed.

    By default only the months whose partitions changed are recomputed; `full` recomputes all history,
    `backfill` (first and last month, YYYY-MM) recomputes that range whatever changed. The whole run holds
    the single-writer lock; a failed run sends the configured notifications.
    """
    # Imported here: building the definitions imports the asset modules, which is slow for `oba --help`.
    from oba_pipeline.definitions import REFRESH_JOB, build_definitions

    if not input_dir.is_dir():
        return RefreshOutcome(success=False, run_id="", snapshot=current_snapshot(home),
                              failures=[f"The input folder {input_dir} does not exist. Point --input at the folder "
                                        "holding the night's extracts."])
    from oba_pipeline.ingest.pseudonymise import PseudonymKeyError, load_key

    try:
        load_key()  # a missing key stops the refresh before anything is read, not halfway through
    except PseudonymKeyError as error:
        return RefreshOutcome(success=False, run_id="", snapshot=current_snapshot(home), failures=[str(error)])
    instance = prepare_instance(home)
    try:
        with writer_lock(home, timeout=lock_timeout, purpose="oba refresh"):
            recover(home)
            before = current_snapshot(home)
            defs = build_definitions(home, str(input_dir.resolve()))
            job = defs.resolve_job_def(REFRESH_JOB)
            indicator_config: dict[str, object] = {"full": full}
            if backfill:
                indicator_config.update(backfill_from=backfill[0], backfill_to=backfill[1])
            result = job.execute_in_process(
                instance=instance, raise_on_error=False,
                run_config={"loggers": {"console": {"config": {"log_level": log_level}}},
                            "ops": {"indicator_values": {"config": indicator_config}}},
            )
    except WriterBusyError as error:
        return RefreshOutcome(success=False, run_id="", snapshot=current_snapshot(home), failures=[str(error)])
    outcome = RefreshOutcome(success=result.success, run_id=result.run_id, snapshot=current_snapshot(home))
    outcome.problems = problems_from_events(result.all_events, home)
    for problem in outcome.problems:
        if problem.check.startswith(("file rule", "step ")):
            outcome.failures.append(f"{problem.source}: {problem.message}")
        elif problem.severity == "error":
            outcome.failed_checks.append(f"{problem.check}: {problem.message}")
        else:
            outcome.warnings.append(f"{problem.check}: {problem.message}")
    if outcome.failed_checks:
        outcome.success = False
    outcome.loads, outcome.rejected_messages = _load_summary(home)
    outcome.benchmark_messages = _benchmark_errors(home)
    if outcome.snapshot == before and not outcome.success:
        log.warning("nothing new was published; the dashboard still serves %s", before.name if before else "nothing")
    if notify_failures and outcome.problems and (not outcome.success or outcome.warnings):
        from oba_pipeline.orchestration.notify import notify
        from oba_pipeline.orchestration.sensors import failure_notice

        outcome.notified = notify(failure_notice(home, outcome.run_id, outcome.problems))
    return outcome


def _load_summary(home: Home) -> tuple[list[dict[str, object]], list[str]]:
    import duckdb

    if not home.warehouse.exists():
        return [], []
    # A step that failed inside `with get_connection()` leaves its connection reachable only through the
    # exception's traceback cycle until the cycle collector runs; DuckDB refuses a read-only connection to a
    # file while a read-write one is open in the same process, so collect it first.
    gc.collect()
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        tables = {row[0] for row in con.execute("select table_name from information_schema.tables").fetchall()}
        loads = (con.execute("select source, files, rows_read, rows_loaded, rows_rejected from source_loads "
                             "order by source").pl().to_dicts() if "source_loads" in tables else [])
        messages = ([row[0] for row in con.execute(
            "select message from rejected_rows order by source, file, row limit 20").fetchall()]
            if "rejected_rows" in tables else [])
    finally:
        con.close()
    return loads, messages


def _benchmark_errors(home: Home) -> list[str]:
    import duckdb

    if not home.warehouse.exists():
        return []
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        tables = {row[0] for row in con.execute("select table_name from information_schema.tables").fetchall()}
        if "benchmark_sources" not in tables:
            return []
        return [row[0] for row in con.execute(
            "select message from benchmark_sources where status = 'error' order by file").fetchall()]
    finally:
        con.close()


def describe(outcome: RefreshOutcome) -> str:
    """A plain-English account of the refresh for the terminal."""
    lines = []
    for load in outcome.loads:
        lines.append(f"  {load['source']:<16} {load['rows_loaded']:>9,} rows loaded, "
                     f"{load['rows_rejected']:>6,} set aside   ({load['files']})")
    if outcome.rejected_messages:
        lines.append("Rows set aside (first 20; all are in rejected_rows and the validation reports):")
        lines.extend(f"  - {message}" for message in outcome.rejected_messages)
    if outcome.benchmark_messages:
        lines.append("Published files not loaded (benchmarks from them keep their last good figures):")
        lines.extend(f"  - {message}" for message in outcome.benchmark_messages)
    for failure in outcome.failures:
        lines.append(f"FAILED {failure}")
    for check in outcome.failed_checks:
        lines.append(f"CHECK FAILED {check}")
    for warning in outcome.warnings:
        lines.append(f"WARNING {warning}")
    for channel, delivered in outcome.notified.items():
        lines.append(f"Notification by {channel}: {'sent' if delivered else 'NOT delivered (see the log)'}")
    if outcome.success and outcome.snapshot:
        manifest = read_manifest(outcome.snapshot)
        lines.append(f"Published snapshot {manifest['snapshot_id']} (extracts up to {manifest.get('extract_date')}).")
    elif outcome.snapshot:
        lines.append(f"Nothing new was published: the dashboard still serves snapshot {outcome.snapshot.name}.")
    else:
        lines.append("Nothing was published.")
    return "\n".join(lines)
