"""Each published measure's figure per area and year, computed as DfE computes it, and checked.

- `rate_per_10000`: a count over the ONS mid-year estimate of children aged 0 to 17 for the year before
  the reporting year, times 10,000 (reporting year 2025 uses mid-2024).
- `published`: the figure as published; where the file also gives its counts (`check`), the figure is
  re-derived and compared at the published precision. A mismatch is a data-quality finding: the
  published figure is kept and marked, never silently replaced.
- `spend_per_child` and `spend_share`: Section 251 categories in pounds over the same population.

National and regional counts in the children in need and looked-after files are rounded to the
nearest 10, so their percentages are only checked for authorities.
"""

from __future__ import annotations

import polars as pl

from oba_pipeline.benchmarks import schemas
from oba_pipeline.benchmarks.formats import FORMATS_BY_ID
from oba_pipeline.catalogue.published_measures import PublishedMeasure, PublishedMeasures
from oba_pipeline.disclosure import DEFAULT_THRESHOLD, SUPPRESSED

AREA = ["level", "area_code"]
KEY = [*AREA, "year"]
LABELS = ["period_label", "area_name", "region_code", "region_name", "note"]
ROUNDING_FORMATS = [fmt.id for fmt in FORMATS_BY_ID.values() if fmt.rounds_aggregates]


def round_half_up(expr: pl.Expr, decimals: int) -> pl.Expr:
    """Rounded as published (half away from zero), immune to binary fractions such as 16.749999..."""
    return (expr + expr.sign() * 1e-9).round(decimals, mode="half_away_from_zero")


def _cells(observations: pl.DataFrame, measure: PublishedMeasure, column: str, prefix: str) -> pl.DataFrame:
    """One column of the measure's dataset as (area, year) -> `<prefix>_value`, `<prefix>_status`."""
    rows = observations.filter((pl.col("dataset") == measure.dataset) & (pl.col("column") == column))
    if measure.category is not None:
        rows = rows.filter(pl.col("category").str.to_lowercase() == measure.category.lower())
    return rows.select(*KEY, *LABELS, "file", "source_format",
                       pl.col("value").alias(f"{prefix}_value"), pl.col("status").alias(f"{prefix}_status"))


def population(observations: pl.DataFrame) -> pl.DataFrame:
    """Children aged 0 to 17 by area, keyed on the reporting year they are the denominator for (mid-Y -> Y+1)."""
    return observations.filter((pl.col("dataset") == "population") & (pl.col("column") == "population_estimate")) \
        .select(*AREA, year=pl.col("year") + 1, pop_value=pl.col("value"), pop_status=pl.col("status"))


def _ratio(numerator: str, denominator: str, scale: float) -> tuple[pl.Expr, pl.Expr]:
    """The exact ratio and its status: the first non-ok status, `x` when a figure is missing, `z` on zero."""
    status = (pl.when(pl.col(f"{numerator}_status").is_null()).then(pl.lit("x"))
              .when(pl.col(f"{numerator}_status") != "ok").then(pl.col(f"{numerator}_status"))
              .when(pl.col(f"{denominator}_status").is_null()).then(pl.lit("x"))
              .when(pl.col(f"{denominator}_status") != "ok").then(pl.col(f"{denominator}_status"))
              .when(pl.col(f"{denominator}_value") == 0).then(pl.lit("z"))
              .otherwise(pl.lit("ok")))
    value = pl.col(f"{numerator}_value") / pl.col(f"{denominator}_value") * scale
    return value, status


