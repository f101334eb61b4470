"""Reading nightly extracts (CSV or XLSX) into all-text polars frames shaped by their data contract.

Nothing is typed or trimmed here: values stay exactly as they arrived so that validation can report
them faithfully. Every frame gets `_source_file` and `_source_row` (the row number a user sees in
Excel: the header is row 1) so that every rejection can point at a cell.
"""

from __future__ import annotations

import codecs
import csv
import fnmatch
import io
import logging
from collections.abc import Iterable
from pathlib import Path

import polars as pl

from oba_pipeline.contracts.contract import Contract
from oba_pipeline.errors import FileRuleError

log = logging.getLogger(__name__)

SOURCE_FILE = "_source_file"
SOURCE_ROW = "_source_row"

CSV_SUFFIXES = frozenset({".csv", ".txt"})
EXCEL_SUFFIXES = frozenset({".xlsx", ".xlsm"})
STREAM_BLOCK = 16 * 1024 * 1024  # bytes read at a time when checking a CSV's encoding

_STOP = "nothing from this file was loaded and the last published figures are still being served."
# fastexcel renders date cells as "YYYY-MM-DD HH:MM:SS"; an extract wants the calendar date only.
_EXCEL_DATETIME = r"^(\d{4}-\d{2}-\d{2}) \d{2}:\d{2}:\d{2}(\.\d+)?$"
# Binary floats rendered with all their digits (123456789.122999996) are shortened to what was typed.
_LONG_FLOAT = r"^-?\d+\.\d{9,}$"


def find_extract_files(input_dir: Path, contract: Contract) -> list[Path]:
    """The files in `input_dir` matching the contract's file patterns (names compared ignoring case)."""
    input_dir = Path(input_dir)
    expected = " or ".join(contract.file_patterns)
    if not input_dir.is_dir():
        raise FileRuleError(
            contract.source,
            str(input_dir),
            "file_found",
            f"{contract.source}: the input folder {input_dir} does not exist. Put the {contract.title} "
            f"export there, named like {expected}; the last published figures are still being served.",
        )
    patterns = [p.lower() for p in contract.file_patterns]
    found = sorted(
        path
        for path in input_dir.iterdir()
        if path.is_file()
        and not path.name.startswith(("~$", "."))  # Excel's lock files, hidden files
        and any(fnmatch.fnmatchcase(path.name.lower(), p) for p in patterns)
    )
    if not found:
        present = sorted(p.name for p in input_dir.iterdir() if p.is_file())
        listing = ", ".join(present[:15]) + (" ..." if len(present) > 15 else "") if present else "none"
        raise FileRuleError(
            contract.source,
            str(input_dir),
            "file_found",
            f"{contract.source}: no {contract.title} extract found in {input_dir}. Expected a file named "
            f"like {expected} (for example {contract.source}.csv). Files there: {listing}. Export the file "
            f"into that folder and run the refresh again; the last published figures are still being served.",
        )
    return found


