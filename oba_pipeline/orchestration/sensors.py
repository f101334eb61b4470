"""Sensors: start a refresh when new extracts land, and tell the data team when a refresh fails."""

import hashlib
import json
import os
import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg

if TYPE_CHECKING:
    from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

from oba_pipeline.config import Home
from oba_pipeline.contracts.contract import load_contract
from oba_pipeline.errors import FileRuleError
from oba_pipeline.ingest.readers import find_extract_files
from oba_pipeline.orchestration.notify import Notice, notify
from oba_pipeline.orchestration.runs import Problem, run_problems
from oba_pipeline.publish import current_snapshot, read_manifest

SOURCES = ("population", "referrals", "caseloads", "spend", "family_outcomes")
# A file still being copied keeps changing: wait until every extract has been still this long.
SETTLE_SECONDS = float(os.environ.get("OBA_SENSOR_SETTLE_SECONDS", "60"))
# How often the daemon looks for new extracts and for failed runs.
SENSOR_INTERVAL_SECONDS = int(os.environ.get("OBA_SENSOR_INTERVAL_SECONDS", "60"))
FAILURE_SENSOR_INTERVAL_SECONDS = int(os.environ.get("OBA_FAILURE_SENSOR_INTERVAL_SECONDS", "30"))


def extract_fingerprint(input_dir: Path) -> tuple[str, dict[str, list[str]], float]:
    """A digest of every extract file's name, size and modification time; the files per source; and
    the seconds since the newest of them last changed."""
    files: dict[str, list[str]] = {}
    parts = []
    newest = 0.0
    for source in SOURCES:
        try:
            found = find_extract_files(input_dir, load_contract(source))
        except FileRuleError:
            found = []
        files[source] = [path.name for path in found]
        for path in found:
            stat = path.stat()
            newest = max(newest, stat.st_mtime)
            parts.append(f"{source}/{path.name}/{stat.st_size}/{stat.st_mtime_ns}")
    digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()
    return digest, files, time.time() - newest if newest else float("inf")


def build_new_extracts_sensor(job: "UnresolvedAssetJobDefinition", input_dir: str,
                              home: Home | None = None) -> dg.SensorDefinition:
    @dg.sensor(name="new_extracts", job=job, minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
               default_status=dg.DefaultSensorStatus.RUNNING,
               description=f"Starts a refresh when new or changed extracts have landed in {input_dir} since the "
                           f"last publish and have been still for {SETTLE_SECONDS:.0f} s.")
    def new_extracts(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
        folder = Path(input_dir)
        if not folder.is_dir():
            return dg.SkipReason(f"the input folder {folder} does not exist")
        digest, files, still_for = extract_fingerprint(folder)
        if not any(files.values()):
            return dg.SkipReason(f"no extract files in {folder}")
        if digest == context.cursor:
            return dg.SkipReason("no new extracts since the last refresh this sensor started")
        published_at = _published_at(home)
        if published_at is not None and time.time() - still_for <= published_at:
            return dg.SensorResult(skip_reason=dg.SkipReason("the extracts are older than the live snapshot, "
                                                             "which was published from them"), cursor=digest)
        if still_for < SETTLE_SECONDS:
            return dg.SkipReason(f"extracts changed {still_for:.0f} s ago; waiting until they have been still "
                                 f"for {SETTLE_SECONDS:.0f} s in case a copy is under way")
        return dg.SensorResult(
            run_requests=[dg.RunRequest(run_key=digest, tags={"oba/trigger": "new_extracts"})], cursor=digest)

    return new_extracts


def _published_at(home: Home | None) -> float | None:
    """When the live snapshot was published (seconds since the epoch), or None."""
    live = current_snapshot(home) if home is not None else None
    if live is None:
        return None
    try:
        return datetime.fromisoformat(str(read_manifest(live)["published_at"])).timestamp()
    except (KeyError, ValueError, OSError):
        return None


def build_failure_sensor(job: "UnresolvedAssetJobDefinition", home: Home) -> dg.SensorDefinition:
    @dg.run_failure_sensor(name="refresh_failure_notification", monitored_jobs=[job],
                           minimum_interval_seconds=FAILURE_SENSOR_INTERVAL_SECONDS,
                           default_status=dg.DefaultSensorStatus.RUNNING,
                           description="Sends the configured webhook and email when a refresh fails, naming the "
                                       "source, the check and what to do.")
    def refresh_failure_notification(context: dg.RunFailureSensorContext) -> None:
        run_id = context.dagster_run.run_id
        problems = run_problems(context.instance, run_id, home)
        notice = failure_notice(home, run_id, problems)
        sent = notify(notice)
        context.log.info(f"failure notification for run {run_id}: {json.dumps(sent)}")

    return refresh_failure_notification


def build_check_warning_sensor(job: "UnresolvedAssetJobDefinition", home: Home) -> dg.SensorDefinition:
    """A refresh that succeeded can still carry failed checks (a source that has not arrived): say so too."""

    @dg.run_status_sensor(name="refresh_check_notification", run_status=dg.DagsterRunStatus.SUCCESS,
                          monitored_jobs=[job], minimum_interval_seconds=FAILURE_SENSOR_INTERVAL_SECONDS,
                          default_status=dg.DefaultSensorStatus.RUNNING,
                          description="Sends the configured webhook and email when a refresh finished with a failed "
                                      "check (a stale source, or a blocking check that stopped publishing).")
    def refresh_check_notification(context: dg.RunStatusSensorContext) -> None:
        run_id = context.dagster_run.run_id
        problems = run_problems(context.instance, run_id, home)
        if problems:
            sent = notify(failure_notice(home, run_id, problems))
            context.log.info(f"check notification for run {run_id}: {json.dumps(sent)}")

    return refresh_check_notification


def failure_notice(home: Home, run_id: str, problems: list[Problem]) -> Notice:
    live = current_snapshot(home)
    serving = (f"still serving snapshot {live.name}, published before this run" if live
               else "nothing has been published yet")
    partnership = os.environ.get("OBA_PARTNERSHIP_NAME", home.root.name)
    links = {}
    if os.environ.get("OBA_DAGSTER_URL"):
        links["Run in the Dagster UI"] = f"{os.environ['OBA_DAGSTER_URL'].rstrip('/')}/runs/{run_id}"
    if not problems:
        problems = [Problem(source="run", check="run", message="the run failed before any step reported why.",
                            action="Read the run's log in the Dagster UI and run the refresh again.")]
    return Notice(partnership=partnership, run_id=run_id, problems=problems, serving=serving, links=links)
