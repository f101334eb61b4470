"""Rates, checks, spend and comparators computed from small hand-made published files."""

from __future__ import annotations

import statistics
from pathlib import Path

import duckdb
import polars as pl
import pytest
from benchmark_files import AREAS, GEOGRAPHY, c1_file, c1_row, csv_text, population_file, sn_2025_file, write

from oba_pipeline.benchmarks import comparators
from oba_pipeline.benchmarks.home import home_authority
from oba_pipeline.benchmarks.load import load_published_folder
from oba_pipeline.benchmarks.measures import measure_values
from oba_pipeline.catalogue import load_catalogue
from oba_pipeline.catalogue.catalogue import CatalogueError
from oba_pipeline.catalogue.published_measures import load_published_measures

MEASURES = load_published_measures()
POPULATION = {"england": 12_000_000, "ne": 500_000, "london": 1_900_000, "805": 20_000, "806": 30_000,
              "206": 35_624, "302": 90_000}
REFERRALS = {"england": 600_000, "ne": 30_000, "london": 90_000, "805": 1_500, "806": 2_400, "206": 2_407,
             "302": 4_000}


def build(folder: Path, c1_rows: list[list[object]] | None = None) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    rows = c1_rows or [c1_row(2025, area, count, round(count * 0.2), 20.0) for area, count in REFERRALS.items()]
    write(folder, "c1.csv", c1_file(rows))
    write(folder, "ons.csv", population_file([(2024, area, value) for area, value in POPULATION.items()]))
    write(folder, "sn.csv", sn_2025_file({
        "206": ["302", "805", "806", "901", "902", "903", "904", "905", "906", "907"],
        "805": ["806", "206", "302", "901", "902", "903", "904", "905", "906", "907"],
    }))
    load = load_published_folder(folder, MEASURES)
    assert load.errors == []
    values, findings = measure_values(load.observations, MEASURES)
    known = comparators.authorities(values, load.lookup)
    table = comparators.benchmarks(duckdb.connect(), values, MEASURES.to_frame(), load.neighbours, known)
    return values, findings, table


def row(table: pl.DataFrame, measure: str, area: str, year: int = 2025) -> dict[str, object]:
    found = table.filter((pl.col("measure_id") == measure) & (pl.col("area_code") == area) & (pl.col("year") == year))
    assert found.height == 1
    return found.row(0, named=True)


def test_rate_uses_the_population_of_the_year_before(tmp_path: Path) -> None:
    values, _, _ = build(tmp_path)
    islington = values.filter(measure_id="referral_rate_published", area_code="206", year=2025).row(0, named=True)
    assert islington["value"] == 675.7  # 2,407 / 35,624 (mid-2024) * 10,000
    assert (islington["status"], islington["value_basis"]) == ("ok", "derived")


def test_rate_without_population_is_x_with_a_finding(tmp_path: Path) -> None:
    rows = [c1_row(2026, "805", 100, 10, 10.0)]  # needs mid-2025, which is not in the folder
    values, findings, _ = build(tmp_path, rows)
    rate = values.filter(measure_id="referral_rate_published", area_code="805", year=2026)
    assert rate["status"].to_list() == ["x"] and rate["value"].to_list() == [None]
    (finding,) = findings.filter(kind="population_missing").iter_rows(named=True)
    assert finding["measure_id"] == "referral_rate_published" and "mid-year estimate for 2025" in finding["message"]


def test_derived_rate_on_a_small_count_is_suppressed(tmp_path: Path) -> None:
    rows = [c1_row(2025, "805", 3, 0, 0.0)]
    values, _, _ = build(tmp_path, rows)
    rate = values.filter(measure_id="referral_rate_published", area_code="805").row(0, named=True)
    assert (rate["value"], rate["status"]) == (None, "c")


def test_published_percentage_checked_at_published_precision(tmp_path: Path) -> None:
    rows = [c1_row(2025, "805", 1000, 167, 16.7),  # agrees
            c1_row(2025, "806", 10_000, 1675, 16.8),  # 16.75 published as 16.8 (half up): agrees
            c1_row(2025, "206", 2407, 404, 18.0),  # 16.78 re-derived: differs
            c1_row(2025, "england", 600_000, 100_000, 17.2)]  # rounded national counts: not checked
    values, findings, _ = build(tmp_path, rows)
    checks = dict(values.filter(measure_id="rereferral_percent_published").select("area_code", "check").rows())
    assert checks == {"805": "agrees", "806": "agrees", "206": "differs", "E92000001": "not_checked"}
    (finding,) = findings.filter(kind="published_figure_differs").iter_rows(named=True)
    assert finding["area_code"] == "206" and finding["published_value"] == 18.0
    assert finding["derived_value"] == pytest.approx(404 / 2407 * 100, abs=1e-3)
    assert "c1.csv" in finding["message"] and "published figure is kept" in finding["message"]
    kept = values.filter(measure_id="rereferral_percent_published", area_code="206")["value"][0]
    assert kept == 18.0


