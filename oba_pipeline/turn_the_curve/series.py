"""Turning the published `indicator_values` into one series per measure, area and period type."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import polars as pl

from oba_pipeline.turn_the_curve.verdicts import Series


def period_label(period_start: date, period_type: str) -> str:
    """`Apr 2025` for a month, `2024-25` for a reporting year (April to March), as indicator_values does."""
    if period_type == "reporting_year":
        return f"{period_start.year}-{(period_start.year + 1) % 100:02d}"
    return f"{period_start:%b %Y}"


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


def all_series(values: pl.DataFrame) -> Iterator[tuple[tuple[str, str, str], Series, list[str]]]:
    """Every measure, area and period type in `values` (in the order they first appear), with its series and
    each period's status: one sort and one pass, not a sort per series."""
    keys = ["indicator_id", "area_code", "period_type"]
    order = values.select(keys).unique(maintain_order=True).with_row_index("series_number")
    rows = (values.join(order, on=keys).sort("series_number", "period_start")
            .select("series_number", "period_start", "value", "numerator", "denominator", "status"))
    ends = rows.select(pl.col("series_number").rle().struct.field("len").cum_sum()).to_series().to_list()
    periods, statuses = rows.get_column("period_start").to_list(), rows.get_column("status").to_list()
    published = [v if s == "ok" else None
                 for v, s in zip(rows.get_column("value").to_list(), statuses, strict=True)]
    numerators, denominators = rows.get_column("numerator").to_list(), rows.get_column("denominator").to_list()
    first = 0
    for key, end in zip(order.select(keys).iter_rows(), ends, strict=True):
        yield (key, Series(periods[first:end], published[first:end], numerators[first:end],
                           denominators[first:end]), statuses[first:end])
        first = end


def measure_series(values: pl.DataFrame, indicator_id: str, area_code: str, period_type: str) -> Series:
    return to_series(values.filter((pl.col("indicator_id") == indicator_id) & (pl.col("area_code") == area_code)
                                   & (pl.col("period_type") == period_type)))
