"""The nightly-refresh machinery on its own: lock, rollback, recovery, notifications, schedule, sensor, freshness."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from oba_pipeline.config import Home
from oba_pipeline.orchestration.checks import freshness_findings
from oba_pipeline.orchestration.notify import Notice, NotifySettings, notify, webhook_payload
from oba_pipeline.orchestration.runs import Problem
from oba_pipeline.orchestration.schedules import build_nightly_schedule, nightly_cron
from oba_pipeline.orchestration.sensors import build_new_extracts_sensor
from oba_pipeline.publish import (
    CURRENT,
    RollbackError,
    WriterBusyError,
    current_snapshot,
    lock_owner,
    publish_tables,
    recover,
    rollback,
    snapshots,
    writer_lock,
)


def table(value: int) -> pl.DataFrame:
    return pl.DataFrame({"indicator_id": ["referral_rate"], "value": [float(value)]})


def published_bytes(home: Home) -> dict[str, str]:
    """A digest of every file of every complete snapshot and of CURRENT."""
    found = {CURRENT: (home.published / CURRENT).read_text()}
    for snapshot in snapshots(home):
        for path in sorted(snapshot.iterdir()):
            found[f"{snapshot.name}/{path.name}"] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


# --- publishing: rollback, lock, recovery ---------------------------------------------------------

def test_rollback_goes_back_one_and_can_be_undone(tmp_path: Path) -> None:
    home = Home(tmp_path)
    with pytest.raises(RollbackError, match="no snapshot older"):
        rollback(home)
    first = publish_tables(home, {"indicator_values": table(1)}, {})
    second = publish_tables(home, {"indicator_values": table(2)}, {})
    before, after = rollback(home)
    assert (before, after) == (second, first)
    assert current_snapshot(home) == first
    with pytest.raises(RollbackError, match="no snapshot older"):
        rollback(home)
    with pytest.raises(RollbackError, match="no complete snapshot 'nope'"):
        rollback(home, to="nope")
    rollback(home, to=second.name)
    assert current_snapshot(home) == second
    # A publish after a rollback becomes the newest snapshot and goes live.
    third = publish_tables(home, {"indicator_values": table(3)}, {})
    assert current_snapshot(home) == third


def test_recover_clears_what_a_killed_writer_left(tmp_path: Path) -> None:
    home = Home(tmp_path)
    live = publish_tables(home, {"indicator_values": table(1)}, {})
    before = published_bytes(home)
    (home.published / ".20990101T000000000000Z.partial").mkdir()
    (home.published / ".20990101T000000000000Z.partial" / "oba.duckdb").write_bytes(b"half")
    (home.published / f".{CURRENT}.12345.tmp").write_text("20990101T000000000000Z")
    cleaned = recover(home)
    assert sorted(cleaned) == [".20990101T000000000000Z.partial", f".{CURRENT}.12345.tmp"]
    assert current_snapshot(home) == live and published_bytes(home) == before


HOLD_LOCK = """
import sys, time
from pathlib import Path
from oba_pipeline.config import Home
from oba_pipeline.publish import writer_lock
with writer_lock(Home(Path(sys.argv[1])), purpose="test holder"):
    print("held", flush=True)
    time.sleep(120)
