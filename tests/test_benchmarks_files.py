"""Reading published files as downloaded: each format and each quirk real files have, and the failures."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from benchmark_files import AREAS, GEOGRAPHY, c1_file, c1_row, csv_text, population_file, sn_2025_file, write

from oba_pipeline.benchmarks.errors import PublishedFileError
from oba_pipeline.benchmarks.load import load_published_folder
from oba_pipeline.benchmarks.read import read_published_csv
from oba_pipeline.benchmarks.recognise import recognise

TEN = ["806", "206", "302", "901", "902", "903", "904", "905", "906", "907"]


def observations(folder: Path) -> pl.DataFrame:
    load = load_published_folder(folder)
    assert load.errors == []
    return load.observations


def cell(frame: pl.DataFrame, area: str, column: str, year: int = 2025) -> tuple[float | None, str]:
    row = frame.filter((pl.col("area_code") == area) & (pl.col("column") == column) & (pl.col("year") == year))
    assert row.height == 1, (area, column, row)
    return row["value"][0], row["status"][0]


def test_recognised_by_columns_not_name_with_bom_and_crlf(tmp_path: Path) -> None:
    text = c1_file([c1_row(2025, "805", 1200, 240, 20.0)], newline="\r\n")
    write(tmp_path, "download (3).csv", text, bom=True)
    load = load_published_folder(tmp_path)
    assert load.errors == []
    source = load.sources.row(0, named=True)
    assert (source["format"], source["encoding"], source["status"]) == ("cin_c1", "utf-8-sig", "loaded")
    assert cell(load.observations, "805", "referral_count") == (1200.0, "ok")
    assert cell(load.observations, "805", "rereferral_percent") == (20.0, "ok")
    # The last column of a CRLF file carries no stray carriage return.
    assert cell(load.observations, "805", "rereferral_child_percent") == (20.0, "ok")


def test_windows_1252_file_is_read(tmp_path: Path) -> None:
    rows = [c1_row(2025, "805", 10, 1, 10.0)]
    rows[0][9] = "Hartlepool’s"  # a curly apostrophe is byte 0x92 in Windows-1252
    path = write(tmp_path, "old.csv", c1_file(rows), encoding="cp1252")
    table = read_published_csv(path)
    assert table.encoding == "windows-1252"
    assert observations(tmp_path).filter(area_code="805")["area_name"][0] == "Hartlepool’s"


def test_symbols_are_a_status_beside_a_null_never_a_number(tmp_path: Path) -> None:
    symbols = ["c", "x", "z", "u", "low", "k", ":", "~", ""]
    rows = [c1_row(2025, "805", 100, 10, 10.0)]
    codes = ["806", "206", "302"] + [f"9{n:02d}" for n in range(len(symbols) - 3)]
    for code, symbol in zip(codes, symbols, strict=True):
        row = c1_row(2025, "805", symbol, 5, 1.0)
        row[7] = code
        rows.append(row)
    write(tmp_path, "c1.csv", c1_file(rows))
    frame = observations(tmp_path).filter(pl.col("column") == "referral_count")
    by_code = {r["area_code"]: (r["value"], r["status"]) for r in frame.iter_rows(named=True)}
    for code, symbol in zip(codes, symbols, strict=True):
        assert by_code[code] == (None, symbol or "x")
    assert frame.filter(pl.col("value") < 0).is_empty()


def test_text_that_is_neither_number_nor_symbol_names_file_row_column_value(tmp_path: Path) -> None:
    write(tmp_path, "c1.csv", c1_file([c1_row(2025, "805", 100, 10, 10.0), c1_row(2025, "806", "n/a", 1, 1.0)]))
    load = load_published_folder(tmp_path)
    assert load.observations.is_empty()
    (message,) = load.errors
    assert "c1.csv" in message and "row 3" in message and "referral_count" in message and "'n/a'" in message


def test_unrecognised_file_is_an_error_and_loads_nothing(tmp_path: Path) -> None:
    write(tmp_path, "notes.csv", "school,pupils\nA,1\n")
    write(tmp_path, "c1.csv", c1_file([c1_row(2025, "805", 100, 10, 10.0)]))
    load = load_published_folder(tmp_path)
    (message,) = load.errors
    assert message.startswith("notes.csv: not a published file the toolkit recognises")
    assert "school, pupils" in message and "referral_count" in message
    assert set(load.observations["file"]) == {"c1.csv"}
    assert load.sources.filter(file="notes.csv")["status"][0] == "error"
    assert load.findings.filter(kind="file_not_loaded")["file"].to_list() == ["notes.csv"]


def test_missing_expected_column_names_file_and_column_and_loads_nothing(tmp_path: Path) -> None:
    text = c1_file([c1_row(2025, "805", 100, 10, 10.0)])
    header, *body = text.splitlines()
    columns = header.split(",")
    drop = columns.index("rereferral_percent")
    trimmed = "\n".join(",".join(c for i, c in enumerate(line.split(",")) if i != drop) for line in [header, *body])
    write(tmp_path, "c1.csv", trimmed + "\n")
    load = load_published_folder(tmp_path)
    assert load.observations.is_empty()
    (message,) = load.errors
    assert "c1.csv" in message and "referrals and re-referrals" in message
    assert "has no column rereferral_percent" in message and "Nothing from this file was loaded" in message


def test_recognise_raises_for_partial_header() -> None:
    with pytest.raises(PublishedFileError) as raised:
        recognise("cla.csv", [*GEOGRAPHY, "population_type", "population_estimate", "rate_per_10000"])
    assert raised.value.rule == "required_columns" and "children_count (or number)" in str(raised.value)


def test_columns_in_another_order_and_categories_are_read_by_name(tmp_path: Path) -> None:
    header = ["time_period", "time_identifier", "geographic_level", "country_code", "country_name", "region_code",
              "region_name", "old_la_code", "la_name", "new_la_code", "population_type", "number",
              "rate_per_10000", "population_estimate"]
    rows = [[2025, "Reporting year", "Local authority", "E92000001", "England", "E12000001", "North East", "805",
             "Hartlepool", "E06000001", "Children looked after at 31 March each year", 200, 100, 20000],
            [2025, "Reporting year", "Local authority", "E92000001", "England", "E12000001", "North East", "805",
             "Hartlepool", "E06000001", "Children starting to be looked after each year", 60, 30, 20000]]
    write(tmp_path, "cla.csv", csv_text(header, rows))
    frame = observations(tmp_path)
    at31 = frame.filter(pl.col("category") == "Children looked after at 31 March each year")
    assert cell(at31, "805", "children_count") == (200.0, "ok")  # `number` read as children_count
    assert cell(at31, "805", "rate_per_10000") == (100.0, "ok")
    assert frame.filter(area_code="805")["new_la_code"].unique().to_list() == ["E06000001"]


def test_london_parts_map_to_london_and_regions_stay_separate(tmp_path: Path) -> None:
    rows = [c1_row(2025, area, 100, 10, 10.0) for area in ("england", "london", "inner", "outer", "206", "302")]
    write(tmp_path, "c1.csv", c1_file(rows))
    frame = observations(tmp_path).filter(column="referral_count")
    authorities = frame.filter(level="authority")
    assert set(authorities["region_code"]) == {"E12000007"} and set(authorities["region_name"]) == {"London"}
    assert set(frame.filter(level="regional")["area_code"]) == {"E12000007", "E13000001", "E13000002"}
    assert frame.filter(level="national")["area_code"].to_list() == ["E92000001"]


def test_authorities_keyed_on_old_code_across_ons_code_changes(tmp_path: Path) -> None:
    old, new = c1_row(2023, "805", 100, 10, 10.0), c1_row(2025, "805", 120, 12, 10.0)
    old[8] = "E06000099"  # the ONS code changed; the authority did not
    write(tmp_path, "c1.csv", c1_file([old, new]))
    series = observations(tmp_path).filter(column="referral_count", area_code="805").sort("year")
    assert series["year"].to_list() == [2023, 2025]
    assert series["new_la_code"].to_list() == ["E06000099", "E06000001"]


def test_joint_code_stands_for_each_member_and_is_marked_shared(tmp_path: Path) -> None:
    header = [*GEOGRAPHY, "inpost_fte", "inpost_headcount", "turnover_rate_fte", "agency_rate_fte",
              "vacancy_rate_fte", "case_holders_fte", "cases", "caseload_fte", "absence_rate_fte"]
    joint = [2024, "Calendar year", "Local authority", "E92000001", "England", "E12000008", "South East",
             "314 / 318", "E09000021 / E09000027", "Kingston upon Thames / Richmond upon Thames",
             100, 110, 15.0, 10.0, 12.0, 80, 1200, 15.0, 2.5]
    single = [2024, "Calendar year", *AREAS["805"], 50, 55, 12.0, 5.0, 8.0, 40, 640, 16.0, 3.0]
    write(tmp_path, "csww.csv", csv_text(header, [joint, single]))
    load = load_published_folder(tmp_path)
    caseload = load.observations.filter(column="caseload_fte").sort("area_code")
    assert caseload["area_code"].to_list() == ["314", "318", "805"]
    assert caseload["area_name"].to_list() == ["Kingston upon Thames", "Richmond upon Thames", "Hartlepool"]
    assert caseload["new_la_code"].to_list() == ["E09000021", "E09000027", "E06000001"]
    assert caseload["value"].to_list() == [15.0, 15.0, 16.0]
    assert caseload["note"][0].startswith("shared service") and caseload["note"][2] is None
    assert set(load.findings.filter(kind="shared_service")["area_code"]) == {"314", "318"}


def test_six_digit_financial_year_and_bad_period(tmp_path: Path) -> None:
    rows = [c1_row(2025, "805", 100, 10, 10.0)]
    rows[0][0] = "202425"
    write(tmp_path, "c1.csv", c1_file(rows))
    frame = observations(tmp_path)
    assert set(frame["year"]) == {2025} and set(frame["period_label"]) == {"2024-25"}
    rows[0][0] = "2024/25"
    write(tmp_path, "c1.csv", c1_file(rows))
    (message,) = load_published_folder(tmp_path).errors
    assert "time_period" in message and "'2024/25'" in message


def test_population_keeps_children_aged_0_to_17_only(tmp_path: Path) -> None:
    write(tmp_path, "ons.csv", population_file([(2024, "805", 20000), (2024, "england", 12000000)]))
    frame = observations(tmp_path)
    assert frame.filter(area_code="805")["value"].to_list() == [20000.0]


def test_neighbours_2025_trailing_spaces_stripped(tmp_path: Path) -> None:
    write(tmp_path, "sn.csv", sn_2025_file({"805": TEN}), bom=True)
    load = load_published_folder(tmp_path)
    assert load.errors == []
    neighbours = load.neighbours
    assert neighbours["neighbour_code"].to_list() == TEN
    assert neighbours["neighbour_rank"].to_list() == list(range(1, 11))
    assert set(neighbours["closeness"]) == {"Close"} and set(neighbours["model"]) == {"2025"}


def test_neighbours_april_2021_repeated_snp_and_trailing_empty_column(tmp_path: Path) -> None:
    header = ["LA number", "LA name"] + [name for k in range(1, 11) for name in (f"SN{k}", "SNP")] + [""]
    names = {"805": "Hartlepool", "806": "Middlesbrough", "206": "Islington", "302": "Barnet"}
    rows = []
    for code, name in names.items():
        others = [n for c, n in names.items() if c != code]
        neighbours = [others[0], *[c for c in TEN if c not in (code, *names)][:6], *others[1:], "908"][:10]
        row: list[object] = [code, name]
        for rank, neighbour in enumerate(neighbours, start=1):
            row += [neighbour, "Very close" if rank <= 3 else "Close"]
        rows.append([*row, ""])
    write(tmp_path, "SN_April2021.csv", csv_text(header, rows, newline="\r\n"), encoding="cp1252")
    load = load_published_folder(tmp_path)
    assert load.errors == []
    islington = load.neighbours.filter(area_code="206").sort("neighbour_rank")
    assert islington.height == 10 and set(islington["model"]) == {"2021"}
    assert islington["neighbour_code"][0] == "805"  # given by name, resolved to its code
    assert islington["closeness"].to_list()[:4] == ["Very close"] * 3 + ["Close"]


def test_neighbour_that_is_neither_code_nor_known_name_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, "sn.csv", sn_2025_file({"805": [*TEN[:9], "Atlantis"]}))
    load = load_published_folder(tmp_path)
    assert load.neighbours.is_empty()
    (message,) = load.errors
    assert "sn.csv" in message and "SN_10" in message and "'Atlantis'" in message


def test_empty_folder_or_no_folder_loads_nothing_without_error(tmp_path: Path) -> None:
    assert load_published_folder(tmp_path / "missing").observations.is_empty()
    write(tmp_path, "README.md", "attribution")
    assert load_published_folder(tmp_path).sources.is_empty()


def test_later_release_replaces_the_same_figure(tmp_path: Path) -> None:
    write(tmp_path, "c1_2024.csv", c1_file([c1_row(2024, "805", 100, 10, 10.0)]))
    write(tmp_path, "c1_2025.csv", c1_file([c1_row(2024, "805", 101, 10, 9.9), c1_row(2025, "805", 90, 9, 10.0)]))
    frame = observations(tmp_path)
    assert cell(frame, "805", "referral_count", 2024) == (101.0, "ok")
    assert frame.filter(area_code="805", column="referral_count", year=2024)["file"][0] == "c1_2025.csv"


def test_rows_ending_in_extra_empty_cells_load_but_extra_values_do_not(tmp_path: Path) -> None:
    text = c1_file([c1_row(2025, "805", 100, 10, 10.0), c1_row(2025, "806", 200, 20, 10.0)])
    header, first, second = text.splitlines()
    write(tmp_path, "c1.csv", "\n".join([header, first + ",,", "", second + ","]) + "\n")
    frame = observations(tmp_path).filter(column="referral_count").sort("area_code")
    assert frame["value"].to_list() == [100.0, 200.0]
    write(tmp_path, "c1.csv", "\n".join([header, first + ",,surprise", second]) + "\n")
    (message,) = load_published_folder(tmp_path).errors
    assert "c1.csv: some rows have more values than the header has columns" in message


def test_empty_file_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, "blank.csv", "\n\n")
    (message,) = load_published_folder(tmp_path).errors
    assert message.startswith("blank.csv: the file is empty")
