"""Scorecard columns for one measure and area: current and prior value, target and variance, forecast,
trend arrow with its run length, and change since the baseline's first value."""

from __future__ import annotations

from typing import Any

from oba_pipeline.turn_the_curve.forecast import Baseline, NoBaseline
from oba_pipeline.turn_the_curve.series import period_label
from oba_pipeline.turn_the_curve.verdicts import Measure, Series, Verdict


def trend_run(values: list[float | None]) -> tuple[str, int]:
    """Direction of the latest move between published values (`up`, `down`, `flat`) and how many moves in
    a row went that way. Suppressed periods are skipped, never read as a move."""
    clean = [v for v in values if v is not None]
    if len(clean) < 2:
        return "none", 0
    moves = ["up" if b > a else "down" if b < a else "flat" for a, b in zip(clean, clean[1:], strict=False)]
    latest = moves[-1]
    run = 0
    for move in reversed(moves):
        if move != latest:
            break
        run += 1
    return latest, run


def _assessment(polarity: str, direction: str) -> str:
    if direction in ("none", "flat") or polarity == "neutral":
        return "neutral"
    good = "up" if polarity == "higher_is_better" else "down"
    return "better" if direction == good else "worse"


def scorecard_row(key: tuple[str, str, str], measure: Measure, series: Series, latest: Baseline | NoBaseline,
                  in_use: tuple[Verdict, Baseline | NoBaseline, Any], target: float | None) -> dict[str, Any]:
    verdict, baseline, cycle = in_use
    periods, values = series.periods, series.values
    current, prior = periods[-1], periods[-2] if len(periods) > 1 else None
    current_value = values[-1]
    prior_value = values[-2] if len(values) > 1 else None
    first = next(((p, v) for p, v in zip(periods, values, strict=True) if v is not None), (None, None))
    direction, run = trend_run(values)
    forecast_now = None if isinstance(baseline, NoBaseline) else baseline.point(current)
    next_point = None if isinstance(latest, NoBaseline) else latest.points[0]
    row: dict[str, Any] = {
        "indicator_id": key[0], "area_code": key[1], "period_type": key[2],
        "current_period": period_label(current, key[2]), "current_period_start": current,
        "current_value": current_value,
        "prior_period": None if prior is None else period_label(prior, key[2]), "prior_value": prior_value,
        "target": target,
        "variance_from_target": None if target is None or current_value is None else current_value - target,
        "percent_of_target": (None if target in (None, 0) or current_value is None
                              else current_value / target * 100),  # type: ignore[operator]
        "target_met": _target_met(measure.polarity, current_value, target),
        "forecast_value": None if forecast_now is None else forecast_now.forecast,
        "next_period": None if next_point is None else period_label(next_point.period_start, key[2]),
        "next_forecast_value": None if next_point is None else next_point.forecast,
        "next_forecast_lower": None if next_point is None else next_point.lower,
        "next_forecast_upper": None if next_point is None else next_point.upper,
        # Why there is no forecast for the coming periods, in words (too few published values to fit one).
        "forecast_note": f"no forecast: {latest.reason}" if isinstance(latest, NoBaseline) else None,
        "trend_direction": direction, "trend_periods": run,
        "trend_assessment": _assessment(measure.polarity, direction),
        "baseline_start_period": None if first[0] is None else period_label(first[0], key[2]),
        "baseline_start_value": first[1],
        "change_since_baseline_start_pct": (None if first[1] in (None, 0) or current_value is None
                                            else (current_value - first[1]) / first[1] * 100),  # type: ignore[operator]
        "verdict": verdict.overall, "verdict_baseline": "vintage" if cycle is not None else "provisional",
        "cycle_name": getattr(cycle, "name", None),
    }
    return row


def _target_met(polarity: str, value: float | None, target: float | None) -> bool | None:
    if value is None or target is None or polarity == "neutral":
        return None
    return value >= target if polarity == "higher_is_better" else value <= target
