"""The whole pipeline, run for real: every asset materialised into a temporary OBA_HOME."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import polars as pl
import pytest

from oba_pipeline.catalogue import load_catalogue
from oba_pipeline.config import REPO_ROOT, SAMPLE_DATA_DIR, Home
from oba_pipeline.generate import generate
from oba_pipeline.publish import SNAPSHOT_DB, current_snapshot, read_manifest
from oba_pipeline.refresh import run_refresh

pytestmark = pytest.mark.integration


def published(home: Home, table: str) -> pl.DataFrame:
    snapshot = current_snapshot(home)
    assert snapshot is not None
    con = duckdb.connect(str(snapshot / SNAPSHOT_DB), read_only=True)
    try:
        return con.execute(f'select * from "{table}"').pl()
    finally:
        con.close()


@pytest.fixture(scope="module")
def sample_home(tmp_path_factory: pytest.TempPathFactory) -> Home:
    """One full refresh on the committed sample data, shared by the tests that only read its output."""
    import os

    os.environ.setdefault("OBA_PSEUDONYM_KEY", "integration-test-key-0123456789abcdef")
    home = Home(tmp_path_factory.mktemp("sample-home"))
    outcome = run_refresh(home, SAMPLE_DATA_DIR)
    assert outcome.success, outcome.failures + outcome.failed_checks
    return home


def test_sample_refresh_publishes_every_catalogue_entry(sample_home: Home) -> None:
    values = published(sample_home, "indicator_values")
    catalogue = load_catalogue()
    areas = published(sample_home, "areas")
    assert set(values.get_column("indicator_id")) == {i.id for i in catalogue.indicators}
    for indicator in catalogue.indicators:
        rows = values.filter(indicator_id=indicator.id)
        expected_areas = areas.filter(pl.col("area_type").is_in(indicator.area_levels)).height
        assert rows.get_column("area_code").n_unique() == expected_areas, indicator.id
        assert set(rows.get_column("period_type")) == set(indicator.periods), indicator.id
        assert rows.filter(status="ok").height > 0, indicator.id
    # One row per indicator, area and period.
    assert values.select("indicator_id", "area_code", "period_type", "period_start").is_duplicated().sum() == 0
    assert values.filter(pl.col("status") != "ok").get_column("value").null_count() == \
        values.filter(pl.col("status") != "ok").height
    manifest = read_manifest(current_snapshot(sample_home))  # type: ignore[arg-type]
    assert manifest["authority"]["code"] == areas.filter(area_type="authority").get_column("area_code").item()


def test_sample_rates_are_in_line_with_published_statistics(sample_home: Home) -> None:
    values = published(sample_home, "indicator_values").filter(period_type="reporting_year", area_type="authority")

    def latest(indicator: str) -> float:
        return values.filter(indicator_id=indicator, status="ok").sort("period_start").get_column("value").last()  # type: ignore[return-value]

    assert 300 < latest("referral_rate") < 900
    assert 12 < latest("rereferral_rate_12m") < 32
    assert 60 < latest("assessments_within_45_days") < 95
    assert 10 < latest("average_caseload_per_fte") < 25
    assert 200 < latest("cin_rate") < 500


def test_dashboard_reads_the_real_snapshot(sample_home: Home) -> None:
    from dashboards import data

    areas = data.areas(sample_home)
    assert areas.height >= 2
    catalogue = load_catalogue()
    for area in areas.get_column("area_code"):
        for period_type in ("month", "reporting_year"):
            rows = data.scorecard_rows(sample_home, area, period_type)
            assert rows.height == len(catalogue.indicators), (area, period_type)
    sources = data.sources(sample_home)
    assert set(sources.get_column("source")) >= {"referrals", "caseloads", "spend", "family_outcomes"}
    assert sources.get_column("loaded_at").null_count() == 0
    history = data.history(sample_home, "referral_rate", areas.get_column("area_code")[0], "month")
    assert history.height >= 60


def test_no_identifier_or_date_of_birth_travels_past_landing(sample_home: Home) -> None:
    raw = pl.read_csv(SAMPLE_DATA_DIR / "referrals.csv", infer_schema=False)
    child_ids = set(raw.get_column("child_id").drop_nulls().head(500))
    con = duckdb.connect(str(sample_home.warehouse), read_only=True)
    try:
        tables = [row[0] for row in con.execute("select table_name from information_schema.tables").fetchall()]
        for table in tables:
            if table.startswith("raw_"):
                continue  # the landing area keeps files as they arrived
            frame = con.execute(f'select * from "{table}"').pl()
            assert "date_of_birth" not in frame.columns, table
            for column, dtype in frame.schema.items():
                if dtype == pl.Utf8:
                    assert not child_ids & set(frame.get_column(column).drop_nulls().unique()), (table, column)
    finally:
        con.close()


def test_family_vs_service_labels_the_planted_divergence(sample_home: Home) -> None:
    """ground_truth.yaml plants families feeling less safe while re-referrals fall in one locality."""
    import yaml

    from dashboards import data
    from oba_pipeline.family_voice.registry import load_themes

    truth = yaml.safe_load((SAMPLE_DATA_DIR / "ground_truth.yaml").read_text(encoding="utf-8"))
    planted = truth["authorities"][0]["family_vs_service"][0]
    table = published(sample_home, "family_vs_service")
    after = table.filter(pl.col("theme") == planted["theme"], pl.col("area_code") == planted["area"],
                         pl.col("service_measure") == planted["service_measure"],
                         pl.col("period_start") >= pl.lit(planted["from"]).str.to_date())
    assert planted["agreement"] in after.get_column("agreement").to_list()
    flagged = table.filter(pl.col("divergent"))
    # Divergence is found where it was planted, and nowhere it was not, in the years after the change.
    assert set(flagged.select("theme", "area_code").rows()) == {(planted["theme"], planted["area"])}
    assert flagged.filter(pl.col("period_end") < pl.lit(planted["from"]).str.to_date()).is_empty()
    # Every theme is there for the authority and each locality, and every figure passed disclosure control.
    areas = published(sample_home, "areas")
    themes = load_themes()
    assert set(table.select("theme", "area_code").unique().rows()) == {
        (theme, area) for theme in themes for area in areas.get_column("area_code")}
    assert table.filter(pl.col("family_status") != "ok").get_column("family_value").null_count() == \
        table.filter(pl.col("family_status") != "ok").height
    gaps = published(sample_home, "family_rater_gaps")
    assert gaps.filter((pl.col("families") <= 5) & (pl.col("status") == "ok")).is_empty()
    sos = gaps.filter(pl.col("instrument") == "signs_of_safety", pl.col("area_code") == planted["area"],
                      pl.col("status") == "ok").sort("period_start")
    # Parents rated safety above workers before the change and below them after it.
    before = sos.filter(pl.col("period_end") < pl.lit(planted["from"]).str.to_date())
    assert before.get_column("mean_gap").min() > 0  # type: ignore[operator]
    assert sos.filter(pl.col("period_start") > pl.lit(planted["from"]).str.to_date()).get_column("mean_gap").max() < 0  # type: ignore[operator]
    assert data.family_themes(sample_home).height == len(themes)


def small_extracts(folder: Path) -> Path:
    generate(folder, seed=7, scale="tiny")
    return folder


def test_broken_rows_are_set_aside_and_the_rest_loads(tmp_path: Path) -> None:
    inputs = small_extracts(tmp_path / "in")
    referrals = pl.read_csv(inputs / "referrals.csv", infer_schema=False)
    broken = referrals.head(3).with_columns(
        referral_id=pl.col("referral_id") + "-X",
        referral_date=pl.Series(["2024-13-01", "2024-05-01", "2024-05-01"]),
        sex=pl.Series(["F", "Q", "F"]),
        date_of_birth=pl.Series(["2015-01-01", "2015-01-01", "2099-01-01"]),
    )
    pl.concat([referrals, broken]).write_csv(inputs / "referrals.csv")
    home = Home(tmp_path / "home")
    outcome = run_refresh(home, inputs)
    assert outcome.success, outcome.failures + outcome.failed_checks
    rows = referrals.height + 2  # header is row 1
    messages = "\n".join(outcome.rejected_messages)
    con = duckdb.connect(str(home.warehouse), read_only=True)
    rejected = con.execute("select * from rejected_rows where source = 'referrals'").pl()
    loaded = con.execute("select count(*) from stg_referrals").fetchone()[0]  # type: ignore[index]
    con.close()
    ours = rejected.filter(pl.col("row") >= rows)
    assert sorted(ours.get_column("row").unique().to_list()) == [rows, rows + 1, rows + 2]
    first = ours.filter(row=rows).row(0, named=True)
    assert first["column"] == "referral_date" and first["value"] == "2024-13-01"
    assert "referrals.csv row" in first["message"] and "referral_date" in first["message"]
    assert ours.filter(row=rows + 1).select("column", "value", "rule").row(0) == ("sex", "Q", "allowed")
    # A date of birth in the future breaks its own rule; its value is never copied out of landing.
    future = ours.filter(row=rows + 2, column="date_of_birth").row(0, named=True)
    assert future["rule"] == "not_after extract_date" and future["value"] == "<withheld>"
    assert "2099" not in future["message"]
    # Every other row loaded, less the generator's own planted mess.
    assert loaded + rejected.get_column("row").n_unique() == referrals.height + 3
    assert f"referrals.csv row {rows}, column referral_date" in messages
    kept = list((home.landing).glob("*/referrals/rejected_rows.csv"))
    assert kept and pl.read_csv(kept[0], infer_schema=False).height >= 3
    assert (home.reports / "validation" / "referrals.html").exists()


def test_missing_required_column_stops_the_source_and_keeps_what_was_published(tmp_path: Path) -> None:
    inputs = small_extracts(tmp_path / "in")
    home = Home(tmp_path / "home")
    assert run_refresh(home, inputs).success
    before = current_snapshot(home)
    values_before = published(home, "indicator_values")
    pl.read_csv(inputs / "referrals.csv", infer_schema=False).drop("referral_date").write_csv(
        inputs / "referrals.csv")
    outcome = run_refresh(home, inputs)
    assert not outcome.success
    failure = "\n".join(outcome.failures)
    assert "referrals.csv" in failure and "referral_date" in failure
    assert current_snapshot(home) == before
    assert published(home, "indicator_values").equals(values_before)
    # No scratch table of the failed load is left in the warehouse.
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        tables = {name for (name,) in con.execute("select table_name from duckdb_tables()").fetchall()}
    assert "stg_referrals" in tables
    assert not {t for t in tables if t.startswith(("_landing_", "_staging_", "_new_"))}


def test_unreadable_file_is_a_clear_failure(tmp_path: Path) -> None:
    inputs = small_extracts(tmp_path / "in")
    (inputs / "caseloads.csv").write_bytes(b"\x00\x01\x02PK\x03\x04 not a csv \xff\xfe")
    outcome = run_refresh(Home(tmp_path / "home"), inputs)
    assert not outcome.success
    assert any("caseloads.csv" in failure for failure in outcome.failures)
    assert current_snapshot(Home(tmp_path / "home")) is None


def test_cli_refresh_and_export(tmp_path: Path) -> None:
    inputs = small_extracts(tmp_path / "in")
    home = tmp_path / "home"
    oba = [sys.executable, "-m", "oba_pipeline.cli", "--home", str(home)]
    refresh = subprocess.run([*oba, "refresh", "--input", str(inputs)], capture_output=True, text=True,
                             timeout=300)
    assert refresh.returncode == 0, refresh.stderr[-2000:]
    assert "Published snapshot" in refresh.stdout
    export = subprocess.run([*oba, "export", "--format", "xlsx", str(tmp_path / "out")], capture_output=True,
                            text=True, timeout=120)
    assert export.returncode == 0, export.stderr
    workbook = tmp_path / "out" / "oba_published.xlsx"
    assert pl.read_excel(workbook, sheet_name="indicator_values").height > 0
    shutil.rmtree(inputs / "referrals.csv", ignore_errors=True)
    (inputs / "referrals.csv").unlink()
    failed = subprocess.run([*oba, "refresh", "--input", str(inputs)], capture_output=True, text=True, timeout=300)
    assert failed.returncode == 1
    assert "referrals" in failed.stdout and "still serves" in failed.stdout


def test_dagster_definitions_load_and_validate() -> None:
    from oba_pipeline.definitions import defs

    keys = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {"referrals_extract", "referrals", "indicator_values", "published_snapshot"} <= keys
    assert defs.resolve_job_def("refresh") is not None
    result = subprocess.run([str(Path(sys.executable).parent / "dagster"), "definitions", "validate"],
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "passed validation" in result.stderr + result.stdout


# --- Children's data stays safe (issue 8) -----------------------------------------------------------


def _people_ids() -> set[str]:
    return {i.id for i in load_catalogue().indicators if i.people}


def _recoverable_localities(values: pl.DataFrame) -> list[tuple[str, str, str]]:
    """Suppressed localities equal to the published authority total minus the other localities."""
    found = []
    people = values.filter(pl.col("indicator_id").is_in(_people_ids()))
    for (indicator_id, period_type, start), cells in people.group_by("indicator_id", "period_type", "period_start"):
        total = cells.filter(area_type="authority")
        hidden = cells.filter(area_type="locality", status="c")
        if total.height and total.item(0, "status") == "ok" and hidden.height == 1:
            found.append((str(indicator_id), str(period_type), str(start)))
    return found


def test_no_published_or_exported_count_lies_between_one_and_the_threshold(sample_home: Home,
                                                                           tmp_path: Path) -> None:
    from oba_pipeline.disclosure import load_profiles, small_published_counts
    from oba_pipeline.export import export_published
    from oba_pipeline.publish import PUBLIC_DB

    catalogue = load_catalogue()
    profiles = load_profiles()
    values = published(sample_home, "indicator_values")
    assert values.filter(status="c").height > 0  # the sample data has small cells: the check is not empty
    assert small_published_counts(values, catalogue, profiles["standard"].threshold).height == 0
    for path in export_published(sample_home, tmp_path / "csv", "csv"):
        if path.stem == "indicator_values":
            exported = pl.read_csv(path, try_parse_dates=True, infer_schema_length=None)
            assert exported.height == values.height
            assert small_published_counts(exported, catalogue, profiles["standard"].threshold).height == 0
    snapshot = current_snapshot(sample_home)
    con = duckdb.connect(str(snapshot / PUBLIC_DB), read_only=True)  # type: ignore[operator]
    try:
        public = con.execute("select * from indicator_values").pl()
        public_catalogue = set(con.execute("select indicator_id from indicators").pl().get_column("indicator_id"))
    finally:
        con.close()
    assert set(public.get_column("indicator_id")) == public_catalogue == set(profiles["public"].indicators or ())
    assert small_published_counts(public, catalogue, profiles["public"].threshold).height == 0
    [workbook] = export_published(sample_home, tmp_path / "public", "xlsx", audience="public")
    assert pl.read_excel(workbook, sheet_name="indicator_values").height == public.height


def test_a_suppressed_locality_cannot_be_recovered_from_the_authority_total(sample_home: Home) -> None:
    values = published(sample_home, "indicator_values")
    localities_suppressed = values.filter(area_type="locality", status="c")
    assert localities_suppressed.height > 0
    assert _recoverable_localities(values) == []
    # Nor a suppressed month from its reporting year and the other eleven months.
    event_people = [i.id for i in load_catalogue().indicators if i.people and i.calculation.timing == "event"]
    months = values.filter(pl.col("indicator_id").is_in(event_people), period_type="month")
    years = values.filter(pl.col("indicator_id").is_in(event_people), period_type="reporting_year", status="ok")
    for year in years.iter_rows(named=True):
        in_year = months.filter(indicator_id=year["indicator_id"], area_code=year["area_code"]).filter(
            (pl.col("period_start") >= year["period_start"]) & (pl.col("period_start") <= year["period_end"]))
        if in_year.height == 12:
            assert in_year.filter(status="c").height != 1, (year["indicator_id"], year["area_code"],
                                                             year["period_label"])


def test_landing_copies_and_raw_tables_are_deleted_after_a_successful_load(sample_home: Home) -> None:
    files = [p for p in sample_home.landing.rglob("*") if p.is_file()]
    assert files, "the sample data has rejected rows, kept for the data team"
    assert {p.name for p in files} == {"rejected_rows.csv"}
    con = duckdb.connect(str(sample_home.warehouse), read_only=True)
    try:
        raw = con.execute("select table_name from information_schema.tables where table_name like 'raw%'").fetchall()
    finally:
        con.close()
    assert raw == []


def test_no_identifier_reaches_a_published_snapshot(sample_home: Home) -> None:
    from oba_pipeline.publish import PUBLIC_DB

    raw = pl.read_csv(SAMPLE_DATA_DIR / "referrals.csv", infer_schema=False)
    forbidden = set(raw.get_column("child_id").drop_nulls().head(500)) | set(
        raw.get_column("date_of_birth").drop_nulls().head(500))
    snapshot = current_snapshot(sample_home)
    assert snapshot is not None
    for database in (SNAPSHOT_DB, PUBLIC_DB):
        con = duckdb.connect(str(snapshot / database), read_only=True)
        try:
            for (table,) in con.execute("select table_name from information_schema.tables").fetchall():
                frame = con.execute(f'select * from "{table}"').pl()
                assert not {"child_id", "family_id", "date_of_birth", "postcode"} & set(frame.columns), table
                for column, dtype in frame.schema.items():
                    if dtype == pl.Utf8:
                        assert not forbidden & set(frame.get_column(column).drop_nulls().unique()), (table, column)
        finally:
            con.close()


def test_refresh_without_a_pseudonym_key_stops_before_reading_anything(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OBA_PSEUDONYM_KEY", raising=False)
    monkeypatch.delenv("OBA_PSEUDONYM_KEY_FILE", raising=False)
    home = Home(tmp_path / "home")
    outcome = run_refresh(home, SAMPLE_DATA_DIR)
    assert not outcome.success and outcome.run_id == ""
    assert "No pseudonymisation key: set OBA_PSEUDONYM_KEY" in outcome.failures[0]
    assert not home.warehouse.exists()
