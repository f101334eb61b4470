"""Turning the published `indicator_values` into one series per measure, area and period type."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import polars as pl

from oba_pipeline.turn_the_curve.verdicts import Series

SERIES_KEYS = ["indicator_id", "area_code", "period_type"]


def period_label(period_start: date, period_type: str) -> str:
    """`Apr 2025` for a month, `2024-25` for a reporting year (April to March), as indicator_values does."""
    if period_type == "reporting_year":
        return f"{period_start.year}-{(period_start.year + 1) % 100:02d}"
    return f"{period_start:%b %Y}"


def period_labels() -> pl.Expr:
    """`period_label` of each row's `period_start` and `period_type`, for a whole frame at once."""
    year = pl.col("period_start").dt.year()
    return (pl.when(pl.col("period_type") == "reporting_year")
            .then(pl.format("{}-{}", year, ((year + 1) % 100).cast(pl.Utf8).str.zfill(2)))
            .otherwise(pl.col("period_start").dt.strftime("%b %Y")))


def to_series(frame: pl.DataFrame) -> Series:
    """One area's rows of indicator_values for one indicator and period type, in period order."""
    rows = frame.sort("period_start").select("period_start", "value", "numerator", "denominator", "status")
    ok = rows.get_column("status").to_list()
    return Series(
        periods=rows.get_column("period_start").to_list(),
        values=[v if s == "ok" else None for v, s in zip(rows.get_column("value").to_list(), ok, strict=True)],
        numerators=rows.get_column("numerator").to_list(),
        denominators=rows.get_column("denominator").to_list(),
    )


def in_series_order(values: pl.DataFrame) -> pl.DataFrame:
    """`values` with a `series_number` for each measure, area and period type (numbered in the order they first
    appear), sorted by it and then by period: the order `all_series` reads them in. The warehouse keeps
    indicator_values in that order, and then the rows are only numbered: sorting millions of rows by three text
    keys would hold several times their memory."""
    numbered = values.with_columns(pl.struct(SERIES_KEYS).rle_id().alias("series_number"))
    starts = (pl.col("series_number") != pl.col("series_number").shift()).fill_null(True)
    later = (pl.col("period_start") > pl.col("period_start").shift()).fill_null(False)
    if (numbered.filter(starts).select(SERIES_KEYS).is_unique().all()
            and numbered.select((starts | later).all()).item()):
        return numbered
    order = values.select(SERIES_KEYS).unique(maintain_order=True).with_row_index("series_number")
    return values.join(order, on=SERIES_KEYS).sort("series_number", "period_start")


def all_series(rows: pl.DataFrame) -> Iterator[tuple[tuple[str, str, str], Series]]:
    """Every measure, area and period type in `rows` (as `in_series_order` leaves them) with its series: one
    pass, not a filter per series."""
    ends = rows.select(pl.col("series_number").rle().struct.field("len").cum_sum()).to_series().to_list()
    keys = rows.select(SERIES_KEYS).gather([0, *ends[:-1]]).iter_rows() if ends else iter(())
    published = rows.select(pl.when(pl.col("status") == "ok").then(pl.col("value"))).to_series().to_list()
    periods = rows.get_column("period_start").to_list()
    numerators, denominators = rows.get_column("numerator").to_list(), rows.get_column("denominator").to_list()
    first = 0
    for key, end in zip(keys, ends, strict=True):
        yield key, Series(periods[first:end], published[first:end], numerators[first:end], denominators[first:end])
        first = end


def measure_series(values: pl.DataFrame, indicator_id: str, area_code: str, period_type: str) -> Series:
    return to_series(values.filter((pl.col("indicator_id") == indicator_id) & (pl.col("area_code") == area_code)
                                   & (pl.col("period_type") == period_type)))
