"""Reading a published CSV exactly as downloaded: byte-order marks, Windows-1252, CRLF, odd headers.

Polars reads the file with every cell as text (a file whose rows end in extra empty cells is read row
by row with the csv module instead). Symbols such as `c` and `low` sit inside numeric columns, so
typing happens once the file is recognised. Header names are compared in lower case with spaces
trimmed, because publications have changed the case of a column between releases but never its meaning.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from oba_pipeline.benchmarks.errors import NOTHING_LOADED, PublishedFileError

ROW = "_row"  # the row number a user sees in a spreadsheet: the header is row 1


@dataclass(frozen=True)
class CsvTable:
    """A published file as text: its header as written (normalised) and a frame of unique column names."""

    path: Path
    header: tuple[str, ...]  # lower-cased, trimmed, in file order; may repeat (SNP) or be empty
    columns: tuple[str, ...]  # the frame's column names: header made unique, in the same order
    frame: pl.DataFrame
    encoding: str
    sha256: str

    @property
    def name(self) -> str:
        return self.path.name


def decode(raw: bytes) -> tuple[str, str]:
    """The file's text and the encoding it was in: UTF-8 (with or without BOM), else Windows-1252."""
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8"), "utf-8-sig"
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        # Older DfE files were saved from Excel on Windows. cp1252 leaves five bytes undefined;
        # latin-1 maps every byte, so a stray one never makes a whole file unreadable.
        try:
            return raw.decode("cp1252"), "windows-1252"
        except UnicodeDecodeError:
            return raw.decode("latin-1"), "latin-1"


def unique_names(header: list[str]) -> list[str]:
    """Header names made unique: repeats get '#2', '#3'..., blanks become '_blank_<position>'."""
    seen: dict[str, int] = {}
    names = []
    for position, name in enumerate(header, start=1):
        if not name:
            names.append(f"_blank_{position}")
            continue
        seen[name] = seen.get(name, 0) + 1
        names.append(name if seen[name] == 1 else f"{name}#{seen[name]}")
    return names


def read_published_csv(path: Path) -> CsvTable:
    """Read one published CSV into text columns, every cell trimmed; raises PublishedFileError if unreadable."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise PublishedFileError(path.name, "readable", f"{path.name}: could not be opened ({error.strerror}). "
                                 f"Check the file is not open in another program. {NOTHING_LOADED}") from error
    text, encoding = decode(raw)
    header, frame = _parse_fast(text, path.name)
    if frame is None:
        header, frame = _parse_ragged(text, path.name)
    return CsvTable(path=path, header=tuple(header), columns=tuple(frame.columns[1:]), frame=frame,
                    encoding=encoding, sha256=hashlib.sha256(raw).hexdigest())


def _empty(name: str) -> PublishedFileError:
    return PublishedFileError(name, "not_empty", f"{name}: the file is empty. Download it again from Explore "
                              f"Education Statistics. {NOTHING_LOADED}")


def _header(cells: list[str]) -> list[str]:
    return [cell.strip().lstrip("\ufeff").lower() for cell in cells]


def _parse_fast(text: str, name: str) -> tuple[list[str], pl.DataFrame | None]:
    """Polars' CSV reader, every cell as text; None when some row is longer than the header."""
    try:
        raw = pl.read_csv(io.BytesIO(text.encode("utf-8")), has_header=False, infer_schema=False,
                          quote_char='"', raise_if_empty=False)
    except pl.exceptions.ComputeError:
        return [], None  # rows wider than the header: read row by row to tell empty cells from data
    if raw.is_empty():
        raise _empty(name)
    header = _header([cell or "" for cell in raw.row(0)])
    names = unique_names(header)
    body = raw.slice(1).rename(dict(zip(raw.columns, names, strict=True))).with_columns(
        pl.all().fill_null("").str.strip_chars())
    # The row number a spreadsheet shows (header = 1); rows with nothing in them are dropped.
    frame = body.with_row_index(ROW, offset=2).with_columns(pl.col(ROW).cast(pl.Int64)).filter(
        pl.any_horizontal([pl.col(n) != "" for n in names]))
    if not header or all(not cell for cell in header):
        raise _empty(name)
    return header, frame


def _parse_ragged(text: str, name: str) -> tuple[list[str], pl.DataFrame]:
    """Row by row (the csv module) for files whose lines end in extra, empty cells; extra values are an error."""
    # newline="" lets the csv module treat CRLF, LF and a lone CR alike, including inside quotes.
    rows = list(csv.reader(io.StringIO(text, newline="")))
    numbered = [(number, row) for number, row in enumerate(rows[1:], start=2) if any(cell.strip() for cell in row)]
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise _empty(name)
    header = _header(rows[0])
    names = unique_names(header)
    width = len(names)
    if any(len(row) > width and any(cell.strip() for cell in row[width:]) for _, row in numbered):
        raise PublishedFileError(name, "row_width", f"{name}: some rows have more values than the header has "
                                 f"columns ({width}). The file may have been edited or joined with another; "
                                 f"download it again. {NOTHING_LOADED}")
    columns = {n: [(row[i].strip() if i < len(row) else "") for _, row in numbered] for i, n in enumerate(names)}
    frame = pl.DataFrame({ROW: [number for number, _ in numbered], **columns},
                         schema={ROW: pl.Int64, **{n: pl.Utf8 for n in names}})
    return header, frame
