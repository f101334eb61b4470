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
import os
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from oba_pipeline.catalogue import Catalogue, Indicator
from oba_pipeline.turn_the_curve.forecast import (
    Baseline,
    NoBaseline,
    WarmStart,
    add_months,
    fit_baseline,
    step_months,
)
from oba_pipeline.turn_the_curve.intervals import value_interval
from oba_pipeline.turn_the_curve.records import CycleRecord, Records, ScenarioRecord
from oba_pipeline.turn_the_curve.scorecard import scorecard_row
from oba_pipeline.turn_the_curve.series import SERIES_KEYS, all_series, in_series_order, period_label, period_labels
from oba_pipeline.turn_the_curve.verdicts import TESTS, Measure, Series, Verdict, judge
from oba_pipeline.workers import ordered_map, workers_setting_of

log = logging.getLogger(__name__)

FORECAST_HORIZON = {"month": 12, "reporting_year": 3}
# Without a cycle, the verdict asks: did the latest periods beat what the curve said before them?
PROVISIONAL_WINDOW = {"month": 12, "reporting_year": 2}
SUSTAINED = {"month": 3, "reporting_year": 2}
WORKERS_ENV = "OBA_TTC_WORKERS"
# Below this many series per worker, starting the workers costs more than they save.
MIN_SERIES_PER_WORKER = 100
# Batches per worker: enough that the last ones to finish leave the other workers idle only briefly.
BATCHES_PER_WORKER = 16
Key = tuple[str, str, str]

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
# The columns of `_verdict_row` and `scorecard_row`, typed even where every row is empty (no cycle or target yet).
VERDICT_SCHEMA = {
    "indicator_id": pl.Utf8, "area_code": pl.Utf8, "period_type": pl.Utf8, "baseline": pl.Utf8,
    "vintage_id": pl.Int64, "cycle_id": pl.Int64, "cycle_name": pl.Utf8, "cycle_started_on": pl.Date,
    "method": pl.Utf8, "baseline_fitted_to": pl.Date, "window_from": pl.Date, "window_to": pl.Date,
    "periods_judged": pl.Int64, "sustained_k": pl.Int64,
    **{f"{name}_{part}": pl.Utf8 for name in TESTS for part in ("result", "evidence")},
    "overall": pl.Utf8, "reason": pl.Utf8,
}
SCORECARD_SCHEMA = {
    "indicator_id": pl.Utf8, "area_code": pl.Utf8, "period_type": pl.Utf8, "current_period": pl.Utf8,
    "current_period_start": pl.Date, "current_value": pl.Float64, "prior_period": pl.Utf8, "prior_value": pl.Float64,
    "target": pl.Float64, "variance_from_target": pl.Float64, "percent_of_target": pl.Float64,
    "target_met": pl.Boolean, "forecast_value": pl.Float64, "next_period": pl.Utf8, "next_forecast_value": pl.Float64,
    "next_forecast_lower": pl.Float64, "next_forecast_upper": pl.Float64, "forecast_note": pl.Utf8,
    "trend_direction": pl.Utf8, "trend_periods": pl.Int64, "trend_assessment": pl.Utf8,
    "baseline_start_period": pl.Utf8, "baseline_start_value": pl.Float64, "change_since_baseline_start_pct": pl.Float64,
    "verdict": pl.Utf8, "verdict_baseline": pl.Utf8, "cycle_name": pl.Utf8,
}


@dataclass(frozen=True)
class TurnTheCurveTables:
    baselines: pl.DataFrame
    turn_the_curve: pl.DataFrame
    scorecard: pl.DataFrame
    scenarios: pl.DataFrame


def workers_setting() -> int | None:
    """How many processes OBA_TTC_WORKERS asks to fit the baselines in; None when it is unset (one per CPU)."""
    return workers_setting_of(WORKERS_ENV)


def measure_of(indicator: Indicator) -> Measure:
    return Measure(indicator.id, indicator.polarity, indicator.unit, indicator.calculation.scale, indicator.decimals)


def provisional_cutoff(last: date, period_type: str) -> date:
    return add_months(last, -step_months(period_type) * PROVISIONAL_WINDOW[period_type])


# The columns of `indicator_values` that build_tables reads.
SERIES_COLUMNS = (*SERIES_KEYS, "area_name", "area_type", "period_start", "value", "numerator", "denominator",
                  "status")


