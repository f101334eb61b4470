"""Section 251 outturn in its three published shapes, as spend per configured category and year, in pounds.

- Explore Education Statistics, 2021-22 onwards: `category_of_expenditure`, `description_of_expenditure`
  and `total_expenditure` in pounds. Category totals (`3.4.6 Total Family Support Services`) sit
  among the detail lines: a category's figure is its total line when there is one (the largest, as
  sub-totals are parts of it), else the sum of its lines.
- The same shape for 2016-17 to 2020-21, in pounds million (the `.meta.csv` sidecar says `£m`; without
  it the years say so), with the category misspelt `Family support servcies`.
- Legacy (2013-14 and before): Windows-1252, one row per authority and numbered line; the category
  is the line number (published_measures.yaml `legacy_lines`), the year comes from a year column or
  the file name, and there are no England or regional rows.
"""

from __future__ import annotations

import re

import polars as pl

from oba_pipeline.benchmarks.errors import NOTHING_LOADED, PublishedFileError
from oba_pipeline.benchmarks.formats import Format
from oba_pipeline.benchmarks.parse import Meta, canonical, ees_rows, finish
from oba_pipeline.benchmarks.read import ROW, CsvTable
from oba_pipeline.benchmarks.symbols import parse_figures
from oba_pipeline.catalogue.published_measures import PublishedMeasures, normalise_name

# Financial years (by the year they end in) that EES published in pounds million.
MILLIONS_YEARS = range(2017, 2022)
LEGACY_YEAR_COLUMNS = ("year", "financial_year", "time_period")


def _category_map(measures: PublishedMeasures) -> pl.DataFrame:
    return pl.DataFrame([{"_key": normalise_name(name), "column": category.id}
                         for category in measures.spend_categories for name in category.names],
                        schema={"_key": pl.Utf8, "column": pl.Utf8})


