"""What families say next to what services count, and where family and professional raters disagree."""


import dagster as dg
import polars as pl
from dagster import AssetExecutionContext
from dagster_duckdb import DuckDBResource

from assets.tables import read_table, replace_table
from oba_pipeline.catalogue import load_catalogue
from oba_pipeline.family_voice.comparison import family_vs_service as compare
from oba_pipeline.family_voice.gaps import rater_gaps
from oba_pipeline.family_voice.registry import load_themes, published_themes


@dg.asset(group_name="family_voice", kinds={"duckdb", "polars"}, deps=["indicator_values", "registries"])
def family_vs_service(context: AssetExecutionContext, duckdb: DuckDBResource) -> dg.MaterializeResult:
    """For each outcome theme and area, whether families and services see things moving the same way."""
    with duckdb.get_connection() as con:
        values = read_table(con, "indicator_values")
        themes = load_themes()
        frame = compare(values, load_catalogue(), themes)
        replace_table(con, "family_vs_service", frame)
        replace_table(con, "family_themes", published_themes(themes))
    divergent = frame.filter(pl.col("divergent"))
    if divergent.height:
        context.log.info(f"families and services diverge in {divergent.height} theme, area and year rows")
    return dg.MaterializeResult(metadata={
        "rows": frame.height,
        "divergent_rows": divergent.height,
        "by_agreement": dg.MetadataValue.json(dict(frame.group_by("agreement").len().sort("agreement").rows())),
        "divergent": dg.MetadataValue.md(
            divergent.select("theme", "area_name", "period_label", "family_measure", "service_measure", "agreement")
            .to_pandas().to_markdown(index=False) if divergent.height else "none"),
    })


@dg.asset(group_name="family_voice", kinds={"duckdb", "polars"},
          deps=["mart_family_rater_gaps", "areas", "reporting_periods"])
def family_rater_gaps(duckdb: DuckDBResource) -> dg.MaterializeResult:
    """How far families' own ratings sit from professionals' ratings of the same family, after disclosure control."""
    with duckdb.get_connection() as con:
        pairs = read_table(con, "mart_family_rater_gaps")
        areas = read_table(con, "areas")
        year_end = con.execute(
            "select max(period_end) from periods where period_type = 'reporting_year'").fetchone()
        frame = rater_gaps(pairs, areas, year_end[0] if year_end else None)
        replace_table(con, "family_rater_gaps", frame)
    return dg.MaterializeResult(metadata={"rows": frame.height,
                                          "suppressed": frame.filter(pl.col("status") == "c").height})
