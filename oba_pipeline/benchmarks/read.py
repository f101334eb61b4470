"""Reading a published CSV exactly as downloaded: byte-order marks, Windows-1252, CRLF, odd headers.

Every cell stays text here (symbols such as `c` and `low` sit inside numeric columns); typing happens
once the file is recognised. Header names are compared in lower case with spaces trimmed, because
publications have changed the case of a column between releases but never its meaning.
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
    # newline="" lets the csv module treat CRLF, LF and a lone CR alike, including inside quotes.
    rows = [row for row in csv.reader(io.StringIO(text, newline="")) if any(cell.strip() for cell in row)]
    if not rows:
        raise PublishedFileError(path.name, "not_empty", f"{path.name}: the file is empty. Download it again "
                                 f"from Explore Education Statistics. {NOTHING_LOADED}")
    header = [cell.strip().lstrip("\ufeff").lower() for cell in rows[0]]
    names = unique_names(header)
    width = len(names)
    body = rows[1:]
    # Short rows are padded and a trailing empty cell beyond the header is dropped: both are how
    # spreadsheet exports end lines, not missing data.
    columns = {name: [(row[i].strip() if i < len(row) else "") for row in body] for i, name in enumerate(names)}
    frame = pl.DataFrame({ROW: list(range(2, len(body) + 2)), **columns},
                         schema={ROW: pl.Int64, **{name: pl.Utf8 for name in names}})
    if any(len(row) > width and any(cell.strip() for cell in row[width:]) for row in body):
        raise PublishedFileError(path.name, "row_width", f"{path.name}: some rows have more values than the "
                                 f"header has columns ({width}). The file may have been edited or joined "
                                 f"with another; download it again. {NOTHING_LOADED}")
    return CsvTable(path=path, header=tuple(header), columns=tuple(names), frame=frame, encoding=encoding,
                    sha256=hashlib.sha256(raw).hexdigest())
