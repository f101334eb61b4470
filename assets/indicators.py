"""The indicator values: every catalogue entry for the authority and each locality, by month and year."""


import dagster as dg
import polars as pl
from dagster import AssetExecutionContext
from dagster_duckdb import DuckDBResource

from assets.marts import MARTS
from assets.tables import read_table, replace_table
from oba_pipeline.catalogue import load_catalogue
from oba_pipeline.disclosure import apply_disclosure_control, load_profiles
from oba_pipeline.indicators.engine import Coverage, compute_indicator_values


@dg.asset(group_name="indicators", kinds={"duckdb", "polars"},
          deps=[*MARTS, "areas", "reporting_periods"])
def indicator_values(context: AssetExecutionContext, duckdb: DuckDBResource) -> dg.MaterializeResult:
    """How the area is doing on every population indicator and performance measure, after disclosure control."""
    catalogue = load_catalogue()
    with duckdb.get_connection() as con:
        coverage = {row[0]: Coverage(first_month=row[1], last_month=row[2])
                    for row in con.execute("select source, first_month, last_month from source_coverage").fetchall()}
        computed = compute_indicator_values(con, catalogue, coverage)
        areas = read_table(con, "areas").select("area_code", "area_name", "area_type")
        labelled = computed.drop("area_name", "area_type").join(areas, on="area_code", how="left")
        profiles = load_profiles()
        values = apply_disclosure_control(labelled.select(computed.columns), catalogue,
                                          profile=profiles["standard"])
        # The public subset goes through the same function with the stricter public profile.
        public_values = apply_disclosure_control(labelled.select(computed.columns), catalogue,
                                                 profile=profiles["public"])
        replace_table(con, "indicator_values", values)
        replace_table(con, "indicator_values_public", public_values)
        replace_table(con, "indicators", catalogue.to_frame())
    missing = sorted({i.id for i in catalogue.indicators} - set(values.get_column("indicator_id").unique()))
    if missing:
        context.log.warning(f"no values for: {', '.join(missing)} (their source covers no complete month)")
    by_status = dict(values.group_by("status").len().sort("status").rows())
    return dg.MaterializeResult(metadata={
        "rows": values.height, "indicators": values.get_column("indicator_id").n_unique(),
        "public_rows": public_values.height,
        "by_status": dg.MetadataValue.json(by_status), "missing_indicators": dg.MetadataValue.json(missing),
        "preview": dg.MetadataValue.md(values.filter(pl.col("period_type") == "reporting_year")
                                       .tail(10).to_pandas().to_markdown(index=False)),
    })
