"""`family_vs_service`: what families say, next to what services count, theme by theme and area by area.

Built only from published indicator values (already through disclosure control): a suppressed value
stays suppressed here and its direction is "not known".
"""

from __future__ import annotations

from typing import Any

import polars as pl

from oba_pipeline.catalogue import Catalogue
from oba_pipeline.family_voice.direction import DIVERGENT, Point, agreement, direction_of
from oba_pipeline.family_voice.registry import Theme

PERIOD_TYPE = "reporting_year"
# Shown beside every theme: families who miss reviews are not in the family's % improved.
COMPLETION_MEASURE = "follow_up_completion_all_tools"
UNIT_SCALES = {"percent": 100.0, "rate_per_10000": 10_000.0}

FAMILY_VS_SERVICE_SCHEMA: dict[str, Any] = {
    "theme": pl.Utf8, "theme_name": pl.Utf8, "theme_order": pl.Int64,
    "area_code": pl.Utf8, "area_name": pl.Utf8, "area_type": pl.Utf8,
    "period_type": pl.Utf8, "period_start": pl.Date, "period_end": pl.Date, "period_label": pl.Utf8,
    "family_measure": pl.Utf8, "family_measure_name": pl.Utf8, "family_value": pl.Float64,
    "family_status": pl.Utf8, "family_numerator": pl.Float64, "family_denominator": pl.Float64,
    "family_baseline": pl.Float64, "family_direction": pl.Utf8,
    "follow_up_completion": pl.Float64, "follow_up_completion_status": pl.Utf8,
    "service_measure": pl.Utf8, "service_measure_name": pl.Utf8, "service_value": pl.Float64,
    "service_status": pl.Utf8, "service_unit_label": pl.Utf8, "service_baseline": pl.Float64,
    "service_direction": pl.Utf8, "agreement": pl.Utf8, "divergent": pl.Boolean, "direction_rule": pl.Utf8,
}


def family_vs_service(values: pl.DataFrame, catalogue: Catalogue, themes: dict[str, Theme]) -> pl.DataFrame:
    """One row per theme, area, reporting year and service measure claiming the theme (one row with
    empty service columns where none does yet), with each side's direction and the agreement label."""
    yearly = values.filter(pl.col("period_type") == PERIOD_TYPE).sort("period_start")
    series: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in yearly.iter_rows(named=True):
        series.setdefault((row["indicator_id"], row["area_code"]), []).append(row)
    known = {i.id for i in catalogue.indicators}
    rows: list[dict[str, Any]] = []
    for theme in themes.values():
        if theme.family_measure not in known:
            continue
        family_ind = catalogue.get(theme.family_measure)
        services = [catalogue.get(m) for m in theme.service_measures if m in known]
        family_series = {area: rs for (ind, area), rs in series.items() if ind == theme.family_measure}
        for area, family_rows in family_series.items():
            family_verdicts = _verdicts(family_rows, family_ind.polarity, UNIT_SCALES.get(family_ind.unit, 1.0))
            completion = {r["period_start"]: r for r in series.get((COMPLETION_MEASURE, area), [])}
            for index, fam in enumerate(family_rows):
                fv = family_verdicts[index]
                base = {
                    "theme": theme.code, "theme_name": theme.name, "theme_order": theme.display_order,
                    "area_code": area, "area_name": fam["area_name"], "area_type": fam["area_type"],
                    "period_type": PERIOD_TYPE, "period_start": fam["period_start"], "period_end": fam["period_end"],
                    "period_label": fam["period_label"], "family_measure": family_ind.id,
                    "family_measure_name": family_ind.name, "family_value": fam["value"],
                    "family_status": fam["status"], "family_numerator": fam["numerator"],
                    "family_denominator": fam["denominator"], "family_baseline": fv.baseline,
                    "family_direction": fv.movement,
                    "follow_up_completion": completion.get(fam["period_start"], {}).get("value"),
                    "follow_up_completion_status": completion.get(fam["period_start"], {}).get("status"),
                }
                service_rows = 0
                for service in services:
                    srows = series.get((service.id, area))
                    if not srows:
                        continue  # e.g. a measure published for the whole authority only
                    by_start = {r["period_start"]: i for i, r in enumerate(srows)}
                    at = by_start.get(fam["period_start"])
                    if at is None:
                        continue
                    sv = _verdicts(srows, service.polarity, UNIT_SCALES.get(service.unit, 1.0))[at]
                    label = agreement(fv.movement, sv.movement)
                    rows.append({**base, "service_measure": service.id, "service_measure_name": service.name,
                                 "service_value": srows[at]["value"], "service_status": srows[at]["status"],
                                 "service_unit_label": service.unit_label, "service_baseline": sv.baseline,
                                 "service_direction": sv.movement, "agreement": label,
                                 "divergent": label in DIVERGENT,
                                 "direction_rule": f"families: {fv.reason}; service: {sv.reason}"})
                    service_rows += 1
                if not service_rows:
                    rows.append({**base, "service_measure": None, "service_measure_name": None,
                                 "service_value": None, "service_status": None, "service_unit_label": None,
                                 "service_baseline": None, "service_direction": None,
                                 "agreement": agreement(fv.movement, None), "divergent": False,
                                 "direction_rule": f"families: {fv.reason}"})
    frame = pl.DataFrame(rows, schema=FAMILY_VS_SERVICE_SCHEMA)
    return frame.sort("theme_order", "area_type", "area_code", "period_start", "service_measure", nulls_last=True)


def _verdicts(rows: list[dict[str, Any]], polarity: str, scale: float) -> list[Any]:
    points = [Point(value=r["value"], numerator=r["numerator"], denominator=r["denominator"], status=r["status"])
              for r in rows]
    return [direction_of(point, points[:i], polarity, scale) for i, point in enumerate(points)]
