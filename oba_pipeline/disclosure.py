"""Disclosure control: the one place every published figure passes through.

Following the Department for Education's convention, a count of children or families from 1 to the
threshold (5 by default) is suppressed, and so is any rate or percentage built on such a count, or on
a denominator that small. Suppressed cells keep no number and carry the symbol 'c'.
"""

from __future__ import annotations

import polars as pl

from oba_pipeline.catalogue import Catalogue

DEFAULT_THRESHOLD = 5
SUPPRESSED = "c"


def apply_disclosure_control(values: pl.DataFrame, catalogue: Catalogue,
                             threshold: int = DEFAULT_THRESHOLD) -> pl.DataFrame:
    """Suppress small counts of people in `indicator_values`-shaped rows; other rows pass unchanged."""
    people = [i.id for i in catalogue.indicators if i.people]
    uses_count_denominator = [i.id for i in catalogue.indicators
                              if i.people and i.calculation.denominator is not None
                              and i.calculation.denominator.aggregate != "population"]

    def small(column: str) -> pl.Expr:
        return (pl.col(column) >= 1) & (pl.col(column) <= threshold)

    suppress = (
        (pl.col("status") == "ok")
        & pl.col("indicator_id").is_in(people)
        & (small("numerator")
           | (pl.col("indicator_id").is_in(uses_count_denominator) & small("denominator")))
    )
    return values.with_columns(
        status=pl.when(suppress).then(pl.lit(SUPPRESSED)).otherwise(pl.col("status")),
        value=pl.when(suppress).then(None).otherwise(pl.col("value")),
        numerator=pl.when(suppress).then(None).otherwise(pl.col("numerator")),
        denominator=pl.when(suppress & pl.col("indicator_id").is_in(uses_count_denominator))
        .then(None).otherwise(pl.col("denominator")),
    )


def suppress_small_groups(frame: pl.DataFrame, count: str, figures: list[str],
                          threshold: int = DEFAULT_THRESHOLD) -> pl.DataFrame:
    """Disclosure control for tables that are not `indicator_values`: where the number of people
    (children or families) a row is built on, in column `count`, is from 1 to the threshold, the
    row's `figures` and the count itself are emptied and its `status` becomes 'c'."""
    small = (pl.col(count) >= 1) & (pl.col(count) <= threshold)
    status = pl.col("status") if "status" in frame.columns else pl.lit("ok")
    return frame.with_columns(
        status=pl.when(small).then(pl.lit(SUPPRESSED)).otherwise(status),
        **{column: pl.when(small).then(None).otherwise(pl.col(column)) for column in [*figures, count]},
    )
