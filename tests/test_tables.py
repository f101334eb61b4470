"""Writing tables into the warehouse: scratch tables swapped in together, or not at all."""

from __future__ import annotations

import duckdb
import polars as pl
import pytest

from assets.tables import replace_tables, swap_in


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {name for (name,) in con.execute("select table_name from duckdb_tables()").fetchall()}


def test_replace_tables_puts_every_table_in_place_and_leaves_no_scratch() -> None:
    with duckdb.connect() as con:
        con.execute("create table a as select 1 as x")
        replace_tables(con, {"a": pl.DataFrame({"x": [2, 3]}), "b": pl.DataFrame({"y": ["new"]})})
        assert con.execute("select list(x order by x) from a").fetchone() == ([2, 3],)
        assert con.execute("select y from b").fetchone() == ("new",)
        assert _tables(con) == {"a", "b"}


def test_a_failed_swap_keeps_every_old_table() -> None:
    with duckdb.connect() as con:
        con.execute("create table a as select 1 as x")
        con.execute("create table b as select 'old' as y")
        con.execute("create table _scratch_a as select 2 as x")
        con.execute("create table _scratch_b as select 'new' as y")
        with pytest.raises(duckdb.Error):
            swap_in(con, {"a": "_scratch_a", "b": "_scratch_b"}, then=[("insert into missing values (1)", {})])
        assert con.execute("select x from a").fetchone() == (1,)
        assert con.execute("select y from b").fetchone() == ("old",)
        assert {"_scratch_a", "_scratch_b"} <= _tables(con)  # the caller drops its scratch tables


def test_replace_tables_that_fails_part_way_changes_nothing() -> None:
    class Broken:
        """Not a frame: writing it fails after the first table was written to its scratch table."""

    with duckdb.connect() as con:
        con.execute("create table a as select 1 as x")
        with pytest.raises(Exception):  # noqa: B017 - whatever registering a non-frame raises
            replace_tables(con, {"a": pl.DataFrame({"x": [2]}), "b": Broken()})  # type: ignore[dict-item]
        assert con.execute("select x from a").fetchone() == (1,)
        assert _tables(con) == {"a"}
