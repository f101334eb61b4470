"""The deployment the README describes, for real: the Dagster daemon and web UI on the instance template
(oba_pipeline/deploy/dagster.yaml) with PostgreSQL storage. The schedule and sensors are on by default and
shown in the UI; new extracts landing start a refresh; its failure reaches the webhook."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import dagster as dg
import pytest
from receivers import free_port

from oba_pipeline.config import REPO_ROOT

pytestmark = pytest.mark.integration

TEMPLATE = REPO_ROOT / "oba_pipeline" / "deploy" / "dagster.yaml"

UI_QUERY = """
{ workspaceOrError { ... on Workspace { locationEntries { locationOrLoadError {
  ... on RepositoryLocation { repositories {
    schedules { name cronSchedule executionTimezone scheduleState { status } }
    sensors { name sensorState { status } } } } } } } } }
"""


def pg_env(url: str) -> dict[str, str]:
    """The template's OBA_DAGSTER_PG_* variables for a postgresql+psycopg://user@host:port/db URL."""
    rest = url.split("://", 1)[1]
    user, rest = rest.split("@", 1)
    hostport, database = rest.split("/", 1)
    host, port = hostport.split(":")
    return {"OBA_DAGSTER_PG_HOST": host, "OBA_DAGSTER_PG_PORT": port, "OBA_DAGSTER_PG_USER": user,
            # The test server trusts local connections; a real one checks this.
            "OBA_DAGSTER_PG_PASSWORD": "unused-with-trust-auth", "OBA_DAGSTER_PG_DB": database}


@dg.op
def say_hello() -> str:
    return "hello"


@dg.job
def hello() -> None:
    say_hello()


def test_instance_template_keeps_runs_in_postgresql(tmp_path: Path, postgres_database: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from dagster_postgres import PostgresRunStorage

    dagster_home = tmp_path / "dagster"
    dagster_home.mkdir()
    shutil.copy(TEMPLATE, dagster_home / "dagster.yaml")
    for key, value in pg_env(postgres_database).items():
        monkeypatch.setenv(key, value)
    instance = dg.DagsterInstance.from_config(str(dagster_home))
    try:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        coordinator = instance.run_coordinator
        assert type(coordinator).__name__ == "QueuedRunCoordinator"
        assert coordinator.get_run_queue_config().tag_concurrency_limits == [  # type: ignore[attr-defined]
            {"key": "oba/warehouse", "limit": 1}]
        result = hello.execute_in_process(instance=instance)
        assert result.success
    finally:
        instance.dispose()
    # A second process (here: a second instance on the same file) sees the same history.
    again = dg.DagsterInstance.from_config(str(dagster_home))
    try:
        [run] = again.get_runs(filters=dg.RunsFilter(job_name="hello"))
        assert run.run_id == result.run_id and run.status == dg.DagsterRunStatus.SUCCESS
    finally:
        again.dispose()


def _start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(command, cwd=REPO_ROOT, env=env, start_new_session=True,
                            stdout=open(log, "ab"), stderr=subprocess.STDOUT)  # noqa: SIM115


def _stop(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    except ProcessLookupError:
        pass


def _ui_state(port: int) -> dict[str, object] | None:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", method="POST",
                                     data=json.dumps({"query": UI_QUERY}).encode(),
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - loopback
            body = json.loads(response.read())
    except OSError:
        return None
    entries = body["data"]["workspaceOrError"].get("locationEntries") or []
    repositories = [repo for entry in entries for repo in (entry["locationOrLoadError"] or {}).get("repositories", [])]
    if not repositories:
        return None
    [repository] = repositories
    return {"schedules": {s["name"]: s for s in repository["schedules"]},
            "sensors": {s["name"]: s["sensorState"]["status"] for s in repository["sensors"]}}


def test_daemon_and_ui_on_postgresql_start_a_refresh_on_new_extracts_and_notify_its_failure(
        tmp_path: Path, postgres_database: str, webhook_receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    url, posts = webhook_receiver
    home = tmp_path / "home"
    dagster_home = home / "dagster"
    dagster_home.mkdir(parents=True)
    shutil.copy(TEMPLATE, dagster_home / "dagster.yaml")
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    # Only one extract has landed: the refresh the sensor starts fails, naming the sources that are missing.
    (inputs / "referrals.csv").write_text("referral_id,child_id\nR1,C1\n")
    settled = time.time() - 600
    os.utime(inputs / "referrals.csv", (settled, settled))
    env = {**os.environ, **pg_env(postgres_database), "DAGSTER_HOME": str(dagster_home), "OBA_HOME": str(home),
           "OBA_INPUT_DIR": str(inputs), "OBA_NOTIFY_WEBHOOK_URL": url, "OBA_SENSOR_INTERVAL_SECONDS": "5",
           "OBA_FAILURE_SENSOR_INTERVAL_SECONDS": "5", "OBA_PARTNERSHIP_NAME": "Test partnership"}
    bin_dir = Path(sys.executable).parent
    ui_port = free_port()
    daemon = _start([str(bin_dir / "dagster-daemon"), "run", "-w", str(REPO_ROOT / "workspace.yaml")], env,
                    tmp_path / "daemon.log")
    webserver = _start([str(bin_dir / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(ui_port), "-w",
                        str(REPO_ROOT / "workspace.yaml")], env, tmp_path / "webserver.log")
    try:
        deadline = time.monotonic() + 240
        state = None
        while state is None and time.monotonic() < deadline:
            state = _ui_state(ui_port)
            time.sleep(1)
        assert state is not None, (tmp_path / "webserver.log").read_text()[-3000:]
        nightly = state["schedules"]["nightly_refresh"]  # type: ignore[index]
        assert nightly["cronSchedule"] == "0 2 * * *" and nightly["executionTimezone"] == "Europe/London"
        assert nightly["scheduleState"]["status"] == "RUNNING"
        assert state["sensors"] == {"new_extracts": "RUNNING", "refresh_failure_notification": "RUNNING",
                                    "refresh_check_notification": "RUNNING"}
        while not posts and time.monotonic() < deadline:
            assert daemon.poll() is None, (tmp_path / "daemon.log").read_text()[-3000:]
            time.sleep(1)
        assert posts, (tmp_path / "daemon.log").read_text()[-3000:]
    finally:
        _stop(webserver)
        _stop(daemon)
    text = posts[0]["json"]["text"]  # type: ignore[index]
    assert text.startswith("OBA refresh failed (Test partnership)")
    assert "Source: population" in text and "Check: file rule file_found" in text and "What to do:" in text
    for key, value in pg_env(postgres_database).items():
        monkeypatch.setenv(key, value)
    instance = dg.DagsterInstance.from_config(str(dagster_home))
    try:
        runs = instance.get_runs(filters=dg.RunsFilter(job_name="refresh"))
        assert len(runs) == 1 and runs[0].status == dg.DagsterRunStatus.FAILURE
        assert runs[0].tags.get("dagster/sensor_name") == "new_extracts"
    finally:
        instance.dispose()
