"""Reading extracts: encodings, header variations, XLSX, row numbers and file-level errors."""

from __future__ import annotations

import logging
from datetime import date, datetime
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from oba_pipeline.contracts.contract import Contract, load_contract
from oba_pipeline.errors import FileRuleError, OBAInputError
from oba_pipeline.ingest.readers import find_extract_files, land_extract, read_extract, read_extracts

HEADER = "snapshot_date,worker_id,team,locality,role,fte,cases_held"


@pytest.fixture(scope="module")
def caseloads() -> Contract:
    return load_contract("caseloads")


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def test_reads_every_contract_column_as_untrimmed_text_with_excel_row_numbers(
    tmp_path: Path, caseloads: Contract
):
    path = write(
        tmp_path / "caseloads.csv",
        f"{HEADER}\n2025-01-31,W1,Team A,L1,social_worker,1.0,12\n"
        "2025-01-31, W2 ,Team B,L2,team_manager ,0.5,3\n",
    )
    frame = read_extract(path, caseloads)
    assert frame.columns == [*caseloads.column_names, "_source_file", "_source_row"]
    assert all(frame.schema[c] == pl.Utf8 for c in caseloads.column_names)
    assert frame.schema["_source_row"] == pl.Int64
    assert frame["_source_row"].to_list() == [2, 3]
    assert frame["_source_file"].to_list() == ["caseloads.csv", "caseloads.csv"]
    # Values arrive exactly as typed: validation reports them that way.
    assert frame["worker_id"].to_list() == ["W1", " W2 "]
    assert frame["role"].to_list() == ["social_worker", "team_manager "]


def test_utf8_bom_and_crlf(tmp_path: Path, caseloads: Contract):
    path = tmp_path / "caseloads.csv"
    path.write_bytes(b"\xef\xbb\xbf" + f"{HEADER}\r\n2025-01-31,W1,Équipe,L1,social_worker,1,2\r\n".encode())
    frame = read_extract(path, caseloads)
    assert frame["snapshot_date"].to_list() == ["2025-01-31"]
    assert frame["team"].to_list() == ["Équipe"]
    assert frame["cases_held"].to_list() == ["2"]  # no stray \r left on the last column


def test_windows_1252_falls_back(tmp_path: Path, caseloads: Contract):
    path = write(
        tmp_path / "caseloads.csv",
        f"{HEADER}\r\n2025-01-31,W1,Café £ team,L1,social_worker,1,2\r\n",
        encoding="cp1252",
    )
    assert read_extract(path, caseloads)["team"].to_list() == ["Café £ team"]


def test_header_case_spaces_order_and_extra_columns(tmp_path: Path, caseloads: Contract, caplog):
    path = write(
        tmp_path / "Caseloads_March.CSV",
        " CASES_HELD ,Role,Extra Column,fte,Locality,TEAM,Worker_ID,snapshot_date\n"
        "7,social_worker,zzz,0.8,L1,T,W9,2025-03-31\n",
    )
    with caplog.at_level(logging.WARNING, logger="oba_pipeline.ingest.readers"):
        frame = read_extract(path, caseloads)
    row = frame.row(0, named=True)
    assert (row["cases_held"], row["role"], row["worker_id"], row["snapshot_date"]) == (
        "7",
        "social_worker",
        "W9",
        "2025-03-31",
    )
    assert "Extra Column" not in frame.columns
    assert "Extra Column" in caplog.text


def test_missing_optional_column_is_all_null(tmp_path: Path):
    spend = load_contract("spend")
    path = write(
        tmp_path / "spend.csv", "period_month,cost_centre,s251_line,amount_gbp\n2025-01-01,CC1,3.4.1,100\n"
    )
    frame = read_extract(path, spend)
    assert frame["locality"].to_list() == [None]
    assert frame["s251_description"].dtype == pl.Utf8


