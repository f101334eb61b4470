"""Read-only access to the live published snapshot: the only dashboard module that touches the database.

Every call follows `published/CURRENT`, so a newly published snapshot is used on the next request
without a restart. Snapshots are complete before CURRENT switches, so a half-written one is never
seen. Connections are opened read-only and queries bind every value as a parameter.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import duckdb
import polars as pl
from plotly.io.json import to_json_plotly

from oba_pipeline.config import Home
from oba_pipeline.publish import PUBLIC_DB, SNAPSHOT_DB, current_snapshot, read_manifest

log = logging.getLogger(__name__)

Direction = Literal["up", "down", "flat"]
Verdict = Literal["better", "worse", "no change", "not judged"]

PERIOD_TYPE_LABELS = {"month": "Monthly", "reporting_year": "Reporting year (April to March)"}
# The same choices as they read inside a sentence ("Northtown, monthly figures").
PERIOD_TYPE_PHRASES = {"month": "monthly", "reporting_year": "reporting year (April to March)"}

# Column sets of the frames this module returns, so an empty state has the same shape as a full one.
AREA_SCHEMA: dict[str, Any] = {"area_code": pl.String, "area_name": pl.String, "area_type": pl.String,
               "parent_code": pl.String, "display_order": pl.Int64}
CATALOGUE_SCHEMA: dict[str, Any] = {
    "indicator_id": pl.String, "name": pl.String, "definition": pl.String, "oba_kind": pl.String,
    "quadrant": pl.String, "result": pl.String, "service": pl.String, "polarity": pl.String,
    "unit": pl.String, "unit_label": pl.String, "decimals": pl.Int64, "periods": pl.String,
    "numerator": pl.String, "denominator": pl.String, "source": pl.String,
    "disaggregations": pl.String, "display_order": pl.Int64,
}
HISTORY_SCHEMA: dict[str, Any] = {"period_label": pl.String, "period_start": pl.Date, "period_end": pl.Date,
                  "value": pl.Float64, "numerator": pl.Float64, "denominator": pl.Float64,
                  "status": pl.String}
SOURCE_SCHEMA: dict[str, Any] = {"source": pl.String, "title": pl.String, "rows_loaded": pl.Int64,
                 "first_date": pl.Date, "last_date": pl.Date, "loaded_at": pl.Datetime}
SCORECARD_SCHEMA: dict[str, Any] = {
    **CATALOGUE_SCHEMA,
    "periods_available": pl.Int64,
    "latest_label": pl.String, "latest_status": pl.String, "latest_value": pl.Float64,
    "prior_label": pl.String, "prior_status": pl.String, "prior_value": pl.Float64,
    "direction": pl.String, "verdict": pl.String, "run_length": pl.Int64,
    "recent_values": pl.List(pl.Float64), "recent_statuses": pl.List(pl.String),
}
# How many periods a scorecard row carries for its sparkline: a year of months and one more.
RECENT_PERIODS = 13

# Identifiers are fixed here in code; every value reaches DuckDB as a bound parameter.
_SQL_AREAS = """
select area_code, area_name, area_type, parent_code, cast(display_order as bigint) as display_order
from areas
order by case when area_type = 'authority' then 0 else 1 end, display_order, area_name
"""
_SQL_CATALOGUE = """
select indicator_id, name, definition, oba_kind, quadrant, result, service, polarity, unit,
       unit_label, cast(decimals as bigint) as decimals, periods, numerator, denominator, source,
       disaggregations, cast(display_order as bigint) as display_order
from indicators
order by display_order, indicator_id
"""
_SQL_PERIOD_TYPES = "select distinct period_type from indicator_values"
_SQL_AREA_VALUES = """
select indicator_id, period_label, period_start, period_end, value, status
from indicator_values
where area_code = $area_code and period_type = $period_type
order by indicator_id, period_start
"""
_SQL_HISTORY = """
select period_label, period_start, period_end, value, numerator, denominator, status
from indicator_values
where indicator_id = $indicator_id and area_code = $area_code and period_type = $period_type
order by period_start
"""
_SQL_SOURCES = """
select source, title, cast(rows_loaded as bigint) as rows_loaded, first_date, last_date, loaded_at
from sources
order by source
"""


# Query results and built page parts kept per open snapshot. A published snapshot never changes, so what was
# read or built from it stays right until CURRENT names another snapshot, which opens a new _Snapshot with
# empty stores. Page parts are larger than query results, so fewer are kept.
RESULTS_PER_SNAPSHOT = 2048
PARTS_PER_SNAPSHOT = 256


class Memo:
    """A bounded, thread-safe store of values, least recently used dropped first."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._values: OrderedDict[Hashable, Any] = OrderedDict()

    def get(self, key: Hashable) -> Any:
        """The value kept under `key`, or None."""
        with self._lock:
            value = self._values.get(key)
            if value is not None:
                self._values.move_to_end(key)
            return value

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._values[key] = value
            self._values.move_to_end(key)
            while len(self._values) > self._size:
                self._values.popitem(last=False)


@dataclass
class _Snapshot:
    """One open read-only connection to one snapshot, with its manifest and the results read from it."""

    folder: Path
    connection: duckdb.DuckDBPyConnection
    manifest: dict[str, Any]
    results: Memo = field(default_factory=lambda: Memo(RESULTS_PER_SNAPSHOT))
    parts: Memo = field(default_factory=lambda: Memo(PARTS_PER_SNAPSHOT))


