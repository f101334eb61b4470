"""Publishing: a snapshot becomes live in one step, and readers only ever see whole snapshots."""

from pathlib import Path

import duckdb
import polars as pl
import pytest

from oba_pipeline.config import Home
from oba_pipeline.export import NothingPublishedError, export_published
from oba_pipeline.publish import CURRENT, KEEP_SNAPSHOTS, current_snapshot, publish_tables, read_manifest


def table(value: int) -> pl.DataFrame:
    return pl.DataFrame({"indicator_id": ["referral_rate"], "value": [float(value)]})


def test_publish_switches_current_and_keeps_the_last_few(tmp_path: Path) -> None:
    home = Home(tmp_path)
    assert current_snapshot(home) is None
    first = publish_tables(home, {"indicator_values": table(1)}, {"extract_date": "2026-10-31"})
    assert current_snapshot(home) == first
    assert read_manifest(first)["tables"] == {"indicator_values": 1}
    snapshots = [publish_tables(home, {"indicator_values": table(i)}, {}) for i in range(2, 9)]
    assert current_snapshot(home) == snapshots[-1]
    kept = [p for p in home.published.iterdir() if p.is_dir()]
    assert len(kept) == KEEP_SNAPSHOTS
    con = duckdb.connect(str(snapshots[-1] / "oba.duckdb"), read_only=True)
    assert con.execute("select value from indicator_values").fetchone() == (8.0,)
    con.close()


def test_tables_given_as_functions_are_made_one_at_a_time_as_they_are_written(tmp_path: Path) -> None:
    made: list[str] = []

    def loader(name: str, rows: int):  # noqa: ANN202 - a loader as the publishing asset passes them
        def load() -> pl.DataFrame:
            made.append(name)
            return pl.DataFrame({"indicator_id": ["x"] * rows, "value": [float(i) for i in range(rows)]})
        return load

    snapshot = publish_tables(Home(tmp_path), {"indicator_values": loader("full", 3), "baselines": table(2)}, {},
                              public={"indicator_values": loader("public", 1)})
    assert made == ["full", "public"]
    manifest = read_manifest(snapshot)
    assert manifest["tables"] == {"indicator_values": 3, "baselines": 1}
    assert manifest["public_tables"] == {"indicator_values": 1}
    with duckdb.connect(str(snapshot / "oba.duckdb"), read_only=True) as con:
        assert con.execute("select list(value) from indicator_values").fetchone() == ([0.0, 1.0, 2.0],)


def test_warehouse_tables_are_copied_by_duckdb_with_their_types_and_sorted(tmp_path: Path) -> None:
    warehouse = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    warehouse.execute("create table values_public as select * from (values (2::hugeint, 'b'), (1::hugeint, 'a')) "
                      "v(total, label)")
    snapshot = publish_tables(Home(tmp_path / "home"), {"indicator_values": "values_public", "baselines": table(2)},
                              {}, public={"indicator_values": "values_public"}, source=warehouse)
    manifest = read_manifest(snapshot)
    assert manifest["tables"] == {"indicator_values": 2, "baselines": 1}
    assert manifest["public_tables"] == {"indicator_values": 2}
    # the snapshot is detached from the warehouse's connection once written, and can be opened on its own
    assert warehouse.execute("select count(*) from duckdb_databases() where not internal").fetchone() == (1,)
    warehouse.close()
    for database in ("oba.duckdb", "public.duckdb"):
        with duckdb.connect(str(snapshot / database), read_only=True) as con:
            assert con.execute("select * from indicator_values").fetchall() == [(1, "a"), (2, "b")]
            assert con.execute("select data_type from information_schema.columns where column_name = 'total'"
                               ).fetchone() == ("HUGEINT",)


def test_a_warehouse_table_without_a_source_connection_is_refused_and_nothing_is_published(tmp_path: Path) -> None:
    home = Home(tmp_path)
    with pytest.raises(ValueError, match="no source connection"):
        publish_tables(home, {"indicator_values": "indicator_values"}, {})
    assert current_snapshot(home) is None


def test_a_half_written_snapshot_is_never_current(tmp_path: Path) -> None:
    home = Home(tmp_path)
    live = publish_tables(home, {"indicator_values": table(1)}, {})
    # A refresh killed while writing leaves a hidden partial folder; CURRENT still names the live one.
    (home.published / ".20990101T000000000000Z.partial").mkdir()
    assert current_snapshot(home) == live
    assert (home.published / CURRENT).read_text() == live.name


def test_export_every_format(tmp_path: Path) -> None:
    home = Home(tmp_path / "home")
    with pytest.raises(NothingPublishedError, match="oba refresh"):
        export_published(home, tmp_path / "out", "csv")
    publish_tables(home, {"indicator_values": table(3), "areas": pl.DataFrame({"area_code": ["999"]})}, {})
    csvs = export_published(home, tmp_path / "csv", "csv")
    assert sorted(p.name for p in csvs) == ["areas.csv", "indicator_values.csv"]
    assert pl.read_csv(tmp_path / "csv" / "indicator_values.csv").get_column("value").to_list() == [3.0]
    parquet = export_published(home, tmp_path / "pq", "parquet")
    assert pl.read_parquet(parquet[1]).height == 1
    [workbook] = export_published(home, tmp_path / "xl", "xlsx")
    assert pl.read_excel(workbook, sheet_name="indicator_values").get_column("value").to_list() == [3.0]


def test_export_refuses_a_snapshot_with_a_small_count(tmp_path: Path) -> None:
    from oba_pipeline.export import DisclosureBreachError

    home = Home(tmp_path / "home")
    leaky = pl.DataFrame({"indicator_id": ["referrals_received"], "area_code": ["999"], "period_label": ["2024-25"],
                          "value": [3.0], "numerator": [3.0], "denominator": [None], "status": ["ok"]})
    publish_tables(home, {"indicator_values": leaky}, {})
    with pytest.raises(DisclosureBreachError, match="count of children or families from 1 to 5"):
        export_published(home, tmp_path / "out", "csv")
    assert not (tmp_path / "out" / "indicator_values.csv").exists()
