"""A published snapshot for the whole system and data quality pages, and for every page at once.

It is the What families say snapshot (tests/family_voice_fixtures.py, with the real catalogue) plus the
benchmarks from the real DfE files, plus 36 months of the whole-system measures for Northtown, a
validation summary, one HTML validation report, and the public subset made by the real disclosure control
under the public profile.

Planted by hand: referrals received move against the change in prevention spend three months earlier
(each £1,000 more spent in a month is followed by 2 fewer referrals three months later), so the strongest
association of the two is at a lag of 3 months, negative. In Northtown South, April 2025, 8 referrals
were received: published to signed-in users (above 5), suppressed in the public subset (10 or fewer).
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
from benchmark_fixtures import benchmark_tables
from dashboard_fixtures import AUTHORITY, LOCALITIES
from family_voice_fixtures import family_tables

from oba_pipeline.catalogue import load_catalogue
from oba_pipeline.config import Home
from oba_pipeline.disclosure import apply_disclosure_control, load_profiles, public_indicator_ids
from oba_pipeline.publish import publish_tables

MONTHS = 36
FIRST_MONTH = date(2022, 5, 1)
PLANTED_LAG = 3
SMALL_AREA, SMALL_MONTH, SMALL_COUNT = LOCALITIES[1][0], date(2025, 4, 1), 8.0
REPORT_TEXT = "Validation report: referrals. Row 17, column referral_date, value '2021-02-30' is not a real date."


def month(index: int) -> date:
    total = FIRST_MONTH.year * 12 + FIRST_MONTH.month - 1 + index
    return date(total // 12, total % 12 + 1, 1)


def _row(indicator_id: str, code: str, name: str, start: date, value: float, numerator: float | None,
         denominator: float | None) -> dict[str, Any]:
    end = (date(start.year + start.month // 12, start.month % 12 + 1, 1) - timedelta(days=1))
    return {"indicator_id": indicator_id, "area_code": code, "area_name": name,
            "area_type": "authority" if code == AUTHORITY[0] else "locality", "period_type": "month",
            "period_start": start, "period_end": end, "period_label": f"{start:%b %Y}", "value": value,
            "numerator": numerator, "denominator": denominator, "status": "ok"}


def whole_system_values() -> pl.DataFrame:
    """36 months of spend, demand and capacity for the authority, and referrals for its localities."""
    chance = random.Random(7)
    prevention = [900_000.0]
    for _ in range(MONTHS - 1):
        prevention.append(prevention[-1] + chance.gauss(0, 30_000))
    referrals = [400.0]
    for index in range(1, MONTHS):
        earlier = prevention[index - PLANTED_LAG] - prevention[index - PLANTED_LAG - 1] \
            if index > PLANTED_LAG else 0.0
        referrals.append(referrals[-1] - 0.002 * earlier + chance.gauss(0, 8))
    referrals = [round(r) for r in referrals]
    code, name = AUTHORITY
    rows = []
    for index in range(MONTHS):
        start = month(index)
        late = 3_500_000.0 + chance.gauss(0, 50_000)
        cin = 1500.0 + round(chance.gauss(0, 20))
        cla = 350.0 + round(chance.gauss(0, 5))
        rows += [
            _row("prevention_spend", code, name, start, round(prevention[index], 2), round(prevention[index], 2), None),
            _row("late_intervention_spend", code, name, start, round(late, 2), round(late, 2), None),
            _row("referrals_received", code, name, start, referrals[index], referrals[index], None),
            _row("cin_rate", code, name, start, cin / 50_000 * 10_000, cin, 50_000.0),
            _row("cla_rate", code, name, start, cla / 50_000 * 10_000, cla, 50_000.0),
            _row("average_caseload_per_fte", code, name, start, 17.0 + chance.gauss(0, 0.8), None, None),
        ]
        small = SMALL_COUNT if start == SMALL_MONTH else float(40 + index % 7)
        (north_code, north_name), (south_code, south_name) = LOCALITIES
        rows += [_row("referrals_received", south_code, south_name, start, small, small, None),
                 _row("referrals_received", north_code, north_name, start, referrals[index] - small,
                      referrals[index] - small, None)]
    monthly = pl.DataFrame(rows)
    return pl.concat([monthly, spend_years(monthly)])


def spend_years(monthly: pl.DataFrame) -> pl.DataFrame:
    """Reporting-year spend as the sum of its twelve months, for the complete years only."""
    spend = monthly.filter(pl.col("indicator_id").is_in(["prevention_spend", "late_intervention_spend"]))
    start = pl.date(pl.col("period_start").dt.year() - (pl.col("period_start").dt.month() < 4).cast(pl.Int32), 4, 1)
    years = (spend.with_columns(year_start=start)
             .group_by("indicator_id", "area_code", "area_name", "area_type", "year_start")
             .agg(pl.col("value").sum(), pl.len().alias("months"))
             .filter(pl.col("months") == 12))
    return years.select(
        "indicator_id", "area_code", "area_name", "area_type", pl.lit("reporting_year").alias("period_type"),
        pl.col("year_start").alias("period_start"),
        pl.date(pl.col("year_start").dt.year() + 1, 3, 31).alias("period_end"),
        (pl.col("year_start").dt.year().cast(pl.String) + "-"
         + ((pl.col("year_start").dt.year() + 1) % 100).cast(pl.String).str.zfill(2)).alias("period_label"),
        "value", pl.col("value").alias("numerator"), pl.lit(None, pl.Float64).alias("denominator"),
        pl.lit("ok").alias("status"),
    ).sort("indicator_id", "period_start")


def system_tables() -> tuple[dict[str, pl.DataFrame], dict[str, pl.DataFrame]]:
    """The published tables, and the public subset under the public disclosure profile."""
    tables = family_tables()
    values = pl.concat([tables["indicator_values"], whole_system_values()], how="diagonal_relaxed")
    catalogue = load_catalogue()
    tables["indicator_values"] = values
    tables["validation_summary"] = pl.DataFrame({
        "source": ["referrals", "referrals", "spend"], "rule": ["type date", "not_before assessment_start_date",
                                                               "duplicate_row"],
        "column": ["referral_date", "assessment_authorised_date", "(all columns)"], "rows_rejected": [7, 3, 1]})
    tables.update(benchmark_tables(tables["areas"]))
    profile = load_profiles()["public"]
    chosen = public_indicator_ids(profile, catalogue)
    public = {
        "indicators": tables["indicators"].filter(pl.col("indicator_id").is_in(chosen)),
        "indicator_values": apply_disclosure_control(values, catalogue, profile=profile),
        "areas": tables["areas"], "sources": tables["sources"],
    }
    return tables, public


def publish_system_sample(root: Path) -> Home:
    home = Home(root)
    tables, public = system_tables()
    publish_tables(home, tables, {
        "extract_date": "2025-04-30", "authority": {"code": AUTHORITY[0], "name": AUTHORITY[1]},
        "generated_at": datetime.now(UTC).isoformat(),
    }, public=public)
    reports = home.reports / "validation"
    reports.mkdir(parents=True, exist_ok=True)
    (reports / "referrals.html").write_text(
        f"<!DOCTYPE html><html lang='en-GB'><head><title>Validation report: referrals</title></head>"
        f"<body><h1>Validation report: referrals</h1><p>{REPORT_TEXT}</p></body></html>", encoding="utf-8")
    return home