def read_extract(path: Path, contract: Contract) -> pl.DataFrame:
    """One extract file as text: every contract column (pl.Utf8, untrimmed), `_source_file`, `_source_row`."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in EXCEL_SUFFIXES:
        grid, first_row = _read_excel_grid(path, contract)
    elif suffix in CSV_SUFFIXES:
        grid, first_row = _read_csv_grid(path, contract), 1
    else:
        raise FileRuleError(
            contract.source,
            path.name,
            "file_type",
            f"{path.name}: files ending {suffix or '(no extension)'} cannot be read. Save the export as CSV "
            f"(UTF-8) or Excel .xlsx; {_STOP}",
        )
    frame = _shape(grid, first_row, path.name, contract)
    log.info("%s: read %d row(s) from %s", contract.source, frame.height, path.name)
    return frame


def read_extracts(input_dir: Path, contract: Contract) -> pl.DataFrame:
    """All extract files of a source in `input_dir`, concatenated in file-name order."""
    frames = [read_extract(path, contract) for path in find_extract_files(input_dir, contract)]
    return pl.concat(frames, how="vertical")


def land_extract(path: Path, contract: Contract, parquet: Path) -> int:
    """Write one extract file, shaped as `read_extract` shapes it, to a Parquet file; the number of rows.

    A UTF-8 CSV is streamed (polars reads and writes it in batches), so a national extract of several
    gigabytes never sits in memory whole; other files (Excel, Windows-1252, UTF-16) are read whole.
    """
    path = Path(path)
    lazy = _streamed_csv(path, contract) if path.suffix.lower() in CSV_SUFFIXES else None
    if lazy is None:
        frame = read_extract(path, contract)
        frame.write_parquet(parquet)
        return frame.height
    try:
        lazy.sink_parquet(parquet)
    except (pl.exceptions.PolarsError, ValueError) as exc:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            ragged = _ragged_row(handle)
        raise _unreadable(
            contract,
            path,
            f"it could not be read as CSV ({ragged or _first_line(exc)}). "
            "Check that every row has as many values as the header and that quotes are closed",
        ) from exc
    rows = pl.scan_parquet(parquet).select(pl.len()).collect().item()
    log.info("%s: read %d row(s) from %s", contract.source, rows, path.name)
    return rows


def _streamed_csv(path: Path, contract: Contract) -> pl.LazyFrame | None:
    """A lazy, contract-shaped scan of a UTF-8 CSV; None when the file must be read whole instead."""
    try:
        with path.open("rb") as handle:
            first = handle.read(STREAM_BLOCK)
            decoder = codecs.getincrementaldecoder("utf-8")()
            block = first
            while block:
                decoder.decode(block)
                block = handle.read(STREAM_BLOCK)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return None  # Windows-1252 and other legacy encodings: the whole-file reader decodes them
    except OSError as exc:
        raise _unreadable(contract, path, f"it could not be opened ({exc.strerror or exc})") from exc
    if not first.strip() or first.startswith((b"PK\x03\x04", b"\xff\xfe", b"\xfe\xff")) or b"\x00" in first:
        return None  # empty, a workbook, UTF-16 or binary: the whole-file reader explains or converts it
    header = next(csv.reader(io.StringIO(first.decode("utf-8", errors="ignore").removeprefix("\ufeff"),
                                         newline="")), [])
    positions = _header_positions(header, path.name, contract)
    names = [f"column_{i + 1}" for i in range(len(header))]
    grid = pl.scan_csv(path, has_header=False, infer_schema=False, new_columns=names, encoding="utf8",
                       raise_if_empty=False)
    return _shaped_body(grid, names, positions, 1, path.name, contract)


# --- CSV -----------------------------------------------------------------------------------------------


def _read_csv_grid(path: Path, contract: Contract) -> pl.DataFrame:
    """The CSV as a grid of text cells (header row included), decoded from UTF-8 or Windows-1252."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _unreadable(contract, path, f"it could not be opened ({exc.strerror or exc})") from exc
    if not data.strip():
        raise _unreadable(contract, path, "it is empty", rule="not_empty")
    if data.startswith(b"PK\x03\x04"):
        raise _unreadable(
            contract,
            path,
            "it is an Excel workbook or zip archive saved under a .csv name; "
            "save it as CSV, or rename it to .xlsx",
        )
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        # Excel's "Unicode text" export; decoding it is cheaper than asking the user to re-export.
        utf8 = data.decode("utf-16").encode("utf-8")
    elif b"\x00" in data[:65536]:
        raise _unreadable(contract, path, "it is not a text file (it looks like binary data)")
    else:
        utf8 = _as_utf8(data, contract, path)
    del data

    try:
        grid = pl.read_csv(
            io.BytesIO(utf8),
            has_header=False,
            infer_schema=False,
            raise_if_empty=False,
        )
    except (pl.exceptions.PolarsError, ValueError) as exc:
        raise _unreadable(
            contract,
            path,
            f"it could not be read as CSV ({_ragged_row(utf8.decode('utf-8')) or _first_line(exc)}). "
            "Check that every row has as many values as the header and that quotes are closed",
        ) from exc
    if grid.height == 0:
        raise _unreadable(contract, path, "it has no header row", rule="not_empty")
    return grid


def _ragged_row(text: str | Iterable[str]) -> str | None:
    """Where a CSV has more values in a row than in its header (only run once polars has refused the file)."""
    rows = csv.reader(io.StringIO(text, newline="") if isinstance(text, str) else text)
    header = next(rows, [])
    for number, row in enumerate(rows, start=2):
        if len(row) > len(header):
            return f"row {number} has {len(row)} values but the header has {len(header)}"
    return None


def _as_utf8(data: bytes, contract: Contract, path: Path) -> bytes:
    """The file as UTF-8 bytes for polars. A UTF-8 file is used as it is (less any byte-order mark) rather
    than decoded and encoded again: for a national extract that copy alone is a gigabyte."""
    try:
        data.decode("utf-8")
        return data.removeprefix(codecs.BOM_UTF8)
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise _unreadable(
            contract,
            path,
            "its characters are neither UTF-8 nor Windows-1252; export it as CSV UTF-8",
            rule="encoding",
        ) from exc
    log.info("%s: %s is not UTF-8; read it as Windows-1252", contract.source, path.name)
    return text.encode("utf-8")


# --- Excel ---------------------------------------------------------------------------------------------


def _read_excel_grid(path: Path, contract: Contract) -> tuple[pl.DataFrame, int]:
    """The first sheet as a grid of text cells, and the Excel row number of the grid's first row."""
    import fastexcel  # imported here: only Excel inputs need it

    try:
        reader = fastexcel.read_excel(str(path))
        sheet = reader.load_sheet(0, header_row=None, dtypes="string")
        grid = sheet.to_polars()
    except Exception as exc:  # fastexcel raises its own error classes for corrupt or non-Excel files
        raise _unreadable(
            contract, path, f"it could not be opened as an Excel workbook ({_first_line(exc)})"
        ) from exc
    if grid.height == 0:
        raise _unreadable(contract, path, "its first sheet is empty", rule="not_empty")
    grid = grid.select(_excel_text(pl.col(name).cast(pl.Utf8)).alias(name) for name in grid.columns)
    return grid, _first_used_row(path)


