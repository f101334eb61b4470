"""Turn the curve: baselines, verdicts, scorecard columns and the story behind each curve."""

from collections.abc import Iterator
from typing import Any

import dagster as dg
import polars as pl
from dagster import AssetExecutionContext
from dagster_duckdb import DuckDBResource

from assets.tables import replace_table
from oba_pipeline.appdb import create_schema, make_engine
from oba_pipeline.catalogue import load_catalogue
from oba_pipeline.resources import OBASettings
from oba_pipeline.turn_the_curve.build import SERIES_COLUMNS, build_tables, workers_setting
from oba_pipeline.turn_the_curve.records import load_records
from oba_pipeline.turn_the_curve.story import STORY_VALUE_COLUMNS, build_story

TTC_TABLES = ("baselines", "turn_the_curve", "scorecard", "ttc_scenarios")


@dg.multi_asset(
    group_name="turn_the_curve",
    specs=[
        dg.AssetSpec("baselines", kinds={"duckdb", "statsmodels"}, deps=["indicator_values"],
                     description="Every measure's history and its forecast if nothing changes: the latest "
                                 "statistical forecast, frozen vintages and the partnership's named scenarios."),
        dg.AssetSpec("turn_the_curve", kinds={"duckdb"}, deps=["indicator_values"],
                     description="Whether each curve did better than its baseline: four tests with their evidence "
                                 "and an overall verdict, or the reason none can be given."),
        dg.AssetSpec("scorecard", kinds={"duckdb"}, deps=["indicator_values"],
                     description="The scorecard columns for every measure and area: current, prior, target, "
                                 "forecast, trend and change since the baseline began."),
        dg.AssetSpec("ttc_scenarios", kinds={"duckdb"}, deps=["indicator_values"],
                     description="The named forecast scenarios partners added, with author, date and reason."),
    ],
)
def turn_the_curve_tables(context: AssetExecutionContext, oba: OBASettings,
                          duckdb: DuckDBResource) -> Iterator[dg.MaterializeResult]:
    """Baselines, verdicts and scorecard columns, read with the partnership's cycles, scenarios and targets."""
    workers = workers_setting()  # before any work: a mistyped setting stops the step at once, saying why
    engine = make_engine(home=oba.layout)
    try:
        create_schema(engine)
        records = load_records(engine)
    finally:
        engine.dispose()
    # The warehouse is closed while the baselines are fitted (most of the step's time), so DuckDB's cache
    # of pages is not held beside the series and the worker processes.
    with duckdb.get_connection() as con:
        values = con.execute(f"select {', '.join(SERIES_COLUMNS)} from indicator_values").pl()
    tables = build_tables(values, load_catalogue(), records, workers=workers)
    del values
    frames = {"baselines": tables.baselines, "turn_the_curve": tables.turn_the_curve,
              "scorecard": tables.scorecard, "ttc_scenarios": tables.scenarios}
    with duckdb.get_connection() as con:
        for name, frame in frames.items():
            replace_table(con, name, frame)
    verdicts = tables.turn_the_curve
    counts = dict(verdicts.group_by("overall").len().sort("overall").rows()) if verdicts.height else {}
    context.log.info(f"turn the curve: {len(records.cycles)} cycle(s), {len(records.scenarios)} scenario(s), "
                     f"{len(records.targets)} target(s); verdicts {counts}")
    for name, frame in frames.items():
        metadata: dict[str, Any] = {"rows": frame.height}
        if name == "turn_the_curve":
            metadata["verdicts"] = dg.MetadataValue.json(counts)
            metadata["cycles"] = len(records.cycles)
        yield dg.MaterializeResult(asset_key=name, metadata=metadata)


@dg.asset(group_name="turn_the_curve", kinds={"duckdb", "sql"}, deps=["indicator_values"])
def story_behind_the_curve(context: AssetExecutionContext, duckdb: DuckDBResource) -> dg.MaterializeResult:
    """Which localities, age bands, referral sources, needs and family groups moved each measure over the
    latest year, as contributions that add up to the change."""
    with duckdb.get_connection() as con:
        # Only the monthly rows and the columns the story reads: a national indicator table is millions of rows.
        values = con.execute(f"select {', '.join(STORY_VALUE_COLUMNS)} from indicator_values "
                             "where period_type = 'month'").pl()
        story = build_story(con, load_catalogue(), values)
        del values
        replace_table(con, "story_behind_the_curve", story)
    return dg.MaterializeResult(metadata={
        "rows": story.height,
        "suppressed_groups": story.filter(pl.col("status") == "c").height,
    })