def test_missing_required_column_is_a_clear_file_error(tmp_path: Path):
    referrals = load_contract("referrals")
    header = ",".join(c for c in referrals.column_names if c != "referral_date")
    path = write(tmp_path / "referrals.csv", header + "\n")
    with pytest.raises(FileRuleError) as caught:
        read_extract(path, referrals)
    error = caught.value
    assert isinstance(error, OBAInputError)
    assert (error.source, error.file, error.rule) == ("referrals", "referrals.csv", "required_columns")
    message = str(error)
    assert message.startswith(
        "referrals.csv: required column(s) missing: referral_date. Columns found: referral_id,"
    )
    assert "names are matched ignoring case and surrounding spaces" in message
    assert (
        "nothing from this file was loaded and the last published figures are still being served" in message
    )


def test_blank_lines_are_skipped_but_row_numbers_stay_true(tmp_path: Path, caseloads: Contract):
    path = write(
        tmp_path / "caseloads.csv",
        f"{HEADER}\n2025-01-31,W1,T,L1,social_worker,1,2\n,,,,,,\n2025-01-31,W2,T,L1,social_worker,1,2\n\n",
    )
    assert read_extract(path, caseloads)["_source_row"].to_list() == [2, 4]


def test_quoted_commas_and_newlines(tmp_path: Path, caseloads: Contract):
    path = write(
        tmp_path / "caseloads.csv",
        f'{HEADER}\n2025-01-31,W1,"Team A, north\nside",L1,social_worker,1,2\n2025-01-31,W2,T,L1,x,1,2\n',
    )
    frame = read_extract(path, caseloads)
    assert frame["team"].to_list() == ["Team A, north\nside", "T"]
    assert frame["_source_row"].to_list() == [2, 3]  # one record is one Excel row, however many lines


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "it is empty"),
        (b"\x00\x01\x02\x03binary\x00", "not a text file"),
        (b"PK\x03\x04rest-of-a-zip", "Excel workbook or zip archive"),
        (
            f"{HEADER}\n2025-01-31,W1,T,L1,social_worker,1,2,surplus\n".encode(),
            "row 2 has 8 values but the header has 7",
        ),
    ],
    ids=["empty", "binary", "zip", "ragged"],
)
def test_unreadable_csv_is_a_file_error(tmp_path: Path, caseloads: Contract, content: bytes, expected: str):
    path = tmp_path / "caseloads.csv"
    path.write_bytes(content)
    with pytest.raises(FileRuleError) as caught:
        read_extract(path, caseloads)
    assert expected in str(caught.value)
    assert str(caught.value).startswith("caseloads.csv: this file cannot be used because")


def test_corrupt_xlsx_is_a_file_error(tmp_path: Path, caseloads: Contract):
    path = tmp_path / "caseloads.xlsx"
    path.write_bytes(b"this is not a workbook")
    with pytest.raises(FileRuleError, match="could not be opened as an Excel workbook"):
        read_extract(path, caseloads)


def test_xlsx_first_sheet_as_text_with_iso_dates(tmp_path: Path, caseloads: Contract):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append([])  # an empty first row: the header is on Excel row 2
    sheet.append(["Snapshot_Date", "worker_id", "team", "locality", "role", "FTE", "cases_held"])
    sheet.append([date(2025, 1, 31), "W1", "Team A", "L1", "social_worker", 0.5, 12])
    sheet.append([datetime(2025, 2, 28, 9, 30), "W2 ", "Team B", "L2", "team_manager", 1, 3.0])
    sheet.append(["2025-02-30", "W3", "Team C", "L3", "social_worker", 123456789.123, "7"])
    workbook.create_sheet("ignored").append(["not", "read"])
    path = tmp_path / "caseloads.xlsx"
    workbook.save(path)

    frame = read_extract(path, caseloads)
    assert all(frame.schema[c] == pl.Utf8 for c in caseloads.column_names)
    assert frame["snapshot_date"].to_list() == ["2025-01-31", "2025-02-28", "2025-02-30"]
    assert frame["worker_id"].to_list() == ["W1", "W2 ", "W3"]
    assert frame["fte"].to_list() == ["0.5", "1", "123456789.123"]
    assert frame["cases_held"].to_list() == ["12", "3", "7"]
    assert frame["_source_row"].to_list() == [3, 4, 5]
    assert frame["_source_file"].unique().to_list() == ["caseloads.xlsx"]


