"""Which authority the partnership is benchmarked as: configuration (`OBA_HOME_LA`), not code.

The setting is a 3-digit `old_la_code` (Islington is 206). Without it, the authority in the local
extracts is used when it is a real authority in the published files. The synthetic Northwold (999)
is not, so the demo sets `OBA_HOME_LA=206` and compares Islington's published figures.
"""

from __future__ import annotations

import polars as pl

from oba_pipeline.benchmarks import schemas

HOME_LA_ENV = "OBA_HOME_LA"


def home_authority(setting: str, local: pl.DataFrame, known: pl.DataFrame, benchmarks: pl.DataFrame,
                   neighbours: pl.DataFrame) -> pl.DataFrame:
    """One row (`benchmark_home`) saying which authority is home, why, and whether it has figures."""
    local_row = local.filter(pl.col("area_type") == "authority").head(1)
    local_code = str(local_row["area_code"][0]) if local_row.height else None
    local_name = str(local_row["area_name"][0]) if local_row.height else None
    code = setting.strip()
    if code:
        set_by = HOME_LA_ENV
    elif local_code is not None and local_code in set(known.get_column("area_code").to_list()):
        code, set_by = local_code, "local extracts"
    else:
        return pl.DataFrame([{"authority_code": None, "authority_name": None, "set_by": "not set",
                              "local_area_code": local_code, "local_area_name": local_name,
                              "has_published_figures": False, "neighbour_models": None}], schema=schemas.HOME)
    names = known.filter(pl.col("area_code") == code).get_column("area_name")
    models = sorted(set(neighbours.filter(pl.col("area_code") == code).get_column("model_name").to_list()))
    return pl.DataFrame([{
        "authority_code": code, "authority_name": names[0] if names.len() else None, "set_by": set_by,
        "local_area_code": local_code, "local_area_name": local_name,
        "has_published_figures": benchmarks.filter(pl.col("area_code") == code).height > 0,
        "neighbour_models": "; ".join(models) or None,
    }], schema=schemas.HOME)
