"""Respondents disagree: the gap between a family's own rating and a professional's, as its own measure.

Where a parent and a worker (or a carer and a teacher, or a young person and their carer) rate the
same family on the same tool on the same day, the gap is kept per pair and summarised per area and
reporting year: its mean with a 95% confidence interval, and the share of pairs where the family
rates things better. Nothing is averaged across raters.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl
from statsmodels.stats.weightstats import DescrStatsW

from oba_pipeline.disclosure import suppress_small_groups

RATER_GAPS_SCHEMA: dict[str, Any] = {
    "instrument": pl.Utf8, "rater_pair": pl.Utf8, "rater": pl.Utf8, "other_rater": pl.Utf8,
    "area_code": pl.Utf8, "area_name": pl.Utf8, "area_type": pl.Utf8, "period_type": pl.Utf8,
    "period_start": pl.Date, "period_end": pl.Date, "period_label": pl.Utf8, "families": pl.Int64,
    "pairs": pl.Int64, "mean_gap": pl.Float64, "ci_low": pl.Float64, "ci_high": pl.Float64,
    "rater_higher_pct": pl.Float64, "status": pl.Utf8,
}


def reporting_year_start(day: date) -> date:
    return date(day.year if day.month >= 4 else day.year - 1, 4, 1)


def summarise_gap(gaps: list[float]) -> dict[str, float | None]:
    """Mean gap with its 95% t-interval and the share of positive gaps (the first rater rates better)."""
    n = len(gaps)
    if n == 0:
        return {"mean_gap": None, "ci_low": None, "ci_high": None, "rater_higher_pct": None}
    # Summed in sorted order: the mart's rows arrive in whatever order DuckDB's threads wrote them, and a sum
    # of doubles in another order can differ in the last digit, so the same readings would publish new figures.
    stats = DescrStatsW(sorted(gaps))
    low, high = stats.tconfint_mean(alpha=0.05) if n > 1 and stats.std > 0 else (stats.mean, stats.mean)
    return {"mean_gap": float(stats.mean), "ci_low": float(low), "ci_high": float(high),
            "rater_higher_pct": 100.0 * sum(1 for g in gaps if g > 0) / n}


def rater_gaps(pairs: pl.DataFrame, areas: pl.DataFrame, last_complete_year_end: date | None) -> pl.DataFrame:
    """Gap summaries per instrument, rater pair, area (authority and localities) and complete reporting
    year, after disclosure control on the number of families."""
    if pairs.is_empty():
        return pl.DataFrame(schema=RATER_GAPS_SCHEMA)
    with_year = pairs.with_columns(
        period_start=pl.col("reading_date").map_batches(
            lambda s: pl.Series([reporting_year_start(d) for d in s.to_list()], dtype=pl.Date)))
    authority = areas.filter(pl.col("area_type") == "authority").row(0, named=True)
    scoped = pl.concat([
        with_year.with_columns(area_code=pl.col("locality")),
        with_year.with_columns(area_code=pl.lit(authority["area_code"])),
    ])
    rows = []
    keys = ["instrument", "rater_pair", "rater", "other_rater", "area_code", "period_start"]
    for key, group in scoped.group_by(keys, maintain_order=True):
        instrument, pair, rater, other, area, start = key
        end = date(start.year + 1, 3, 31)
        if last_complete_year_end is not None and end > last_complete_year_end:
            continue  # complete reporting years only, as the indicator values
        rows.append({"instrument": instrument, "rater_pair": pair, "rater": rater, "other_rater": other,
                     "area_code": area, "period_type": "reporting_year", "period_start": start, "period_end": end,
                     "period_label": f"{start.year}-{str(start.year + 1)[2:]}",
                     "families": group.get_column("family_key").n_unique(), "pairs": group.height,
                     "status": "ok", **summarise_gap(group.get_column("gap").cast(pl.Float64).to_list())})
    if not rows:
        return pl.DataFrame(schema=RATER_GAPS_SCHEMA)
    frame = pl.DataFrame(rows).join(areas.select("area_code", "area_name", "area_type"), on="area_code", how="inner")
    frame = suppress_small_groups(frame, "families", ["pairs", "mean_gap", "ci_low", "ci_high", "rater_higher_pct"])
    return frame.select(list(RATER_GAPS_SCHEMA)).cast(RATER_GAPS_SCHEMA).sort(  # type: ignore[arg-type]
        "instrument", "rater_pair", "area_type", "area_code", "period_start")