def test_comparators_england_region_neighbours_rank_quartile(tmp_path: Path) -> None:
    values, _, table = build(tmp_path)
    rates = {r["area_code"]: r["value"] for r in values.filter(measure_id="referral_rate_published",
                                                                 level="authority").iter_rows(named=True)}
    islington = row(table, "referral_rate_published", "206")
    assert islington["england_value"] == round(600_000 / 12_000_000 * 10_000, 1)
    assert (islington["region_code"], islington["region_name"]) == ("E12000007", "London")
    assert islington["region_value"] == round(90_000 / 1_900_000 * 10_000, 1)
    neighbours = [rates["302"], rates["805"], rates["806"]]
    assert islington["neighbours_with_figures"] == 3
    assert islington["neighbours_mean"] == pytest.approx(statistics.mean(neighbours))
    assert islington["neighbours_median"] == pytest.approx(statistics.median(neighbours))
    assert islington["neighbour_model"] == "2025" and "2025" in islington["neighbour_model_name"]
    # Lower is better for referrals: rank 1 is the lowest rate.
    order = sorted(rates, key=rates.__getitem__)
    assert [row(table, "referral_rate_published", code)["rank"] for code in order] == [1, 2, 3, 4]
    assert [row(table, "referral_rate_published", code)["quartile"] for code in order] == [1, 2, 3, 4]
    assert islington["ranked_authorities"] == 4 and islington["polarity"] == "lower_is_better"
    assert islington["local_indicator_id"] == "referral_rate"


def test_higher_is_better_ranks_the_highest_first(tmp_path: Path) -> None:
    _, _, table = build(tmp_path)
    share = table.filter(measure_id="rereferral_percent_published")
    assert share.height == 4 and set(share["rank"]) == {1}  # all 20.0: tied, all first
    measures = MEASURES.to_frame().filter(pl.col("polarity") == "higher_is_better")
    assert "prevention_spend_share_published" in measures["measure_id"].to_list()


S251_HEADER = [*GEOGRAPHY, "category_of_expenditure", "description_of_expenditure", "own_provision",
               "total_expenditure"]


def s251_rows(period: str, area: str, lines: list[tuple[str, str, object]]) -> list[list[object]]:
    return [[period, "Financial year", *AREAS[area], category, description, value, value]
            for category, description, value in lines]


def test_spend_in_three_shapes_gives_spend_per_child(tmp_path: Path) -> None:
    current = s251_rows("202425", "805", [
        ("Family support services", "3.4.1 Short breaks", 1_000_000),
        ("Family support services", "3.4.2 Other family support", 500_000),
        ("Family support services", "3.4.6 Total Family Support Services", 1_500_000),
        ("Sure Start children's centres and other spend on children under 5", "3.1.1 Sure Start", 400_000),
        ("Services for young people", "3.5.1 Universal services", 100_000),
        ("Children looked after", "3.3.6 Total children looked after", 9_000_000),
        ("Safeguarding children and young people's services", "3.2.6 Total safeguarding", 4_000_000),
    ])
    millions = s251_rows("201920", "805", [
        ("Family support servcies", "3.4.6 Total Family Support Services", 1.25),
        ("Children looked after", "3.3.6 Total children looked after", 8.0),
    ])
    write(tmp_path, "s251_2025.csv", csv_text(S251_HEADER, current))
    write(tmp_path, "s251_2020.csv", csv_text(S251_HEADER, millions))
    legacy_header = ["LA", "LA Name", "LineNumber", "CYPServiceDescription", "ReportGroup", "OwnProvision",
                     "PrivateProvision", "OtherPublic", "Voluntary", "TotalExpenditure", "Income",
                     "NetCurrentExpenditure"]
    legacy = [["805", "Hartlepool", "27", "Total family support", "Family", "", "", "", "", "1,000,000", "0", ""],
              ["805", "Hartlepool", "16", "Total looked after", "CLA", "", "", "", "", "7000000", "0", ""],
              ["805", "Hartlepool", "3", "Other", "Other", "", "", "", "", "55", "0", ""],
              ["", "England", "27", "Total family support", "Family", "", "", "", "", "9", "0", ""]]
    write(tmp_path, "s251_outturn_2013-14.csv", csv_text(legacy_header, legacy, newline="\r\n"), encoding="cp1252")
    write(tmp_path, "ons.csv", population_file([(2024, "805", 20_000), (2019, "805", 19_000), (2013, "805", 18_000)]))
    load = load_published_folder(tmp_path, MEASURES)
    assert load.errors == []
    spend = load.observations.filter(dataset="spend", area_code="805")
    family = dict(spend.filter(column="family_support").select("year", "value").rows())
    assert family == {2025: 1_500_000.0, 2020: 1_250_000.0, 2014: 1_000_000.0}
    values, _ = measure_values(load.observations, MEASURES)
    per_child = dict(values.filter(measure_id="family_support_spend_per_child_published")
                     .select("year", "value").rows())
    assert per_child == {2025: 75.0, 2020: round(1_250_000 / 19_000), 2014: round(1_000_000 / 18_000)}
    prevention = values.filter(measure_id="prevention_spend_per_child_published").sort("year")
    assert prevention["status"].to_list() == ["x", "x", "ok"]  # every prevention line is only in 2024-25
    assert prevention["value"][-1] == (1_500_000 + 400_000 + 100_000) / 20_000


