"""Figures inside published numeric columns: a number, or a symbol that stands where a number would be.

DfE writes symbols into numeric columns (`c` suppressed, `x` not available, `z` not applicable, `low`
or older `k` rounds to zero but is not zero, `u` low reliability, legacy `:` and `~`). The toolkit
keeps a numeric `value` (null where a symbol stands) and a separate `status` (`ok` or the symbol):
a symbol never becomes a number, and never a negative one.
"""

from __future__ import annotations

import polars as pl

from oba_pipeline.benchmarks.errors import NOTHING_LOADED, PublishedFileError
from oba_pipeline.benchmarks.read import ROW

SYMBOLS = ("c", "x", "z", "u", "low", "k", ":", "~")
SHOWN_PROBLEMS = 5


def parse_figures(long: pl.DataFrame, file: str) -> pl.DataFrame:
    """Add `value` and `status` to a long frame of (`_row`, `column`, `raw`) cells; raise on text that is neither.

    An empty cell is `x` (not available): a blank is never read as zero.
    """
    text = pl.col("raw").str.strip_chars()
    lowered = text.str.to_lowercase()
    parsed = long.with_columns(
        status=pl.when(text.is_null() | (text == "")).then(pl.lit("x"))
        .when(lowered.is_in(SYMBOLS)).then(lowered)
        .otherwise(pl.lit("ok")),
        # Thousands separators and pound signs appear in older spreadsheet-made files.
        value=text.str.replace_all(r"[,£%\s]", "").cast(pl.Float64, strict=False),
    ).with_columns(value=pl.when(pl.col("status") == "ok").then(pl.col("value")))
    bad = parsed.filter((pl.col("status") == "ok") & pl.col("value").is_null())
    if bad.height:
        cells = "; ".join(f"row {r[ROW]}, column {r['column']}, value {r['raw']!r}"
                          for r in bad.head(SHOWN_PROBLEMS).iter_rows(named=True))
        more = f" (and {bad.height - SHOWN_PROBLEMS} more)" if bad.height > SHOWN_PROBLEMS else ""
        raise PublishedFileError(
            file, "figures",
            f"{file}: {cells}{more}: neither a number nor one of the published symbols "
            f"({', '.join(SYMBOLS)}). The file looks edited: download it again. {NOTHING_LOADED}")
    return parsed
