"""What the `oba ttc` commands do: start a cycle (freezing its baseline), add a scenario, set a target,
list what has been decided. Figures come from the published snapshot; decisions go to the app database."""

from __future__ import annotations

import re
from datetime import date

import duckdb
import polars as pl
from sqlalchemy import Engine

from oba_pipeline.appdb import create_schema, make_engine
from oba_pipeline.catalogue import load_catalogue
from oba_pipeline.config import Home
from oba_pipeline.publish import current_snapshot
from oba_pipeline.turn_the_curve import records
from oba_pipeline.turn_the_curve.records import RecordError

PERIOD = re.compile(r"^(\d{4})-(\d{2})$")


def _engine(home: Home) -> Engine:
    engine = make_engine(home=home)
    create_schema(engine)
    return engine


def published_values(home: Home) -> tuple[pl.DataFrame, str]:
    snapshot = current_snapshot(home)
    if snapshot is None:
        raise RecordError(f"nothing is published yet in {home.root}: run `oba refresh` first")
    with duckdb.connect(str(snapshot / "oba.duckdb"), read_only=True) as con:
        return con.execute("select * from indicator_values").pl(), snapshot.name


def parse_points(items: list[str], period_type: str) -> dict[date, float]:
    """`2027-03=540` (a month; for reporting years, the April the year starts, e.g. `2026-04=520`)."""
    points: dict[date, float] = {}
    for item in items:
        period, _, value = item.partition("=")
        match = PERIOD.match(period.strip())
        if not match or not value.strip():
            raise RecordError(f"'{item}' is not PERIOD=VALUE with PERIOD as YYYY-MM, e.g. 2027-03=540")
        start = date(int(match[1]), int(match[2]), 1)
        if period_type == "reporting_year" and start.month != 4:
            raise RecordError(f"'{item}': a reporting year starts in April; write it as {start.year}-04")
        try:
            points[start] = float(value)
        except ValueError:
            raise RecordError(f"'{item}': '{value}' is not a number") from None
    return points


def start_cycle(home: Home, *, indicator_id: str, area_code: str, period_type: str, name: str, by: str,
                started_on: date | None = None) -> str:
    values, snapshot = published_values(home)
    engine = _engine(home)
    try:
        cycle_id = records.start_cycle(engine, load_catalogue(), values, indicator_id=indicator_id,
                                       area_code=area_code, period_type=period_type, name=name, started_by=by,
                                       started_on=started_on or date.today(), snapshot_id=snapshot)
        cycle = next(c for c in records.load_records(engine).cycles if c.cycle_id == cycle_id)
    finally:
        engine.dispose()
    first, last = cycle.baseline.points[0], cycle.baseline.points[-1]
    return (f"Cycle {cycle_id} '{name}' started for {indicator_id} in {area_code}: baseline frozen as vintage "
            f"{cycle.vintage_id} ({cycle.baseline.method_label}, fitted {cycle.baseline.fitted_from:%b %Y} to "
            f"{cycle.baseline.fitted_to:%b %Y}), forecast {first.period_start:%b %Y} to {last.period_start:%b %Y}. "
            "It is published with the next refresh.")


def add_scenario(home: Home, *, indicator_id: str, area_code: str, period_type: str, name: str, by: str,
                 reason: str, items: list[str]) -> str:
    values, _ = published_values(home)
    engine = _engine(home)
    try:
        scenario_id = records.add_scenario(engine, load_catalogue(), values, indicator_id=indicator_id,
                                           area_code=area_code, period_type=period_type, name=name, author=by,
                                           reason=reason, points=parse_points(items, period_type))
    finally:
        engine.dispose()
    return f"Scenario {scenario_id} '{name}' saved for {indicator_id} in {area_code}; published with the next refresh."


def set_target(home: Home, *, indicator_id: str, area_code: str, period_type: str, value: float, by: str,
               note: str = "") -> str:
    values, _ = published_values(home)
    engine = _engine(home)
    try:
        records.set_target(engine, load_catalogue(), values, indicator_id=indicator_id, area_code=area_code,
                           period_type=period_type, value=value, set_by=by, note=note)
    finally:
        engine.dispose()
    return (f"Target for {indicator_id} in {area_code} ({period_type}) set to {value:g}; "
            "published with the next refresh.")


def list_records(home: Home) -> str:
    engine = _engine(home)
    try:
        found = records.load_records(engine)
    finally:
        engine.dispose()
    lines = ["Cycles:"] + [
        f"  {c.cycle_id}: {c.name} - {c.indicator_id} in {c.area_code} ({c.period_type}), started {c.started_on} "
        f"by {c.started_by}; vintage {c.vintage_id} frozen {c.frozen_at}" for c in found.cycles] + ["Scenarios:"] + [
        f"  {s.scenario_id}: {s.name} - {s.indicator_id} in {s.area_code} ({s.period_type}) by {s.author}, "
        f"{len(s.values)} value(s): {s.reason}" for s in found.scenarios] + ["Targets:"] + [
        f"  {i} in {a} ({p}): {v:g}" for (i, a, p), v in sorted(found.targets.items())]
    return "\n".join(lines)
