"""Children aged 0-17 per locality and mid-year: the denominator for every rate.

Populations grow gently from a base year (the mid-year at the start of the window) with a little
year-to-year wobble, as ONS estimates revised from small areas do. The simulators use the same table
(reporting year starting April Y uses mid-year Y), so realised rates per 10,000 match the design.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from oba_pipeline.generate.scales import AuthoritySpec


def population_table(
    authority: AuthoritySpec, base_year: int, first_year: int, last_year: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Children per locality (rows) and mid-year (columns) for `first_year`..`last_year`.

    Returns (years, counts[locality, year]). The wobble is drawn for every year in a fixed order so
    the table does not depend on which years are later written out.
    """
    years = np.arange(first_year, last_year + 1)
    counts = np.zeros((len(authority.localities), len(years)), dtype=np.int64)
    for i, loc in enumerate(authority.localities):
        wobble = rng.normal(0.0, 0.0025, size=len(years))
        trend = loc.children * (1.0 + loc.growth) ** (years - base_year)
        counts[i] = np.round(trend * (1.0 + wobble)).astype(np.int64)
    return years, counts


def population_frame(
    authority: AuthoritySpec, years: np.ndarray, counts: np.ndarray, first_written: int, last_written: int
) -> pl.DataFrame:
    """The population.csv rows for one authority, in contract column order."""
    rows: dict[str, list[object]] = {
        k: [] for k in ("la_code", "la_name", "locality", "locality_name", "mid_year", "children_0_17")
    }
    for j, year in enumerate(years):
        if not first_written <= year <= last_written:
            continue
        for i, loc in enumerate(authority.localities):
            rows["la_code"].append(authority.la_code)
            rows["la_name"].append(authority.la_name)
            rows["locality"].append(loc.code)
            rows["locality_name"].append(loc.name)
            rows["mid_year"].append(str(int(year)))
            rows["children_0_17"].append(str(int(counts[i, j])))
    return pl.DataFrame(rows, schema={k: pl.Utf8 for k in rows})
