"""The issue's acceptance test: the real DfE files dropped into DIR/published/ and a full refresh."""

from __future__ import annotations

import csv
import shutil
import statistics
from pathlib import Path

import duckdb
import polars as pl
import pytest

from oba_pipeline.config import Home
from oba_pipeline.generate import generate
from oba_pipeline.publish import SNAPSHOT_DB, current_snapshot
from oba_pipeline.refresh import describe, run_refresh

pytestmark = pytest.mark.integration

DFE = Path("/work/shared/data/dfe")
SHIPPED = Path(__file__).resolve().parents[1] / "sample_data" / "published"
C1 = "c1_children_in_need_referrals_and_rereferrals_2013_to_2025.csv"


def dfe_folder() -> Path:
    """The real files: the shared copy when present, else the copies shipped in sample_data."""
    return DFE if (DFE / C1).exists() else SHIPPED


def published(home: Home, sql: str) -> pl.DataFrame:
    snapshot = current_snapshot(home)
    assert snapshot is not None
    con = duckdb.connect(str(snapshot / SNAPSHOT_DB), read_only=True)
    try:
        return con.execute(sql).pl()
    finally:
        con.close()


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def expected_neighbour_rates() -> list[float]:
    """Islington's ten 2025 neighbours' referral rates, worked out here straight from the CSVs."""
    folder = dfe_folder()
    model = next(r for r in read_csv(folder / "sn_model_2025_wide.csv") if r["old_la_code"] == "206")
    codes = [model[f"SN_{k}"].strip() for k in range(1, 11)]
    referrals = {r["old_la_code"]: r["referral_count"] for r in read_csv(folder / C1)
                 if r["time_period"] == "2025" and r["geographic_level"] == "Local authority"}
    children = {r["old_la_code"]: r["population_estimate"]
                for r in read_csv(folder / "ons_mid-year_population_estimates_2012_to_2024.csv")
                if r["time_period"] == "2024" and r["geographic_level"] == "Local authority"
                and r["age_group"] == "Children aged 0 to 17 years"}
    assert len(codes) == 10
    return [round(int(referrals[c]) / int(children[c]) * 10_000 + 1e-9, 1) for c in codes]


@pytest.fixture(scope="module")
def islington_home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Home, Path]:
    import os

    os.environ.setdefault("OBA_PSEUDONYM_KEY", "integration-test-key-0123456789abcdef")
    inputs = tmp_path_factory.mktemp("inputs")
    generate(inputs, seed=7, scale="tiny")
    shutil.copytree(dfe_folder(), inputs / "published", ignore=shutil.ignore_patterns("README*"))
    home = Home(tmp_path_factory.mktemp("home"))
    previous = os.environ.get("OBA_HOME_LA")
    os.environ["OBA_HOME_LA"] = "206"
    try:
        outcome = run_refresh(home, inputs)
    finally:
        if previous is None:
            os.environ.pop("OBA_HOME_LA")
        else:
            os.environ["OBA_HOME_LA"] = previous
    assert outcome.success, outcome.failures + outcome.failed_checks
    return home, inputs


def test_islington_2025_referral_and_rereferral_rates_with_neighbours(islington_home: tuple[Home, Path]) -> None:
    home, _ = islington_home
    rows = published(home, "select * from benchmarks where area_code = '206' and year = 2025")
    referral = rows.filter(measure_id="referral_rate_published").row(0, named=True)
    rereferral = rows.filter(measure_id="rereferral_percent_published").row(0, named=True)
    assert (referral["value"], referral["status"], referral["value_basis"]) == (675.7, "ok", "derived")
    assert (rereferral["value"], rereferral["status"], rereferral["check"]) == (16.8, "ok", "agrees")
    rates = expected_neighbour_rates()
    assert referral["neighbours_with_figures"] == 10
    assert referral["neighbours_mean"] == pytest.approx(statistics.mean(rates))
    assert referral["neighbours_median"] == pytest.approx(statistics.median(rates))
    assert referral["neighbour_model"] == "2025"
    assert referral["neighbour_model_name"] == "DfE statistical neighbour model 2025"
    assert (referral["region_name"], referral["england_status"]) == ("London", "ok")
    assert referral["england_value"] == pytest.approx(round(632_830 / 12_183_016 * 10_000, 1))
    assert 1 <= referral["rank"] <= referral["ranked_authorities"] <= 153
    assert referral["quartile"] in (1, 2, 3, 4) and referral["local_indicator_id"] == "referral_rate"
    home_row = published(home, "select * from benchmark_home").row(0, named=True)
    assert (home_row["authority_code"], home_row["authority_name"], home_row["set_by"]) == \
        ("206", "Islington", "OBA_HOME_LA")


def test_every_published_percentage_agrees_with_its_counts(islington_home: tuple[Home, Path]) -> None:
    home, _ = islington_home
    checks = published(home, "select \"check\", count(*) as n from benchmarks group by all")
    assert dict(checks.rows()).get("differs", 0) == 0
    assert dict(checks.rows())["agrees"] > 1000
    assert published(home, "select * from benchmark_findings where kind = 'published_figure_differs'").is_empty()
    sources = published(home, "select file, status from benchmark_sources")
    assert set(sources["status"]) == {"loaded"} and sources.height == 4


def test_a_bad_published_file_keeps_the_last_good_figures(islington_home: tuple[Home, Path],
                                                            tmp_path: Path) -> None:
    home, inputs = islington_home
    broken = tmp_path / "inputs"
    shutil.copytree(inputs, broken)
    c1 = broken / "published" / C1
    lines = c1.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    drop = header.index("rereferral_count")
    c1.write_text("\n".join(",".join(v for i, v in enumerate(line.split(",")) if i != drop) for line in lines),
                  encoding="utf-8")
    (broken / "published" / "notes.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    outcome = run_refresh(home, broken)
    assert outcome.success, outcome.failures
    text = describe(outcome)
    assert f"{C1}: looks like Children in need: referrals and re-referrals" in text
    assert "has no column rereferral_count" in text and "notes.csv: not a published file" in text
    errors = published(home, "select file, message from benchmark_findings where kind = 'file_not_loaded'")
    assert set(errors["file"]) == {C1, "notes.csv"}
    # The referral figures from the last good c1 file are still there.
    kept = published(home, "select value from benchmarks where area_code = '206' and year = 2025 "
                           "and measure_id = 'referral_rate_published'")
    assert kept["value"].to_list() == [675.7]
