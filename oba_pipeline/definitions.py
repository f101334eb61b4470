"""Assembles the Dagster definitions: assets, checks, the refresh job and resources. Nothing else."""

from __future__ import annotations

import os

import dagster as dg
from dagster_duckdb import DuckDBResource

from assets.benchmarks import benchmarks
from assets.family_voice import family_rater_gaps, family_vs_service
from assets.indicators import indicator_values
from assets.marts import MART_ASSETS
from assets.publishing import published_snapshot
from assets.reference import areas, calendar, registries, reporting_periods
from assets.sources import SOURCE_ASSETS
from assets.turn_the_curve import story_behind_the_curve, turn_the_curve_tables
from oba_pipeline.benchmarks.home import HOME_LA_ENV
from oba_pipeline.config import SAMPLE_DATA_DIR, Home
from oba_pipeline.orchestration.checks import FRESHNESS_CHECKS
from oba_pipeline.orchestration.schedules import build_nightly_schedule
from oba_pipeline.orchestration.sensors import (
    build_check_warning_sensor,
    build_failure_sensor,
    build_new_extracts_sensor,
)
from oba_pipeline.resources import OBASettings

INPUT_DIR_ENV = "OBA_INPUT_DIR"
# DuckDB takes up to 80% of the machine's memory by default; a refresh shares the machine with the
# dashboard, and national volumes fit in less by spilling joins and sorts to disk beside the warehouse.
# Not less: within 1 GB a national refresh ran out of DuckDB memory in the story behind the curve (a
# grouping-sets count that cannot spill all of its state), and its SQL steps ran 20% to 60% longer.
DUCKDB_MEMORY_ENV = "OBA_DUCKDB_MEMORY_LIMIT"
DEFAULT_DUCKDB_MEMORY = "2GB"
REFRESH_JOB = "refresh"
# The run queue lets one run with this tag through at a time (see oba_pipeline/deploy/dagster.yaml).
WAREHOUSE_TAG = "oba/warehouse"


def build_definitions(home: Home, input_dir: str) -> dg.Definitions:
    source_assets = [asset for extract, staged, _ in SOURCE_ASSETS for asset in (extract, staged)]
    checks = [check for _, _, check in SOURCE_ASSETS] + FRESHNESS_CHECKS
    all_assets = [*source_assets, areas, calendar, registries, reporting_periods, *MART_ASSETS,
                  indicator_values, turn_the_curve_tables, story_behind_the_curve,
                  family_vs_service, family_rater_gaps, benchmarks, published_snapshot]
    # DuckDB allows one writer at a time, so every step of a refresh runs in one process, in order.
    refresh = dg.define_asset_job(REFRESH_JOB, selection=dg.AssetSelection.all(),
                                  executor_def=dg.in_process_executor,
                                  description="Load every extract, validate, compute the indicators and publish.",
                                  tags={WAREHOUSE_TAG: "writer"})
    return dg.Definitions(
        assets=all_assets,
        asset_checks=checks,
        jobs=[refresh],
        schedules=[build_nightly_schedule(refresh)],
        sensors=[build_new_extracts_sensor(refresh, input_dir, home), build_failure_sensor(refresh, home),
                 build_check_warning_sensor(refresh, home)],
        executor=dg.in_process_executor,
        resources={
            "oba": OBASettings(home=str(home.root), input_dir=input_dir, home_la=os.environ.get(HOME_LA_ENV, "")),
            "duckdb": DuckDBResource(database=str(home.warehouse), connection_config={
                "memory_limit": os.environ.get(DUCKDB_MEMORY_ENV) or DEFAULT_DUCKDB_MEMORY}),
        },
    )


defs = build_definitions(Home.from_env(), os.environ.get(INPUT_DIR_ENV, str(SAMPLE_DATA_DIR)))