"""


def test_one_writer_at_a_time_and_a_killed_holder_leaves_no_stale_lock(tmp_path: Path) -> None:
    home = Home(tmp_path)
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(tmp_path)], stdout=subprocess.PIPE,
                              text=True, start_new_session=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        owner = lock_owner(home)
        assert owner is not None and owner["pid"] == holder.pid and owner["purpose"] == "test holder"
        with pytest.raises(WriterBusyError, match=f"process {holder.pid}"), writer_lock(home, timeout=0.3):
            pass
        with pytest.raises(WriterBusyError):
            _publish_with_timeout(home)
    finally:
        os.killpg(holder.pid, signal.SIGKILL)
        holder.wait(timeout=10)
    # The operating system released the dead holder's lock: no clean-up needed.
    assert lock_owner(home) is None
    with writer_lock(home, timeout=1):
        assert lock_owner(home) is None or lock_owner(home)["pid"] == os.getpid()  # type: ignore[index]
    assert publish_tables(home, {"indicator_values": table(1)}, {}) == current_snapshot(home)


def _publish_with_timeout(home: Home) -> None:
    with writer_lock(home, timeout=0.2, purpose="publish"):
        publish_tables(home, {"indicator_values": table(1)}, {})


KILLED_PUBLISH = """
import sys
from pathlib import Path
import polars as pl
from oba_pipeline.config import Home
from oba_pipeline.publish import publish_tables
big = pl.DataFrame({"indicator_id": ["x"] * 3_000_000, "value": [float(i) for i in range(3_000_000)]})
publish_tables(Home(Path(sys.argv[1])), {"indicator_values": big, "areas": big, "sources": big}, {})
"""


def test_kill_9_while_publishing_leaves_the_live_snapshot_untouched(tmp_path: Path) -> None:
    home = Home(tmp_path)
    live = publish_tables(home, {"indicator_values": table(1)}, {})
    before = published_bytes(home)
    writer = subprocess.Popen([sys.executable, "-c", KILLED_PUBLISH, str(tmp_path)], start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not list(home.published.glob(".*.partial")) and time.monotonic() < deadline:
            assert writer.poll() is None, "the publishing process ended before it could be killed"
            time.sleep(0.01)
        assert list(home.published.glob(".*.partial")), "the new snapshot was never started"
    finally:
        os.killpg(writer.pid, signal.SIGKILL)
        writer.wait(timeout=10)
    assert current_snapshot(home) == live
    assert published_bytes(home) == before
    # The next publish needs no clean-up by hand, and clears the half-written folder.
    after = publish_tables(home, {"indicator_values": table(2)}, {})
    assert current_snapshot(home) == after and not list(home.published.glob(".*.partial"))


# --- notifications --------------------------------------------------------------------------------

def notice() -> Notice:
    return Notice(partnership="Northwold", run_id="run-1", serving="still serving snapshot 2026", problems=[
        Problem(source="referrals", check="referrals_contract", message="sex: 9% of rows not in the code list.",
                action="Open the validation report and correct the rows."),
        Problem(source="spend", check="spend_freshness", message="the newest file is 3 days old.",
                action="Check the export ran.", severity="warning"),
    ])


def test_webhook_and_email_say_which_source_which_check_and_what_to_do(
        webhook_receiver, smtp_receiver) -> None:
    url, posts = webhook_receiver
    port, inbox = smtp_receiver
    settings = NotifySettings.from_env({
        "OBA_NOTIFY_WEBHOOK_URL": url, "OBA_NOTIFY_SMTP_HOST": "127.0.0.1", "OBA_NOTIFY_SMTP_PORT": str(port),
        "OBA_NOTIFY_EMAIL_TO": "data-team@example.org, lead@example.org", "OBA_NOTIFY_EMAIL_FROM": "oba@example.org"})
    assert notify(notice(), settings) == {"webhook": True, "email": True}
    [post] = posts
    text = post["json"]["text"]  # type: ignore[index]
    assert post["path"] == "/hook" and post["type"] == "application/json"
    assert "Source: referrals" in text and "Check: referrals_contract (error)" in text
    assert "What to do: Open the validation report" in text and "still serving snapshot 2026" in text
    [mail] = inbox
    assert mail["To"] == "data-team@example.org, lead@example.org"  # type: ignore[index]
    assert mail["Subject"] == "OBA refresh failed (Northwold): referrals, spend"  # type: ignore[index]
    body = mail.get_payload()  # type: ignore[attr-defined]
    assert "Check: spend_freshness (warning)" in body and "What to do: Check the export ran." in body


def test_teams_payload_is_an_adaptive_card() -> None:
    payload = webhook_payload(notice(), "teams")
    card = payload["attachments"][0]["content"]  # type: ignore[index]
    assert card["type"] == "AdaptiveCard"
    facts = {f["title"]: f["value"] for f in card["body"][2]["facts"]}
    assert facts["Source"] == "referrals" and facts["Check"] == "referrals_contract"


def test_an_unreachable_webhook_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    settings = NotifySettings(webhook_url="http://127.0.0.1:9/nothing-listens", timeout=1)
    import oba_pipeline.orchestration.notify as module

    original = module.time.sleep
    module.time.sleep = lambda _s: None  # type: ignore[assignment]
    try:
        assert notify(notice(), settings) == {"webhook": False}
    finally:
        module.time.sleep = original  # type: ignore[assignment]
    assert "not reached" in caplog.text


# --- schedule, sensor, freshness --------------------------------------------------------------------

def test_nightly_schedule_time_and_timezone(monkeypatch: pytest.MonkeyPatch) -> None:
    job = dg.define_asset_job("refresh", selection=dg.AssetSelection.all())
    assert nightly_cron("02:30") == "30 2 * * *" and nightly_cron("23:05") == "5 23 * * *"
    with pytest.raises(ValueError, match="HH:MM"):
        nightly_cron("25:00")
    default = build_nightly_schedule(job)
    assert (default.cron_schedule, default.execution_timezone) == ("0 2 * * *", "Europe/London")
    assert default.default_status == dg.DefaultScheduleStatus.RUNNING
    monkeypatch.setenv("OBA_REFRESH_TIME", "04:15")
    monkeypatch.setenv("OBA_REFRESH_TIMEZONE", "UTC")
    custom = build_nightly_schedule(job)
    assert (custom.cron_schedule, custom.execution_timezone) == ("15 4 * * *", "UTC")
    monkeypatch.setenv("OBA_REFRESH_TIMEZONE", "Mars/Olympus")
    with pytest.raises(ValueError, match="IANA"):
        build_nightly_schedule(job)


def test_new_extracts_sensor_waits_for_files_to_settle_and_fires_once(tmp_path: Path) -> None:
    job = dg.define_asset_job("refresh", selection=dg.AssetSelection.all())
    sensor = build_new_extracts_sensor(job, str(tmp_path))
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert isinstance(sensor(dg.build_sensor_context()), dg.SkipReason)  # empty folder
    extract = tmp_path / "referrals.csv"
    extract.write_text("referral_id\n1\n")
    waiting = sensor(dg.build_sensor_context())
    assert isinstance(waiting, dg.SkipReason) and "waiting" in (waiting.skip_message or "")
    old = time.time() - 600
    os.utime(extract, (old, old))
    fired = sensor(dg.build_sensor_context())
    assert isinstance(fired, dg.SensorResult) and len(fired.run_requests or []) == 1
    again = sensor(dg.build_sensor_context(cursor=fired.cursor))
    assert isinstance(again, dg.SkipReason) and "no new extracts" in (again.skip_message or "")
    (tmp_path / "caseloads.csv").write_text("worker_id\n1\n")
    os.utime(tmp_path / "caseloads.csv", (old, old))
    next_night = sensor(dg.build_sensor_context(cursor=fired.cursor))
    assert isinstance(next_night, dg.SensorResult) and next_night.cursor != fired.cursor


def test_freshness_flags_a_source_that_has_not_arrived() -> None:
    now = datetime(2026, 11, 22, 7, 0)
    assert freshness_findings("referrals", now - timedelta(hours=6), now.date() - timedelta(days=3), now) == []
    late = freshness_findings("referrals", now - timedelta(days=3), now.date() - timedelta(days=3), now)
    assert len(late) == 1 and "has not arrived" in late[0] and "3 days" in late[0]
    stale = freshness_findings("spend", now - timedelta(hours=2), datetime(2026, 8, 1).date(), now)
    assert len(stale) == 1 and "August 2026" in stale[0]
    # October's monthly figure, dated 1 October, is up to date on 22 November.
    assert freshness_findings("spend", now - timedelta(hours=2), datetime(2026, 10, 1).date(), now) == []
    assert freshness_findings("population", now - timedelta(days=200), None, now) == []
    assert freshness_findings("caseloads", None, None, now) == ["caseloads: no file of this source was loaded"]


def test_extracts_already_published_do_not_start_another_refresh(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from oba_pipeline.orchestration import sensors

    monkeypatch.setattr(sensors, "SETTLE_SECONDS", 0.0)
    job = dg.define_asset_job("refresh", selection=dg.AssetSelection.all())
    inputs = tmp_path / "in"
    inputs.mkdir()
    extract = inputs / "referrals.csv"
    extract.write_text("referral_id\n1\n")
    old = time.time() - 600
    os.utime(extract, (old, old))
    home = Home(tmp_path / "home")
    publish_tables(home, {"indicator_values": table(1)}, {})  # published after the files last changed
    sensor = build_new_extracts_sensor(job, str(inputs), home)
    result = sensor(dg.build_sensor_context())
    assert isinstance(result, dg.SensorResult) and not result.run_requests
    assert "older than the live snapshot" in (result.skip_reason.skip_message or "")  # type: ignore[union-attr]
    time.sleep(0.05)
    extract.write_text("referral_id\n1\n2\n")  # a new copy lands after the publish
    assert len(sensor(dg.build_sensor_context(cursor=result.cursor)).run_requests or []) == 1  # type: ignore[union-attr]


def test_schedule_and_sensors_are_in_the_definitions_and_on_by_default() -> None:
    from oba_pipeline.definitions import defs

    schedule = defs.resolve_schedule_def("nightly_refresh")
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING and schedule.job_name == "refresh"
    for name in ("new_extracts", "refresh_failure_notification", "refresh_check_notification"):
        assert defs.resolve_sensor_def(name).default_status == dg.DefaultSensorStatus.RUNNING, name
    checks = {key.name for key in defs.resolve_asset_graph().asset_check_keys}
    assert {"referrals_freshness", "population_freshness", "referrals_contract"} <= checks


def test_a_backfill_range_selects_its_months_and_the_years_overlapping_them() -> None:
    from datetime import date

    from oba_pipeline.indicators.reference import periods_frame
    from oba_pipeline.orchestration.partitions import _overlaps

    periods = periods_frame(date(2022, 4, 1), date(2025, 3, 1))
    chosen = periods.filter(_overlaps(date(2023, 11, 1), date(2024, 2, 1)))
    months = chosen.filter(period_type="month").get_column("period_start").to_list()
    assert months == [date(2023, 11, 1), date(2023, 12, 1), date(2024, 1, 1), date(2024, 2, 1)]
    assert chosen.filter(period_type="reporting_year").get_column("period_label").to_list() == ["2023-24"]
    assert periods.filter(_overlaps(None, None)).is_empty()
    assert periods.filter(_overlaps(date(2025, 3, 1), None)).get_column("period_label").to_list() == [
        "Mar 2025", "2024-25"]