def _published(observations: pl.DataFrame, measure: PublishedMeasure, pop: pl.DataFrame) -> pl.DataFrame:
    frame = _cells(observations, measure, measure.column or "", "pub")
    check = measure.check
    if check is None:
        return frame.with_columns(value=pl.col("pub_value"), status=pl.col("pub_status"), exact=pl.lit(None),
                                  check=pl.lit("not_checked"), value_basis=pl.lit("published"),
                                  numerator=pl.lit(None, dtype=pl.Float64))
    frame = frame.join(_cells(observations, measure, check.numerator, "num").select(*KEY, "num_value", "num_status"),
                       on=KEY, how="left")
    if check.denominator is None:
        frame = frame.join(pop, on=KEY, how="left").rename({"pop_value": "den_value", "pop_status": "den_status"})
    else:
        frame = frame.join(_cells(observations, measure, check.denominator, "den")
                           .select(*KEY, "den_value", "den_status"), on=KEY, how="left")
    exact, exact_status = _ratio("num", "den", check.scale)
    tolerance = 0.5 * 10 ** -measure.decimals + 1e-6
    checkable = (pl.col("pub_status") == "ok") & (exact_status == "ok") & ~(
        pl.col("source_format").is_in(ROUNDING_FORMATS) & (pl.col("level") != "authority"))
    return frame.with_columns(
        value=pl.col("pub_value"), status=pl.col("pub_status"), numerator=pl.col("num_value"),
        exact=pl.when(exact_status == "ok").then(exact),
        check=pl.when(~checkable).then(pl.lit("not_checked"))
        .when((pl.col("pub_value") - exact).abs() <= tolerance).then(pl.lit("agrees"))
        .otherwise(pl.lit("differs")),
        value_basis=pl.lit("published"),
    )


def _rate(observations: pl.DataFrame, measure: PublishedMeasure, pop: pl.DataFrame) -> pl.DataFrame:
    frame = _cells(observations, measure, measure.column or "", "num").join(pop, on=KEY, how="left")
    exact, status = _ratio("num", "pop", 10_000)
    return frame.with_columns(value=pl.when(status == "ok").then(round_half_up(exact, measure.decimals)),
                              status=status, exact=pl.lit(None), check=pl.lit("not_checked"),
                              value_basis=pl.lit("derived"), numerator=pl.col("num_value"))


def _spend_total(observations: pl.DataFrame, categories: tuple[str, ...], prefix: str) -> pl.DataFrame:
    """Spend on the categories by area and year; `x` unless every category has a figure."""
    rows = observations.filter((pl.col("dataset") == "spend") & pl.col("column").is_in(list(categories)))
    return rows.group_by(KEY).agg(
        pl.col(LABELS).first(), pl.col("file").first(), pl.col("source_format").first(),
        pl.col("value").sum().alias(f"{prefix}_value"),
        pl.when(pl.col("column").n_unique() < len(categories)).then(pl.lit("x"))
        .when((pl.col("status") != "ok").any()).then(pl.col("status").filter(pl.col("status") != "ok").first())
        .otherwise(pl.lit("ok")).alias(f"{prefix}_status"))


def _spend(observations: pl.DataFrame, measure: PublishedMeasure, pop: pl.DataFrame) -> pl.DataFrame:
    frame = _spend_total(observations, measure.categories, "num")
    if measure.kind == "spend_per_child":
        frame = frame.join(pop, on=KEY, how="left")
        exact, status = _ratio("num", "pop", 1)
    else:
        frame = frame.join(_spend_total(observations, measure.denominator_categories, "den")
                           .select(*KEY, "den_value", "den_status"), on=KEY, how="left")
        exact, status = _ratio("num", "den", 100)
    return frame.with_columns(value=pl.when(status == "ok").then(round_half_up(exact, measure.decimals)),
                              status=status, exact=pl.lit(None), check=pl.lit("not_checked"),
                              value_basis=pl.lit("derived"), numerator=pl.lit(None, dtype=pl.Float64))


