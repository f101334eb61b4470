"""Nightly refreshes for real: only changed months recomputed, identical inputs give identical tables,
a refresh killed with kill -9 changes nothing published, and a bad extract notifies and publishes nothing."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest

from oba_pipeline.config import Home
from oba_pipeline.generate import generate
from oba_pipeline.publish import CURRENT, SNAPSHOT_DB, current_snapshot, lock_owner, snapshots
from oba_pipeline.refresh import run_refresh

pytestmark = pytest.mark.integration

# The column that places each time-based extract's rows in a month.
MONTH_COLUMNS = {"referrals.csv": "referral_date", "caseloads.csv": "snapshot_date", "spend.csv": "period_month",
                 "family_outcomes.csv": "reading_date"}
PUBLISHED = ("indicator_values", "indicators", "areas", "sources", "validation_summary")


def published_tables(home: Home) -> dict[str, pl.DataFrame]:
    snapshot = current_snapshot(home)
    assert snapshot is not None
    con = duckdb.connect(str(snapshot / SNAPSHOT_DB), read_only=True)
    try:
        return {name: con.execute(f'select * from "{name}"').pl() for name in PUBLISHED}
    finally:
        con.close()


def rows_but_load_times(con: duckdb.DuckDBPyConnection, table: str) -> pl.DataFrame:
    columns = [row[0] for row in con.execute(f'describe "{table}"').fetchall()]
    return con.execute(f'select {"* exclude (loaded_at)" if "loaded_at" in columns else "*"} from "{table}"').pl()


def warehouse(home: Home, sql: str) -> pl.DataFrame:
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        return con.execute(sql).pl()
    finally:
        con.close()


def published_bytes(home: Home) -> dict[str, str]:
    found = {CURRENT: (home.published / CURRENT).read_text()}
    for snapshot in snapshots(home):
        for path in sorted(snapshot.iterdir()):
            found[f"{snapshot.name}/{path.name}"] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def copy_inputs(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


@dataclass
class Nights:
    full: Path  # every month
    night1: Path  # the same extracts without the latest month
    night3: Path  # every month, with one old caseload corrected
    latest: date
    corrected: date
    incremental: Home  # refreshed on night1, full, night3 in turn
    fresh: Home  # refreshed on full twice, then night3 with --full
    after: dict[str, dict[str, pl.DataFrame]]  # published tables after each step, by label
    snapshots: dict[str, Path]  # the snapshot each step published, by label
    recomputed: dict[str, pl.DataFrame]  # recomputed_periods after each incremental step
    changed_from: dict[str, pl.DataFrame]


def latest_month(inputs: Path) -> str:
    dates = pl.read_csv(inputs / "referrals.csv", infer_schema=False).get_column("referral_date")
    return str(dates.filter(dates.str.contains(r"^\d{4}-\d{2}-\d{2}$")).str.slice(0, 7).max())


@pytest.fixture(scope="module")
def nights(tmp_path_factory: pytest.TempPathFactory) -> Nights:
    os.environ.setdefault("OBA_PSEUDONYM_KEY", "integration-test-key-0123456789abcdef")
    root = tmp_path_factory.mktemp("nights")
    full = root / "full"
    generate(full, seed=11, scale="tiny")
    month = latest_month(full)
    night1 = copy_inputs(full, root / "night1")
    for name, column in MONTH_COLUMNS.items():
        frame = pl.read_csv(full / name, infer_schema=False)
        frame.filter(~pl.col(column).fill_null("").str.starts_with(month)).write_csv(night1 / name)
    # A late correction: one worker's caseload in an old month was wrong and is re-sent.
    night3 = copy_inputs(full, root / "night3")
    caseloads = pl.read_csv(full / "caseloads.csv", infer_schema=False)
    corrected_month = "2024-06"
    row = caseloads.with_row_index().filter(pl.col("snapshot_date").fill_null("").str.starts_with(corrected_month)
                                            & pl.col("role").is_in(["social_worker", "senior_practitioner"])
                                            & pl.col("cases_held").str.contains(r"^\d+$")).row(0, named=True)
    caseloads.with_columns(
        cases_held=pl.when(pl.int_range(pl.len()) == row["index"])
        .then((pl.col("cases_held").cast(pl.Int64, strict=False) + 7).cast(pl.Utf8))
        .otherwise(pl.col("cases_held"))
    ).write_csv(night3 / "caseloads.csv")

    incremental, fresh = Home(root / "incremental"), Home(root / "fresh")
    after: dict[str, dict[str, pl.DataFrame]] = {}
    snapshots: dict[str, Path] = {}
    recomputed: dict[str, pl.DataFrame] = {}
    changed: dict[str, pl.DataFrame] = {}
    steps = [("night1", incremental, night1, False), ("night2", incremental, full, False),
             ("night3", incremental, night3, False), ("fresh2", fresh, full, False),
             ("fresh2_again", fresh, full, False), ("fresh3_full", fresh, night3, True)]
    for label, home, inputs, full_refresh in steps:
        partitions_before = (warehouse(home, "select * from partition_state") if home.warehouse.exists()
                             else None)
        outcome = run_refresh(home, inputs, full=full_refresh)
        assert outcome.success, (label, outcome.failures, outcome.failed_checks)
        after[label] = published_tables(home)
        snapshots[label] = current_snapshot(home)  # type: ignore[assignment]
        recomputed[label] = warehouse(home, "select * from recomputed_periods")
        if partitions_before is not None:
            now = warehouse(home, "select * from partition_state")
            changed[label] = (now.join(partitions_before, on=["mart", "month"], how="full", coalesce=True,
                                       suffix="_before")
                              .filter(pl.col("content_hash").ne_missing(pl.col("content_hash_before"))))
    return Nights(full=full, night1=night1, night3=night3, latest=date.fromisoformat(f"{month}-01"),
                  corrected=date.fromisoformat(f"{corrected_month}-01"), incremental=incremental, fresh=fresh,
                  after=after, snapshots=snapshots, recomputed=recomputed, changed_from=changed)


def indicator_marts() -> dict[str, str]:
    from oba_pipeline.catalogue import load_catalogue

    return {i.id: i.calculation.table for i in load_catalogue().indicators}


def test_a_refresh_of_the_latest_month_recomputes_only_the_partitions_that_changed(nights: Nights) -> None:
    recomputed = nights.recomputed["night2"].join(
        pl.DataFrame(list(indicator_marts().items()), schema=["indicator_id", "mart"], orient="row"),
        on="indicator_id")
    assert recomputed.height > 0
    # Referrals, caseloads and spend only gained the latest month: only that month is recomputed.
    steady = recomputed.filter(pl.col("mart").is_in(["mart_referrals", "mart_caseloads", "mart_spend"]))
    assert set(steady.get_column("period_start")) == {nights.latest}
    assert set(steady.get_column("period_type")) == {"month"}
    assert set(steady.get_column("reason")) == {"new period"}
    assert set(steady.get_column("indicator_id")) == {i for i, m in indicator_marts().items()
                                                      if m in ("mart_referrals", "mart_caseloads", "mart_spend")}
    # The changed months of each mart are the only ones hashed differently.
    changed = nights.changed_from["night2"]
    for mart in ("mart_referrals", "mart_caseloads", "mart_spend"):
        assert changed.filter(mart=mart).get_column("month").to_list() == [nights.latest], mart
    # Family journeys whose review window closed with the new month changed in the month they began;
    # their indicators are recomputed from there, and never before.
    for mart, first_changed in changed.group_by("mart").agg(pl.col("month").min()).rows():
        ours = recomputed.filter(mart=mart)
        assert ours.filter(pl.col("period_start") < first_changed, period_type="month").is_empty(), mart
    total = nights.after["night2"]["indicator_values"].select("indicator_id", "period_type", "period_start").unique()
    assert recomputed.height < total.height / 4


def test_incremental_figures_equal_a_full_recompute(nights: Nights) -> None:
    for table in PUBLISHED:
        assert nights.after["night2"][table].equals(nights.after["fresh2"][table]), table


def test_two_identical_refreshes_publish_identical_tables(nights: Nights) -> None:
    assert nights.recomputed["fresh2_again"].is_empty()  # nothing changed, nothing recomputed
    for table in PUBLISHED:
        assert nights.after["fresh2"][table].equals(nights.after["fresh2_again"][table]), table
    assert nights.after["fresh2"]["sources"].get_column("loaded_at").null_count() == 0
    # every other published table too, to the last digit, but for when each source was loaded
    first, again = (duckdb.connect(str(nights.snapshots[label] / SNAPSHOT_DB), read_only=True)
                    for label in ("fresh2", "fresh2_again"))
    try:
        tables = [row[0] for row in first.execute("show tables").fetchall()]
        assert len(tables) > len(PUBLISHED)
        for table in tables:
            assert rows_but_load_times(first, table).equals(rows_but_load_times(again, table)), table
    finally:
        first.close()
        again.close()


def test_a_late_correction_to_an_old_month_is_picked_up(nights: Nights) -> None:
    changed = nights.changed_from["night3"]
    assert changed.get_column("mart").unique().to_list() == ["mart_caseloads"]
    assert changed.get_column("month").to_list() == [nights.corrected]
    recomputed = nights.recomputed["night3"]
    caseload_ids = {i for i, m in indicator_marts().items() if m == "mart_caseloads"}
    assert set(recomputed.get_column("indicator_id")) == caseload_ids
    months = recomputed.filter(period_type="month").get_column("period_start")
    assert months.min() == nights.corrected and months.max() == nights.latest
    # The reporting year holding the corrected month is recomputed too; the one before it is not.
    years = set(recomputed.filter(period_type="reporting_year").get_column("period_start"))
    assert date(2024, 4, 1) in years and date(2023, 4, 1) not in years
    for table in PUBLISHED:
        assert nights.after["night3"][table].equals(nights.after["fresh3_full"][table]), table
    before = nights.after["night2"]["indicator_values"].filter(indicator_id="average_caseload_per_fte",
                                                               period_start=nights.corrected, period_type="month")
    after = nights.after["night3"]["indicator_values"].filter(indicator_id="average_caseload_per_fte",
                                                              period_start=nights.corrected, period_type="month")
    assert not before.equals(after)


def test_kill_9_mid_refresh_changes_nothing_published_and_the_next_refresh_succeeds(nights: Nights,
                                                                                       tmp_path: Path) -> None:
    home = Home(tmp_path / "home")
    shutil.copytree(nights.fresh.root, home.root)
    before = published_bytes(home)
    runs_before = set(home.landing.iterdir())
    env = {**os.environ, "OBA_HOME": str(home.root)}
    refresh = subprocess.Popen([sys.executable, "-m", "oba_pipeline.cli", "refresh", "--full", "--input",
                                str(nights.night1)], env=env, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 180
        while set(home.landing.iterdir()) == runs_before and time.monotonic() < deadline:
            assert refresh.poll() is None, "the refresh ended before it could be killed"
            time.sleep(0.05)
        # The run has started loading extracts; let it get into staging before killing it.
        time.sleep(2)
        assert refresh.poll() is None, "the refresh ended before it could be killed"
        assert lock_owner(home) is not None and lock_owner(home)["pid"] == refresh.pid  # type: ignore[index]
    finally:
        os.killpg(refresh.pid, signal.SIGKILL)
        refresh.wait(timeout=30)
    assert published_bytes(home) == before
    assert lock_owner(home) is None
    outcome = run_refresh(home, nights.night1)
    assert outcome.success, outcome.failures + outcome.failed_checks
    assert current_snapshot(home) is not None and current_snapshot(home).name not in before[CURRENT]  # type: ignore[union-attr]
    assert not list(home.published.glob(".*"))
    assert published_tables(home)["indicator_values"].equals(nights.after["night1"]["indicator_values"])


def test_a_bad_extract_fails_its_check_notifies_and_the_dashboard_keeps_the_last_snapshot(
        nights: Nights, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, webhook_receiver, smtp_receiver) -> None:
    from dashboards import data
    from oba_pipeline.orchestration.status import status_report

    url, posts = webhook_receiver
    port, inbox = smtp_receiver
    monkeypatch.setenv("OBA_NOTIFY_WEBHOOK_URL", url)
    monkeypatch.setenv("OBA_NOTIFY_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("OBA_NOTIFY_SMTP_PORT", str(port))
    monkeypatch.setenv("OBA_NOTIFY_EMAIL_TO", "data-team@example.org")
    home = Home(tmp_path / "home")
    shutil.copytree(nights.fresh.root, home.root)
    serving = data.snapshot_info(home)
    assert serving is not None
    before = published_bytes(home)
    inputs = copy_inputs(nights.full, tmp_path / "bad")
    referrals = pl.read_csv(inputs / "referrals.csv", infer_schema=False)
    # One referral in ten with a code the contract does not allow: over the 5% the contract tolerates.
    referrals.with_columns(sex=pl.when(pl.int_range(pl.len()) % 10 == 0).then(pl.lit("Q")).otherwise(pl.col("sex"))
                           ).write_csv(inputs / "referrals.csv")
    outcome = run_refresh(home, inputs)
    assert not outcome.success
    assert any(check.startswith("referrals_contract") for check in outcome.failed_checks)
    assert outcome.notified == {"webhook": True, "email": True}
    [post] = posts
    text = post["json"]["text"]  # type: ignore[index]
    assert "Source: referrals" in text and "Check: referrals_contract (error)" in text
    assert "What to do: Open the validation report" in text and "referrals.html" in text
    assert f"still serving snapshot {serving['snapshot_id']}" in text
    [mail] = inbox
    assert "referrals" in mail["Subject"] and "Check: referrals_contract" in mail.get_payload()  # type: ignore[index,union-attr]
    # Nothing was published: the dashboard serves exactly what it served before.
    assert published_bytes(home) == before
    assert data.snapshot_info(home)["snapshot_id"] == serving["snapshot_id"]  # type: ignore[index]
    assert data.areas(home).height >= 2
    report = status_report(home)
    assert f"snapshot {serving['snapshot_id']}" in report
    assert "FAILED referrals / referrals_contract" in report
