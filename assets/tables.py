"""Small helpers for writing polars frames into the DuckDB warehouse, replacing what was there."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager

import duckdb
import polars as pl

from oba_pipeline.arrow import arrow_of


@contextmanager
def registered(con: duckdb.DuckDBPyConnection, frame: pl.DataFrame, name: str = "incoming_frame") -> Iterator[None]:
    """`frame` readable as view `name` in SQL on `con` for the duration of the block."""
    con.register(name, arrow_of(frame))
    try:
        yield
    finally:
        con.unregister(name)


def replace_table(con: duckdb.DuckDBPyConnection, name: str, frame: pl.DataFrame) -> None:
    """Create or replace table `name` (a code constant, never user input) from `frame`."""
    with registered(con, frame):
        con.execute(f'create or replace table "{name}" as select * from incoming_frame')


def swap_in(con: duckdb.DuckDBPyConnection, tables: Mapping[str, str],
            then: Sequence[tuple[str, dict[str, object]]] = ()) -> None:
    """Each scratch table of `tables` (table name -> scratch table name, code constants), filled outside any
    long transaction, takes its table's place, together with the statements of `then`, in one short
    transaction: readers see all the old tables or all the new ones, and a failure leaves the old ones.
    Filling large tables inside one transaction would hold all their uncommitted rows in memory until the
    commit (8 million family readings took a national refresh past 10 GB that way)."""
    try:
        con.execute("begin transaction")
        for name, scratch in tables.items():
            con.execute(f'drop table if exists "{name}"')
            con.execute(f'alter table "{scratch}" rename to "{name}"')
        for statement, parameters in then:
            con.execute(statement, parameters)
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise


def replace_tables(con: duckdb.DuckDBPyConnection,
                   frames: Mapping[str, pl.DataFrame | Callable[[], pl.DataFrame]]) -> None:
    """Create or replace every table of `frames` (table name -> frame; code constants) at once: each is written
    to a scratch table first, and `swap_in` puts them all in place together. A function in place of a frame
    is called when its table is written, and its frame let go once written: of several large tables made one
    from another, only the one being written is held beside what they are made from."""
    scratch = {name: f"_new_{name}" for name in frames}
    try:
        for name, frame in frames.items():
            replace_table(con, scratch[name], frame() if callable(frame) else frame)
        swap_in(con, scratch)
    finally:
        for table in scratch.values():
            con.execute(f'drop table if exists "{table}"')


def replace_rows(con: duckdb.DuckDBPyConnection, name: str, frame: pl.DataFrame, *, source: str) -> None:
    """Delete `source`'s rows from table `name` and insert `frame` in their place, in one transaction."""
    with registered(con, frame):
        try:
            con.execute("begin transaction")
            con.execute(f'create table if not exists "{name}" as select * from incoming_frame limit 0')
            con.execute(f'delete from "{name}" where source = $source', {"source": source})
            con.execute(f'insert into "{name}" by name select * from incoming_frame')
            con.execute("commit")
        except Exception:
            con.execute("rollback")
            raise


def append_rows(con: duckdb.DuckDBPyConnection, name: str, frame: pl.DataFrame, *, create: bool = False) -> None:
    """Append `frame` to table `name` (a code constant, never user input), matching columns by name;
    with `create`, a missing table is made with the frame's columns first."""
    with registered(con, frame):
        if create:
            con.execute(f'create table if not exists "{name}" as select * from incoming_frame limit 0')
        con.execute(f'insert into "{name}" by name select * from incoming_frame')


def row_count(con: duckdb.DuckDBPyConnection, name: str) -> int:
    """The rows of table `name` (a code constant, never user input)."""
    counted = con.execute(f'select count(*) from "{name}"').fetchone()
    return int(counted[0]) if counted else 0


def read_table(con: duckdb.DuckDBPyConnection, name: str) -> pl.DataFrame:
    return con.execute(f'select * from "{name}"').pl()