def test_legacy_file_without_a_year_is_an_error(tmp_path: Path) -> None:
    header = ["LA", "LA Name", "LineNumber", "CYPServiceDescription", "TotalExpenditure", "Income",
              "NetCurrentExpenditure"]
    write(tmp_path, "s251.csv", csv_text(header, [["805", "Hartlepool", "27", "Total", "10", "0", "10"]]))
    (message,) = load_published_folder(tmp_path, MEASURES).errors
    assert "s251.csv" in message and "which financial year" in message


def test_home_authority_from_setting_local_extract_or_none(tmp_path: Path) -> None:
    _, _, table = build(tmp_path)
    load = load_published_folder(tmp_path, MEASURES)
    known = comparators.authorities(measure_values(load.observations, MEASURES)[0], load.lookup)
    local = pl.DataFrame({"area_code": ["999", "999N"], "area_name": ["Northwold", "North"],
                          "area_type": ["authority", "locality"]})
    configured = home_authority("206", local, known, table, load.neighbours).row(0, named=True)
    assert (configured["authority_code"], configured["authority_name"], configured["set_by"]) == \
        ("206", "Islington", "OBA_HOME_LA")
    assert configured["has_published_figures"] and configured["local_area_name"] == "Northwold"
    unset = home_authority("", local, known, table, load.neighbours).row(0, named=True)
    assert unset["authority_code"] is None and unset["set_by"] == "not set"
    real_local = local.with_columns(area_code=pl.lit("805"))
    assert home_authority("", real_local, known, table, load.neighbours)["set_by"][0] == "local extracts"


def test_local_indicators_link_to_published_measures() -> None:
    catalogue = load_catalogue()
    assert catalogue.get("referral_rate").published_measure == "referral_rate_published"
    linked = {m.local_indicator: m for m in MEASURES.measures if m.local_indicator}
    assert set(linked) == {i.id for i in catalogue.indicators if i.published_measure}
    assert linked["rereferral_rate_12m"].polarity == catalogue.get("rereferral_rate_12m").polarity


def test_catalogue_rejects_a_link_to_an_unknown_measure(tmp_path: Path) -> None:
    from oba_pipeline.config import CATALOGUE_DIR

    text = (CATALOGUE_DIR / "indicators.yaml").read_text(encoding="utf-8")
    broken = tmp_path / "indicators.yaml"
    broken.write_text(text.replace("published_measure: referral_rate_published", "published_measure: nope"),
                      encoding="utf-8")
    with pytest.raises(CatalogueError, match="entry referral_rate: published_measure 'nope'"):
        load_published_measures(catalogue=load_catalogue(broken))
    measures = tmp_path / "published_measures.yaml"
    measures.write_text((CATALOGUE_DIR / "published_measures.yaml").read_text(encoding="utf-8").replace(
        "    dataset: referrals\n    unit: rate_per_10000", "    dataset: referrals\n    polarity: neutral\n"
        "    unit: rate_per_10000", 1), encoding="utf-8")
    with pytest.raises(CatalogueError, match="polarity comes from the linked local indicator 'referral_rate'"):
        load_published_measures(measures, load_catalogue())


def test_legacy_file_with_a_year_column(tmp_path: Path) -> None:
    header = ["LA", "LA Name", "LineNumber", "CYPServiceDescription", "TotalExpenditure", "Income",
              "NetCurrentExpenditure", "Year"]
    write(tmp_path, "s251.csv", csv_text(header, [["805", "Hartlepool", "27", "Total", "10", "0", "10", "2012-13"]]))
    load = load_published_folder(tmp_path, MEASURES)
    assert load.observations.select("year", "period_label", "column").rows() == [(2013, "2012-13", "family_support")]
    write(tmp_path, "s251.csv", csv_text(header, [["805", "Hartlepool", "27", "Total", "10", "0", "10", "soon"]]))
    (message,) = load_published_folder(tmp_path, MEASURES).errors
    assert "row 2, column year, value 'soon' is not a financial year" in message
