"""Exports of the published tables for analysts who work in Excel or Power BI."""

from __future__ import annotations

import io
from pathlib import Path

import duckdb
import polars as pl

from oba_pipeline.catalogue import load_catalogue
from oba_pipeline.config import Home
from oba_pipeline.disclosure import load_profiles, public_indicator_ids, small_published_counts
from oba_pipeline.publish import PUBLIC_DB, SNAPSHOT_DB, current_snapshot

FORMATS = ("csv", "parquet", "xlsx")
AUDIENCES = ("standard", "public")


class NothingPublishedError(RuntimeError):
    """There is no published snapshot to read from yet."""


class DisclosureBreachError(RuntimeError):
    """A table about to be exported holds a count disclosure control should have suppressed."""


def published_tables(home: Home, audience: str = "standard") -> dict[str, pl.DataFrame]:
    """Every table of the live snapshot (already through disclosure control when it was published).

    `audience` "public" reads the public subset, published under the stricter public profile.
    """
    if audience not in AUDIENCES:
        raise ValueError(f"unknown audience {audience!r}; choose one of {', '.join(AUDIENCES)}")
    snapshot = current_snapshot(home)
    if snapshot is None:
        raise NothingPublishedError(f"Nothing has been published under {home.root} yet: run `oba refresh` first.")
    database = snapshot / (PUBLIC_DB if audience == "public" else SNAPSHOT_DB)
    if not database.exists():
        raise NothingPublishedError(f"The live snapshot {snapshot.name} has no {audience} tables: run `oba refresh` "
                                    "to publish them.")
    con = duckdb.connect(str(database), read_only=True)
    try:
        names = [row[0] for row in con.execute(
            "select table_name from information_schema.tables order by table_name").fetchall()]
        return {name: con.execute(f'select * from "{name}"').pl() for name in names}
    finally:
        con.close()


def check_disclosure(tables: dict[str, pl.DataFrame], audience: str = "standard") -> None:
    """Refuse to export if any count of people from 1 to the threshold would leave the toolkit.

    The snapshot was published through disclosure control; this second look guards the export path
    against a snapshot written some other way (an older version, a hand-made file).
    """
    values = tables.get("indicator_values")
    if values is None or values.is_empty():
        return
    threshold = load_profiles()[audience].threshold
    breaches = small_published_counts(values, load_catalogue(), threshold=threshold)
    if breaches.height:
        first = breaches.row(0, named=True)
        raise DisclosureBreachError(
            f"Export stopped: indicator_values holds {breaches.height} row(s) with a count of children or "
            f"families from 1 to {threshold} (first: {first['indicator_id']}, {first.get('area_code')}, "
            f"{first.get('period_label')}). Run `oba refresh` to republish through disclosure control.")


def export_published(home: Home, out_dir: Path, fmt: str, audience: str = "standard") -> list[Path]:
    """Write every published table to `out_dir` as CSV or Parquet files, or one XLSX workbook."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    tables = published_tables(home, audience)
    check_disclosure(tables, audience)
    out_dir.mkdir(parents=True, exist_ok=True)
    if fmt == "xlsx":
        import xlsxwriter

        path = out_dir / "oba_published.xlsx"
        with xlsxwriter.Workbook(str(path)) as workbook:
            for name, frame in tables.items():
                frame.write_excel(workbook, worksheet=name[:31], autofit=True)
        return [path]
    written = []
    for name, frame in tables.items():
        path = out_dir / f"{name}.{fmt}"
        if fmt == "csv":
            frame.write_csv(path)
        else:
            frame.write_parquet(path)
        written.append(path)
    return written


def check_frame_disclosure(frame: pl.DataFrame, audience: str = "standard", name: str = "table") -> pl.DataFrame:
    """One table on its way out of the dashboard: the audience's indicators only, and no small counts.

    The figures come from the published snapshot (already through disclosure control, and the public
    subset for the public); this is the export path's second look, as `check_disclosure` is for files.
    """
    if audience not in AUDIENCES:
        raise ValueError(f"unknown audience {audience!r}; choose one of {', '.join(AUDIENCES)}")
    profile = load_profiles()[audience]
    if "indicator_id" not in frame.columns:
        return frame
    catalogue = load_catalogue()
    if profile.indicators is not None:
        frame = frame.filter(pl.col("indicator_id").is_in(public_indicator_ids(profile, catalogue)))
    # The figures under their published names, and a scorecard's latest and prior figures as values too;
    # a column of words that shares a name (the catalogue's numerator description) is not a figure.
    figures = [column for column in ("value", "numerator", "denominator")
               if column in frame.columns and frame.schema[column].is_numeric()]

    def label(column: str) -> pl.Expr:
        return (pl.col(column) if column in frame.columns else pl.lit(None, pl.String)).alias("period_label")

    views = [frame.select("indicator_id", *figures, label("period_label"))]
    views += [frame.select("indicator_id", pl.col(column).alias("value"), label(period))
              for column, period in (("latest_value", "latest_label"), ("prior_value", "prior_label"))
              if column in frame.columns and frame.schema[column].is_numeric()]
    breaches = pl.concat([small_published_counts(view, catalogue, threshold=profile.threshold) for view in views],
                         how="diagonal_relaxed")
    if breaches.height:
        first = breaches.row(0, named=True)
        raise DisclosureBreachError(
            f"Download stopped: {name} holds {breaches.height} row(s) with a count of children or families from 1 "
            f"to {profile.threshold} (first: {first['indicator_id']}, {first.get('period_label') or ''}). The data "
            "team should run `oba refresh` to republish through disclosure control.")
    return frame


def frame_bytes(frame: pl.DataFrame, fmt: str, sheet: str = "data") -> bytes:
    """One table as the bytes of a CSV file (UTF-8 with a byte-order mark, so Excel reads it) or a workbook."""
    if fmt not in ("csv", "xlsx"):
        raise ValueError(f"unknown download format {fmt!r}; choose csv or xlsx")
    # Lists (a scorecard row's recent figures) become text: neither format holds a list in a cell.
    flat = frame.with_columns(pl.col(name).list.eval(pl.element().cast(pl.String).fill_null("")).list.join("; ")
                              for name, dtype in frame.schema.items() if isinstance(dtype, pl.List))
    buffer = io.BytesIO()
    if fmt == "csv":
        buffer.write(b"\xef\xbb\xbf")
        flat.write_csv(buffer)
    else:
        flat.write_excel(buffer, worksheet=sheet[:31], autofit=True)
    return buffer.getvalue()
