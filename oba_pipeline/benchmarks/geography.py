"""Areas and years in published files: authorities keyed on the 3-digit code, regions, England, periods.

- Authorities are keyed on `old_la_code`: the 9-character ONS code changed for authorities that did
  not change (North Yorkshire 815, Buckinghamshire 825, Somerset 933), so it cannot carry a series.
- A London borough's region is London: files place boroughs in Inner or Outer London, which are
  published as regions too. Nothing here ever sums regions (that would count London twice).
- Shared services publish one row under a joint code such as `314 / 318`: the row stands for each
  member authority, marked as a shared figure.
"""

from __future__ import annotations

import re

import polars as pl

from oba_pipeline.benchmarks.errors import NOTHING_LOADED, PublishedFileError
from oba_pipeline.benchmarks.read import ROW

ENGLAND_CODE, ENGLAND = "E92000001", "England"
LONDON_CODE, LONDON = "E12000007", "London"
LONDON_PARTS = ("E13000001", "E13000002")  # Inner London, Outer London
LEVELS = {"national": "national", "regional": "regional", "local authority": "authority"}
JOINT_SEPARATOR = "/"


def reporting_label(year: int) -> str:
    """'2024-25' for the year ending 31 March 2025, as the local reporting years are labelled."""
    return f"{year - 1}-{year % 100:02d}"


def parse_time(frame: pl.DataFrame, file: str) -> pl.DataFrame:
    """Add `year` (the year the period ends in) and `period_label` from `time_period` and `time_identifier`.

    Four digits are a reporting, financial or calendar year; six digits a financial or academic year
    (`202425` ends in 2025).
    """
    text = pl.col("time_period").str.strip_chars()
    first = text.str.slice(0, 4).cast(pl.Int64, strict=False)
    second = text.str.slice(4, 2).cast(pl.Int64, strict=False)
    six = text.str.contains(r"^\d{6}$") & (((first + 1) % 100) == second)
    four = text.str.contains(r"^\d{4}$")
    identifier = pl.col("time_identifier").fill_null("").str.to_lowercase() if "time_identifier" in frame.columns \
        else pl.lit("")
    yearly = identifier.str.contains("reporting year|financial year")
    parsed = frame.with_columns(
        year=pl.when(six).then(first + 1).when(four).then(first),
    ).with_columns(
        period_label=pl.when(six | (four & yearly))
        .then(pl.format("{}-{}", pl.col("year") - 1, (pl.col("year") % 100).cast(pl.Utf8).str.zfill(2)))
        .otherwise(pl.col("year").cast(pl.Utf8)),
    )
    bad = parsed.filter(pl.col("year").is_null())
    if bad.height:
        cells = "; ".join(f"row {r[ROW]} has {r['time_period']!r}" for r in bad.head(3).iter_rows(named=True))
        raise PublishedFileError(file, "time_period",
                                 f"{file}: time_period must be a year such as 2025 or a financial year such as "
                                 f"202425; {cells}. Download the file again. {NOTHING_LOADED}")
    return parsed


def normalise_geography(frame: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """Rows of England, regions and authorities with `level`, `area_code`, `area_name`, the standard region.

    Returns the frame and how many rows of other levels (e.g. local authority district) were skipped.
    """
    def text(name: str) -> pl.Expr:
        if name not in frame.columns:
            return pl.lit(None, dtype=pl.Utf8)
        return pl.when(pl.col(name).str.strip_chars() != "").then(pl.col(name).str.strip_chars())

    levelled = frame.with_columns(
        level=pl.col("geographic_level").str.strip_chars().str.to_lowercase().replace_strict(
            LEVELS, default=None, return_dtype=pl.Utf8))
    skipped = levelled.filter(pl.col("level").is_null()).height
    region_code, region_name = text("region_code"), text("region_name")
    london_part = region_code.is_in(LONDON_PARTS)
    rows = levelled.filter(pl.col("level").is_not_null()).with_columns(
        area_code=pl.when(pl.col("level") == "national").then(text("country_code").fill_null(ENGLAND_CODE))
        .when(pl.col("level") == "regional").then(region_code.fill_null(region_name))
        .otherwise(text("old_la_code")),
        area_name=pl.when(pl.col("level") == "national").then(text("country_name").fill_null(ENGLAND))
        .when(pl.col("level") == "regional").then(region_name)
        .otherwise(text("la_name")),
        new_la_code=pl.when(pl.col("level") == "authority").then(text("new_la_code")),
        region_code=pl.when(pl.col("level") != "authority").then(None)
        .when(london_part).then(pl.lit(LONDON_CODE)).otherwise(region_code),
        region_name=pl.when(pl.col("level") != "authority").then(None)
        .when(london_part).then(pl.lit(LONDON)).otherwise(region_name),
        note=pl.lit(None, dtype=pl.Utf8),
    )
    return expand_joint_codes(rows), skipped


def expand_joint_codes(rows: pl.DataFrame) -> pl.DataFrame:
    """A row under a joint code such as `314 / 318` stands for each member authority, marked as shared.

    Done as one split-and-explode over the frame, so a national file is handled in one pass.
    """
    joint = (pl.col("level") == "authority") & pl.col("area_code").fill_null("").str.contains(JOINT_SEPARATOR,
                                                                                              literal=True)
    codes = pl.col("area_code").str.split(JOINT_SEPARATOR)
    names = pl.col("area_name").fill_null("").str.split(f" {JOINT_SEPARATOR} ")
    new_codes = pl.col("new_la_code").fill_null("").str.split(JOINT_SEPARATOR)
    marked = rows.with_columns(
        note=pl.when(joint).then(pl.format("shared service: one figure for {} ({})", pl.col("area_name"),
                                           pl.col("area_code"))).otherwise(pl.col("note")),
        _codes=pl.when(joint).then(codes).otherwise(pl.concat_list(pl.col("area_code"))),
        _names=pl.when(joint & (names.list.len() == codes.list.len())).then(names)
        .otherwise(pl.concat_list(pl.col("area_name"))),
        _new=pl.when(joint & (new_codes.list.len() == codes.list.len())).then(new_codes)
        .otherwise(pl.concat_list(pl.col("new_la_code"))),
    ).with_row_index("_position")
    exploded = marked.explode("_codes").with_columns(
        _member=pl.int_range(pl.len()).over("_position"))
    return exploded.with_columns(
        area_code=pl.col("_codes").str.strip_chars(),
        area_name=pl.when(pl.col("_names").list.len() > 1)
        .then(pl.col("_names").list.get(pl.col("_member"), null_on_oob=True).str.strip_chars())
        .otherwise(pl.col("_names").list.first()),
        new_la_code=pl.when(pl.col("_new").list.len() > 1)
        .then(pl.col("_new").list.get(pl.col("_member"), null_on_oob=True).str.strip_chars())
        .when(joint).then(None).otherwise(pl.col("_new").list.first()),
    ).drop("_codes", "_names", "_new", "_position", "_member").select(rows.columns)


def is_authority_code(code: str | None) -> bool:
    return bool(code) and re.fullmatch(r"\d{3}", code or "") is not None
