"""Comparators for every published measure, authority and year: England, region, neighbours, rank, quartile.

The neighbours' mean and median use one statistical-neighbour model, named in every row: the newest
model in the published folder (the 2025 model when both it and the April 2021 groupings are there).
The rank is among all authorities with a figure, 1 the best by the measure's polarity (for measures with
no polarity, 1 is the lowest); quartile 1 is the best quarter. All of it is one SQL statement over the
whole country (`sql/benchmarks.sql`).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

from oba_pipeline.arrow import arrow_of
from oba_pipeline.benchmarks import schemas

SQL = (Path(__file__).resolve().parent / "sql" / "benchmarks.sql").read_text(encoding="utf-8")


def chosen_model(neighbours: pl.DataFrame) -> tuple[str | None, str | None]:
    """The neighbour model the comparators use: the newest one loaded, or None."""
    if neighbours.is_empty():
        return None, None
    model = str(neighbours.get_column("model").max())
    name = neighbours.filter(pl.col("model") == model).get_column("model_name")[0]
    return model, name


def authorities(values: pl.DataFrame, lookup: pl.DataFrame) -> pl.DataFrame:
    """Each authority's latest name and region, from the published figures, else from the code list."""
    from_values = (values.filter((pl.col("level") == "authority") & pl.col("region_code").is_not_null())
                   .sort("year", descending=True).unique("area_code", keep="first")
                   .select("area_code", "area_name", "region_code", "region_name"))
    region_names = values.filter(pl.col("level") == "regional").unique("area_code").select(
        region_code=pl.col("area_code"), region_name=pl.col("area_name"))
    from_lookup = lookup.select(area_code=pl.col("old_la_code"), area_name=pl.col("la_name"),
                                region_code=pl.col("region_code")).join(region_names, on="region_code", how="left")
    return pl.concat([from_values, from_lookup.filter(~pl.col("area_code").is_in(from_values["area_code"]))],
                     how="vertical_relaxed").unique("area_code", keep="first")


def named_neighbours(neighbours: pl.DataFrame, known: pl.DataFrame) -> pl.DataFrame:
    """The neighbour lists with each neighbour's name, for the dashboard."""
    names = known.select(neighbour_code=pl.col("area_code"), neighbour_name=pl.col("area_name"))
    return neighbours.join(names, on="neighbour_code", how="left").select(list(schemas.NAMED_NEIGHBOURS))


def benchmarks(con: duckdb.DuckDBPyConnection, values: pl.DataFrame, measures: pl.DataFrame,
               neighbours: pl.DataFrame, known: pl.DataFrame) -> pl.DataFrame:
    """The `benchmarks` table: one row per measure, authority and year with its comparators."""
    model, model_name = chosen_model(neighbours)
    model_rows = neighbours.filter(pl.col("model") == model) if model else neighbours
    inputs = {"bm_measure_values": values, "bm_measures": measures, "bm_authorities": known,
              "bm_model_neighbours": model_rows}
    for name, frame in inputs.items():
        con.register(name, arrow_of(frame))
    try:
        result = con.execute(SQL, {"model": model, "model_name": model_name}).pl()
    finally:
        for name in inputs:
            con.unregister(name)
    return result.select([pl.col(n).cast(t) for n, t in schemas.BENCHMARKS.items()])
