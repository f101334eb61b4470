"""The story behind the curve: which groups (localities, age bands, referral sources, categories of need,
family groups) contributed most to a measure's change between the year before and the latest year.

The change in the measure is split into one contribution per group that adds up to the whole:

- counts: each group's change in its monthly average count;
- rates per 10,000 children: each group's change in referrals (or children) per 10,000 children of the
  area, so contributions add up to the change in the rate;
- percentages and ratios built from counts: a Kitagawa decomposition of the change, per group, into a
  *mix* part (the group's share of the denominator changed) and a *rate* part (the group's own
  percentage changed), each weighted by the average of the two years.

Groups with small numbers are suppressed by the same disclosure control as every published figure;
their contributions are reported together as "other groups (small numbers)", suppressed too if small.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from oba_pipeline.catalogue import Catalogue, Indicator
from oba_pipeline.disclosure import DEFAULT_THRESHOLD
from oba_pipeline.indicators.engine import aggregate_columns, batch_key, in_period_sql
from oba_pipeline.turn_the_curve.forecast import add_months

STORY_SQL = Path(__file__).resolve().parent / "sql" / "story_groups.sql"
WINDOW_MONTHS = 12
OTHER = "other groups (small numbers)"
NOISE = 1e-9  # a total change this small against the contributions' own size is rounding, not change

# The columns of indicator_values that build_story reads (of its monthly rows).
STORY_VALUE_COLUMNS = ("indicator_id", "area_code", "period_type", "period_start", "denominator")

STORY_SCHEMA = {
    "indicator_id": pl.Utf8, "area_code": pl.Utf8, "dimension": pl.Utf8, "group_value": pl.Utf8,
    "before_from": pl.Date, "after_to": pl.Date, "before_value": pl.Float64, "after_value": pl.Float64,
    "contribution": pl.Float64, "mix_effect": pl.Float64, "rate_effect": pl.Float64,
    "share_of_change": pl.Float64, "total_change": pl.Float64, "rank": pl.Int64, "status": pl.Utf8,
}


def story_dimensions(indicator: Indicator, columns: set[str]) -> list[str]:
    """The catalogue's disaggregations that the indicator's mart actually carries."""
    return [d for d in indicator.disaggregations if d in columns]


def group_sql(indicators: list[Indicator], dimensions: list[str]) -> str:
    """One statement for entries that read the same mart into the same months (see the engine's batches),
    grouped by each of `dimensions`; a locality is not split by locality (it would be itself)."""
    expressions, _ = aggregate_columns(indicators, "month")
    window = 'p."window", p.period_start'
    sets = []
    for number, dimension in enumerate(dimensions):
        if dimension != "locality":
            sets.append(f"({window}, f.locality, f._group_{number})")
        sets.append(f"({window}, f._group_{number})")
    return STORY_SQL.read_text(encoding="utf-8").format(
        table=indicators[0].calculation.table, in_period=in_period_sql(indicators[0], "month"),
        group_columns=", ".join(f"cast({dimension} as varchar) as _group_{number}"
                                for number, dimension in enumerate(dimensions)),
        dimension_names=" ".join(f"when grouping(f._group_{number}) = 0 then '{dimension}'"
                                 for number, dimension in enumerate(dimensions)),
        group_values=" ".join(f"when grouping(f._group_{number}) = 0 then f._group_{number}"
                              for number in range(len(dimensions))),
        grouping_sets=", ".join(sets),
        aggregates=",\n        ".join(f"{expression} as {name}" for name, expression in expressions.items()),
        # summed month by month in a fixed order: a sum of doubles in whatever order DuckDB's threads
        # meet the rows may differ in the last digit from one run to the next
        sums=",\n        ".join(f"sum({name} order by period_start) as {name}" for name in expressions))


def build_story(con: duckdb.DuckDBPyConnection, catalogue: Catalogue, values: pl.DataFrame) -> pl.DataFrame:
    """Contributions to the change from the year before to the latest year, per measure, area and group."""
    monthly = values.filter(pl.col("period_type") == "month")
    columns: dict[str, set[str]] = {}
    # entries by what one statement can count for all of them: mart, timing and windows
    batches: dict[tuple[object, ...], list[Indicator]] = {}
    for indicator in catalogue.indicators:
        last = monthly.filter(pl.col("indicator_id") == indicator.id).get_column("period_start").max()
        if last is None:
            continue
        table = indicator.calculation.table
        if table not in columns:
            columns[table] = {r[0] for r in con.execute(f"describe {table}").fetchall()}
        if story_dimensions(indicator, columns[table]):
            batches.setdefault((*batch_key(indicator), last), []).append(indicator)
    frames = []
    for key, indicators in batches.items():
        after_to = key[-1]
        assert isinstance(after_to, date)  # the batch key ends with the latest month (above)
        table = indicators[0].calculation.table
        dimensions = list(dict.fromkeys(d for i in indicators for d in story_dimensions(i, columns[table])))
        after_from = add_months(after_to, -(WINDOW_MONTHS - 1))
        before_from = add_months(after_from, -WINDOW_MONTHS)
        totals = con.execute(group_sql(indicators, dimensions), {
            "before_from": before_from, "after_from": after_from, "after_to": after_to}).pl()
        _, names = aggregate_columns(indicators, "month")
        for indicator, (numerator, denominator) in zip(indicators, names, strict=True):
            rows = monthly.filter(pl.col("indicator_id") == indicator.id)
            population = _population(rows, before_from, after_from, after_to) if _per_child(indicator) else None
            for dimension in story_dimensions(indicator, columns[table]):
                groups = totals.filter(pl.col("dimension") == dimension).select(
                    "window", "area_code", "group_value", numerator=pl.col(numerator),
                    denominator=pl.col(denominator) if denominator else pl.lit(None, pl.Float64))
                frames.append(decompose(indicator, dimension, groups, population)
                              .with_columns(before_from=pl.lit(before_from), after_to=pl.lit(after_to)))
    if not frames:
        return pl.DataFrame(schema=STORY_SCHEMA)
    return (pl.concat(frames, how="diagonal_relaxed").select(list(STORY_SCHEMA))
            .sort("indicator_id", "area_code", "dimension", "rank", "group_value", nulls_last=True))


def _per_child(indicator: Indicator) -> bool:
    denominator = indicator.calculation.denominator
    return denominator is not None and denominator.aggregate == "population"


def _population(rows: pl.DataFrame, before_from: date, after_from: date, after_to: date) -> pl.DataFrame:
    """Summed monthly populations per area and window (the denominators of a rate per child)."""
    return rows.filter(pl.col("period_start").is_between(before_from, after_to)).group_by(
        "area_code", window=pl.when(pl.col("period_start") < after_from).then(pl.lit("before"))
        .otherwise(pl.lit("after"))).agg(population=pl.col("denominator").sum())


def decompose(indicator: Indicator, dimension: str, groups: pl.DataFrame,
              population: pl.DataFrame | None) -> pl.DataFrame:
    """One row per area and group with its contribution; `groups` has window, area_code, group_value,
    numerator, denominator (summed over the months of each window)."""
    scale = indicator.calculation.scale
    wide = groups.with_columns(pl.col("group_value").cast(pl.Utf8).fill_null("not recorded")).pivot(
        on="window", index=["area_code", "group_value"], values=["numerator", "denominator"],
        aggregate_function="sum")
    for column in ("numerator_before", "numerator_after", "denominator_before", "denominator_after"):
        if column not in wide.columns:
            wide = wide.with_columns(pl.lit(0.0).alias(column))
    # a fixed row order, so that every sum over groups below adds in the same order on every run
    wide = wide.fill_null(0.0).sort("area_code", "group_value")
    months = float(WINDOW_MONTHS)
    calc = indicator.calculation
    if calc.denominator is None:
        out = wide.with_columns(before_value=pl.col("numerator_before") / months,
                                after_value=pl.col("numerator_after") / months)
        out = out.with_columns(contribution=pl.col("after_value") - pl.col("before_value"),
                               mix_effect=pl.lit(None, pl.Float64), rate_effect=pl.lit(None, pl.Float64))
    elif population is not None:
        pops = population.pivot(on="window", index="area_code", values="population")
        out = wide.join(pops.rename({"before": "pop_before", "after": "pop_after"}), on="area_code", how="left")
        out = out.with_columns(
            before_value=pl.col("numerator_before") / pl.col("pop_before") * scale,
            after_value=pl.col("numerator_after") / pl.col("pop_after") * scale,
        ).with_columns(contribution=pl.col("after_value") - pl.col("before_value"),
                       mix_effect=pl.lit(None, pl.Float64), rate_effect=pl.lit(None, pl.Float64))
    else:
        totals = wide.group_by("area_code").agg(den_b=pl.col("denominator_before").sum(),
                                                den_a=pl.col("denominator_after").sum())
        out = wide.join(totals, on="area_code").with_columns(
            w_b=pl.when(pl.col("den_b") > 0).then(pl.col("denominator_before") / pl.col("den_b")).otherwise(0.0),
            w_a=pl.when(pl.col("den_a") > 0).then(pl.col("denominator_after") / pl.col("den_a")).otherwise(0.0),
            before_value=pl.when(pl.col("denominator_before") > 0)
            .then(pl.col("numerator_before") / pl.col("denominator_before") * scale),
            after_value=pl.when(pl.col("denominator_after") > 0)
            .then(pl.col("numerator_after") / pl.col("denominator_after") * scale),
        ).with_columns(
            # A group absent in one year takes its other year's value: its whole effect is then mix.
            r_b=pl.coalesce("before_value", "after_value", pl.lit(0.0)),
            r_a=pl.coalesce("after_value", "before_value", pl.lit(0.0)),
        ).with_columns(
            mix_effect=(pl.col("w_a") - pl.col("w_b")) * (pl.col("r_a") + pl.col("r_b")) / 2,
            rate_effect=(pl.col("r_a") - pl.col("r_b")) * (pl.col("w_a") + pl.col("w_b")) / 2,
        ).with_columns(contribution=pl.col("mix_effect") + pl.col("rate_effect"))
    out = _disclose(indicator, out)
    return _finish(out, indicator, dimension)


def _disclose(indicator: Indicator, out: pl.DataFrame) -> pl.DataFrame:
    """A group is suppressed when either year counts 1 to 5 people (or divides by that few)."""
    if not indicator.people:
        return out.with_columns(status=pl.lit("ok"))
    stock = indicator.calculation.timing == "stock"
    count_denominator = indicator.calculation.denominator is not None and not _per_child(indicator)

    def small(column: str) -> pl.Expr:
        size = pl.col(column) / WINDOW_MONTHS if stock else pl.col(column)
        return (size > 0) & (size <= DEFAULT_THRESHOLD)

    suppressed = small("numerator_before") | small("numerator_after")
    if count_denominator:
        suppressed = suppressed | small("denominator_before") | small("denominator_after")
    return out.with_columns(status=pl.when(suppressed).then(pl.lit("c")).otherwise(pl.lit("ok")))


def _finish(out: pl.DataFrame, indicator: Indicator, dimension: str) -> pl.DataFrame:
    out = out.sort("area_code", "group_value")  # joins do not keep the order: sums below add in this one
    # A change that is only rounding noise (contributions cancelling to 1e-13) is no change: a share of it
    # would be a meaningless 1e16.
    total = out.group_by("area_code").agg(total_change=pl.col("contribution").sum(),
                                          size=pl.col("contribution").abs().sum()).select(
        "area_code", total_change=pl.when(pl.col("total_change").abs() > NOISE * pl.col("size"))
        .then(pl.col("total_change")).otherwise(0.0))
    shown = out.filter(pl.col("status") == "ok").select(
        "area_code", "group_value", "before_value", "after_value", "contribution", "mix_effect", "rate_effect",
        "status")
    hidden = out.filter(pl.col("status") == "c").group_by("area_code").agg(
        contribution=pl.col("contribution").sum(), numerator_before=pl.col("numerator_before").sum(),
        numerator_after=pl.col("numerator_after").sum())
    # The small groups together: shown as one contribution unless that too counts five or fewer.
    other = _disclose(indicator, hidden.with_columns(denominator_before=pl.lit(None, pl.Float64),
                                                     denominator_after=pl.lit(None, pl.Float64)))
    other = other.select(
        "area_code", group_value=pl.lit(OTHER), before_value=pl.lit(None, pl.Float64),
        after_value=pl.lit(None, pl.Float64),
        contribution=pl.when(pl.col("status") == "ok").then(pl.col("contribution")),
        mix_effect=pl.lit(None, pl.Float64), rate_effect=pl.lit(None, pl.Float64), status="status")
    # Equal contributions are ranked by group name, not by the order the rows happened to arrive in.
    return (pl.concat([shown, other], how="diagonal_relaxed").join(total, on="area_code", how="left")
            .sort("area_code", pl.col("contribution").abs(), "group_value", descending=[False, True, False],
                  nulls_last=True)
            .with_columns(
                indicator_id=pl.lit(indicator.id), dimension=pl.lit(dimension),
                share_of_change=pl.when(pl.col("total_change") != 0)
                .then(pl.col("contribution") / pl.col("total_change")),
                rank=pl.when(pl.col("contribution").is_not_null())
                .then(pl.int_range(1, pl.len() + 1, dtype=pl.Int64).over("area_code"))))