def test_find_extract_files_matches_patterns_ignoring_case(tmp_path: Path, caseloads: Contract):
    for name in (
        "caseloads_2025.csv",
        "CASELOADS-extra.XLSX",
        "referrals.csv",
        "~$caseloads.xlsx",
        "notes.txt",
    ):
        (tmp_path / name).write_text("x")
    found = [p.name for p in find_extract_files(tmp_path, caseloads)]
    assert found == ["CASELOADS-extra.XLSX", "caseloads_2025.csv"]


def test_no_file_found_says_what_is_expected_where(tmp_path: Path, caseloads: Contract):
    (tmp_path / "caseload.csv").write_text("x")  # a near miss the user can spot in the listing
    with pytest.raises(FileRuleError) as caught:
        find_extract_files(tmp_path, caseloads)
    message = str(caught.value)
    assert caught.value.rule == "file_found"
    assert str(tmp_path) in message
    assert "caseloads*.csv or caseloads*.xlsx" in message
    assert "Files there: caseload.csv" in message


def test_missing_folder_is_a_file_error(tmp_path: Path, caseloads: Contract):
    with pytest.raises(FileRuleError, match="does not exist"):
        find_extract_files(tmp_path / "nowhere", caseloads)


def test_read_extracts_concatenates_files_keeping_their_names(tmp_path: Path, caseloads: Contract):
    write(tmp_path / "caseloads_a.csv", f"{HEADER}\n2025-01-31,W1,T,L1,social_worker,1,2\n")
    write(
        tmp_path / "caseloads_b.csv",
        f"{HEADER}\n2025-02-28,W1,T,L1,social_worker,1,2\n2025-02-28,W2,T,L1,social_worker,1,2\n",
    )
    frame = read_extracts(tmp_path, caseloads)
    assert frame.select("_source_file", "_source_row").rows() == [
        ("caseloads_a.csv", 2),
        ("caseloads_b.csv", 2),
        ("caseloads_b.csv", 3),
    ]


# --- streaming a large CSV into the warehouse (land_extract) ----------------------------------------------


@pytest.mark.parametrize("text, encoding", [
    # quoted commas and line breaks, a blank line, padded values, a missing optional column, an extra column
    ("snapshot_date,worker_id, Team ,locality,role,fte,cases_held,notes\n"
     '2025-01-31,W1,"Team A, north",L1,social_worker,1.0,12,x\n'
     "\n"
     '2025-01-31, W2 ,"Team\nB",L2,team_manager ,0.5,3,\n'
     ",,,,,,,\n"
     "2025-02-28,W3,Team C,L1,social_worker,,,\n", "utf-8"),
    ("\ufeff" + HEADER + "\r\n2025-01-31,W1,Équipe,L1,social_worker,1,2\r\n", "utf-8"),
    (HEADER + "\n2025-01-31,W1,Café £,L1,social_worker,1,2\n", "cp1252"),  # read whole, then landed
])
def test_landed_extract_is_what_read_extract_reads(tmp_path: Path, caseloads: Contract, text: str, encoding: str):
    path = write(tmp_path / "caseloads.csv", text, encoding)
    rows = land_extract(path, caseloads, tmp_path / "landed.parquet")
    landed = pl.read_parquet(tmp_path / "landed.parquet")
    expected = read_extract(path, caseloads)
    assert rows == expected.height == landed.height
    assert landed.schema == expected.schema
    assert landed.equals(expected)


def test_landing_a_ragged_csv_names_the_row(tmp_path: Path, caseloads: Contract):
    path = write(tmp_path / "caseloads.csv", f"{HEADER}\n2025-01-31,W1,T,L1,social_worker,1,2\n"
                                             "2025-01-31,W2,T,L1,social_worker,1,2,surplus\n")
    with pytest.raises(FileRuleError) as raised:
        land_extract(path, caseloads, tmp_path / "landed.parquet")
    assert "row 3 has 8 values but the header has 7" in str(raised.value)


def test_landing_checks_the_header_before_reading_rows(tmp_path: Path, caseloads: Contract):
    path = write(tmp_path / "caseloads.csv", "snapshot_date,worker_id\n2025-01-31,W1\n")
    with pytest.raises(FileRuleError, match="required column"):
        land_extract(path, caseloads, tmp_path / "landed.parquet")
    assert not (tmp_path / "landed.parquet").exists()
