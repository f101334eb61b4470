"""Benchmarks: the published national statistics beside the partnership, its neighbours, region and England."""


import dagster as dg
import duckdb
import polars as pl
from dagster import AssetExecutionContext
from dagster_duckdb import DuckDBResource

from assets.tables import read_table, replace_table
from oba_pipeline.benchmarks import comparators, schemas
from oba_pipeline.benchmarks.home import home_authority
from oba_pipeline.benchmarks.load import OBSERVATION_KEY, PUBLISHED_FOLDER, load_published_folder
from oba_pipeline.benchmarks.measures import measure_values
from oba_pipeline.catalogue.published_measures import load_published_measures
from oba_pipeline.resources import OBASettings

# warehouse table -> (schema, key): figures kept from the last good file of a format whose file failed now.
KEPT_TABLES = {
    "bm_observations": (schemas.OBSERVATIONS, OBSERVATION_KEY),
    "bm_neighbours": (schemas.NEIGHBOURS, ["model", "area_code", "neighbour_rank"]),
    "bm_lookup": (schemas.LOOKUP, ["old_la_code"]),
}


def _with_kept(con: duckdb.DuckDBPyConnection, table: str, fresh: pl.DataFrame, failed: set[str]) -> pl.DataFrame:
    """This run's rows plus the previous run's rows of formats whose file could not be read this time."""
    schema, key = KEPT_TABLES[table]
    tables = {row[0] for row in con.execute("select table_name from information_schema.tables").fetchall()}
    if not failed or table not in tables:
        return fresh
    kept = read_table(con, table).filter(pl.col("source_format").is_in(sorted(failed)))
    kept = kept.select([pl.col(n).cast(t) for n, t in schema.items()])
    return pl.concat([fresh, kept]).unique(key, keep="first", maintain_order=True)


@dg.asset(group_name="benchmarks", kinds={"duckdb", "polars", "sql"}, deps=["areas"])
def benchmarks(context: AssetExecutionContext, oba: OBASettings, duckdb: DuckDBResource) -> dg.MaterializeResult:
    """How the authority compares with England, its region and its statistical neighbours on published figures."""
    measures = load_published_measures()
    load = load_published_folder(oba.inputs / PUBLISHED_FOLDER, measures)
    for message in load.errors:
        context.log.warning(message)
    failed = load.failed_formats
    with duckdb.get_connection() as con:
        observations = _with_kept(con, "bm_observations", load.observations, failed)
        neighbours = _with_kept(con, "bm_neighbours", load.neighbours, failed)
        lookup = _with_kept(con, "bm_lookup", load.lookup, failed)
        values, check_findings = measure_values(observations, measures)
        known = comparators.authorities(values, lookup)
        table = comparators.benchmarks(con, values, measures.to_frame(), neighbours, known)
        home = home_authority(oba.home_la, read_table(con, "areas"), known, table, neighbours)
        findings = pl.concat([load.findings, check_findings])
        replace_table(con, "bm_observations", observations)
        replace_table(con, "bm_neighbours", neighbours)
        replace_table(con, "bm_lookup", lookup)
        replace_table(con, "benchmarks", table)
        replace_table(con, "benchmark_measures", measures.to_frame())
        replace_table(con, "benchmark_sources", load.sources)
        replace_table(con, "benchmark_findings", findings)
        replace_table(con, "benchmark_neighbours", comparators.named_neighbours(neighbours, known))
        replace_table(con, "benchmark_home", home)
    home_row = home.row(0, named=True)
    if home_row["authority_code"] and not home_row["has_published_figures"]:
        context.log.warning(f"the home authority {home_row['authority_code']} has no published figures in "
                            f"{oba.inputs / PUBLISHED_FOLDER}")
    return dg.MaterializeResult(metadata={
        "files": dg.MetadataValue.json(dict(load.sources.group_by("status").len().rows())),
        "errors": dg.MetadataValue.json(load.errors),
        "observations": observations.height, "benchmark_rows": table.height,
        "findings": dg.MetadataValue.json(dict(findings.group_by("kind").len().rows())),
        "home_authority": str(home_row["authority_code"]), "home_set_by": str(home_row["set_by"]),
    })