def measure_values(observations: pl.DataFrame, measures: PublishedMeasures) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Every measure's figure per area and year (MEASURE_VALUES), and the findings of the checks (FINDINGS)."""
    pop = population(observations)
    values, findings = [], []
    for measure in measures.measures:
        if measure.kind == "published":
            frame = _published(observations, measure, pop)
        elif measure.kind == "rate_per_10000":
            frame = _rate(observations, measure, pop)
        else:
            frame = _spend(observations, measure, pop)
        if frame.is_empty():
            continue
        if measure.people:
            small = (pl.col("numerator") >= 1) & (pl.col("numerator") <= DEFAULT_THRESHOLD)
            frame = frame.with_columns(
                value=pl.when(small & (pl.col("status") == "ok")).then(None).otherwise(pl.col("value")),
                status=pl.when(small & (pl.col("status") == "ok")).then(pl.lit(SUPPRESSED)).otherwise("status"))
        frame = frame.with_columns(measure_id=pl.lit(measure.id))
        values.append(frame.select(list(schemas.MEASURE_VALUES)))
        findings.append(_check_findings(frame, measure))
        findings.append(_missing_population(frame, measure))
    if not values:
        return schemas.empty(schemas.MEASURE_VALUES), schemas.empty(schemas.FINDINGS)
    return (pl.concat(values).select([pl.col(n).cast(t) for n, t in schemas.MEASURE_VALUES.items()]),
            pl.concat([f for f in findings if f.height] or [schemas.empty(schemas.FINDINGS)]))


def _check_findings(frame: pl.DataFrame, measure: PublishedMeasure) -> pl.DataFrame:
    differs = frame.filter(pl.col("check") == "differs")
    check = measure.check
    if differs.is_empty() or check is None:
        return schemas.empty(schemas.FINDINGS)
    source = f"{check.numerator} / {check.denominator or 'ONS children aged 0-17 (year before)'} x {check.scale:g}"
    return differs.select(
        kind=pl.lit("published_figure_differs"), severity=pl.lit("warning"), file=pl.col("file"),
        measure_id=pl.lit(measure.id), area_code=pl.col("area_code"), area_name=pl.col("area_name"),
        year=pl.col("year"), period_label=pl.col("period_label"), published_value=pl.col("value"),
        derived_value=round_half_up(pl.col("exact"), measure.decimals + 2),
        message=pl.format(f"{{}}: {{}} ({{}}), {{}}: {measure.name} is published as {{}} but {source} gives {{}}. "
                          "The published figure is kept; check the file against the publication.",
                          pl.col("file"), pl.col("area_name"), pl.col("area_code"), pl.col("period_label"),
                          pl.col("value"), round_half_up(pl.col("exact"), measure.decimals + 2)),
    ).select([pl.col(n).cast(t) for n, t in schemas.FINDINGS.items()])


def _missing_population(frame: pl.DataFrame, measure: PublishedMeasure) -> pl.DataFrame:
    """One finding per year in which a per-child measure had figures but no population to divide by."""
    if "pop_status" not in frame.columns:
        return schemas.empty(schemas.FINDINGS)
    missing = frame.filter(pl.col("pop_status").is_null() & (pl.col("num_status") == "ok"))
    if missing.is_empty():
        return schemas.empty(schemas.FINDINGS)
    return missing.group_by("year", "period_label", "file").agg(areas=pl.len()).select(
        kind=pl.lit("population_missing"), severity=pl.lit("warning"), file=pl.col("file"),
        measure_id=pl.lit(measure.id), year=pl.col("year"), period_label=pl.col("period_label"),
        message=pl.format(f"{measure.name}, {{}}: {{}} areas have figures in {{}} but no ONS mid-year estimate for "
                          "{} in the published folder, so their rates are x. Add the ONS population file that "
                          "covers that year.", pl.col("period_label"), pl.col("areas"), pl.col("file"),
                          pl.col("year") - 1),
    ).with_columns([pl.lit(None, dtype=t).alias(n) for n, t in schemas.FINDINGS.items()
                    if n not in ("kind", "severity", "file", "measure_id", "year", "period_label", "message")]) \
        .select([pl.col(n).cast(t) for n, t in schemas.FINDINGS.items()])
