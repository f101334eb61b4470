"""Reading a recognised Explore Education Statistics file into the long table of published figures.

One row per indicator column, area and year: the figure (`value`, null where a symbol stands), its
`status`, the area keyed as in `geography`, and the precision the `.meta.csv` sidecar gives, if any.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from oba_pipeline.benchmarks import schemas
from oba_pipeline.benchmarks.errors import NOTHING_LOADED, PublishedFileError
from oba_pipeline.benchmarks.formats import Format
from oba_pipeline.benchmarks.geography import normalise_geography, parse_time
from oba_pipeline.benchmarks.read import ROW, CsvTable
from oba_pipeline.benchmarks.recognise import present
from oba_pipeline.benchmarks.symbols import parse_figures


@dataclass(frozen=True)
class ColumnMeta:
    """What a `.meta.csv` sidecar says about one column: its unit (`%`, `£`, `£m`) and decimal places."""

    unit: str | None
    decimals: int | None


Meta = dict[str, ColumnMeta]


def parse_meta(table: CsvTable) -> Meta:
    """The sidecar's unit and precision for each indicator column, keyed by column name in lower case."""
    frame = table.frame
    meta: Meta = {}
    for row in frame.iter_rows(named=True):
        dp = (row.get("indicator_dp") or "").strip()
        meta[row["col_name"].strip().lower()] = ColumnMeta(unit=(row.get("indicator_unit") or "").strip() or None,
                                                           decimals=int(dp) if dp.isdigit() else None)
    return meta


def canonical(table: CsvTable, fmt: Format) -> pl.DataFrame:
    """The file's frame with each known column under the toolkit's name (aliases renamed)."""
    renames = {}
    for column in (*fmt.required, *fmt.signature):
        found = present(column, table.columns)
        if found and found != column[0] and column[0] not in table.columns:
            renames[found] = column[0]
    return table.frame.rename(renames)


def ees_rows(table: CsvTable, fmt: Format) -> tuple[pl.DataFrame, int]:
    """The file's rows for England, regions and authorities, with years and areas normalised."""
    frame = canonical(table, fmt)
    if fmt.keep_rows is not None:
        column, wanted = fmt.keep_rows
        frame = frame.filter(pl.col(column).str.to_lowercase() == wanted)
        if frame.is_empty():
            raise PublishedFileError(table.name, "rows",
                                     f"{table.name}: has no rows where {column} is {wanted!r}, the rows the "
                                     f"toolkit reads. Download the file with all its rows. {NOTHING_LOADED}")
    frame = parse_time(frame, table.name)
    rows, skipped = normalise_geography(frame)
    if rows.is_empty():
        raise PublishedFileError(table.name, "rows",
                                 f"{table.name}: has no rows for England, a region or a local authority "
                                 f"(geographic_level National, Regional or Local authority). {NOTHING_LOADED}")
    return rows, skipped


def parse_ees(table: CsvTable, fmt: Format, meta: Meta | None = None) -> tuple[pl.DataFrame, int]:
    """Observations from one EES file (not Section 251, see `spend`), and the rows of other levels skipped."""
    rows, skipped = ees_rows(table, fmt)
    value_columns = [column[0] for column in fmt.values if column[0] in rows.columns]
    category = pl.col(fmt.category[0]) if fmt.category else pl.lit("")
    long = rows.with_columns(category=category).unpivot(
        index=[ROW, "year", "time_period", "period_label", "level", "area_code", "area_name", "new_la_code",
               "region_code", "region_name", "category", "note"],
        on=value_columns, variable_name="column", value_name="raw")
    figures = parse_figures(long, table.name)
    decimals = {name: m.decimals for name, m in (meta or {}).items()}
    observations = figures.with_columns(
        decimals=pl.col("column").replace_strict(decimals, default=None, return_dtype=pl.Int64),
    )
    return finish(observations, fmt, table), skipped


def finish(frame: pl.DataFrame, fmt: Format, table: CsvTable) -> pl.DataFrame:
    """Stamp the file, format and release on parsed rows and give them the observation columns."""
    release = frame.get_column("year").max() if frame.height else None
    return frame.with_columns(
        source_format=pl.lit(fmt.id), dataset=pl.lit(fmt.dataset), file=pl.lit(table.name),
        release=pl.lit(release, dtype=pl.Int64),
    ).select([pl.col(name).cast(dtype) for name, dtype in schemas.OBSERVATIONS.items()])
