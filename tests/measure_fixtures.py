"""A published snapshot for the measure page, the session page and the report cards: the small hand-made
snapshot of dashboard_fixtures with three years of monthly referral rates, the turn-the-curve tables built
from them by the real pipeline code (oba_pipeline.turn_the_curve.build), a hand-made story behind the curve,
and the benchmarks read from the real DfE files (Islington, 206, as home)."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
from benchmark_fixtures import benchmark_tables
from dashboard_fixtures import AUTHORITY, DENOMINATORS, LOCALITIES, sample_tables

from oba_pipeline.catalogue import load_catalogue
from oba_pipeline.config import Home
from oba_pipeline.publish import publish_tables
from oba_pipeline.turn_the_curve.build import build_tables
from oba_pipeline.turn_the_curve.records import Records, ScenarioRecord
from oba_pipeline.turn_the_curve.series import period_label

MEASURE = "referral_rate"
FIRST_MONTH = date(2022, 4, 1)
MONTHS = 37  # April 2022 to April 2025
# Months of Northtown South whose figure is suppressed (shown as 'c', a gap in the curve).
SUPPRESSED = {("NT-S", date(2024, 8, 1)), ("NT-S", date(2024, 9, 1))}
LEVELS = {"E09000999": 45.0, "NT-N": 52.0, "NT-S": 38.0}
SCENARIO = "Schools' early help offer"


def _month(index: int) -> date:
    total = FIRST_MONTH.year * 12 + FIRST_MONTH.month - 1 + index
    return date(total // 12, total % 12 + 1, 1)


def _month_end(start: date) -> date:
    nxt = date(start.year + (start.month == 12), start.month % 12 + 1, 1)
    return date.fromordinal(nxt.toordinal() - 1)


def rate_rows() -> list[dict[str, object]]:
    """Monthly and reporting-year referral rates: a school-year pattern around a level, slowly rising."""
    names = dict([AUTHORITY, *LOCALITIES])
    rows: list[dict[str, object]] = []
    for area, level in LEVELS.items():
        denominator = DENOMINATORS[area]
        yearly: dict[date, float] = {}
        for index in range(MONTHS):
            start = _month(index)
            value = round(level + 0.08 * index + 4 * math.sin(2 * math.pi * (start.month - 9) / 12), 1)
            numerator = round(value * denominator / 10_000)
            value = round(numerator / denominator * 10_000, 1)
            ok = (area, start) not in SUPPRESSED
            year = date(start.year if start.month >= 4 else start.year - 1, 4, 1)
            yearly[year] = yearly.get(year, 0.0) + numerator
            rows.append({"indicator_id": MEASURE, "area_code": area, "area_name": names[area],
                         "area_type": "authority" if area == AUTHORITY[0] else "locality", "period_type": "month",
                         "period_start": start, "period_end": _month_end(start),
                         "period_label": period_label(start, "month"), "value": value if ok else None,
                         "numerator": float(numerator) if ok else None, "denominator": denominator if ok else None,
                         "status": "ok" if ok else "c"})
        for year, total in sorted(yearly.items()):
            if year >= date(2025, 4, 1):
                continue  # the latest reporting year is not complete
            rows.append({"indicator_id": MEASURE, "area_code": area, "area_name": names[area],
                         "area_type": rows[-1]["area_type"], "period_type": "reporting_year", "period_start": year,
                         "period_end": date(year.year + 1, 3, 31), "period_label": period_label(year, "reporting_year"),
                         "value": round(total / denominator * 10_000, 1), "numerator": total,
                         "denominator": denominator, "status": "ok"})
    return rows


def story_rows() -> pl.DataFrame:
    """The story behind Northtown's curve: localities and referral sources, one group too small to show."""
    rows = []
    for area in ("E09000999", "NT-N"):
        for dimension, groups in (("locality", [("Northtown North", 2.1), ("Northtown South", -0.4)]),
                                  ("referral_source", [("Schools", 1.6), ("Police", 0.5), ("Health", None)])):
            for rank, (group, contribution) in enumerate(groups, start=1):
                rows.append({
                    "indicator_id": MEASURE, "area_code": area, "dimension": dimension, "group_value": group,
                    "before_from": date(2023, 5, 1), "after_to": date(2025, 4, 30),
                    "before_value": None if contribution is None else 20.0,
                    "after_value": None if contribution is None else 20.0 + contribution,
                    "contribution": contribution, "mix_effect": None, "rate_effect": None,
                    "share_of_change": None if contribution is None else contribution / 2.1,
                    "total_change": 2.1, "rank": rank, "status": "c" if contribution is None else "ok"})
    return pl.DataFrame(rows, schema={
        "indicator_id": pl.String, "area_code": pl.String, "dimension": pl.String, "group_value": pl.String,
        "before_from": pl.Date, "after_to": pl.Date, "before_value": pl.Float64, "after_value": pl.Float64,
        "contribution": pl.Float64, "mix_effect": pl.Float64, "rate_effect": pl.Float64,
        "share_of_change": pl.Float64, "total_change": pl.Float64, "rank": pl.Int64, "status": pl.String})


def measure_tables() -> dict[str, pl.DataFrame]:
    tables = sample_tables()
    base = tables["indicator_values"].filter(pl.col("indicator_id") != MEASURE)
    values = pl.concat([base, pl.DataFrame(rate_rows(), schema=base.schema)])
    scenario = ScenarioRecord(
        scenario_id=1, indicator_id=MEASURE, area_code=AUTHORITY[0], period_type="month", name=SCENARIO,
        author="data-team", created_at="2025-05-01T09:00:00", reason="Schools start referring to early help first",
        values={date(2025, 9, 1): 44.0, date(2025, 12, 1): 42.0})
    ttc = build_tables(values.filter(pl.col("indicator_id") == MEASURE), load_catalogue(),
                       Records(cycles=[], scenarios=[scenario], targets={(MEASURE, AUTHORITY[0], "month"): 40.0}))
    return {**tables, "indicator_values": values, "baselines": ttc.baselines, "turn_the_curve": ttc.turn_the_curve,
            "scorecard": ttc.scorecard, "scenarios": ttc.scenarios, "story_behind_the_curve": story_rows(),
            **benchmark_tables(tables["areas"])}


def publish_measure_sample(root: Path) -> Home:
    home = Home(root)
    publish_tables(home, measure_tables(), {
        "extract_date": "2025-04-30", "authority": {"code": AUTHORITY[0], "name": AUTHORITY[1]},
        "generated_at": datetime.now(UTC).isoformat()})
    return home
