"""Small helpers for writing polars frames into the DuckDB warehouse, replacing what was there."""

from __future__ import annotations

import duckdb
import polars as pl


def replace_table(con: duckdb.DuckDBPyConnection, name: str, frame: pl.DataFrame) -> None:
    """Create or replace table `name` (a code constant, never user input) from `frame`."""
    con.register("incoming_frame", frame.to_arrow())
    try:
        con.execute(f'create or replace table "{name}" as select * from incoming_frame')
    finally:
        con.unregister("incoming_frame")


def replace_rows(con: duckdb.DuckDBPyConnection, name: str, frame: pl.DataFrame, *, source: str) -> None:
    """Delete `source`'s rows from table `name` and insert `frame` in their place, in one transaction."""
    con.register("incoming_frame", frame.to_arrow())
    try:
        con.execute("begin transaction")
        con.execute(f'create table if not exists "{name}" as select * from incoming_frame limit 0')
        con.execute(f'delete from "{name}" where source = $source', {"source": source})
        con.execute(f'insert into "{name}" by name select * from incoming_frame')
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    finally:
        con.unregister("incoming_frame")


def append_rows(con: duckdb.DuckDBPyConnection, name: str, frame: pl.DataFrame) -> None:
    """Append `frame` to table `name` (a code constant, never user input), matching columns by name."""
    con.register("incoming_frame", frame.to_arrow())
    try:
        con.execute(f'insert into "{name}" by name select * from incoming_frame')
    finally:
        con.unregister("incoming_frame")


def read_table(con: duckdb.DuckDBPyConnection, name: str) -> pl.DataFrame:
    return con.execute(f'select * from "{name}"').pl()