def _combine(lines: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """One figure per category: the largest total line if any, else the sum of the lines (all must be numbers)."""
    return lines.group_by(keys).agg(
        _row=pl.col(ROW).min(),
        value=pl.when(pl.col("_total").any())
        .then(pl.col("value").filter(pl.col("_total")).max())
        .otherwise(pl.col("value").sum()),
        status=pl.when(pl.col("_total").any())
        .then(pl.col("status").filter(pl.col("_total")).sort_by(pl.col("value").filter(pl.col("_total")),
                                                                   descending=True, nulls_last=True).first())
        .when((pl.col("status") != "ok").any()).then(pl.col("status").filter(pl.col("status") != "ok").first())
        .otherwise(pl.lit("ok")),
    ).with_columns(value=pl.when(pl.col("status") == "ok").then(pl.col("value")))


def parse_s251_ees(table: CsvTable, fmt: Format, meta: Meta | None,
                   measures: PublishedMeasures) -> tuple[pl.DataFrame, int]:
    """Spend per configured category from an EES Section 251 file, in pounds."""
    rows, skipped = ees_rows(table, fmt)
    keyed = rows.with_columns(_key=_name_key(pl.col("category_of_expenditure"))).join(
        _category_map(measures).rename({"column": "_category"}), on="_key", how="inner")
    figures = parse_figures(keyed.with_columns(raw=pl.col("total_expenditure"), column=pl.lit("total_expenditure")),
                            table.name)
    unit = (meta or {}).get("total_expenditure")
    if unit is not None and unit.unit is not None:
        millions = pl.lit(unit.unit.strip().lower() in ("£m", "£ m", "gbp m", "£ million", "£million"))
    else:
        millions = pl.col("year").is_in(list(MILLIONS_YEARS))
    figures = figures.with_columns(
        value=pl.when(millions).then(pl.col("value") * 1_000_000).otherwise(pl.col("value")),
        _total=pl.col("description_of_expenditure").str.to_lowercase().str.contains(r"\btotal\b"),
        column=pl.col("_category"),
    )
    keys = ["year", "time_period", "period_label", "level", "area_code", "area_name", "new_la_code",
            "region_code", "region_name", "note", "column"]
    combined = _combine(figures, keys).with_columns(category=pl.lit(""), decimals=pl.lit(0, dtype=pl.Int64))
    return finish(combined, fmt, table), skipped


def _name_key(expr: pl.Expr) -> pl.Expr:
    return (expr.str.to_lowercase().str.replace_all("[’']", "").str.replace_all(r"[^0-9a-z]+", " ")
            .str.strip_chars())


def year_from_name(name: str) -> int | None:
    """The year a financial-year file name ends in: '..._2013-14.csv' or '..._201314.csv' give 2014."""
    match = re.search(r"(20\d\d)[-_ ]?(\d\d)(?!\d)", name)
    if match and (int(match.group(1)) + 1) % 100 == int(match.group(2)):
        return int(match.group(1)) + 1
    return None


def parse_s251_legacy(table: CsvTable, fmt: Format, measures: PublishedMeasures) -> tuple[pl.DataFrame, int]:
    """Spend per configured category from a legacy numbered-line Section 251 file, in pounds."""
    frame = canonical(table, fmt)
    year_column = next((c for c in LEGACY_YEAR_COLUMNS if c in frame.columns), None)
    if year_column is not None:
        text = pl.col(year_column).str.replace_all(r"[^0-9]", "")
        year = pl.when(text.str.len_chars() == 6).then(text.str.slice(0, 4).cast(pl.Int64, strict=False) + 1) \
            .otherwise(text.cast(pl.Int64, strict=False))
    else:
        from_name = year_from_name(table.name)
        if from_name is None:
            raise PublishedFileError(table.name, "year",
                                     f"{table.name}: a legacy Section 251 file has no year column, and its name "
                                     f"does not say which financial year it covers. Rename it with the year, "
                                     f"for example s251_outturn_2013-14.csv. {NOTHING_LOADED}")
        year = pl.lit(from_name, dtype=pl.Int64)
    lines = {line: category.id for category in measures.spend_categories for line in category.legacy_lines}
    line_number = pl.col("linenumber").str.replace_all(r"\.0+$", "").cast(pl.Int64, strict=False)
    raw_year = pl.col(year_column) if year_column else pl.lit(None, dtype=pl.Utf8)
    rows = frame.with_columns(_raw_year=raw_year).with_columns(year=year, _line=line_number,
                                                               area_code=pl.col("la").str.strip_chars())
    bad_years = rows.filter(pl.col("year").is_null())
    if bad_years.height:
        first = bad_years.row(0, named=True)
        raise PublishedFileError(table.name, "year", f"{table.name}: row {first[ROW]}, column {year_column}, value "
                                 f"{first['_raw_year']!r} is not a financial year. {NOTHING_LOADED}")
    skipped = rows.filter(~pl.col("area_code").str.contains(r"^\d{3}$")).height
    picked = rows.filter(pl.col("area_code").str.contains(r"^\d{3}$") & pl.col("_line").is_in(list(lines)))
    figures = parse_figures(picked.with_columns(raw=pl.col("totalexpenditure"), column=pl.lit("totalexpenditure")),
                            table.name)
    combined = figures.select(
        ROW, "year", "area_code", "value", "status",
        time_period=pl.format("{}{}", pl.col("year") - 1, (pl.col("year") % 100).cast(pl.Utf8).str.zfill(2)),
        period_label=pl.format("{}-{}", pl.col("year") - 1, (pl.col("year") % 100).cast(pl.Utf8).str.zfill(2)),
        level=pl.lit("authority"), area_name=pl.col("la name").str.strip_chars(),
        new_la_code=pl.lit(None, dtype=pl.Utf8), region_code=pl.lit(None, dtype=pl.Utf8),
        region_name=pl.lit(None, dtype=pl.Utf8), note=pl.lit(None, dtype=pl.Utf8),
        column=pl.col("_line").replace_strict(lines, return_dtype=pl.Utf8), category=pl.lit(""),
        decimals=pl.lit(0, dtype=pl.Int64),
    )
    return finish(combined, fmt, table), skipped
