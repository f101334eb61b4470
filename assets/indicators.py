"""The indicator values: every catalogue entry for the authority and each locality, by month and year."""


from datetime import date

import dagster as dg
import polars as pl
from dagster import AssetExecutionContext
from dagster_duckdb import DuckDBResource

from assets.marts import MARTS
from assets.tables import read_table, replace_tables, row_count
from oba_pipeline.catalogue import load_catalogue
from oba_pipeline.disclosure import apply_disclosure_control, load_profiles
from oba_pipeline.indicators.engine import Coverage, compute_indicator_values
from oba_pipeline.orchestration.partitions import (
    COMPUTED_VALUES,
    PARTITION_CONTEXT,
    PARTITION_STATE,
    RECOMPUTED_PERIODS,
    keep_unchanged,
    plan_refresh,
)

# The order of the indicator tables' rows.
VALUE_ORDER = ("indicator_id", "area_type", "area_code", "period_type", "period_start")



class IndicatorRefreshConfig(dg.Config):
    """How much history to recompute. By default only the months whose partitions changed (and new periods)."""

    full: bool = False
    backfill_from: str = ""  # first month of a backfill, YYYY-MM
    backfill_to: str = ""  # last month of a backfill, YYYY-MM


def _month(text: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(f"{text[:7]}-01")
    except ValueError as error:
        raise dg.Failure(description=f"backfill month {text!r} is not a month in the form YYYY-MM "
                                     "(e.g. 2024-04); fix the run configuration and run again.") from error


@dg.asset(group_name="indicators", kinds={"duckdb", "polars"},
          deps=[*MARTS, "areas", "reporting_periods"])
def indicator_values(context: AssetExecutionContext, config: IndicatorRefreshConfig,
                     duckdb: DuckDBResource) -> dg.MaterializeResult:
    """How the area is doing on every population indicator and performance measure, after disclosure control."""
    catalogue = load_catalogue()
    with duckdb.get_connection() as con:
        coverage = {row[0]: Coverage(first_month=row[1], last_month=row[2])
                    for row in con.execute("select source, first_month, last_month from source_coverage").fetchall()}
        plan = plan_refresh(con, catalogue, coverage, full=config.full,
                            force_from=_month(config.backfill_from), force_to=_month(config.backfill_to))
        computed = compute_indicator_values(con, catalogue, coverage, only=plan.periods)
        columns = computed.columns
        areas = read_table(con, "areas").select("area_code", "area_name", "area_type")
        merged = computed.drop("area_name", "area_type").join(areas, on="area_code", how="left").select(columns)
        del computed  # a national table is millions of rows: no more copies of it are held than needed
        if not plan.full:
            merged = keep_unchanged(con, merged, plan, catalogue, coverage, read_table(con, "periods"))
        merged = merged.sort(*VALUE_ORDER)
        # Disclosure control runs over the whole table on every refresh, however few periods were
        # recomputed: secondary suppression looks across localities and months, so it cannot be applied
        # to the recomputed periods alone. The public subset uses the same function, stricter profile;
        # each is made as it is written, so the two are never held together.
        profiles = load_profiles()
        replace_tables(con, {
            COMPUTED_VALUES: merged,
            "indicator_values": lambda: apply_disclosure_control(merged, catalogue, profile=profiles["standard"]),
            "indicator_values_public": lambda: apply_disclosure_control(merged, catalogue,
                                                                        profile=profiles["public"]),
            "indicators": catalogue.to_frame(), PARTITION_STATE: plan.partitions,
            PARTITION_CONTEXT: pl.DataFrame({"context_hash": [plan.context_hash]}),
            RECOMPUTED_PERIODS: plan.recomputed(),
        })
        by_status = dict(con.execute("select status, count(*) from indicator_values group by status "
                                     "order by status").fetchall())
        present = {row[0] for row in con.execute("select distinct indicator_id from indicator_values").fetchall()}
        public_rows = row_count(con, "indicator_values_public")
        preview = con.execute(
            "select * from indicator_values where period_type = 'reporting_year' order by "
            + ", ".join(f"{column} desc" for column in VALUE_ORDER) + " limit 10").pl().reverse()
    missing = sorted({i.id for i in catalogue.indicators} - present)
    if missing:
        context.log.warning(f"no values for: {', '.join(missing)} (their source covers no complete month)")
    recomputed = plan.recomputed()
    months = recomputed.filter(pl.col("period_type") == "month").get_column("period_start").unique().sort()
    context.log.info(f"{plan.reason}: recomputed {recomputed.height} indicator periods over {months.len()} months"
                     + (f" ({months.min()!s} to {months.max()!s})" if months.len() else ""))
    return dg.MaterializeResult(metadata={
        "rows": sum(by_status.values()), "indicators": len(present),
        "public_rows": public_rows,
        "by_status": dg.MetadataValue.json(by_status), "missing_indicators": dg.MetadataValue.json(missing),
        "refresh": plan.reason, "recomputed_periods": recomputed.height,
        "recomputed_months": dg.MetadataValue.json([str(m) for m in months]),
        "changed_months": dg.MetadataValue.json({mart: [str(m) for m in months]
                                                 for mart, months in plan.changed_months.items()}),
        "preview": dg.MetadataValue.md(preview.to_pandas().to_markdown(index=False)),
    })
