"""The published snapshot: what the dashboard and exports serve, switched into place atomically."""


import dagster as dg
from dagster import AssetExecutionContext
from dagster_duckdb import DuckDBResource

from assets.tables import read_table
from oba_pipeline.publish import publish_tables
from oba_pipeline.resources import OBASettings

# warehouse table -> published table
PUBLISHED_TABLES = {
    "indicators": "indicators",
    "indicator_values": "indicator_values",
    "areas": "areas",
    "source_loads": "sources",
    "validation_summary": "validation_summary",
    "benchmarks": "benchmarks",
    "benchmark_measures": "benchmark_measures",
    "benchmark_findings": "benchmark_findings",
    "benchmark_sources": "benchmark_sources",
    "benchmark_neighbours": "benchmark_neighbours",
    "benchmark_home": "benchmark_home",
}


@dg.asset(group_name="publishing", kinds={"duckdb"}, deps=["indicator_values", "benchmarks"])
def published_snapshot(context: AssetExecutionContext, oba: OBASettings,
                       duckdb: DuckDBResource) -> dg.MaterializeResult:
    """The figures commissioners see, published only when every source passed its blocking checks."""
    with duckdb.get_connection() as con:
        con.execute("""
            create or replace table validation_summary as
            select source, rule, "column", count(distinct row) as rows_rejected
            from rejected_rows group by all order by all
        """)
        tables = {published: read_table(con, table) for table, published in PUBLISHED_TABLES.items()}
        extract_date = con.execute("select extract_date from extract_info").fetchone()
    authority = tables["areas"].filter(area_type="authority").row(0, named=True)
    snapshot = publish_tables(oba.layout, tables, {
        "run_id": context.run_id, "extract_date": str(extract_date[0]) if extract_date else None,
        "authority": {"code": authority["area_code"], "name": authority["area_name"]},
    })
    return dg.MaterializeResult(metadata={
        "snapshot": dg.MetadataValue.path(str(snapshot)),
        "tables": dg.MetadataValue.json({name: frame.height for name, frame in tables.items()}),
    })