class _SnapshotCache:
    """Keeps one connection per OBA home, re-opened when `published/CURRENT` names another snapshot.

    The server answers requests on several threads: a DuckDB connection must not be shared between
    threads, so each query runs on its own cursor, and the lock only guards the swap of snapshots.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[tuple[Path, bool], _Snapshot] = {}

    def get(self, home: Home, public: bool = False) -> _Snapshot | None:
        folder = current_snapshot(home)
        key = (home.root, public)
        with self._lock:
            held = self._open.get(key)
            if folder is None or (public and not (folder / PUBLIC_DB).exists()):
                if held is not None:
                    self._open.pop(key)
                return None
            if held is not None and held.folder == folder:
                return held
            # A public reader's connection is to the public database: the fuller figures are out of reach.
            snapshot = _Snapshot(
                folder=folder,
                connection=duckdb.connect(str(folder / (PUBLIC_DB if public else SNAPSHOT_DB)), read_only=True),
                manifest=read_manifest(folder),
            )
            # The old connection is dropped, not closed: a request on another thread may still be
            # reading through a cursor on it. It is released once nothing refers to it.
            self._open[key] = snapshot
            log.info("dashboard now reads snapshot %s", folder.name)
            return snapshot


_CACHE = _SnapshotCache()


def _viewer() -> Any:
    """Who is reading (dashboards.auth.Viewer), or None outside a web request (library code and tests)."""
    from dashboards.auth import current_viewer

    return current_viewer()


def _snapshot(home: Home) -> _Snapshot | None:
    """The live snapshot as the current reader may read it: None for nobody signed in or nothing published."""
    viewer = _viewer()
    if viewer is not None and viewer.role == "none":
        return None
    return _CACHE.get(home, public=viewer is not None and viewer.public)


def _query(snapshot: _Snapshot, sql: str, params: dict[str, Any], schema: dict[str, Any]) -> pl.DataFrame:
    """The whole result of one query on `snapshot`, read once per snapshot and then kept.

    Kept before any area restriction is applied (that is done per reader in _frame), and per connection,
    so a public reader's results come from the public database only. Frames are shared between requests:
    polars operations return new frames, and nothing here changes one in place.
    """
    key = (sql, tuple(sorted((name, tuple(value) if isinstance(value, list) else value)
                             for name, value in params.items())))
    kept = snapshot.results.get(key)
    if kept is not None:
        return kept  # type: ignore[no-any-return]
    cursor = snapshot.connection.cursor()
    try:
        # Replacement scans off (per cursor: a setting at connect time would clash with other read-only
        # connections to the same file in one process): a table missing from an older snapshot must be a
        # CatalogException, handled as an empty state, never a Python name of the same name read as a table.
        cursor.execute("set python_enable_replacements = false")
        frame = cursor.execute(sql, params).pl()
    except (duckdb.CatalogException, duckdb.BinderException) as exc:
        # A snapshot published without this table or column (an earlier pipeline version): show
        # the empty state for this part of the page rather than failing the whole page.
        log.warning("published snapshot has no table for this query: %s", exc)
        frame = pl.DataFrame(schema=schema)
    finally:
        cursor.close()
    frame = frame.cast({name: dtype for name, dtype in schema.items() if name in frame.columns})
    snapshot.results.put(key, frame)
    return frame


def _frame(home: Home, sql: str, params: dict[str, Any], schema: dict[str, Any]) -> pl.DataFrame:
    """Run one query on the live snapshot; an empty frame of `schema` when there is nothing to read.

    Area restrictions are enforced here, where data is read: a query for an area the reader may not
    see returns nothing, and rows of other areas are removed from any result that names its area.
    """
    viewer = _viewer()
    if viewer is not None and viewer.areas is not None:
        asked = [params[k] for k in ("area_code", "parent_code") if k in params]
        asked += list(params.get("area_codes", []))
        if any(not viewer.may_see(code) for code in asked):
            log.warning("%s (%s) asked for area(s) %s outside their areas %s: nothing returned",
                        viewer.username, viewer.role, asked, viewer.areas)
            return pl.DataFrame(schema=schema)
    snapshot = _snapshot(home)
    if snapshot is None:
        return pl.DataFrame(schema=schema)
    frame = _query(snapshot, sql, params, schema)
    if viewer is not None and viewer.areas is not None and "area_code" in frame.columns:
        frame = frame.filter(pl.col("area_code").is_in(list(viewer.areas)))
    return frame


def per_snapshot(build: Callable[..., Any]) -> Callable[..., Any]:
    """Keep what a page builder `build(home, *args)` gives, as the plain JSON Dash sends to the browser.

    Kept per live snapshot, per reader's role and areas (a public or area-restricted reader never gets what
    was built for someone who may see more) and per arguments, which must be hashable. The plain form is
    what Dash would serialise anyway, and serialising it again is far cheaper than walking components.
    For callbacks and page layouts only: a builder's side effects (audit records) must stay outside it.
    """

    @functools.wraps(build)
    def kept(home: Home, *args: Hashable) -> Any:
        snapshot = _snapshot(home)
        if snapshot is None:
            return build(home, *args)
        viewer = _viewer()
        key = (build.__module__, build.__qualname__, None if viewer is None else (viewer.role, viewer.areas), args)
        value = snapshot.parts.get(key)
        if value is None:
            value = json.loads(to_json_plotly(build(home, *args)))
            snapshot.parts.put(key, value)
        return value

    return kept


def snapshot_info(home: Home) -> dict[str, Any] | None:
    """The live snapshot's manifest (id, published_at, extract_date, authority, tables), or None."""
    snapshot = _snapshot(home)
    if snapshot is None:
        return None
    return {**snapshot.manifest, "folder": str(snapshot.folder)}


