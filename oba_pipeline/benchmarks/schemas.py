"""Column sets of the benchmark tables, so an empty table has the same shape as a full one."""

from __future__ import annotations

from typing import Any

import polars as pl

# bm_observations: every published figure, one row per file column, area and year (long form).
OBSERVATIONS: dict[str, Any] = {
    "source_format": pl.Utf8, "dataset": pl.Utf8, "file": pl.Utf8, "release": pl.Int64, "year": pl.Int64,
    "time_period": pl.Utf8, "period_label": pl.Utf8, "level": pl.Utf8, "area_code": pl.Utf8,
    "area_name": pl.Utf8, "new_la_code": pl.Utf8, "region_code": pl.Utf8, "region_name": pl.Utf8,
    "column": pl.Utf8, "category": pl.Utf8, "value": pl.Float64, "status": pl.Utf8, "decimals": pl.Int64,
    "note": pl.Utf8,
}
# bm_neighbours: each authority's ten statistical neighbours, per model.
NEIGHBOURS: dict[str, Any] = {
    "source_format": pl.Utf8, "file": pl.Utf8, "model": pl.Utf8, "model_name": pl.Utf8, "area_code": pl.Utf8,
    "area_name": pl.Utf8, "neighbour_rank": pl.Int64, "neighbour_code": pl.Utf8, "closeness": pl.Utf8,
}
# bm_lookup: local authority codes (from las.csv when it is in the folder).
LOOKUP: dict[str, Any] = {
    "source_format": pl.Utf8, "file": pl.Utf8, "new_la_code": pl.Utf8, "old_la_code": pl.Utf8,
    "la_name": pl.Utf8, "region_code": pl.Utf8, "status": pl.Utf8,
}
# benchmark_sources: one row per file in the published folder and what became of it.
SOURCES: dict[str, Any] = {
    "file": pl.Utf8, "format": pl.Utf8, "format_title": pl.Utf8, "dataset": pl.Utf8, "status": pl.Utf8,
    "rows": pl.Int64, "first_year": pl.Int64, "last_year": pl.Int64, "encoding": pl.Utf8,
    "sha256": pl.Utf8, "message": pl.Utf8, "loaded_at": pl.Datetime("us"),
}
# benchmark_findings: data-quality findings about the published files and the checks of their figures.
FINDINGS: dict[str, Any] = {
    "kind": pl.Utf8, "severity": pl.Utf8, "file": pl.Utf8, "measure_id": pl.Utf8, "area_code": pl.Utf8,
    "area_name": pl.Utf8, "year": pl.Int64, "period_label": pl.Utf8, "published_value": pl.Float64,
    "derived_value": pl.Float64, "message": pl.Utf8,
}
# Each published measure's figure per area and year, before comparators are attached.
MEASURE_VALUES: dict[str, Any] = {
    "measure_id": pl.Utf8, "year": pl.Int64, "period_label": pl.Utf8, "level": pl.Utf8, "area_code": pl.Utf8,
    "area_name": pl.Utf8, "region_code": pl.Utf8, "region_name": pl.Utf8, "value": pl.Float64,
    "status": pl.Utf8, "value_basis": pl.Utf8, "check": pl.Utf8, "note": pl.Utf8,
}
# benchmarks: the published table (see README.md, "Published tables").
BENCHMARKS: dict[str, Any] = {
    "measure_id": pl.Utf8, "measure_name": pl.Utf8, "polarity": pl.Utf8, "unit": pl.Utf8,
    "decimals": pl.Int64, "local_indicator_id": pl.Utf8, "year": pl.Int64, "period_label": pl.Utf8,
    "area_code": pl.Utf8, "area_name": pl.Utf8, "region_code": pl.Utf8, "region_name": pl.Utf8,
    "value": pl.Float64, "status": pl.Utf8, "value_basis": pl.Utf8, "check": pl.Utf8, "note": pl.Utf8,
    "england_value": pl.Float64, "england_status": pl.Utf8, "region_value": pl.Float64,
    "region_status": pl.Utf8, "neighbour_model": pl.Utf8, "neighbour_model_name": pl.Utf8,
    "neighbours_mean": pl.Float64, "neighbours_median": pl.Float64, "neighbours_with_figures": pl.Int64,
    "difference_from_neighbours_median": pl.Float64, "rank": pl.Int64, "ranked_authorities": pl.Int64,
    "quartile": pl.Int64,
}
# benchmark_neighbours: the neighbour lists with names, for the dashboard.
NAMED_NEIGHBOURS: dict[str, Any] = {
    "model": pl.Utf8, "model_name": pl.Utf8, "area_code": pl.Utf8, "area_name": pl.Utf8,
    "neighbour_rank": pl.Int64, "neighbour_code": pl.Utf8, "neighbour_name": pl.Utf8, "closeness": pl.Utf8,
}
# benchmark_home: which authority the partnership is benchmarked as, and why.
HOME: dict[str, Any] = {
    "authority_code": pl.Utf8, "authority_name": pl.Utf8, "set_by": pl.Utf8, "local_area_code": pl.Utf8,
    "local_area_name": pl.Utf8, "has_published_figures": pl.Boolean, "neighbour_models": pl.Utf8,
}


def empty(schema: dict[str, Any]) -> pl.DataFrame:
    return pl.DataFrame(schema=schema)
