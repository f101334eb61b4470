"""A published snapshot with benchmarks for the dashboard tests, built from the real DfE files shipped in
sample_data/published (read by the library exactly as a refresh reads them) and the small hand-made
local snapshot of tests/dashboard_fixtures.py."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl
from dashboard_fixtures import AUTHORITY, sample_tables

from oba_pipeline.benchmarks import comparators
from oba_pipeline.benchmarks.home import home_authority
from oba_pipeline.benchmarks.load import load_published_folder
from oba_pipeline.benchmarks.measures import measure_values
from oba_pipeline.catalogue.published_measures import load_published_measures
from oba_pipeline.config import SAMPLE_DATA_DIR, Home
from oba_pipeline.publish import publish_tables

PUBLISHED = SAMPLE_DATA_DIR / "published"
HOME_LA = "206"


def benchmark_tables(local_areas: pl.DataFrame, home_la: str = HOME_LA) -> dict[str, pl.DataFrame]:
    measures = load_published_measures()
    load = load_published_folder(PUBLISHED, measures)
    values, findings = measure_values(load.observations, measures)
    known = comparators.authorities(values, load.lookup)
    table = comparators.benchmarks(duckdb.connect(), values, measures.to_frame(), load.neighbours, known)
    return {
        "benchmarks": table, "benchmark_measures": measures.to_frame(),
        "benchmark_findings": pl.concat([load.findings, findings]), "benchmark_sources": load.sources,
        "benchmark_neighbours": comparators.named_neighbours(load.neighbours, known),
        "benchmark_home": home_authority(home_la, local_areas, known, table, load.neighbours),
    }


def publish_with_benchmarks(root: Path) -> Home:
    home = Home(root)
    tables = sample_tables()
    publish_tables(home, {**tables, **benchmark_tables(tables["areas"])}, {
        "extract_date": "2025-04-30", "authority": {"code": AUTHORITY[0], "name": AUTHORITY[1]},
        "generated_at": datetime.now(UTC).isoformat(),
    })
    return home