def areas(home: Home) -> pl.DataFrame:
    """Every area: the authority first, then its localities in display order."""
    return _frame(home, _SQL_AREAS, {}, AREA_SCHEMA)


def catalogue(home: Home) -> pl.DataFrame:
    """The published indicator catalogue in display order."""
    return _frame(home, _SQL_CATALOGUE, {}, CATALOGUE_SCHEMA)


def indicator(home: Home, indicator_id: str) -> dict[str, Any] | None:
    """One catalogue entry as a dict, or None when the snapshot has no such entry."""
    found = catalogue(home).filter(pl.col("indicator_id") == indicator_id)
    return found.row(0, named=True) if found.height else None


def period_types(home: Home) -> list[str]:
    """The period types that have figures, months first."""
    frame = _frame(home, _SQL_PERIOD_TYPES, {}, {"period_type": pl.String})
    present = set(frame.get_column("period_type").to_list())
    return [kind for kind in PERIOD_TYPE_LABELS if kind in present]


def sources(home: Home) -> pl.DataFrame:
    """What each source extract held when the snapshot was built (freshness of the data)."""
    return _frame(home, _SQL_SOURCES, {}, SOURCE_SCHEMA)


def history(home: Home, indicator_id: str, area_code: str, period_type: str) -> pl.DataFrame:
    """Every period of one indicator for one area, oldest first, with its status."""
    params = {"indicator_id": indicator_id, "area_code": area_code, "period_type": period_type}
    return _frame(home, _SQL_HISTORY, params, HISTORY_SCHEMA)


@dataclass(frozen=True)
class Trend:
    """How the latest figure moved from the one before, judged by the measure's polarity."""

    direction: Direction | None
    verdict: Verdict | None
    run_length: int


def judge_trend(values: Sequence[float | None], statuses: Sequence[str], polarity: str,
                decimals: int) -> Trend:
    """The latest movement of a series (oldest first) and how many periods in a row it has held.

    Values are compared at their published precision, so a change too small to show is "no change".
    A suppressed or missing figure breaks the run: a trend is never drawn across a gap.
    """
    steps: list[Direction | None] = []
    for index in range(1, len(values)):
        before, after = values[index - 1], values[index]
        if statuses[index - 1] != "ok" or statuses[index] != "ok" or before is None or after is None:
            steps.append(None)
            continue
        before_r, after_r = round(before, decimals), round(after, decimals)
        steps.append("up" if after_r > before_r else "down" if after_r < before_r else "flat")
    if not steps or steps[-1] is None:
        return Trend(direction=None, verdict=None, run_length=0)
    direction = steps[-1]
    run = 0
    for step in reversed(steps):
        if step != direction:
            break
        run += 1
    return Trend(direction=direction, verdict=verdict_for(direction, polarity), run_length=run)


def verdict_for(direction: Direction, polarity: str) -> Verdict:
    """Whether a movement is good news for a measure of this polarity."""
    if direction == "flat":
        return "no change"
    if polarity == "neutral":
        return "not judged"
    went_up = direction == "up"
    return "better" if went_up == (polarity == "higher_is_better") else "worse"


def scorecard_rows(home: Home, area_code: str, period_type: str) -> pl.DataFrame:
    """One row per catalogue entry: latest and prior figures for the area and period type, and trend.

    Every catalogue entry appears, including those with no figures for this period type (their
    latest_* columns are null), so nothing silently drops off the scorecard. An area the reader may
    not see gives no rows at all.
    """
    viewer = _viewer()
    if viewer is not None and not viewer.may_see(area_code):
        return pl.DataFrame(schema=SCORECARD_SCHEMA)
    entries = catalogue(home)
    values = _frame(home, _SQL_AREA_VALUES, {"area_code": area_code, "period_type": period_type},
                    {"indicator_id": pl.String, **HISTORY_SCHEMA})
    series = values.group_by("indicator_id", maintain_order=True).agg(
        pl.col("period_label"), pl.col("value"), pl.col("status"))
    by_id = {row["indicator_id"]: row for row in series.iter_rows(named=True)}
    # A plain loop over catalogue entries (tens of rows): the run-length logic reads more clearly
    # as Python than as list expressions, and judge_trend is tested on its own.
    rows: list[dict[str, Any]] = []
    for entry in entries.iter_rows(named=True):
        found = by_id.get(entry["indicator_id"])
        labels: list[str] = found["period_label"] if found else []
        vals: list[float | None] = found["value"] if found else []
        stats: list[str] = found["status"] if found else []
        trend = judge_trend(vals, stats, entry["polarity"], int(entry["decimals"] or 0))
        rows.append({
            **entry,
            "periods_available": len(labels),
            "latest_label": labels[-1] if labels else None,
            "latest_status": stats[-1] if stats else None,
            "latest_value": vals[-1] if vals and stats[-1] == "ok" else None,
            "prior_label": labels[-2] if len(labels) > 1 else None,
            "prior_status": stats[-2] if len(stats) > 1 else None,
            "prior_value": vals[-2] if len(vals) > 1 and stats[-2] == "ok" else None,
            "direction": trend.direction,
            "verdict": trend.verdict,
            "run_length": trend.run_length,
            "recent_values": vals[-RECENT_PERIODS:],
            "recent_statuses": stats[-RECENT_PERIODS:],
        })
    return pl.DataFrame(rows, schema=SCORECARD_SCHEMA)


