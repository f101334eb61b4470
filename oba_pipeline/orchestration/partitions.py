"""Monthly partitions of the marts: which months changed since the last refresh, and so which indicator
periods a night's refresh must recompute.

Each mart row is placed in the month of the earliest date by which any catalogue entry counts it:
the entry's event date (a referral in its referral month, an assessment in the month it was
authorised) or the start of what it counts as open (a plan from its start). An indicator counts a row
only in periods that end on or after that date, so a row added, removed or corrected in month M can
change the indicator's periods ending in or after M, and none before. A month's partition is the
content hash of its rows: a late correction to an old month changes that month's hash, and the
refresh recomputes from there on. Rows no entry can place in time are counted nowhere and not hashed.

Whatever every period depends on (areas, populations, where each source's history starts, the
catalogue, the engine's SQL) is hashed as the context; when it changes, everything is recomputed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date

import duckdb
import polars as pl

from oba_pipeline.arrow import arrow_of
from oba_pipeline.catalogue import Catalogue
from oba_pipeline.indicators.engine import SQL_DIR, Coverage, covered_periods

PARTITION_STATE = "partition_state"
PARTITION_CONTEXT = "partition_context"
RECOMPUTED_PERIODS = "recomputed_periods"
# Indicator values before disclosure control, kept in the warehouse (never published) so that a refresh of
# changed months can reuse the rest and then apply disclosure control to the whole table.
COMPUTED_VALUES = "indicator_values_computed"
PARTITION_SCHEMA = {"mart": pl.Utf8, "month": pl.Date, "rows": pl.Int64, "content_hash": pl.Utf8}
RECOMPUTED_SCHEMA = {"indicator_id": pl.Utf8, "period_type": pl.Utf8, "period_start": pl.Date, "reason": pl.Utf8}
UNDATED = date(1, 1, 1)


@dataclass
class RefreshPlan:
    """What an incremental refresh recomputes, and why."""

    full: bool
    reason: str
    partitions: pl.DataFrame
    context_hash: str
    # mart -> the first month whose partition changed (absent: nothing changed in that mart)
    changed_from: dict[str, date] = field(default_factory=dict)
    changed_months: dict[str, list[date]] = field(default_factory=dict)
    # indicator id -> periods to compute (period_type, period_start, reason)
    periods: dict[str, pl.DataFrame] = field(default_factory=dict)

    def recomputed(self) -> pl.DataFrame:
        frames = [frame.with_columns(indicator_id=pl.lit(indicator_id)) for indicator_id, frame in self.periods.items()]
        if not frames:
            return pl.DataFrame(schema=RECOMPUTED_SCHEMA)
        return pl.concat(frames).select(list(RECOMPUTED_SCHEMA)).sort(list(RECOMPUTED_SCHEMA))


def placement_dates(catalogue: Catalogue) -> dict[str, list[str]]:
    """Per mart, the date columns by which some catalogue entry places its rows in a period."""
    found: dict[str, set[str]] = {}
    for indicator in catalogue.indicators:
        calc = indicator.calculation
        column = calc.date if calc.timing == "event" else calc.start
        if column:
            found.setdefault(calc.table, set()).add(column)
    return {mart: sorted(columns) for mart, columns in found.items()}


def month_partitions(con: duckdb.DuckDBPyConnection, placement: dict[str, list[str]]) -> pl.DataFrame:
    """One row per mart and month: how many rows it holds and a hash of their content.

    The content hash adds up two different 64-bit hashes of every row (as 128-bit integers, so nothing
    wraps): it does not depend on the rows' order, a repeated row counts twice, and one pass over the mart
    is enough (sorting a month's rows to hash them in order cost fifteen times as long)."""
    frames = []
    for mart, dates in sorted(placement.items()):
        month = f"date_trunc('month', least({', '.join(f'r.{c}' for c in dates)}))"
        # Mart and column names come from the catalogue (configuration in the repository), never user input.
        frames.append(con.execute(f"""
            select
                $mart as mart,
                cast({month} as date) as month,
                count(*) as rows,
                cast(sum(cast(hash(r) as hugeint)) as varchar) || '-'
                    || cast(sum(cast(hash(r, 'second') as hugeint)) as varchar) as content_hash
            from {mart} as r
            where {month} is not null
            group by all
            order by month
        """, {"mart": mart}).pl())
    if not frames:
        return pl.DataFrame(schema=PARTITION_SCHEMA)
    return pl.concat(frames).cast(PARTITION_SCHEMA)  # type: ignore[arg-type]


def context_hash(con: duckdb.DuckDBPyConnection, catalogue: Catalogue, coverage: dict[str, Coverage]) -> str:
    """A hash of everything every period depends on besides the marts' own rows."""
    digest = hashlib.sha256()
    for table in ("areas", "area_population"):
        frame = con.execute(f"select * from {table} order by all").pl()
        digest.update(frame.write_csv().encode())
    digest.update(catalogue.to_frame().write_csv().encode())
    digest.update(repr(sorted((s, c.first_month.isoformat()) for s, c in coverage.items())).encode())
    for sql in sorted(SQL_DIR.glob("*.sql")):
        digest.update(sql.read_bytes())
    return digest.hexdigest()


def plan_refresh(con: duckdb.DuckDBPyConnection, catalogue: Catalogue, coverage: dict[str, Coverage], *,
                 force_from: date | None = None, force_to: date | None = None, full: bool = False) -> RefreshPlan:
    """Which periods of which indicators to compute: those touched by a changed month, and new ones.

    `force_from`/`force_to` (first days of months) recompute that range of months and the reporting
    years that overlap it whatever the hashes say: a backfill.
    """
    partitions = month_partitions(con, placement_dates(catalogue))
    context = context_hash(con, catalogue, coverage)
    tables = {row[0] for row in con.execute("select table_name from information_schema.tables").fetchall()}
    previous_context = (con.execute(f"select context_hash from {PARTITION_CONTEXT}").fetchone()
                        if PARTITION_CONTEXT in tables else None)
    have_previous = {PARTITION_STATE, COMPUTED_VALUES} <= tables and previous_context is not None
    if full:
        reason = "a full refresh was asked for"
    elif not have_previous:
        reason = "no earlier refresh to build on"
    elif previous_context[0] != context:  # type: ignore[index]
        reason = "areas, populations, catalogue or history start changed"
    else:
        reason = ""
    plan = RefreshPlan(full=bool(reason), reason=reason or "changed months only", partitions=partitions,
                       context_hash=context)
    done = pl.DataFrame(schema={"indicator_id": pl.Utf8, "period_type": pl.Utf8, "period_start": pl.Date})
    if not plan.full:
        old = con.execute(f"select mart, month, rows, content_hash from {PARTITION_STATE}").pl().cast(
            PARTITION_SCHEMA)  # type: ignore[arg-type]
        changed = (partitions.join(old, on=["mart", "month"], how="full", coalesce=True, suffix="_old")
                   .filter(pl.col("content_hash").ne_missing(pl.col("content_hash_old"))))
        for mart, months in changed.group_by("mart").agg(pl.col("month").sort()).rows():
            plan.changed_months[mart] = months
            plan.changed_from[mart] = months[0]
        done = con.execute(f"select distinct indicator_id, period_type, period_start from {COMPUTED_VALUES}").pl()
    periods = con.execute("select period_type, period_start, period_end from periods").pl()
    for indicator in catalogue.indicators:
        source_coverage = coverage.get(indicator.source)
        if source_coverage is None:
            continue
        grid = pl.concat([covered_periods(periods, period_type, source_coverage)
                          for period_type in indicator.periods])
        if plan.full:
            chosen = grid.with_columns(reason=pl.lit(plan.reason))
        else:
            ours = done.filter(pl.col("indicator_id") == indicator.id).drop("indicator_id")
            since = plan.changed_from.get(indicator.calculation.table)
            why = (pl.when(pl.col("_new")).then(pl.lit("new period"))
                      .when(pl.lit(since is not None) & (pl.col("period_end") >= pl.lit(since or UNDATED)))
                      .then(pl.lit(f"{indicator.calculation.table} changed from {since}"))
                      .when(_overlaps(force_from, force_to)).then(pl.lit("backfill asked for")))
            chosen = (grid.join(ours.with_columns(_new=pl.lit(False)), on=["period_type", "period_start"],
                                how="left")
                      .with_columns(pl.col("_new").fill_null(True))
                      .with_columns(reason=why).drop_nulls("reason").drop("_new"))
        if chosen.height:
            plan.periods[indicator.id] = chosen.select("period_type", "period_start", "reason")
    return plan


def _overlaps(first: date | None, last: date | None) -> pl.Expr:
    if first is None and last is None:
        return pl.lit(False)
    expression = pl.lit(True)
    if first is not None:
        expression = expression & (pl.col("period_end") >= pl.lit(first))
    if last is not None:
        expression = expression & (pl.col("period_start") <= pl.lit(last).dt.month_end())
    return expression


def keep_unchanged(con: duckdb.DuckDBPyConnection, fresh: pl.DataFrame, plan: RefreshPlan, catalogue: Catalogue,
                   coverage: dict[str, Coverage], periods: pl.DataFrame) -> pl.DataFrame:
    """Last refresh's values (COMPUTED_VALUES on `con`) for the periods not recomputed, still covered, beside
    the fresh ones. The rows kept are chosen in DuckDB, so last night's whole table is never read into memory
    beside the fresh values (at national scale it is millions of rows)."""
    if plan.full:
        return fresh
    valid = []
    for indicator in catalogue.indicators:
        source_coverage = coverage.get(indicator.source)
        if source_coverage is None:
            continue
        grid = pl.concat([covered_periods(periods, t, source_coverage) for t in indicator.periods])
        valid.append(grid.select("period_type", "period_start").with_columns(indicator_id=pl.lit(indicator.id)))
    keys = ["indicator_id", "period_type", "period_start"]
    schema = pl.Schema({"indicator_id": pl.Utf8(), "period_type": pl.Utf8(), "period_start": pl.Date()})
    still_valid = pl.concat([v.select(keys) for v in valid]) if valid else pl.DataFrame(schema=schema)
    recomputed = plan.recomputed().select(keys)
    con.register("_still_valid", arrow_of(still_valid.cast(schema)))
    con.register("_recomputed", arrow_of(recomputed.cast(schema)))
    try:
        kept = con.execute(
            f"select * from {COMPUTED_VALUES} semi join _still_valid using ({', '.join(keys)}) "
            f"anti join _recomputed using ({', '.join(keys)})").pl()
    finally:
        con.unregister("_still_valid")
        con.unregister("_recomputed")
    return pl.concat([kept.select(fresh.columns).cast(fresh.schema), fresh])  # type: ignore[arg-type]