def _excel_text(cell: pl.Expr) -> pl.Expr:
    """Excel cells as the text a user typed: dates as YYYY-MM-DD, floats without binary noise."""
    as_date = cell.str.extract(_EXCEL_DATETIME, 1)
    shortened = cell.cast(pl.Float64, strict=False).cast(pl.Utf8)
    return (
        pl.when(as_date.is_not_null())
        .then(as_date)
        .when(cell.str.contains(_LONG_FLOAT))
        .then(shortened)
        .otherwise(cell)
    )


def _first_used_row(path: Path) -> int:
    """Excel row number of the first non-empty row: the reader skips leading empty rows, Excel does not."""
    try:
        import openpyxl

        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
        try:
            for number, row in enumerate(workbook.worksheets[0].iter_rows(values_only=True), start=1):
                if any(value is not None and str(value).strip() for value in row):
                    return number
        finally:
            workbook.close()
    except Exception:  # an odd but readable workbook: assume the header is on row 1, as it nearly always is
        log.debug("could not locate the first used row of %s", path, exc_info=True)
    return 1


# --- shaping -------------------------------------------------------------------------------------------


def _shape(grid: pl.DataFrame, first_row: int, file_name: str, contract: Contract) -> pl.DataFrame:
    """Match the grid's header to the contract and return the contract-shaped text frame."""
    header = [("" if v is None else str(v)) for v in grid.row(0)]
    positions = _header_positions(header, file_name, contract)
    frame = _shaped_body(grid.lazy(), grid.columns, positions, first_row, file_name, contract).collect()
    dropped = grid.height - 1 - frame.height
    if dropped:
        log.info("%s: skipped %d blank row(s) in %s", contract.source, dropped, file_name)
    return frame


def _header_positions(header: list[str], file_name: str, contract: Contract) -> dict[str, int]:
    """Where each contract column is in the file's header; a missing or repeated column stops the file."""
    wanted = {name.casefold(): name for name in contract.column_names}
    positions: dict[str, int] = {}
    extras: list[str] = []
    for index, label in enumerate(header):
        key = label.replace("\ufeff", "").strip().casefold()
        name = wanted.get(key)
        if name is None:
            if key:
                extras.append(label.strip())
            continue
        if name in positions:
            raise FileRuleError(
                contract.source,
                file_name,
                "duplicate_column",
                f"{file_name}: column {name} appears more than once in the header (columns "
                f"{positions[name] + 1} and {index + 1}). Remove one of them from the export; {_STOP}",
            )
        positions[name] = index

    missing = [c for c in contract.required_columns if c not in positions]
    if missing:
        found = ", ".join(label.strip() or "(blank)" for label in header)
        raise FileRuleError(
            contract.source,
            file_name,
            "required_columns",
            f"{file_name}: required column(s) missing: {', '.join(missing)}. Columns found: {found}. Add the "
            f"column to the export (names are matched ignoring case and surrounding spaces); {_STOP}",
        )
    if extras:
        log.warning(
            "%s: %s has column(s) the contract does not use, ignored: %s",
            contract.source,
            file_name,
            ", ".join(extras),
        )
    absent = [c for c in contract.column_names if c not in positions]
    if absent:
        log.info(
            "%s: %s has no optional column(s) %s; they are left empty",
            contract.source,
            file_name,
            ", ".join(absent),
        )
    return positions


def _shaped_body(grid: pl.LazyFrame, grid_names: list[str], positions: dict[str, int], first_row: int,
                 file_name: str, contract: Contract) -> pl.LazyFrame:
    """The rows under the header as the contract's text columns, numbered as the user sees them."""
    body = grid.with_row_index(SOURCE_ROW, offset=first_row).slice(1)
    # Rows with nothing in any cell (trailing blank lines, Excel rows cleared but kept) are not records.
    blank = pl.all_horizontal(
        [pl.col(name).is_null() | (pl.col(name).str.strip_chars() == "") for name in grid_names]
    )
    return body.filter(~blank).select(
        *[
            (pl.col(grid_names[positions[name]]) if name in positions else pl.lit(None))
            .cast(pl.Utf8)
            .alias(name)
            for name in contract.column_names
        ],
        pl.lit(file_name, dtype=pl.Utf8).alias(SOURCE_FILE),
        pl.col(SOURCE_ROW).cast(pl.Int64),
    )


def _unreadable(contract: Contract, path: Path, why: str, rule: str = "readable") -> FileRuleError:
    return FileRuleError(
        contract.source, path.name, rule, f"{path.name}: this file cannot be used because {why}; {_STOP}"
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