# --- Turn the curve (published by assets/turn_the_curve.py) -------------------------------------------------

TTC_SCORECARD_SCHEMA: dict[str, Any] = {
    "indicator_id": pl.String, "target": pl.Float64, "variance_from_target": pl.Float64,
    "percent_of_target": pl.Float64, "target_met": pl.Boolean, "forecast_value": pl.Float64,
    "next_period": pl.String, "next_forecast_value": pl.Float64, "next_forecast_lower": pl.Float64,
    "next_forecast_upper": pl.Float64, "forecast_note": pl.String, "baseline_start_period": pl.String,
    "change_since_baseline_start_pct": pl.Float64, "ttc_verdict": pl.String, "verdict_baseline": pl.String,
    "cycle_name": pl.String, "ttc_reason": pl.String,
}

_SQL_TTC_SCORECARD = """
select s.indicator_id, s.target, s.variance_from_target, s.percent_of_target, s.target_met, s.forecast_value,
       s.next_period, s.next_forecast_value, s.next_forecast_lower, s.next_forecast_upper, s.forecast_note,
       s.baseline_start_period,
       s.change_since_baseline_start_pct, s.verdict as ttc_verdict, s.verdict_baseline, s.cycle_name,
       t.reason as ttc_reason
from scorecard as s
left join turn_the_curve as t
  on t.indicator_id = s.indicator_id and t.area_code = s.area_code and t.period_type = s.period_type
 and t.baseline = s.verdict_baseline and coalesce(t.cycle_name, '') = coalesce(s.cycle_name, '')
where s.area_code = $area_code and s.period_type = $period_type
qualify row_number() over (partition by s.indicator_id order by t.cycle_id desc nulls last) = 1
"""


def ttc_scorecard(home: Home, area_code: str, period_type: str) -> pl.DataFrame:
    """The turn-the-curve scorecard columns (target, forecast, change since the baseline began, verdict)."""
    return _frame(home, _SQL_TTC_SCORECARD, {"area_code": area_code, "period_type": period_type},
                  TTC_SCORECARD_SCHEMA)


# --- What families say (family_vs_service, family_themes, family_rater_gaps) --------------------------

FAMILY_THEME_SCHEMA: dict[str, Any] = {
    "theme": pl.String, "theme_name": pl.String, "description": pl.String, "family_measure": pl.String,
    "what_matters_measure": pl.String, "service_measures": pl.String, "data_development": pl.String,
    "family_areas": pl.String, "display_order": pl.Int64,
}
FAMILY_VS_SERVICE_SCHEMA: dict[str, Any] = {
    "theme": pl.String, "theme_name": pl.String, "theme_order": pl.Int64, "area_code": pl.String,
    "area_name": pl.String, "area_type": pl.String, "period_start": pl.Date, "period_label": pl.String,
    "family_measure": pl.String, "family_measure_name": pl.String, "family_value": pl.Float64,
    "family_status": pl.String, "family_numerator": pl.Float64, "family_denominator": pl.Float64,
    "family_baseline": pl.Float64, "family_direction": pl.String, "follow_up_completion": pl.Float64,
    "follow_up_completion_status": pl.String, "service_measure": pl.String, "service_measure_name": pl.String,
    "service_value": pl.Float64, "service_status": pl.String, "service_unit_label": pl.String,
    "service_baseline": pl.Float64, "service_direction": pl.String, "agreement": pl.String,
    "divergent": pl.Boolean,
}
RATER_GAP_SCHEMA: dict[str, Any] = {
    "instrument": pl.String, "rater": pl.String, "other_rater": pl.String, "area_code": pl.String,
    "period_start": pl.Date, "period_label": pl.String, "families": pl.Int64, "pairs": pl.Int64,
    "mean_gap": pl.Float64, "ci_low": pl.Float64, "ci_high": pl.Float64, "rater_higher_pct": pl.Float64,
    "status": pl.String,
}
WHAT_MATTERS_SCHEMA: dict[str, Any] = {"indicator_id": pl.String, "period_start": pl.Date, "value": pl.Float64,
                                       "status": pl.String}

