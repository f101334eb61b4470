"""Freshness checks: one per source, warning when its extract has not arrived or its data stopped moving.

A nightly source whose newest file is older than `OBA_FRESHNESS_HOURS` (36 by default) has not
arrived: the refresh re-used last night's file. A time-based source whose latest date is more than
`OBA_FRESHNESS_DATA_DAYS` (45 by default) behind the refresh has arrived but stopped moving (the
export ran on a stale copy). The population estimates are annual, so they may be up to 400 days old.
These checks warn; they never stop publishing, since the figures from the other sources are still good.
The rule itself is in oba_pipeline/orchestration/freshness.py.
"""

from datetime import UTC, datetime

import dagster as dg
from dagster_duckdb import DuckDBResource

from assets.sources import SOURCES

# The rule itself lives in a Dagster-free module so the dashboard can share it; re-exported here.
from oba_pipeline.orchestration.freshness import (  # noqa: F401
    ANNUAL_SOURCES,
    TIME_BASED,
    freshness_findings,
    max_data_lag,
    max_file_age,
)


def build_freshness_check(source: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(asset=dg.AssetKey(source), name=f"{source}_freshness", blocking=False,
                    description=f"The {source} extract arrived for this refresh and its data is up to date.")
    def freshness(duckdb: DuckDBResource) -> dg.AssetCheckResult:
        with duckdb.get_connection() as con:
            row = con.execute("select loaded_at, last_date from source_loads where source = $source",
                              {"source": source}).fetchone()
        loaded_at, last_date = row if row else (None, None)
        findings = freshness_findings(source, loaded_at, last_date, datetime.now(UTC).replace(tzinfo=None))
        return dg.AssetCheckResult(
            passed=not findings, severity=dg.AssetCheckSeverity.WARN,
            description="; ".join(findings) if findings else "fresh",
            metadata={"newest_file_utc": str(loaded_at), "latest_date": str(last_date),
                      "max_file_age_hours": max_file_age(source).total_seconds() / 3600},
        )

    return freshness


FRESHNESS_CHECKS = [build_freshness_check(source) for source in SOURCES]