def build_tables(values: pl.DataFrame, catalogue: Catalogue, records: Records, *,
                 workers: int | None = None) -> TurnTheCurveTables:
    """Every baseline, verdict and scorecard row for the published indicator values.

    Each measure, area and period type is fitted and judged on its own, so with `workers` above one
    (default: one per CPU) they are shared out among that many processes; the results do not depend on
    the number, because every fit draws from its own seeded generator."""
    areas = values.select("area_code", "area_name", "area_type").unique("area_code")
    rows = in_series_order(values.select(*SERIES_KEYS, "period_start", "value", "numerator", "denominator",
                                         "status"))
    lengths = rows.get_column("series_number").rle().struct.field("len").cast(pl.Int64)  # rows of each series
    workers = min(workers or os.cpu_count() or 1, lengths.len() // MIN_SERIES_PER_WORKER)
    batches = _batches(rows, lengths, catalogue, records, max(workers, 1) * BATCHES_PER_WORKER)
    # In this process when there are too few series to repay starting workers, else in a pool of them.
    parts = list(ordered_map(_batch_tables, batches, workers))
    turn = pl.concat([pl.DataFrame(schema=VERDICT_SCHEMA), *(part.turn_the_curve for part in parts)])
    return TurnTheCurveTables(
        baselines=pl.concat([pl.DataFrame(schema=BASELINE_SCHEMA), *(part.baselines for part in parts)]),
        turn_the_curve=turn.join(areas, on="area_code", how="left").with_columns(
            overall_label=pl.col("overall").replace_strict(VERDICT_LABELS, default=pl.col("overall"))),
        scorecard=pl.concat([pl.DataFrame(schema=SCORECARD_SCHEMA), *(part.scorecard for part in parts)])
        .join(areas, on="area_code", how="left"),
        scenarios=_scenario_frame(records),
    )


@dataclass(frozen=True)
class _Batch:
    """A run of whole series (their rows of `indicator_values`, in series order) with what the partnership
    recorded for them: one worker's unit of work, small to send (a frame, not a Python object per value)."""

    rows: pl.DataFrame
    measures: dict[str, Measure]
    cycles: dict[Key, list[CycleRecord]]
    scenarios: dict[Key, list[ScenarioRecord]]
    targets: dict[Key, float]


@dataclass(frozen=True)
class _Tables:
    """One batch's rows of the baselines, turn_the_curve (before the area names) and scorecard tables."""

    baselines: pl.DataFrame
    turn_the_curve: pl.DataFrame
    scorecard: pl.DataFrame


def _batches(rows: pl.DataFrame, lengths: pl.Series, catalogue: Catalogue, records: Records,
             pieces: int) -> Iterator[_Batch]:
    """`rows` (in series order; `lengths` holds each series' rows) cut into about `pieces` runs of whole series
    with about as many rows in each: a monthly series has ten times a yearly one's rows and costs tens of times
    more to fit, so counting rows balances the workers where counting series would not."""
    ends = lengths.cum_sum()
    batch = (ends - lengths) * pieces // max(rows.height, 1)
    cuts = ends.filter(batch != batch.shift(-1, fill_value=-1)).to_list()
    cycles, scenarios = defaultdict(list), defaultdict(list)
    for cycle in records.cycles:
        cycles[(cycle.indicator_id, cycle.area_code, cycle.period_type)].append(cycle)
    for scenario in records.scenarios:
        scenarios[(scenario.indicator_id, scenario.area_code, scenario.period_type)].append(scenario)
    for start, end in zip([0, *cuts], cuts, strict=False):
        part = rows.slice(start, end - start)
        keys = set(part.select(SERIES_KEYS).unique().iter_rows())
        yield _Batch(
            rows=part,
            measures={i: measure_of(catalogue.get(i)) for i in {key[0] for key in keys}},
            cycles={key: cycles[key] for key in keys & cycles.keys()},
            scenarios={key: scenarios[key] for key in keys & scenarios.keys()},
            targets={key: records.targets[key] for key in keys & records.targets.keys()})


def _batch_tables(batch: _Batch) -> _Tables:
    """The baseline, verdict and scorecard rows of every series in a batch, as frames: a frame crosses back
    from a worker as a few buffers, where rows of Python objects cost the parent memory and time to rebuild."""
    forecasts: dict[str, list] = {name: [] for name in BASELINE_SCHEMA}  # every baseline row but the history
    added: list[int] = []  # how many of them each series added
    verdicts: list[dict] = []
    scores: list[dict] = []
    for key, series in all_series(batch.rows):
        job = _Job(key, batch.measures[key[0]], series, batch.cycles.get(key, []), batch.scenarios.get(key, []),
                   batch.targets.get(key))
        before = len(forecasts["series"])
        verdict_rows, score = _series_tables(job, forecasts)
        added.append(len(forecasts["series"]) - before)
        verdicts += verdict_rows
        scores.append(score)
    position = pl.Series("position", np.repeat(np.arange(len(added)), added), dtype=pl.UInt32)
    # Each series' history, then its forecasts (a stable sort on the series' position keeps that order).
    baselines = pl.concat([_history_frame(batch.rows, batch.measures),
                           pl.DataFrame(forecasts, schema=BASELINE_SCHEMA).with_columns(position)])
    return _Tables(baselines.sort("position", maintain_order=True).drop("position"),
                   pl.DataFrame(verdicts, schema=VERDICT_SCHEMA), pl.DataFrame(scores, schema=SCORECARD_SCHEMA))


def _history_frame(rows: pl.DataFrame, measures: dict[str, Measure]) -> pl.DataFrame:
    """The history rows of the baselines for every series in `rows`: each period's published value and status,
    and the value's confidence interval where it is published and one applies, with the series' position."""
    lower, upper = np.full(rows.height, np.nan), np.full(rows.height, np.nan)
    numerators, denominators = rows.get_column("numerator").to_numpy(), rows.get_column("denominator").to_numpy()
    indicators = rows.get_column("indicator_id").to_numpy()
    for indicator_id, measure in measures.items():
        at = indicators == indicator_id
        lower[at], upper[at] = value_interval(measure.unit, numerators[at], denominators[at], measure.scale)
    published = pl.col("status") == "ok"
    shown = published & pl.col("value").is_not_null()
    history = rows.with_columns(pl.Series("value_lower", lower), pl.Series("value_upper", upper)).with_columns(
        pl.lit("history").alias("series"), period_labels().alias("period_label"),
        pl.when(published).then(pl.col("value")).alias("history_value"), pl.col("status").alias("history_status"),
        pl.when(shown & pl.col("value_lower").is_finite()).then(pl.col("value_lower")).alias("history_lower"),
        pl.when(shown & pl.col("value_upper").is_finite()).then(pl.col("value_upper")).alias("history_upper"),
        pl.col("series_number").rle_id().alias("position"))
    return history.select(*(pl.col(name) if name in history.columns else pl.lit(None, dtype).alias(name)
                            for name, dtype in BASELINE_SCHEMA.items()), "position")


@dataclass(frozen=True)
class _Job:
    """Everything one measure, area and period type needs."""

    key: Key
    measure: Measure
    series: Series
    cycles: list[CycleRecord]
    scenarios: list[ScenarioRecord]
    target: float | None


def _series_tables(job: _Job, columns: dict[str, list]) -> tuple[list[dict], dict]:
    """Add one measure, area and period type's forecast, vintage and scenario rows to the baseline columns;
    its verdict rows and scorecard row."""
    key, measure, series = job.key, job.measure, job.series
    last = series.periods[-1]
    # The provisional baseline's fit starts where the latest forecast's ended: a year less of the same run.
    warm = WarmStart()
    latest = fit_baseline(series.periods, series.values, period_type=key[2], cutoff=last,
                          horizon=FORECAST_HORIZON[key[2]], unit=measure.unit, warm=warm)
    provisional = fit_baseline(series.periods, series.values, period_type=key[2],
                               cutoff=provisional_cutoff(last, key[2]), horizon=PROVISIONAL_WINDOW[key[2]],
                               unit=measure.unit, warm=warm)
    _forecast_columns(columns, key, "forecast", latest)
    _forecast_columns(columns, key, "provisional", provisional)
    k = SUSTAINED[key[2]]
    verdict = judge(measure, series, provisional, k=k)
    verdict_rows = [_verdict_row(key, "provisional", provisional, verdict, k)]
    in_use: tuple[Verdict, Baseline | NoBaseline, CycleRecord | None] = (verdict, provisional, None)
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
    return verdict_rows, scorecard_row(key, measure, series, latest, in_use, job.target)


def _extend(columns: dict[str, list], key: Key, series: str, periods: list[date], **fields: object) -> None:
    """Add one row per period to the baseline columns: `fields` are lists (one value per period) or a value
    shared by them all; the columns not named stay empty."""
    n = len(periods)
    fields.update(indicator_id=key[0], area_code=key[1], period_type=key[2], series=series, period_start=periods,
                  period_label=[period_label(p, key[2]) for p in periods])
    for name, column in columns.items():
        value = fields.get(name)
        column.extend(value if isinstance(value, list) else [value] * n)


def _forecast_columns(columns: dict[str, list], key: Key, kind: str, baseline: Baseline | NoBaseline, *,
                      vintage_id: int | None = None, cycle_name: str | None = None) -> None:
    if isinstance(baseline, NoBaseline):
        return
    points = baseline.points
    _extend(columns, key, kind, [p.period_start for p in points], vintage_id=vintage_id, cycle_name=cycle_name,
            forecast_value=[p.forecast for p in points], lower=[p.lower for p in points],
            upper=[p.upper for p in points], method=baseline.method, fitted_from=baseline.fitted_from,
            fitted_to=baseline.fitted_to, note=baseline.note or None)


def _verdict_row(key: Key, kind: str, baseline: Baseline | NoBaseline, verdict: Verdict, k: int,
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