_SQL_FAMILY_THEMES = """
select theme, theme_name, description, family_measure, what_matters_measure, service_measures,
       data_development, family_areas, cast(display_order as bigint) as display_order
from family_themes
order by display_order
"""
_SQL_FAMILY_VS_SERVICE = """
select theme, theme_name, cast(theme_order as bigint) as theme_order, area_code, area_name, area_type,
       period_start, period_label, family_measure, family_measure_name, family_value, family_status,
       family_numerator, family_denominator, family_baseline, family_direction, follow_up_completion,
       follow_up_completion_status, service_measure, service_measure_name, service_value, service_status,
       service_unit_label, service_baseline, service_direction, agreement, divergent
from family_vs_service
where area_code = $area_code
order by period_start, theme_order, service_measure
"""
_SQL_FAMILY_DIVERGENT = """
select theme, theme_name, cast(theme_order as bigint) as theme_order, area_code, area_name, area_type,
       period_start, period_label, family_measure, family_measure_name, family_value, family_status,
       family_numerator, family_denominator, family_baseline, family_direction, follow_up_completion,
       follow_up_completion_status, service_measure, service_measure_name, service_value, service_status,
       service_unit_label, service_baseline, service_direction, agreement, divergent
from family_vs_service
where divergent and period_start <= $period_start
    and period_start > $period_start - interval 3 year
order by period_start desc, case when area_type = 'authority' then 0 else 1 end, area_code, theme_order
"""
_SQL_RATER_GAPS = """
select instrument, rater, other_rater, area_code, period_start, period_label,
       cast(families as bigint) as families, cast(pairs as bigint) as pairs, mean_gap, ci_low, ci_high,
       rater_higher_pct, status
from family_rater_gaps
where area_code = $area_code and period_start = $period_start
order by instrument, rater, other_rater
"""
_SQL_WHAT_MATTERS = """
select indicator_id, period_start, value, status
from indicator_values
where area_code = $area_code and period_type = 'reporting_year' and indicator_id like 'what_matters_%'
order by indicator_id, period_start
"""


def family_themes(home: Home) -> pl.DataFrame:
    """The outcome themes: names, the family measure and the service measures claiming each."""
    return _frame(home, _SQL_FAMILY_THEMES, {}, FAMILY_THEME_SCHEMA)


def family_vs_service(home: Home, area_code: str) -> pl.DataFrame:
    """Every theme, reporting year and service measure for one area, families' side and services' side."""
    return _frame(home, _SQL_FAMILY_VS_SERVICE, {"area_code": area_code}, FAMILY_VS_SERVICE_SCHEMA)


def family_divergent(home: Home, period_start: Any) -> pl.DataFrame:
    """The theme and area rows, in every area, where families and services moved opposite ways in the
    reporting year starting `period_start` or the two before it, newest first."""
    return _frame(home, _SQL_FAMILY_DIVERGENT, {"period_start": period_start}, FAMILY_VS_SERVICE_SCHEMA)


def family_rater_gaps(home: Home, area_code: str, period_start: Any) -> pl.DataFrame:
    """Gaps between family and professional ratings of the same families, for one area and year."""
    return _frame(home, _SQL_RATER_GAPS, {"area_code": area_code, "period_start": period_start},
                  RATER_GAP_SCHEMA)


def what_matters(home: Home, area_code: str) -> pl.DataFrame:
    """How often families named each theme as what matters most, per reporting year, for one area."""
    return _frame(home, _SQL_WHAT_MATTERS, {"area_code": area_code}, WHAT_MATTERS_SCHEMA)


# --- Benchmarks: the published national statistics (progress maps page) ------------------------------

BENCHMARK_HOME_SCHEMA: dict[str, Any] = {
    "authority_code": pl.String, "authority_name": pl.String, "set_by": pl.String, "local_area_code": pl.String,
    "local_area_name": pl.String, "has_published_figures": pl.Boolean, "neighbour_models": pl.String,
}
BENCHMARK_MEASURE_SCHEMA: dict[str, Any] = {
    "measure_id": pl.String, "name": pl.String, "definition": pl.String, "polarity": pl.String,
    "unit": pl.String, "unit_label": pl.String, "decimals": pl.Int64, "local_indicator_id": pl.String,
    "display_order": pl.Int64,
}
BENCHMARK_SCHEMA: dict[str, Any] = {
    "measure_id": pl.String, "year": pl.Int64, "period_label": pl.String, "area_code": pl.String,
    "area_name": pl.String, "region_code": pl.String, "region_name": pl.String, "value": pl.Float64,
    "status": pl.String, "england_value": pl.Float64, "region_value": pl.Float64,
    "neighbour_model": pl.String, "neighbour_model_name": pl.String, "neighbours_mean": pl.Float64,
    "neighbours_median": pl.Float64, "neighbours_with_figures": pl.Int64, "rank": pl.Int64,
    "ranked_authorities": pl.Int64, "quartile": pl.Int64,
}
_BENCHMARK_COLUMNS = ", ".join(f'"{name}"' for name in BENCHMARK_SCHEMA)
_SQL_BENCHMARK_HOME = "select * from benchmark_home"
_SQL_BENCHMARK_MEASURES = """
select measure_id, name, definition, polarity, unit, unit_label, cast(decimals as bigint) as decimals,
       local_indicator_id, cast(display_order as bigint) as display_order
from benchmark_measures
where measure_id in (select distinct measure_id from benchmarks)
order by display_order
"""
_SQL_BENCHMARK_AUTHORITY = f"""
select {_BENCHMARK_COLUMNS} from benchmarks
where measure_id = $measure_id and area_code = $area_code
order by year
"""
_SQL_BENCHMARK_YEAR = f"""
select {_BENCHMARK_COLUMNS} from benchmarks
where measure_id = $measure_id and year = $year
order by area_name
"""
_SQL_BENCHMARK_NEIGHBOURS = f"""
select {", ".join(f'b."{name}"' for name in BENCHMARK_SCHEMA)}
from benchmarks as b
inner join benchmark_neighbours as n on n.neighbour_code = b.area_code
where n.area_code = $area_code and b.measure_id = $measure_id and b.year = $year
  and n.model = b.neighbour_model
order by n.neighbour_rank
"""
_SQL_BENCHMARK_AUTHORITIES = """
select distinct area_code, area_name from benchmarks order by area_name
"""


