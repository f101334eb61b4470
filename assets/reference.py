"""Reference tables the marts and indicators join to: working days, areas, periods, registries."""


from datetime import date

import dagster as dg
import polars as pl
from dagster import AssetExecutionContext
from dagster_duckdb import DuckDBResource

from assets.tables import read_table, replace_table
from oba_pipeline.family_voice.registry import (
    bands_frame,
    conversions_frame,
    items_frame,
    load_instruments,
    load_themes,
    themes_frame,
)
from oba_pipeline.indicators import reference
from oba_pipeline.indicators.calendar import calendar_frame

STAGED = ["population", "referrals", "caseloads", "spend", "family_outcomes"]


@dg.asset(group_name="reference", kinds={"duckdb"}, deps=["population"])
def areas(duckdb: DuckDBResource) -> dg.MaterializeResult:
    """The authority and its localities, and how many children live in each (the rate denominators)."""
    with duckdb.get_connection() as con:
        population = read_table(con, "stg_population")
        area_rows = reference.areas_frame(population)
        per_area = reference.area_population(population, last_year=date.today().year)
        replace_table(con, "areas", area_rows)
        replace_table(con, "area_population", per_area)
    return dg.MaterializeResult(metadata={"areas": area_rows.height, "population_rows": per_area.height})


@dg.asset(group_name="reference", kinds={"duckdb"}, deps=STAGED)
def reporting_periods(context: AssetExecutionContext, duckdb: DuckDBResource) -> dg.MaterializeResult:
    """The months and reporting years each source covers completely, up to the extracts' date."""
    with duckdb.get_connection() as con:
        dates = {source: con.execute(f"select {column} from stg_{source}").pl().to_series()
                 for source, column in reference.SOURCE_DATES.items()}
        latest = [d.max() for d in dates.values() if d.len() and d.max() is not None]
        extract_date = min(max(latest), date.today()) if latest else date.today()  # type: ignore[type-var]
        coverage = {source: reference.coverage_of(series, extract_date) for source, series in dates.items()}
        known = {s: c for s, c in coverage.items() if c is not None}
        for source in set(coverage) - set(known):
            context.log.warning(f"{source}: no complete month of data, so its indicators are not published")
        first = min((c.first_month for c in known.values()), default=reference.last_complete_month(extract_date))
        last = reference.last_complete_month(extract_date)
        periods = reference.periods_frame(first, last)
        coverage_rows = pl.DataFrame(
            [{"source": s, "first_month": c.first_month, "last_month": c.last_month} for s, c in known.items()],
            schema={"source": pl.Utf8, "first_month": pl.Date, "last_month": pl.Date})
        replace_table(con, "periods", periods)
        replace_table(con, "source_coverage", coverage_rows)
        replace_table(con, "extract_info", pl.DataFrame({"extract_date": [extract_date]}))
    return dg.MaterializeResult(metadata={
        "extract_date": str(extract_date), "periods": periods.height,
        "coverage": dg.MetadataValue.json({s: [str(c.first_month), str(c.last_month)] for s, c in known.items()}),
    })


@dg.asset(group_name="reference", kinds={"duckdb"})
def calendar(duckdb: DuckDBResource) -> dg.MaterializeResult:
    """Every day from 2000 to next year, with England's working days counted (bank holidays excluded)."""
    frame = calendar_frame(date(2000, 1, 1), date(date.today().year + 1, 12, 31))
    with duckdb.get_connection() as con:
        replace_table(con, "calendar", frame)
    return dg.MaterializeResult(metadata={"days": frame.height,
                                          "working_days": int(frame.get_column("is_working_day").sum())})


@dg.asset(group_name="reference", kinds={"duckdb"})
def registries(duckdb: DuckDBResource) -> dg.MaterializeResult:
    """The instrument registry and the Section 251 lines counted as prevention or late intervention."""
    lines, default = reference.spend_lines()
    tools = reference.instruments()
    registry = load_instruments()
    themes = load_themes()
    with duckdb.get_connection() as con:
        replace_table(con, "ref_spend_lines", lines)
        replace_table(con, "ref_spend_default", default)
        replace_table(con, "ref_instruments", tools)
        replace_table(con, "ref_instrument_items", items_frame(registry))
        replace_table(con, "ref_instrument_conversions", conversions_frame(registry))
        replace_table(con, "ref_instrument_bands", bands_frame(registry))
        replace_table(con, "ref_themes", themes_frame(themes))
    return dg.MaterializeResult(metadata={"instruments": tools.height, "spend_prefixes": lines.height,
                                          "themes": len(themes)})
