"""The indicator engine: computes every catalogue entry for every area and period from the marts.

One SQL statement per entry and period type does the counting in DuckDB (grouping sets give the
localities and the authority in one pass); polars then lays the result on the full grid of areas and
periods, so a month with no referrals is a 0, a zero denominator is 'z' and a period without enough
history is 'x', never a silent gap.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from oba_pipeline.catalogue import Catalogue, Indicator
from oba_pipeline.catalogue.catalogue import Aggregate

SQL_DIR = Path(__file__).resolve().parent / "sql"

INDICATOR_VALUES_SCHEMA = {
    "indicator_id": pl.Utf8, "area_code": pl.Utf8, "area_name": pl.Utf8, "area_type": pl.Utf8,
    "period_type": pl.Utf8, "period_start": pl.Date, "period_end": pl.Date, "period_label": pl.Utf8,
    "value": pl.Float64, "numerator": pl.Float64, "denominator": pl.Float64, "status": pl.Utf8,
}


@dataclass(frozen=True)
class Coverage:
    """The months a source covers completely: indicators are published for these only."""

    first_month: date
    last_month: date


def indicator_sql(indicator: Indicator, period_type: str) -> str:
    """The statement computing one entry's totals; identifiers come from the catalogue only."""
    calc = indicator.calculation
    if calc.timing == "event":
        in_period = f"f.{calc.date} between p.period_start and p.period_end"
    else:
        in_period = (f"f.{calc.start} is not null and f.{calc.start} <= p.period_end "
                     f"and (f.{calc.end} is null or f.{calc.end} > p.period_end)")
    template = (SQL_DIR / "indicator_totals.sql").read_text(encoding="utf-8")
    denominator = calc.denominator
    return template.format(
        table=calc.table,
        in_period=in_period,
        numerator=_aggregate_sql(calc.numerator, period_type),
        denominator=("null" if denominator is None or denominator.aggregate == "population"
                     else _aggregate_sql(denominator, period_type)),
    )


def _aggregate_sql(agg: Aggregate, period_type: str) -> str:
    # Sums run in fixed-point decimals: a sum of doubles depends on the order DuckDB's threads add them
    # in, and the same extracts must always publish the same figures to the last digit.
    expression = {"count": "count(*)", "count_distinct": f"count(distinct f.{agg.column})",
                  "sum": f"sum(cast(f.{agg.column} as decimal(38, 6)))"}[agg.aggregate]
    if agg.where:
        expression += f" filter (where {agg.where.format(period_type=period_type)})"
    return f"cast({expression} as double)"


def compute_indicator_values(con: duckdb.DuckDBPyConnection, catalogue: Catalogue,
                             coverage: dict[str, Coverage],
                             only: Mapping[str, pl.DataFrame] | None = None) -> pl.DataFrame:
    """Every catalogue entry for every area and period its source covers, before disclosure control.

    Needs the tables `periods`, `areas` and `area_population` beside the marts. With `only`, an entry
    is computed just for the periods (`period_type`, `period_start`) given for its id, and not at all
    when its id is absent: what an incremental refresh uses to recompute the months that changed.
    """
    periods = con.execute("select * from periods").pl()
    areas = con.execute("select area_code, area_name, area_type from areas").pl()
    population = con.execute("select area_code, mid_year, children_0_17 from area_population").pl()
    authority = areas.filter(pl.col("area_type") == "authority").get_column("area_code").item()
    frames = []
    for indicator in catalogue.indicators:
        source_coverage = coverage.get(indicator.source)
        if source_coverage is None:
            continue
        for period_type in indicator.periods:
            chosen, starts = periods, None
            if only is not None:
                wanted = only.get(indicator.id)
                if wanted is None or wanted.filter(pl.col("period_type") == period_type).is_empty():
                    continue
                chosen = periods.join(wanted.select("period_type", "period_start"),
                                      on=["period_type", "period_start"], how="semi")
                starts = chosen.filter(pl.col("period_type") == period_type).get_column("period_start").to_list()
            totals = con.execute(indicator_sql(indicator, period_type),
                                 {"period_type": period_type, "period_starts": starts}).pl()
            frames.append(_on_grid(indicator, period_type, totals, chosen, areas, population, authority,
                                   source_coverage))
    if not frames:
        return pl.DataFrame(schema=INDICATOR_VALUES_SCHEMA)
    return pl.concat(frames).sort(
        "indicator_id", "area_type", "area_code", "period_type", "period_start")


def covered_periods(periods: pl.DataFrame, period_type: str, coverage: Coverage) -> pl.DataFrame:
    """The periods of one type a source covers completely: the only ones its indicators are published for."""
    return periods.filter(
        (pl.col("period_type") == period_type)
        & (pl.col("period_start") >= coverage.first_month)
        & (pl.col("period_start") <= coverage.last_month)
        & (pl.col("period_end") <= _month_end(coverage.last_month))
    )


def _on_grid(indicator: Indicator, period_type: str, totals: pl.DataFrame, periods: pl.DataFrame,
             areas: pl.DataFrame, population: pl.DataFrame, authority: str, coverage: Coverage) -> pl.DataFrame:
    calc = indicator.calculation
    covered = covered_periods(periods, period_type, coverage)
    grid = covered.join(areas.filter(pl.col("area_type").is_in(indicator.area_levels)), how="cross")
    totals = totals.with_columns(
        area_code=pl.when(pl.col("is_authority")).then(pl.lit(authority)).otherwise(pl.col("locality"))
    ).select("period_start", "area_code", "numerator", "denominator")
    frame = grid.join(totals, on=["period_start", "area_code"], how="left")
    # No matching rows means nothing happened: a count of zero, not a missing value.
    frame = frame.with_columns(pl.col("numerator").fill_null(0.0))
    denominator = calc.denominator
    if denominator is None:
        frame = frame.with_columns(denominator=pl.lit(None, dtype=pl.Float64))
    elif denominator.aggregate == "population":
        frame = frame.join(population.rename({"mid_year": "population_year"}),
                           on=["area_code", "population_year"], how="left").with_columns(
            denominator=pl.col("children_0_17").cast(pl.Float64))
    else:
        frame = frame.with_columns(pl.col("denominator").fill_null(0.0))
    lookback_start = _add_months(coverage.first_month, calc.lookback_months)
    status = (pl.when(pl.col("period_start") < lookback_start).then(pl.lit("x"))
              .when(pl.col("denominator").is_null() & pl.lit(denominator is not None)).then(pl.lit("x"))
              .when(pl.col("denominator") == 0).then(pl.lit("z"))
              .otherwise(pl.lit("ok")))
    value = (pl.col("numerator") if denominator is None
             else pl.col("numerator") / pl.col("denominator") * calc.scale)
    return frame.with_columns(status=status).with_columns(
        indicator_id=pl.lit(indicator.id),
        period_type=pl.lit(period_type),
        value=pl.when(pl.col("status") == "ok").then(value).otherwise(None),
    ).select(list(INDICATOR_VALUES_SCHEMA))


def _month_end(month_start: date) -> date:
    following = _add_months(month_start, 1)
    return date.fromordinal(following.toordinal() - 1)


def _add_months(day: date, months: int) -> date:
    total = day.year * 12 + day.month - 1 + months
    return date(total // 12, total % 12 + 1, 1)