def benchmark_home(home: Home) -> dict[str, Any] | None:
    """Which authority is benchmarked as home and why, or None when nothing says."""
    frame = _frame(home, _SQL_BENCHMARK_HOME, {}, BENCHMARK_HOME_SCHEMA)
    return frame.row(0, named=True) if frame.height else None


def benchmark_measures(home: Home) -> pl.DataFrame:
    """The published measures that have figures in the snapshot, in catalogue order."""
    return _frame(home, _SQL_BENCHMARK_MEASURES, {}, BENCHMARK_MEASURE_SCHEMA)


def benchmark_authorities(home: Home) -> pl.DataFrame:
    """Every authority with published figures, by name."""
    return _frame(home, _SQL_BENCHMARK_AUTHORITIES, {}, {"area_code": pl.String, "area_name": pl.String})


def benchmark_series(home: Home, measure_id: str, area_code: str) -> pl.DataFrame:
    """One authority's figures on one measure, every year, with its comparators."""
    return _frame(home, _SQL_BENCHMARK_AUTHORITY, {"measure_id": measure_id, "area_code": area_code},
                  BENCHMARK_SCHEMA)


def benchmark_year(home: Home, measure_id: str, year: int) -> pl.DataFrame:
    """Every authority's figure on one measure in one year."""
    return _frame(home, _SQL_BENCHMARK_YEAR, {"measure_id": measure_id, "year": year}, BENCHMARK_SCHEMA)


def benchmark_neighbour_values(home: Home, measure_id: str, area_code: str, year: int) -> pl.DataFrame:
    """The authority's statistical neighbours' figures on one measure in one year, closest first."""
    params = {"measure_id": measure_id, "area_code": area_code, "year": year}
    return _frame(home, _SQL_BENCHMARK_NEIGHBOURS, params, BENCHMARK_SCHEMA)

BENCHMARK_SOURCE_SCHEMA: dict[str, Any] = {"file": pl.String, "format_title": pl.String, "status": pl.String,
                                           "first_year": pl.Int64, "last_year": pl.Int64, "message": pl.String}
BENCHMARK_FINDING_SCHEMA: dict[str, Any] = {"kind": pl.String, "severity": pl.String, "message": pl.String}
_SQL_BENCHMARK_SOURCES = """
select file, format_title, status, cast(first_year as bigint) as first_year, cast(last_year as bigint) as last_year,
       message
from benchmark_sources order by file
"""
_SQL_BENCHMARK_FINDINGS = """
select kind, severity, message from benchmark_findings
where measure_id = $measure_id or measure_id is null
order by case severity when 'error' then 0 when 'warning' then 1 else 2 end, kind, message
limit $most
"""


def benchmark_sources(home: Home) -> pl.DataFrame:
    """The published files behind the benchmarks and whether each was loaded."""
    return _frame(home, _SQL_BENCHMARK_SOURCES, {}, BENCHMARK_SOURCE_SCHEMA)


def benchmark_findings(home: Home, measure_id: str, most: int = 50) -> pl.DataFrame:
    """Data-quality findings about one measure and about the files, most serious first."""
    return _frame(home, _SQL_BENCHMARK_FINDINGS, {"measure_id": measure_id, "most": most}, BENCHMARK_FINDING_SCHEMA)


# --- measure page and sessions ---------------------------------------------------------------------------
# The measure page, the turn-the-curve session page and the report cards read the published turn-the-curve
# tables here. The partnership's own records (sessions, cycles) are read from the application database
# through the appdb layer, with the same area rule as the figures; writes go through
# oba_pipeline.turn_the_curve.sessions and records, never through this module.

BASELINE_ROW_SCHEMA: dict[str, Any] = {
    "series": pl.String, "vintage_id": pl.Int64, "cycle_name": pl.String, "scenario": pl.String,
    "period_start": pl.Date, "period_label": pl.String, "history_value": pl.Float64, "history_status": pl.String,
    "forecast_value": pl.Float64, "lower": pl.Float64, "upper": pl.Float64, "method": pl.String,
    "fitted_from": pl.Date, "fitted_to": pl.Date, "note": pl.String,
}
VERDICT_SCHEMA: dict[str, Any] = {
    "indicator_id": pl.String, "area_code": pl.String, "period_type": pl.String, "baseline": pl.String,
    "vintage_id": pl.Int64, "cycle_id": pl.Int64, "cycle_name": pl.String, "cycle_started_on": pl.Date,
    "overall": pl.String, "overall_label": pl.String, "reason": pl.String, "window_from": pl.Date,
    "window_to": pl.Date, "periods_judged": pl.Int64, "beyond_interval_evidence": pl.String,
    "sustained_evidence": pl.String, "slope_turned_evidence": pl.String, "slowing_evidence": pl.String,
}
STORY_SCHEMA: dict[str, Any] = {
    "dimension": pl.String, "group_value": pl.String, "before_from": pl.Date, "after_to": pl.Date,
    "before_value": pl.Float64, "after_value": pl.Float64, "contribution": pl.Float64,
    "share_of_change": pl.Float64, "total_change": pl.Float64, "rank": pl.Int64, "status": pl.String,
}
VALUES_SCHEMA: dict[str, Any] = {
    "indicator_id": pl.String, "area_code": pl.String, "area_name": pl.String, "area_type": pl.String,
    "period_type": pl.String, "period_start": pl.Date, "period_end": pl.Date, "period_label": pl.String,
    "value": pl.Float64, "numerator": pl.Float64, "denominator": pl.Float64, "status": pl.String,
}

