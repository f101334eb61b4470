"""`.meta.csv` sidecars, and the checks of published rates and ratios against their counts."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from benchmark_files import AREAS, GEOGRAPHY, c1_file, c1_row, csv_text, population_file, write

from oba_pipeline.benchmarks.load import load_published_folder
from oba_pipeline.benchmarks.measures import measure_values
from oba_pipeline.catalogue.published_measures import load_published_measures

MEASURES = load_published_measures()
META_HEADER = ["col_name", "col_type", "label", "indicator_grouping", "indicator_unit", "indicator_dp",
               "filter_hint", "filter_grouping_column"]


def test_sidecar_gives_precision_and_is_not_a_data_file(tmp_path: Path) -> None:
    write(tmp_path, "c1.csv", c1_file([c1_row(2025, "805", 1000, 167, 16.7)]))
    write(tmp_path, "c1.meta.csv", csv_text(META_HEADER, [
        ["rereferral_percent", "Indicator", "Re-referral rate", "", "%", "1", "", ""],
        ["referral_count", "Indicator", "Referrals", "", "", "0", "", ""],
        ["category", "Filter", "Category", "", "", "", "", ""]]))
    load = load_published_folder(tmp_path, MEASURES)
    assert load.errors == [] and load.sources["file"].to_list() == ["c1.csv"]
    decimals = dict(load.observations.filter(area_code="805").select("column", "decimals").rows())
    assert decimals["rereferral_percent"] == 1 and decimals["referral_count"] == 0
    assert decimals["not_in_need_count"] is None


S251_HEADER = [*GEOGRAPHY, "category_of_expenditure", "description_of_expenditure", "total_expenditure"]


def test_sidecar_unit_says_pounds_million(tmp_path: Path) -> None:
    rows = [["202122", "Financial year", *AREAS["805"], "Family support services", "3.4.6 Total", 2.5]]
    write(tmp_path, "s251.csv", csv_text(S251_HEADER, rows))
    write(tmp_path, "s251.meta.csv", csv_text(META_HEADER, [
        ["total_expenditure", "Indicator", "Total expenditure", "", "£m", "2", "", ""]]))
    load = load_published_folder(tmp_path, MEASURES)
    assert load.observations.filter(column="family_support")["value"].to_list() == [2_500_000.0]
    (tmp_path / "s251.meta.csv").unlink()  # without the sidecar, 2021-22 is read in pounds
    load = load_published_folder(tmp_path, MEASURES)
    assert load.observations.filter(column="family_support")["value"].to_list() == [2.5]


def test_looked_after_rate_checked_against_ons_population(tmp_path: Path) -> None:
    header = [*GEOGRAPHY, "population_type", "population_estimate", "children_count", "rate_per_10000"]
    at31 = "Children looked after at 31 March each year"
    rows = [[2025, "Reporting year", *AREAS["805"], at31, 20000, 200, 100],  # 200 / 20,000: agrees
            [2025, "Reporting year", *AREAS["806"], at31, 30000, 150, 60],  # 150 / 30,000 = 50: differs
            [2025, "Reporting year", *AREAS["206"], at31, 35000, "c", "c"]]
    write(tmp_path, "cla.csv", csv_text(header, rows))
    write(tmp_path, "ons.csv", population_file([(2024, "805", 20000), (2024, "806", 30000), (2024, "206", 35000)]))
    load = load_published_folder(tmp_path, MEASURES)
    values, findings = measure_values(load.observations, MEASURES)
    cla = values.filter(measure_id="cla_rate_published").sort("area_code")
    assert dict(cla.select("area_code", "check").rows()) == {"206": "not_checked", "805": "agrees", "806": "differs"}
    assert dict(cla.select("area_code", "status").rows()) == {"206": "c", "805": "ok", "806": "ok"}
    (finding,) = findings.filter(kind="published_figure_differs").iter_rows(named=True)
    assert (finding["area_code"], finding["published_value"], finding["derived_value"]) == ("806", 60.0, 50.0)
    assert values.filter(measure_id="cla_starting_rate_published").is_empty()


def test_workforce_caseload_checked_against_cases_and_fte(tmp_path: Path) -> None:
    header = [*GEOGRAPHY, "inpost_fte", "inpost_headcount", "turnover_rate_fte", "agency_rate_fte",
              "vacancy_rate_fte", "case_holders_fte", "cases", "caseload_fte", "absence_rate_fte"]
    rows = [[2024, "Calendar year", *AREAS["805"], 50, 55, 12.0, 5.0, 8.0, 40, 640, 16.0, 3.0],
            [2024, "Calendar year", *AREAS["806"], 50, 55, "x", "low", 8.0, 40, 640, 17.0, 3.0]]
    write(tmp_path, "csww.csv", csv_text(header, rows))
    values, _ = measure_values(load_published_folder(tmp_path, MEASURES).observations, MEASURES)
    caseload = dict(values.filter(measure_id="caseload_published").select("area_code", "check").rows())
    assert caseload == {"805": "agrees", "806": "differs"}
    turnover = values.filter(measure_id="turnover_rate_published").sort("area_code")
    assert turnover["status"].to_list() == ["ok", "x"] and turnover["value"].to_list() == [12.0, None]
    agency = values.filter(pl.col("measure_id") == "agency_rate_published").sort("area_code")
    assert agency["status"].to_list() == ["ok", "low"]


def test_children_in_need_b1_d3_d5_give_their_measures(tmp_path: Path) -> None:
    b1 = [*GEOGRAPHY, "anypoint_episodes", "anypoint_child", "started_episodes", "started_child",
          "ended_episodes", "ended_child", "at31_episodes", "awaiting_assessment"]
    d3 = [*GEOGRAPHY, "CPP_start", "CPP_subsequent", "CPP_subsequent_percent"]
    d5 = [*GEOGRAPHY, "CPP_At31", "3_months_or_less", "3_months_or_less_percent", "more_than_3_months_6_months",
          "more_than_6_months_less_than_1_year", "1_year_less_than_2_years", "2_years_or_more"]
    year = [2025, "Reporting year"]
    write(tmp_path, "b1.csv", csv_text(b1, [[*year, *AREAS["805"], 900, 880, 400, 390, 380, 370, 500, 12],
                                           [*year, *AREAS["806"], 20, 20, 9, 9, 8, 8, 4, "c"]]))
    write(tmp_path, "d3.csv", csv_text(d3, [[*year, *AREAS["805"], 80, 20, 25.0],
                                           [*year, *AREAS["england"], 70_000, 17_000, 24.3]]))
    write(tmp_path, "d5.csv", csv_text(d5, [[*year, *AREAS["805"], 110, 40, 36.4, 30, 20, 15, 5]]))
    write(tmp_path, "ons.csv", population_file([(2024, "805", 20_000), (2024, "806", 30_000)]))
    load = load_published_folder(tmp_path, MEASURES)
    assert load.errors == []
    assert set(load.sources["format"]) == {"cin_b1", "cin_d3", "cin_d5", "ons_population"}
    values, _ = measure_values(load.observations, MEASURES)

    def figure(measure: str, area: str) -> tuple[object, ...]:
        return values.filter(measure_id=measure, area_code=area).select("value", "status", "check").row(0)

    assert figure("cin_rate_published", "805") == (250.0, "ok", "not_checked")  # 500 / 20,000 * 10,000
    assert figure("cin_rate_published", "806") == (None, "c", "not_checked")  # 4 children: suppressed
    assert figure("cpp_rate_published", "805") == (55.0, "ok", "not_checked")
    assert figure("second_cpp_percent_published", "805") == (25.0, "ok", "agrees")
    assert figure("second_cpp_percent_published", "E92000001") == (24.3, "ok", "not_checked")  # rounded counts
