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


# The first day of the period of each type that a date falls in (periods_frame in reference.py lays the
# periods out): an event finds its period by equality, a hash join, rather than by a range join of every
# period against every row.
PERIOD_OF = {
    "month": "cast(date_trunc('month', {date}) as date)",
    "reporting_year": "make_date(year({date}) - cast(month({date}) < 4 as integer), 4, 1)",
}
# An open stock (no end date) is still open at any period end. With the end coalesced to this date
# both conditions are plain inequalities, which DuckDB runs as a range join (an OR forces a nested loop).
OPEN_END = "date '9999-12-31'"


def in_period_sql(indicator: Indicator, period_type: str) -> str:
    """The join condition placing a row of the entry's mart (`f`) in a period (`p`)."""
    calc = indicator.calculation
    if calc.timing == "event":
        return f"p.period_start = {PERIOD_OF[period_type].format(date=f'f.{calc.date}')}"
    return f"f.{calc.start} <= p.period_end and coalesce(f.{calc.end}, {OPEN_END}) > p.period_end"


def counts_open_keys(indicator: Indicator) -> bool:
    """A stock counting distinct keys (children) open at each period end, with no counted denominator:
    computed from merged spans (indicator_stock_totals.sql), not by joining every period to every row."""
    calc = indicator.calculation
    return (calc.timing == "stock" and calc.numerator.aggregate == "count_distinct"
            and (calc.denominator is None or calc.denominator.aggregate == "population"))


def batch_key(indicator: Indicator) -> tuple[object, ...]:
    """Entries with the same key read the same rows into the same periods, so one statement counts them all."""
    calc = indicator.calculation
    key = (calc.table, calc.timing, calc.date, calc.start, calc.end)
    # open keys are counted one numerator at a time
    return (*key, calc.numerator) if counts_open_keys(indicator) else key


def aggregate_columns(indicators: list[Indicator],
                      period_type: str) -> tuple[dict[str, str], list[tuple[str, str | None]]]:
    """The distinct aggregate expressions of a batch by column name, and each entry's (numerator,
    denominator) column names; entries sharing an expression (a count and its percentage) share a column."""
    columns: dict[str, str] = {}

    def column(expression: str) -> str:
        return columns.setdefault(expression, f"a{len(columns)}")

    names = []
    for indicator in indicators:
        denominator = indicator.calculation.denominator
        names.append((column(_aggregate_sql(indicator.calculation.numerator, period_type)),
                      None if denominator is None or denominator.aggregate == "population"
                      else column(_aggregate_sql(denominator, period_type))))
    return {name: expression for expression, name in columns.items()}, names


def statement_key(indicator: Indicator, period_type: str) -> tuple[object, ...]:
    """The statement an entry's totals for one period type come from: its batch's for that period type,
    except that open keys whose filter does not depend on the period type are counted once for all types
    (merging the spans is the costly part, and it is the same for every type)."""
    where = indicator.calculation.numerator.where or ""
    shared = counts_open_keys(indicator) and "{period_type}" not in where
    return (*batch_key(indicator), None if shared else period_type)


def totals_sql(indicators: list[Indicator], period_type: str) -> str:
    """The statement computing a batch's totals; identifiers come from the catalogue only. Open keys are
    counted for every type in `$period_types` at once (a `period_type` column tells them apart); other
    batches for the one type `period_type`."""
    if counts_open_keys(indicators[0]):
        calc = indicators[0].calculation
        where = calc.numerator.where
        return (SQL_DIR / "indicator_stock_totals.sql").read_text(encoding="utf-8").format(
            table=calc.table, column=calc.numerator.column, start=calc.start, end=calc.end, open_end=OPEN_END,
            where=where.format(period_type=period_type) if where else "true")
    expressions, _ = aggregate_columns(indicators, period_type)
    template = (SQL_DIR / "indicator_totals.sql").read_text(encoding="utf-8")
    return template.format(
        table=indicators[0].calculation.table,
        in_period=in_period_sql(indicators[0], period_type),
        aggregates=",\n        ".join(f"{expression} as {name}" for name, expression in expressions.items()),
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
    # (entry, period type, the periods to compute it for) by statement
    batches: dict[tuple[object, ...], list[tuple[Indicator, str, pl.DataFrame]]] = {}
    for indicator in catalogue.indicators:
        if indicator.source not in coverage:
            continue
        for period_type in indicator.periods:
            chosen = periods
            if only is not None:
                wanted = only.get(indicator.id)
                if wanted is None or wanted.filter(pl.col("period_type") == period_type).is_empty():
                    continue
                chosen = periods.join(wanted.select("period_type", "period_start"),
                                      on=["period_type", "period_start"], how="semi")
            batches.setdefault(statement_key(indicator, period_type), []).append((indicator, period_type, chosen))
    frames = []
    for members in batches.values():
        indicators = [indicator for indicator, _, _ in members]
        period_types = sorted({period_type for _, period_type, _ in members})
        starts = None
        if only is not None:
            starts = sorted(set(pl.concat([chosen.filter(pl.col("period_type") == period_type)
                                           for _, period_type, chosen in members]).get_column("period_start")))
        first_type = members[0][1]
        shared = counts_open_keys(indicators[0])
        parameters = {"period_types": period_types} if shared else {"period_type": first_type}
        totals = con.execute(totals_sql(indicators, first_type), {**parameters, "period_starts": starts}).pl()
        totals = totals.with_columns(
            area_code=pl.when(pl.col("is_authority")).then(pl.lit(authority)).otherwise(pl.col("locality")))
        _, names = aggregate_columns(indicators, first_type)
        for (indicator, member_type, chosen), (numerator, denominator) in zip(members, names, strict=True):
            ours = totals.filter(pl.col("period_type") == member_type) if shared else totals
            ours = ours.select("period_start", "area_code", numerator=pl.col(numerator),
                               denominator=pl.col(denominator) if denominator else pl.lit(None, pl.Float64))
            frames.append(_on_grid(indicator, member_type, ours, chosen, areas, population,
                                   coverage[indicator.source]))
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
             areas: pl.DataFrame, population: pl.DataFrame, coverage: Coverage) -> pl.DataFrame:
    calc = indicator.calculation
    covered = covered_periods(periods, period_type, coverage)
    grid = covered.join(areas.filter(pl.col("area_type").is_in(indicator.area_levels)), how="cross")
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