_SQL_MEASURE_BASELINES = """
select series, vintage_id, cycle_name, scenario, period_start, period_label, history_value, history_status,
       forecast_value, lower, upper, method, fitted_from, fitted_to, note
from baselines
where indicator_id = $indicator_id and area_code = $area_code and period_type = $period_type
order by series, vintage_id, scenario, period_start
"""
_SQL_MEASURE_VERDICTS = """
select indicator_id, area_code, period_type, baseline, vintage_id, cycle_id, cycle_name, cycle_started_on,
       overall, overall_label, reason, window_from, window_to, cast(periods_judged as bigint) as periods_judged,
       beyond_interval_evidence, sustained_evidence, slope_turned_evidence, slowing_evidence
from turn_the_curve
where area_code = $area_code and period_type = $period_type
order by indicator_id, cycle_id nulls first
"""
_SQL_STORY = """
select dimension, group_value, before_from, after_to, before_value, after_value, contribution, share_of_change,
       total_change, cast(rank as bigint) as rank, status
from story_behind_the_curve
where indicator_id = $indicator_id and area_code = $area_code
order by dimension, rank
"""
_SQL_VALUES = """
select indicator_id, area_code, area_name, area_type, period_type, period_start, period_end, period_label,
       value, numerator, denominator, status
from indicator_values
where indicator_id = $indicator_id and area_code = $area_code
order by period_type, period_start
"""
_SQL_LINKED_MEASURE = """
select measure_id, name, definition, polarity, unit, unit_label, cast(decimals as bigint) as decimals,
       local_indicator_id, cast(display_order as bigint) as display_order
from benchmark_measures
where local_indicator_id = $indicator_id
order by display_order
limit 1
"""
_ENGINES_KEY = "OBA_SESSION_ENGINES"
_ENGINES_LOCK = threading.Lock()


def measure_baselines(home: Home, indicator_id: str, area_code: str, period_type: str) -> pl.DataFrame:
    """Every published baseline row of one measure in one area: history, forecast, vintages, scenarios."""
    params = {"indicator_id": indicator_id, "area_code": area_code, "period_type": period_type}
    return _frame(home, _SQL_MEASURE_BASELINES, params, BASELINE_ROW_SCHEMA)


def area_verdicts(home: Home, area_code: str, period_type: str) -> pl.DataFrame:
    """The published turn-the-curve verdicts of every measure in one area, provisional first, then by cycle."""
    return _frame(home, _SQL_MEASURE_VERDICTS, {"area_code": area_code, "period_type": period_type}, VERDICT_SCHEMA)


def story_behind_the_curve(home: Home, indicator_id: str, area_code: str) -> pl.DataFrame:
    """Which groups moved a measure over the latest year, per breakdown, largest contribution first."""
    return _frame(home, _SQL_STORY, {"indicator_id": indicator_id, "area_code": area_code}, STORY_SCHEMA)


def measure_values(home: Home, indicator_id: str, area_code: str) -> pl.DataFrame:
    """One measure's published values in one area, every period type (what a cycle's baseline is fitted on)."""
    return _frame(home, _SQL_VALUES, {"indicator_id": indicator_id, "area_code": area_code}, VALUES_SCHEMA)


def comparators(home: Home, indicator_id: str, area_code: str) -> tuple[dict[str, Any] | None, pl.DataFrame]:
    """The published national measure linked to a local indicator, and the home authority's benchmark rows
    (England, region, neighbours), when `area_code` is the local authority benchmarked as home."""
    settings = benchmark_home(home) or {}
    if not settings.get("authority_code") or settings.get("local_area_code") != area_code:
        return None, pl.DataFrame(schema=BENCHMARK_SCHEMA)
    linked = _frame(home, _SQL_LINKED_MEASURE, {"indicator_id": indicator_id}, BENCHMARK_MEASURE_SCHEMA)
    if linked.is_empty():
        return None, pl.DataFrame(schema=BENCHMARK_SCHEMA)
    meta = linked.row(0, named=True)
    return meta, benchmark_series(home, str(meta["measure_id"]), str(settings["authority_code"]))


def app_engine(home: Home) -> Any:
    """The application database engine of the running dashboard (made once per home when sign-in is off)."""
    import flask

    from oba_pipeline.appdb import create_schema, make_engine

    if flask.has_app_context():
        config = flask.current_app.config
        if "OBA_APP_ENGINE" in config:  # dashboards.auth.ENGINE_KEY: the engine sign-in already uses
            return config["OBA_APP_ENGINE"]
        with _ENGINES_LOCK:
            engines = config.setdefault(_ENGINES_KEY, {})
            if home.root not in engines:
                engines[home.root] = make_engine(home=home)
                create_schema(engines[home.root])
            return engines[home.root]
    engine = make_engine(home=home)
    create_schema(engine)
    return engine


def may_read_sessions(area_code: str | None) -> bool:
    """Sessions are the partnership's working notes: signed-in staff of the area, never the public."""
    viewer = _viewer()
    if viewer is None:
        return True
    return viewer.role not in ("none", "public") and viewer.may_see(area_code)


def ttc_sessions(home: Home, indicator_id: str, area_code: str, period_type: str | None = None) -> list[Any]:
    """The sessions held on one measure in one area, latest first (nothing for an area the reader may not see)."""
    from oba_pipeline.turn_the_curve import sessions

    if not may_read_sessions(area_code):
        return []
    return sessions.list_sessions(app_engine(home), indicator_id, area_code, period_type)


