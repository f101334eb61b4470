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
from collections import defaultdict
from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from oba_pipeline.catalogue import Catalogue, Indicator
from oba_pipeline.turn_the_curve.forecast import Baseline, NoBaseline, add_months, fit_baseline, step_months
from oba_pipeline.turn_the_curve.intervals import value_interval
from oba_pipeline.turn_the_curve.records import Records
from oba_pipeline.turn_the_curve.scorecard import scorecard_row
from oba_pipeline.turn_the_curve.series import period_label, to_series
from oba_pipeline.turn_the_curve.verdicts import TESTS, Measure, Series, Verdict, judge

log = logging.getLogger(__name__)

FORECAST_HORIZON = {"month": 12, "reporting_year": 3}
# Without a cycle, the verdict asks: did the latest periods beat what the curve said before them?
PROVISIONAL_WINDOW = {"month": 12, "reporting_year": 2}
SUSTAINED = {"month": 3, "reporting_year": 2}

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


def build_tables(values: pl.DataFrame, catalogue: Catalogue, records: Records) -> TurnTheCurveTables:
    """Every baseline, verdict and scorecard row for the published indicator values."""
    areas = values.select("area_code", "area_name", "area_type").unique("area_code")
    cycles = defaultdict(list)
    for cycle in records.cycles:
        cycles[(cycle.indicator_id, cycle.area_code, cycle.period_type)].append(cycle)
    scenarios = defaultdict(list)
    for scenario in records.scenarios:
        scenarios[(scenario.indicator_id, scenario.area_code, scenario.period_type)].append(scenario)
    baseline_rows: list[dict] = []
    verdict_rows: list[dict] = []
    score_rows: list[dict] = []
    for (indicator_id, area_code, period_type), frame in values.group_by(
            ["indicator_id", "area_code", "period_type"], maintain_order=True):
        indicator = catalogue.get(str(indicator_id))
        measure = measure_of(indicator)
        series = to_series(frame)
        key = (str(indicator_id), str(area_code), str(period_type))
        last = series.periods[-1]
        latest = fit_baseline(series.periods, series.values, period_type=key[2], cutoff=last,
                              horizon=FORECAST_HORIZON[key[2]], unit=indicator.unit)
        provisional = fit_baseline(series.periods, series.values, period_type=key[2],
                                   cutoff=provisional_cutoff(last, key[2]), horizon=PROVISIONAL_WINDOW[key[2]],
                                   unit=indicator.unit)
        baseline_rows += _history_rows(key, measure, series, frame)
        baseline_rows += _forecast_rows(key, "forecast", latest)
        baseline_rows += _forecast_rows(key, "provisional", provisional)
        k = SUSTAINED[key[2]]
        verdict = judge(measure, series, provisional, k=k)
        verdict_rows.append(_verdict_row(key, "provisional", provisional, verdict, k))
        in_use = (verdict, provisional, None)
        for cycle in cycles.get(key, []):
            baseline_rows += _forecast_rows(key, "vintage", cycle.baseline, vintage_id=cycle.vintage_id,
                                            cycle_name=cycle.name)
            cycle_verdict = judge(measure, series, cycle.baseline, k=k)
            verdict_rows.append(_verdict_row(key, "vintage", cycle.baseline, cycle_verdict, k, cycle=cycle))
            in_use = (cycle_verdict, cycle.baseline, cycle)
        for scenario in scenarios.get(key, []):
            baseline_rows += [_row(key, "scenario", p, scenario=scenario.name, forecast_value=v,
                                   note=f"{scenario.author}, {scenario.created_at[:10]}: {scenario.reason}")
                              for p, v in sorted(scenario.values.items())]
        score_rows.append(scorecard_row(key, measure, series, latest, in_use, records.targets.get(key)))
    turn = _typed(pl.DataFrame(verdict_rows, infer_schema_length=None)) if verdict_rows else pl.DataFrame()
    score = _typed(pl.DataFrame(score_rows, infer_schema_length=None)) if score_rows else pl.DataFrame()
    if turn.height:
        turn = turn.join(areas, on="area_code", how="left").with_columns(
            overall_label=pl.col("overall").replace_strict(VERDICT_LABELS, default=pl.col("overall")))
    if score.height:
        score = score.join(areas, on="area_code", how="left")
    return TurnTheCurveTables(
        baselines=pl.DataFrame(baseline_rows, schema=BASELINE_SCHEMA),
        turn_the_curve=turn,
        scorecard=score,
        scenarios=_scenario_frame(records),
    )


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


def _row(key: tuple[str, str, str], series: str, period: date, **fields: object) -> dict:
    row: dict[str, object] = dict.fromkeys(BASELINE_SCHEMA)
    row.update(indicator_id=key[0], area_code=key[1], period_type=key[2], series=series, period_start=period,
               period_label=period_label(period, key[2]))
    row.update(fields)
    return row


def _history_rows(key: tuple[str, str, str], measure: Measure, series: Series, frame: pl.DataFrame) -> list[dict]:
    num = np.array([np.nan if x is None else x for x in series.numerators], dtype=float)
    den = np.array([np.nan if x is None else x for x in series.denominators], dtype=float)
    lower, upper = value_interval(measure.unit, num, den, measure.scale)
    statuses = frame.sort("period_start").get_column("status").to_list()
    return [
        _row(key, "history", p, history_value=v, history_status=s,
             history_lower=None if v is None or not np.isfinite(lo) else float(lo),
             history_upper=None if v is None or not np.isfinite(hi) else float(hi))
        for p, v, s, lo, hi in zip(series.periods, series.values, statuses, lower, upper, strict=True)
    ]


def _forecast_rows(key: tuple[str, str, str], kind: str, baseline: Baseline | NoBaseline, *,
                   vintage_id: int | None = None, cycle_name: str | None = None) -> list[dict]:
    if isinstance(baseline, NoBaseline):
        return []
    return [_row(key, kind, p.period_start, vintage_id=vintage_id, cycle_name=cycle_name, forecast_value=p.forecast,
                 lower=p.lower, upper=p.upper, method=baseline.method, fitted_from=baseline.fitted_from,
                 fitted_to=baseline.fitted_to, note=baseline.note or None)
            for p in baseline.points]


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
