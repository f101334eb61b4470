"""Builds the published turn-the-curve tables from `indicator_values` and the partnership's records.

- `baselines`: per measure, area and period type, the history (with each value's confidence interval),
  the latest statistical forecast, the provisional baseline the verdicts use when no cycle has been
  started, every frozen vintage and every named scenario.
- `turn_the_curve`: per measure, area and period type, the verdict against the provisional baseline and
  against each cycle's frozen vintage, test by test.
- `scorecard`: the columns a scorecard shows for every measure and area.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from oba_pipeline.catalogue import Catalogue, Indicator
from oba_pipeline.turn_the_curve.forecast import Baseline, NoBaseline, add_months, fit_baseline, step_months
from oba_pipeline.turn_the_curve.intervals import value_interval
from oba_pipeline.turn_the_curve.records import CycleRecord, Records, ScenarioRecord
from oba_pipeline.turn_the_curve.scorecard import scorecard_row
from oba_pipeline.turn_the_curve.series import all_series, period_label
from oba_pipeline.turn_the_curve.verdicts import TESTS, Measure, Series, Verdict, judge

log = logging.getLogger(__name__)

FORECAST_HORIZON = {"month": 12, "reporting_year": 3}
# Without a cycle, the verdict asks: did the latest periods beat what the curve said before them?
PROVISIONAL_WINDOW = {"month": 12, "reporting_year": 2}
SUSTAINED = {"month": 3, "reporting_year": 2}
# Below this many series per worker, starting the workers costs more than they save.
MIN_SERIES_PER_WORKER = 100

VERDICT_LABELS = {
    "better": "Better than the baseline: the curve turned",
    "worse": "Worse than the baseline",
    "slowing": "Still worsening, but more slowly",
    "on_baseline": "On the baseline: no clear change",
    "higher": "Above the baseline",
    "lower": "Below the baseline",
    "withheld": "No verdict",
}

BASELINE_SCHEMA = {
    "indicator_id": pl.Utf8, "area_code": pl.Utf8, "period_type": pl.Utf8, "series": pl.Utf8,
    "vintage_id": pl.Int64, "cycle_name": pl.Utf8, "scenario": pl.Utf8, "period_start": pl.Date,
    "period_label": pl.Utf8, "history_value": pl.Float64, "history_status": pl.Utf8, "history_lower": pl.Float64,
    "history_upper": pl.Float64, "forecast_value": pl.Float64, "lower": pl.Float64, "upper": pl.Float64,
    "method": pl.Utf8, "fitted_from": pl.Date, "fitted_to": pl.Date, "note": pl.Utf8,
}


@dataclass(frozen=True)
class TurnTheCurveTables:
    baselines: pl.DataFrame
    turn_the_curve: pl.DataFrame
    scorecard: pl.DataFrame
    scenarios: pl.DataFrame


def measure_of(indicator: Indicator) -> Measure:
    return Measure(indicator.id, indicator.polarity, indicator.unit, indicator.calculation.scale, indicator.decimals)


def provisional_cutoff(last: date, period_type: str) -> date:
    return add_months(last, -step_months(period_type) * PROVISIONAL_WINDOW[period_type])


def build_tables(values: pl.DataFrame, catalogue: Catalogue, records: Records, *,
                 workers: int | None = None) -> TurnTheCurveTables:
    """Every baseline, verdict and scorecard row for the published indicator values.

    Each measure, area and period type is fitted and judged on its own, so with `workers` above one
    (default: one per CPU) they are shared out among that many processes; the results do not depend on
    the number, because every fit draws from its own seeded generator."""
    areas = values.select("area_code", "area_name", "area_type").unique("area_code")
    cycles = defaultdict(list)
    for cycle in records.cycles:
        cycles[(cycle.indicator_id, cycle.area_code, cycle.period_type)].append(cycle)
    scenarios = defaultdict(list)
    for scenario in records.scenarios:
        scenarios[(scenario.indicator_id, scenario.area_code, scenario.period_type)].append(scenario)
    jobs = [_Job(key, measure_of(catalogue.get(key[0])), series, statuses, cycles.get(key, []),
                 scenarios.get(key, []), records.targets.get(key)) for key, series, statuses in all_series(values)]
    baseline_columns: dict[str, list] = {name: [] for name in BASELINE_SCHEMA}
    verdict_rows: list[dict] = []
    score_rows: list[dict] = []
    for columns, verdicts, score in _run(jobs, workers):
        for name, column in columns.items():
            baseline_columns[name].extend(column)
        verdict_rows += verdicts
        score_rows.append(score)
    turn = _typed(pl.DataFrame(verdict_rows, infer_schema_length=None)) if verdict_rows else pl.DataFrame()
    score = _typed(pl.DataFrame(score_rows, infer_schema_length=None)) if score_rows else pl.DataFrame()
    if turn.height:
        turn = turn.join(areas, on="area_code", how="left").with_columns(
            overall_label=pl.col("overall").replace_strict(VERDICT_LABELS, default=pl.col("overall")))
    if score.height:
        score = score.join(areas, on="area_code", how="left")
    return TurnTheCurveTables(
        baselines=pl.DataFrame(baseline_columns, schema=BASELINE_SCHEMA),
        turn_the_curve=turn,
        scorecard=score,
        scenarios=_scenario_frame(records),
    )


@dataclass(frozen=True)
class _Job:
    """Everything one measure, area and period type needs, in plain Python so it travels to a worker."""

    key: tuple[str, str, str]
    measure: Measure
    series: Series
    statuses: list[str]
    cycles: list[CycleRecord]
    scenarios: list[ScenarioRecord]
    target: float | None


_Result = tuple[dict[str, list], list[dict], dict]


def _run(jobs: list[_Job], workers: int | None) -> Iterator[_Result]:
    """Each job's result, in the jobs' order: in this process when there are too few series to repay
    starting the workers (a few seconds), else in a pool of worker processes."""
    workers = min(workers or os.cpu_count() or 1, len(jobs) // MIN_SERIES_PER_WORKER)
    if workers <= 1:
        yield from map(_series_tables, jobs)
        return
    # forkserver, not fork: the parent runs polars' and Dagster's threads, which a forked child must not inherit.
    # The server imports statsmodels and this module once, so each worker starts without importing them again.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        # Small chunks: a monthly series costs tens of times a yearly one, so large chunks balance badly.
        yield from pool.map(_series_tables, jobs, chunksize=max(1, len(jobs) // (workers * 16)))


def _series_tables(job: _Job) -> _Result:
    """The baseline columns, verdict rows and scorecard row of one measure, area and period type."""
    key, measure, series = job.key, job.measure, job.series
    last = series.periods[-1]
    latest = fit_baseline(series.periods, series.values, period_type=key[2], cutoff=last,
                          horizon=FORECAST_HORIZON[key[2]], unit=measure.unit)
    provisional = fit_baseline(series.periods, series.values, period_type=key[2],
                               cutoff=provisional_cutoff(last, key[2]), horizon=PROVISIONAL_WINDOW[key[2]],
                               unit=measure.unit)
    columns: dict[str, list] = {name: [] for name in BASELINE_SCHEMA}
    _history_columns(columns, key, measure, series, job.statuses)
    _forecast_columns(columns, key, "forecast", latest)
    _forecast_columns(columns, key, "provisional", provisional)
    k = SUSTAINED[key[2]]
    verdict = judge(measure, series, provisional, k=k)
    verdict_rows = [_verdict_row(key, "provisional", provisional, verdict, k)]
    in_use = (verdict, provisional, None)
    for cycle in job.cycles:
        _forecast_columns(columns, key, "vintage", cycle.baseline, vintage_id=cycle.vintage_id,
                          cycle_name=cycle.name)
        cycle_verdict = judge(measure, series, cycle.baseline, k=k)
        verdict_rows.append(_verdict_row(key, "vintage", cycle.baseline, cycle_verdict, k, cycle=cycle))
        in_use = (cycle_verdict, cycle.baseline, cycle)
    for scenario in job.scenarios:
        points = sorted(scenario.values.items())
        _extend(columns, key, "scenario", [p for p, _ in points], scenario=scenario.name,
                forecast_value=[v for _, v in points],
                note=f"{scenario.author}, {scenario.created_at[:10]}: {scenario.reason}")
    return columns, verdict_rows, scorecard_row(key, measure, series, latest, in_use, job.target)


# Columns that can be empty in every row (no cycle, no target yet): their types, so exports stay typed.
NULLABLE_TYPES: dict[str, pl.DataType] = {
    "vintage_id": pl.Int64(), "cycle_id": pl.Int64(), "cycle_started_on": pl.Date(), "baseline_fitted_to": pl.Date(),
    "window_from": pl.Date(), "window_to": pl.Date(), "target_met": pl.Boolean(),
}


def _typed(frame: pl.DataFrame) -> pl.DataFrame:
    """Give columns that are empty in every row a real type (numbers as Float64, text otherwise)."""
    casts = {}
    for name, dtype in frame.schema.items():
        if dtype == pl.Null:
            numeric = any(word in name for word in ("value", "target", "lower", "upper", "pct", "variance"))
            casts[name] = NULLABLE_TYPES.get(name, pl.Float64() if numeric else pl.Utf8())
    return frame.cast(casts) if casts else frame


def _extend(columns: dict[str, list], key: tuple[str, str, str], series: str, periods: list[date],
            **fields: object) -> None:
    """Add one row per period to the baseline columns: `fields` are lists (one value per period) or a value
    shared by them all; the columns not named stay empty."""
    n = len(periods)
    fields.update(indicator_id=key[0], area_code=key[1], period_type=key[2], series=series, period_start=periods,
                  period_label=[period_label(p, key[2]) for p in periods])
    for name, column in columns.items():
        value = fields.get(name)
        column.extend(value if isinstance(value, list) else [value] * n)


def _history_columns(columns: dict[str, list], key: tuple[str, str, str], measure: Measure, series: Series,
                     statuses: list[str]) -> None:
    num = np.array([np.nan if x is None else x for x in series.numerators], dtype=float)
    den = np.array([np.nan if x is None else x for x in series.denominators], dtype=float)
    lower, upper = value_interval(measure.unit, num, den, measure.scale)
    _extend(columns, key, "history", series.periods, history_value=series.values, history_status=statuses,
            history_lower=[None if v is None or not np.isfinite(lo) else float(lo)
                           for v, lo in zip(series.values, lower, strict=True)],
            history_upper=[None if v is None or not np.isfinite(hi) else float(hi)
                           for v, hi in zip(series.values, upper, strict=True)])


def _forecast_columns(columns: dict[str, list], key: tuple[str, str, str], kind: str,
                      baseline: Baseline | NoBaseline, *, vintage_id: int | None = None,
                      cycle_name: str | None = None) -> None:
    if isinstance(baseline, NoBaseline):
        return
    points = baseline.points
    _extend(columns, key, kind, [p.period_start for p in points], vintage_id=vintage_id, cycle_name=cycle_name,
            forecast_value=[p.forecast for p in points], lower=[p.lower for p in points],
            upper=[p.upper for p in points], method=baseline.method, fitted_from=baseline.fitted_from,
            fitted_to=baseline.fitted_to, note=baseline.note or None)


def _verdict_row(key: tuple[str, str, str], kind: str, baseline: Baseline | NoBaseline, verdict: Verdict, k: int,
                 cycle: object = None) -> dict:
    row: dict[str, object] = {
        "indicator_id": key[0], "area_code": key[1], "period_type": key[2], "baseline": kind,
        "vintage_id": getattr(cycle, "vintage_id", None), "cycle_id": getattr(cycle, "cycle_id", None),
        "cycle_name": getattr(cycle, "name", None), "cycle_started_on": getattr(cycle, "started_on", None),
        "method": None if isinstance(baseline, NoBaseline) else baseline.method,
        "baseline_fitted_to": None if isinstance(baseline, NoBaseline) else baseline.fitted_to,
        "window_from": verdict.window_from, "window_to": verdict.window_to, "periods_judged": verdict.periods_judged,
        "sustained_k": k,
    }
    for name in TESTS:
        test = verdict.tests[name]
        row[f"{name}_result"] = test.result
        row[f"{name}_evidence"] = test.evidence
    row["overall"] = verdict.overall
    row["reason"] = verdict.reason or None
    return row


def _scenario_frame(records: Records) -> pl.DataFrame:
    return pl.DataFrame(
        [{"scenario_id": s.scenario_id, "indicator_id": s.indicator_id, "area_code": s.area_code,
          "period_type": s.period_type, "name": s.name, "author": s.author, "created_at": s.created_at,
          "reason": s.reason, "periods": len(s.values)} for s in records.scenarios],
        schema={"scenario_id": pl.Int64, "indicator_id": pl.Utf8, "area_code": pl.Utf8, "period_type": pl.Utf8,
                "name": pl.Utf8, "author": pl.Utf8, "created_at": pl.Utf8, "reason": pl.Utf8, "periods": pl.Int64})
