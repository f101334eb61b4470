"""A small published snapshot for the What families say page: three areas, four reporting years, every
theme, built from hand-made indicator values through the real `family_vs_service` and `rater_gaps`.

Planted by hand: in Northtown South in 2024-25, 10 of 100 families report reliable improvement on safety
against about 31 in each earlier year, while re-referrals fall from about 23.5% to 16%: families worse
while services improve. Everything else holds level.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl
from dashboard_fixtures import AUTHORITY, LOCALITIES, sample_tables

from oba_pipeline.catalogue import load_catalogue
from oba_pipeline.config import Home
from oba_pipeline.family_voice.comparison import family_vs_service
from oba_pipeline.family_voice.gaps import rater_gaps
from oba_pipeline.family_voice.registry import load_themes, published_themes
from oba_pipeline.publish import publish_tables

YEARS = [2021, 2022, 2023, 2024]
AREAS = [AUTHORITY, *LOCALITIES]
DIVERGENT_AREA = LOCALITIES[1]  # Northtown South
SCALES = {"percent": 100.0, "rate_per_10000": 10_000.0}


def _series(indicator: str, area: str) -> list[tuple[float, float]]:
    """(numerator, denominator) per year."""
    if indicator == "family_safety_improved_pct" and area == DIVERGENT_AREA[0]:
        return [(30, 100), (32, 100), (31, 100), (10, 100)]
    if indicator == "rereferral_rate_12m" and area == DIVERGENT_AREA[0]:
        return [(235, 1000), (240, 1000), (230, 1000), (160, 1000)]
    if indicator.startswith("what_matters_"):
        return [(40, 120)] * len(YEARS)
    if indicator in ("cla_rate", "cin_rate"):
        return [(140, 20_000)] * len(YEARS)
    if indicator == "follow_up_completion_all_tools":
        return [(150, 200)] * len(YEARS)
    return [(30, 100)] * len(YEARS)


def indicator_values() -> pl.DataFrame:
    catalogue = load_catalogue()
    themes = load_themes()
    wanted = {"follow_up_completion_all_tools"}
    for theme in themes.values():
        wanted |= {theme.family_measure, theme.what_matters_measure, *theme.service_measures}
    rows: list[dict[str, Any]] = []
    for indicator_id in sorted(wanted):
        entry = catalogue.get(indicator_id)
        for code, name in AREAS:
            if code != AUTHORITY[0] and "locality" not in entry.area_levels:
                continue
            for year, (num, den) in zip(YEARS, _series(indicator_id, code), strict=True):
                rows.append({
                    "indicator_id": indicator_id, "area_code": code, "area_name": name,
                    "area_type": "authority" if code == AUTHORITY[0] else "locality", "period_type": "reporting_year",
                    "period_start": date(year, 4, 1), "period_end": date(year + 1, 3, 31),
                    "period_label": f"{year}-{str(year + 1)[2:]}", "value": num / den * SCALES.get(entry.unit, 1.0),
                    "numerator": float(num), "denominator": float(den), "status": "ok",
                })
    return pl.DataFrame(rows)


def gap_pairs() -> pl.DataFrame:
    """Parent and worker safety ratings: 8 families in Northtown North (parents 1 point higher), 3 in
    Northtown South (too few to publish)."""
    rows = []
    for index in range(11):
        north = index < 8
        rows.append({"family_key": f"f{index}", "instrument": "signs_of_safety", "rater": "parent",
                     "other_rater": "worker", "rater_pair": "parent_vs_worker",
                     "locality": LOCALITIES[0][0] if north else LOCALITIES[1][0], "episode_type": "child_protection",
                     "reading_date": date(2024, 6, 1), "rater_score": 6.0, "other_score": 5.0 if north else 7.0,
                     "gap": 1.0 if north else -1.0})
    return pl.DataFrame(rows)


def family_tables() -> dict[str, pl.DataFrame]:
    values = indicator_values()
    themes = load_themes()
    base = sample_tables()
    areas = base["areas"]
    return {
        **base,
        "indicators": load_catalogue().to_frame(),
        "indicator_values": values,
        "family_vs_service": family_vs_service(values, load_catalogue(), themes),
        "family_themes": published_themes(themes),
        "family_rater_gaps": rater_gaps(gap_pairs(), areas, date(2025, 3, 31)),
    }


def publish_family_sample(root: Path) -> Home:
    home = Home(root)
    publish_tables(home, family_tables(), {
        "extract_date": "2025-04-30", "authority": {"code": AUTHORITY[0], "name": AUTHORITY[1]},
        "generated_at": datetime.now(UTC).isoformat(),
    })
    return home