def ttc_session(home: Home, session_id: int) -> Any:
    """One session with its partners, what works and actions, or None (also for another area's session)."""
    from oba_pipeline.turn_the_curve import sessions

    found = sessions.get_session(app_engine(home), session_id)
    return found if found is not None and may_read_sessions(found.area_code) else None


def area_sessions(home: Home, area_code: str) -> list[Any]:
    """Every session in one area, latest first (report cards and the progress report)."""
    from oba_pipeline.turn_the_curve import sessions

    if not may_read_sessions(area_code):
        return []
    return sessions.sessions_in_areas(app_engine(home), [area_code])


def cycle_forecast(home: Home, cycle_id: int) -> dict[str, Any] | None:
    """A cycle's frozen baseline straight from the application database (before a refresh publishes it):
    name, start, method and points (period_start, forecast_value, lower, upper)."""
    from sqlalchemy import select
    from sqlalchemy.orm import selectinload

    from oba_pipeline.appdb import session_scope
    from oba_pipeline.appdb.turn_the_curve import BaselineVintage, TtcCycle

    with session_scope(app_engine(home)) as db:
        cycle = db.scalars(select(TtcCycle).options(selectinload(TtcCycle.vintage)
                                                    .selectinload(BaselineVintage.points))
                           .where(TtcCycle.id == cycle_id)).one_or_none()
        if cycle is None or not may_read_sessions(cycle.area_code):
            return None
        return {"cycle_id": cycle.id, "name": cycle.name, "started_on": cycle.started_on,
                "vintage_id": cycle.vintage_id, "method": cycle.vintage.method,
                "fitted_from": cycle.vintage.fitted_from, "fitted_to": cycle.vintage.fitted_to,
                "points": [{"period_start": p.period_start, "forecast_value": p.forecast, "lower": p.lower,
                            "upper": p.upper} for p in cycle.vintage.points]}


# --- whole system and data quality ---

# The whole system: spend on prevention and on late intervention, demand, and capacity, in the catalogue.
WHOLE_SYSTEM_INDICATORS = ("prevention_spend", "late_intervention_spend", "referrals_received", "cin_rate",
                           "cla_rate", "average_caseload_per_fte")
WHOLE_SYSTEM_SCHEMA: dict[str, Any] = {"indicator_id": pl.String, "period_start": pl.Date, "period_label": pl.String,
                                       "value": pl.Float64, "status": pl.String}
SOURCE_DETAIL_SCHEMA: dict[str, Any] = {
    "source": pl.String, "title": pl.String, "files": pl.String, "rows_read": pl.Int64, "rows_loaded": pl.Int64,
    "rows_rejected": pl.Int64, "first_date": pl.Date, "last_date": pl.Date, "loaded_at": pl.Datetime,
}
VALIDATION_SUMMARY_SCHEMA: dict[str, Any] = {"source": pl.String, "rule": pl.String, "column": pl.String,
                                             "rows_rejected": pl.Int64}
VALIDATION_REPORTS_DIR = ("reports", "validation")

_SQL_WHOLE_SYSTEM = """
select indicator_id, period_start, period_label, value, status
from indicator_values
where area_code = $area_code and period_type = $period_type and list_contains($indicator_ids, indicator_id)
order by indicator_id, period_start
"""
_SQL_SOURCE_DETAILS = """
select source, title, files, cast(rows_read as bigint) as rows_read, cast(rows_loaded as bigint) as rows_loaded,
       cast(rows_rejected as bigint) as rows_rejected, first_date, last_date, loaded_at
from sources
order by source
"""
_SQL_VALIDATION_SUMMARY = """
select source, rule, "column", cast(rows_rejected as bigint) as rows_rejected
from validation_summary
order by source, rows_rejected desc, rule, "column"
"""


def whole_system_values(home: Home, area_code: str, period_type: str = "month",
                        indicator_ids: Sequence[str] = WHOLE_SYSTEM_INDICATORS) -> pl.DataFrame:
    """The published figures of the whole-system measures for one area, oldest first per measure."""
    params = {"area_code": area_code, "period_type": period_type, "indicator_ids": list(indicator_ids)}
    return _frame(home, _SQL_WHOLE_SYSTEM, params, WHOLE_SYSTEM_SCHEMA)


def source_details(home: Home) -> pl.DataFrame:
    """Per source: files, rows read, loaded and set aside, dates covered and when its newest file was written."""
    return _frame(home, _SQL_SOURCE_DETAILS, {}, SOURCE_DETAIL_SCHEMA)


def validation_summary(home: Home) -> pl.DataFrame:
    """Rows set aside per source, rule and column (counts only; the public subset has none)."""
    return _frame(home, _SQL_VALIDATION_SUMMARY, {}, VALIDATION_SUMMARY_SCHEMA)


def validation_reports_folder(home: Home) -> Path:
    """Where each refresh writes its HTML validation report per source."""
    return home.root.joinpath(*VALIDATION_REPORTS_DIR)


def validation_reports(home: Home) -> dict[str, float]:
    """The validation reports on disk: source name -> time written (seconds since the epoch)."""
    folder = validation_reports_folder(home)
    if not folder.is_dir():
        return {}
    return {path.stem: path.stat().st_mtime for path in sorted(folder.glob("*.html")) if path.is_file()}
