"""Turning the published `indicator_values` into one series per measure, area and period type."""

from __future__ import annotations

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


def measure_series(values: pl.DataFrame, indicator_id: str, area_code: str, period_type: str) -> Series:
    return to_series(values.filter((pl.col("indicator_id") == indicator_id) & (pl.col("area_code") == area_code)
                                   & (pl.col("period_type") == period_type)))
