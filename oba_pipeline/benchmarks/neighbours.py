"""Statistical neighbours in both published formats, and the local authority code list (`las.csv`).

- 2025 model: `old_la_code, la_name, ..., SN_1, SN_1P, ..., SN_10, SN_10P`; bands such as `Close `
  carry trailing spaces.
- April 2021 groupings: `SN1, SNP, SN2, SNP, ...`: every closeness column is called `SNP`, so each is
  read as the column straight after its neighbour, and a trailing empty column is ignored. Neighbours
  may be given by code or by name; names are matched to the authorities the file itself lists.
"""

from __future__ import annotations

import polars as pl

from oba_pipeline.benchmarks import schemas
from oba_pipeline.benchmarks.errors import NOTHING_LOADED, PublishedFileError
from oba_pipeline.benchmarks.formats import NEIGHBOUR_MODELS, NEIGHBOURS, SN2021_CODE, SN2021_NAME, Format
from oba_pipeline.benchmarks.read import ROW, CsvTable
from oba_pipeline.benchmarks.recognise import present

CODE_PATTERN = r"^\d{3}$"


def _name_key(expr: pl.Expr) -> pl.Expr:
    return expr.str.to_lowercase().str.replace_all(r"[^0-9a-z]+", " ").str.strip_chars()


def _pairs(table: CsvTable, fmt: Format) -> tuple[pl.DataFrame, str, str | None]:
    """The long frame (row, authority, rank, neighbour text, closeness) for either format."""
    if fmt.id == "sn_2025":
        code_col, name_col = "old_la_code", "la_name" if "la_name" in table.columns else None
        slots = [(k, f"sn_{k}", f"sn_{k}p") for k in NEIGHBOURS]
    else:
        code_col = present(SN2021_CODE, table.columns) or ""
        name_col = present(SN2021_NAME, table.columns)
        slots = []
        for k in NEIGHBOURS:
            position = table.columns.index(f"sn{k}")
            following = table.columns[position + 1] if position + 1 < len(table.columns) else None
            if following is None or not following.startswith("snp"):
                raise PublishedFileError(table.name, "required_columns",
                                         f"{table.name}: column SN{k} should be followed by its closeness "
                                         f"column SNP, as in the April 2021 groupings. {NOTHING_LOADED}")
            slots.append((k, f"sn{k}", following))
    frame = table.frame.with_columns(
        _code=pl.col(code_col).str.strip_chars(),
        _name=pl.col(name_col).str.strip_chars() if name_col else pl.lit(None, dtype=pl.Utf8))
    long = pl.concat([
        frame.select(ROW, "_code", "_name", neighbour_rank=pl.lit(k, dtype=pl.Int64),
                     neighbour=pl.col(code).str.strip_chars(), closeness=pl.col(band).str.strip_chars(),
                     column=pl.lit(code.upper()))
        for k, code, band in slots])
    return long, code_col, name_col


def parse_neighbours(table: CsvTable, fmt: Format) -> pl.DataFrame:
    """Each authority's ten neighbours, one row per pair, keyed on 3-digit codes; raises if one is unknown."""
    long, code_col, _ = _pairs(table, fmt)
    long = long.filter(pl.col("_code").str.contains(CODE_PATTERN))
    if long.is_empty():
        raise PublishedFileError(table.name, "rows", f"{table.name}: no row has a 3-digit local authority code "
                                 f"in {code_col}. {NOTHING_LOADED}")
    # A neighbour given by name is matched on the names of the authorities the file lists.
    names = long.select(_key=_name_key(pl.col("_name")), _by_name=pl.col("_code")).unique("_key")
    resolved = long.with_columns(_key=_name_key(pl.col("neighbour"))).join(names, on="_key", how="left")
    resolved = resolved.with_columns(
        neighbour_code=pl.when(pl.col("neighbour").str.contains(CODE_PATTERN)).then(pl.col("neighbour"))
        .otherwise(pl.col("_by_name")))
    unknown = resolved.filter(pl.col("neighbour_code").is_null())
    if unknown.height:
        cells = "; ".join(f"row {r[ROW]}, column {r['column']}, value {r['neighbour']!r}"
                          for r in unknown.sort(ROW).head(5).iter_rows(named=True))
        raise PublishedFileError(table.name, "neighbour_codes",
                                 f"{table.name}: {cells}: not a 3-digit local authority code nor the name of "
                                 f"an authority in the file. Each authority needs all ten neighbours. "
                                 f"{NOTHING_LOADED}")
    model = "2025" if fmt.id == "sn_2025" else "2021"
    return resolved.select(
        source_format=pl.lit(fmt.id), file=pl.lit(table.name), model=pl.lit(model),
        model_name=pl.lit(NEIGHBOUR_MODELS[fmt.id]), area_code=pl.col("_code"), area_name=pl.col("_name"),
        neighbour_rank=pl.col("neighbour_rank"), neighbour_code=pl.col("neighbour_code"),
        closeness=pl.when(pl.col("closeness") != "").then(pl.col("closeness")),
    ).sort("area_code", "neighbour_rank").select(
        [pl.col(name).cast(dtype) for name, dtype in schemas.NEIGHBOURS.items()])


def parse_lookup(table: CsvTable, fmt: Format) -> pl.DataFrame:
    """`las.csv`: every authority's 3-digit and ONS codes, name, region and whether it is live."""
    frame = table.frame
    status = pl.col("status").str.strip_chars().str.to_lowercase() if "status" in frame.columns \
        else pl.lit(None, dtype=pl.Utf8)
    return frame.filter(pl.col("old_la_code").str.strip_chars().str.contains(CODE_PATTERN)).select(
        source_format=pl.lit(fmt.id), file=pl.lit(table.name),
        new_la_code=pl.col("new_la_code").str.strip_chars(), old_la_code=pl.col("old_la_code").str.strip_chars(),
        la_name=pl.col("la_name").str.strip_chars(), region_code=pl.col("parent_geography_code").str.strip_chars(),
        status=status,
    ).select([pl.col(name).cast(dtype) for name, dtype in schemas.LOOKUP.items()])

