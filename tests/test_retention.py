"""Retention of the raw landing area after a successful load."""

from __future__ import annotations

import os
import time
from pathlib import Path

import duckdb
import pytest

from oba_pipeline.config import Home
from oba_pipeline.ingest.retention import RetentionConfigError, apply_retention

DAY = 86_400


def landing_run(home: Home, run_id: str, age_days: float = 0) -> Path:
    folder = home.landing / run_id
    (folder / "referrals").mkdir(parents=True)
    (folder / "referrals" / "referrals.csv").write_text("child_id\nC1\n")
    (folder / "referrals" / "rejected_rows.csv").write_text("row,reason\n2,bad date\n")
    (folder / "spend").mkdir()
    (folder / "spend" / "spend.csv").write_text("amount\n1\n")
    stamp = time.time() - age_days * DAY
    os.utime(folder, (stamp, stamp))
    return folder


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Home:
    monkeypatch.delenv("OBA_LANDING_RETENTION_DAYS", raising=False)
    monkeypatch.delenv("OBA_REJECTED_RETENTION_DAYS", raising=False)
    return Home(tmp_path / "home").ensure()


def test_by_default_the_files_and_raw_tables_go_and_rejected_rows_stay(home: Home) -> None:
    landing_run(home, "run-1")
    con = duckdb.connect(":memory:")
    con.execute("create table raw_referrals as select 'C1' as child_id")
    con.execute("create table stg_referrals as select 'abc' as child_key")
    outcome = apply_retention(home, "run-1", con)
    remaining = sorted(str(p.relative_to(home.landing)) for p in home.landing.rglob("*") if p.is_file())
    assert remaining == ["run-1/referrals/rejected_rows.csv"]
    assert not (home.landing / "run-1" / "spend").exists()  # nothing left in it
    assert outcome.raw_tables_dropped == ["raw_referrals"]
    assert [r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()] == [
        "stg_referrals"]


def test_rejected_rows_are_deleted_after_their_retention(home: Home) -> None:
    landing_run(home, "old", age_days=31)
    landing_run(home, "recent", age_days=3)
    landing_run(home, "now")
    outcome = apply_retention(home, "now")
    assert outcome.folders_deleted == ["old"]
    assert (home.landing / "recent" / "referrals" / "rejected_rows.csv").exists()
    assert not (home.landing / "recent" / "referrals" / "referrals.csv").exists()  # left by a failed run


def test_a_longer_landing_retention_is_configuration(home: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OBA_LANDING_RETENTION_DAYS", "7")
    landing_run(home, "week-old", age_days=8)
    landing_run(home, "yesterday", age_days=1)
    landing_run(home, "now")
    apply_retention(home, "now")
    assert (home.landing / "now" / "referrals" / "referrals.csv").exists()
    assert (home.landing / "yesterday" / "spend" / "spend.csv").exists()
    assert not (home.landing / "week-old" / "spend").exists()
    assert (home.landing / "week-old" / "referrals" / "rejected_rows.csv").exists()


def test_a_bad_setting_is_a_clear_error(home: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OBA_LANDING_RETENTION_DAYS", "a week")
    with pytest.raises(RetentionConfigError, match="OBA_LANDING_RETENTION_DAYS must be a whole number"):
        apply_retention(home, "now")
