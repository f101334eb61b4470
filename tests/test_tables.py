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


def test_frames_reach_duckdb_without_their_strings_copied_and_come_back_the_same() -> None:
    import pyarrow as pa

    from assets.tables import replace_table
    from oba_pipeline.arrow import arrow_of

    frame = pl.DataFrame({
        "area_code": ["E09000999", None, "Ynys Môn", "x" * 100], "value": [1.5, None, 3.0, 4.25],
        "period_start": pl.Series(["2024-04-01", "2024-05-01", None, "2024-07-01"]).str.to_date(),
    })
    # the string-view layout polars holds, handed over as it is (the default conversion copies to large strings)
    assert arrow_of(frame).schema.field("area_code").type == pa.string_view()
    with duckdb.connect() as con:
        replace_table(con, "values_written", frame)
        assert con.execute("select * from values_written").pl().equals(frame)
        assert [row[1] for row in con.execute("describe values_written").fetchall()] == ["VARCHAR", "DOUBLE", "DATE"]


def test_replace_tables_makes_a_table_from_a_function_only_when_it_is_written() -> None:
    made: list[str] = []

    def table(name: str):  # noqa: ANN202 - a function making a frame, as the indicator step passes them
        def make() -> pl.DataFrame:
            made.append(name)
            return pl.DataFrame({"x": [len(made)]})
        return make

    with duckdb.connect() as con:
        replace_tables(con, {"a": table("a"), "b": pl.DataFrame({"x": [9]}), "c": table("c")})
        assert made == ["a", "c"]
        assert con.execute("select (select x from a), (select x from b), (select x from c)").fetchone() == (1, 9, 2)
