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
