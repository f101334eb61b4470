"""The published snapshot: what the dashboard and exports serve, switched into place atomically."""


import dagster as dg
import polars as pl
from dagster import AssetExecutionContext
from dagster_duckdb import DuckDBResource

from assets.tables import read_table
from oba_pipeline.catalogue import load_catalogue
from oba_pipeline.disclosure import load_profiles, public_indicator_ids
from oba_pipeline.ingest.retention import apply_retention
from oba_pipeline.publish import Table, publish_tables, read_manifest
from oba_pipeline.resources import OBASettings

# warehouse table -> published table
PUBLISHED_TABLES = {
    "indicators": "indicators",
    "indicator_values": "indicator_values",
    "areas": "areas",
    "source_loads": "sources",
    "validation_summary": "validation_summary",
    # turn the curve (assets/turn_the_curve.py)
    "baselines": "baselines",
    "turn_the_curve": "turn_the_curve",
    "scorecard": "scorecard",
    "ttc_scenarios": "scenarios",
    "story_behind_the_curve": "story_behind_the_curve",
    # what families say (assets/family_voice.py)
    "family_vs_service": "family_vs_service",
    "family_rater_gaps": "family_rater_gaps",
    "family_themes": "family_themes",
    # benchmarks from the published national statistics (assets/benchmarks.py)
    "benchmarks": "benchmarks",
    "benchmark_measures": "benchmark_measures",
    "benchmark_findings": "benchmark_findings",
    "benchmark_sources": "benchmark_sources",
    "benchmark_neighbours": "benchmark_neighbours",
    "benchmark_home": "benchmark_home",
}


@dg.asset(group_name="publishing", kinds={"duckdb"},
          deps=["indicator_values", "baselines", "turn_the_curve", "scorecard", "ttc_scenarios",
                "story_behind_the_curve", "family_vs_service", "family_rater_gaps", "benchmarks"])
def published_snapshot(context: AssetExecutionContext, oba: OBASettings,
                       duckdb: DuckDBResource) -> dg.MaterializeResult:
    """The figures commissioners see, published only when every source passed its blocking checks."""
    with duckdb.get_connection() as con:
        con.execute("""
            create or replace table validation_summary as
            select source, rule, "column", count(distinct row) as rows_rejected
            from rejected_rows group by all order by all
        """)
        small = {name: read_table(con, name) for name in ("indicators", "areas")}
        # Every table is copied by DuckDB from the warehouse into the snapshot: a national table of millions of
        # rows is never held in Python, and DuckDB's memory limit bounds the copy.
        extract_date = con.execute("select extract_date from extract_info").fetchone()
        authority = small["areas"].filter(area_type="authority").row(0, named=True)
        snapshot = publish_tables(oba.layout, {published: table for table, published in PUBLISHED_TABLES.items()}, {
            "run_id": context.run_id, "extract_date": str(extract_date[0]) if extract_date else None,
            "authority": {"code": authority["area_code"], "name": authority["area_name"]},
        }, public=_public_tables(small), source=con)
        # Published: the raw landing area has done its job and is cleared as its retention says.
        retention = apply_retention(oba.layout, context.run_id, con)
    written = read_manifest(snapshot)
    return dg.MaterializeResult(metadata={
        "snapshot": dg.MetadataValue.path(str(snapshot)),
        "tables": dg.MetadataValue.json(written["tables"]),
        "public_tables": dg.MetadataValue.json(written["public_tables"]),
        "landing_files_deleted": len(retention.files_deleted),
        "raw_tables_dropped": dg.MetadataValue.json(retention.raw_tables_dropped),
    })


def _public_tables(small: dict[str, pl.DataFrame]) -> dict[str, Table]:
    """The public subset: its indicators only, under the public disclosure profile; no validation detail.
    `small` holds the warehouse's indicators and areas tables; the others are named, copied from the warehouse."""
    profile = load_profiles()["public"]
    chosen = public_indicator_ids(profile, load_catalogue())
    return {
        "indicators": small["indicators"].filter(pl.col("indicator_id").is_in(chosen)),
        "indicator_values": "indicator_values_public",
        "areas": small["areas"].filter(pl.col("area_type").is_in(list(profile.area_types))),
        "sources": "source_loads",
    }
