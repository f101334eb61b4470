"""Exports of the published tables for analysts who work in Excel or Power BI."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

from oba_pipeline.config import Home
from oba_pipeline.publish import SNAPSHOT_DB, current_snapshot

FORMATS = ("csv", "parquet", "xlsx")


class NothingPublishedError(RuntimeError):
    """There is no published snapshot to read from yet."""


def published_tables(home: Home) -> dict[str, pl.DataFrame]:
    """Every table of the live snapshot (already through disclosure control when it was published)."""
    snapshot = current_snapshot(home)
    if snapshot is None:
        raise NothingPublishedError(f"Nothing has been published under {home.root} yet: run `oba refresh` first.")
    con = duckdb.connect(str(snapshot / SNAPSHOT_DB), read_only=True)
    try:
        names = [row[0] for row in con.execute(
            "select table_name from information_schema.tables order by table_name").fetchall()]
        return {name: con.execute(f'select * from "{name}"').pl() for name in names}
    finally:
        con.close()


def export_published(home: Home, out_dir: Path, fmt: str) -> list[Path]:
    """Write every published table to `out_dir` as CSV or Parquet files, or one XLSX workbook."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    tables = published_tables(home)
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
