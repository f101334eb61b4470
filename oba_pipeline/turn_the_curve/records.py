"""Reading and writing what people decide: cycles (with their frozen vintages), scenarios and targets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl
from sqlalchemy import Engine, select
from sqlalchemy.orm import selectinload

from oba_pipeline.appdb import record_audit, session_scope
from oba_pipeline.appdb.turn_the_curve import (
    BaselineVintage,
    Scenario,
    ScenarioPoint,
    Target,
    TtcCycle,
    VintagePoint,
)
from oba_pipeline.catalogue import Catalogue
from oba_pipeline.turn_the_curve.forecast import Baseline, BaselinePoint, NoBaseline, fit_baseline
from oba_pipeline.turn_the_curve.series import measure_series

VINTAGE_HORIZON = {"month": 24, "reporting_year": 3}


class RecordError(ValueError):
    """A request a person made that cannot be carried out, with what to do instead."""


@dataclass(frozen=True)
class CycleRecord:
    cycle_id: int
    indicator_id: str
    area_code: str
    period_type: str
    name: str
    started_on: date
    started_by: str
    vintage_id: int
    frozen_at: str
    baseline: Baseline


@dataclass(frozen=True)
class ScenarioRecord:
    scenario_id: int
    indicator_id: str
    area_code: str
    period_type: str
    name: str
    author: str
    created_at: str
    reason: str
    values: dict[date, float]


@dataclass(frozen=True)
class Records:
    cycles: list[CycleRecord]
    scenarios: list[ScenarioRecord]
    targets: dict[tuple[str, str, str], float]


def _check(catalogue: Catalogue, values: pl.DataFrame, indicator_id: str, area_code: str, period_type: str) -> None:
    ids = {i.id for i in catalogue.indicators}
    if indicator_id not in ids:
        raise RecordError(f"'{indicator_id}' is not in the indicator catalogue; use one of: {', '.join(sorted(ids))}")
    indicator = catalogue.get(indicator_id)
    if period_type not in indicator.periods:
        raise RecordError(f"{indicator_id} is published by {' and '.join(indicator.periods)}, not '{period_type}'")
    areas = set(values.filter(pl.col("indicator_id") == indicator_id).get_column("area_code").unique())
    if area_code not in areas:
        raise RecordError(f"{indicator_id} has no published values for area '{area_code}'; "
                          f"areas published: {', '.join(sorted(areas)) or 'none'}")


def start_cycle(engine: Engine, catalogue: Catalogue, values: pl.DataFrame, *, indicator_id: str, area_code: str,
                period_type: str, name: str, started_by: str, started_on: date, snapshot_id: str = "") -> int:
    """Start a turn-the-curve cycle: fit the baseline on everything published now and freeze it."""
    _check(catalogue, values, indicator_id, area_code, period_type)
    indicator = catalogue.get(indicator_id)
    series = measure_series(values, indicator_id, area_code, period_type)
    published = [p for p, v in zip(series.periods, series.values, strict=True) if v is not None]
    if not published:
        raise RecordError(f"{indicator_id} in {area_code} has no published values to build a baseline on")
    baseline = fit_baseline(series.periods, series.values, period_type=period_type, cutoff=series.periods[-1],
                            horizon=VINTAGE_HORIZON[period_type], unit=indicator.unit)
    if isinstance(baseline, NoBaseline):
        raise RecordError(f"cannot freeze a baseline for {indicator_id} in {area_code}: {baseline.reason}")
    with session_scope(engine) as session:
        vintage = BaselineVintage(
            indicator_id=indicator_id, area_code=area_code, period_type=period_type, frozen_by=started_by,
            snapshot_id=snapshot_id, method=baseline.method, fitted_from=baseline.fitted_from,
            fitted_to=baseline.fitted_to, fitted_points=baseline.fitted_points, note=baseline.note,
            points=[VintagePoint(period_start=p.period_start, forecast=p.forecast, lower=p.lower, upper=p.upper,
                                 mean_lower=p.mean_lower, mean_upper=p.mean_upper) for p in baseline.points])
        cycle = TtcCycle(indicator_id=indicator_id, area_code=area_code, period_type=period_type, name=name,
                         started_on=started_on, started_by=started_by, vintage=vintage)
        session.add(cycle)
        session.flush()
        record_audit(session, started_by, "ttc_cycle_start", f"{indicator_id}/{area_code}", cycle_id=cycle.id,
                     vintage_id=vintage.id, method=baseline.method, fitted_to=baseline.fitted_to.isoformat())
        return cycle.id


def add_scenario(engine: Engine, catalogue: Catalogue, values: pl.DataFrame, *, indicator_id: str, area_code: str,
                 period_type: str, name: str, author: str, reason: str, points: dict[date, float]) -> int:
    """Add (or replace, by name) a named forecast scenario with its author and reason."""
    _check(catalogue, values, indicator_id, area_code, period_type)
    if not reason.strip():
        raise RecordError("a scenario needs a reason: say what the partnership knows that the statistics do not")
    if not points:
        raise RecordError("a scenario needs at least one value, e.g. 2027-03=540")
    with session_scope(engine) as session:
        existing = session.scalars(select(Scenario).where(
            Scenario.indicator_id == indicator_id, Scenario.area_code == area_code,
            Scenario.period_type == period_type, Scenario.name == name)).one_or_none()
        if existing is not None:
            session.delete(existing)
            session.flush()
        scenario = Scenario(indicator_id=indicator_id, area_code=area_code, period_type=period_type, name=name,
                            author=author, reason=reason,
                            points=[ScenarioPoint(period_start=p, value=v) for p, v in sorted(points.items())])
        session.add(scenario)
        session.flush()
        record_audit(session, author, "ttc_scenario", f"{indicator_id}/{area_code}", scenario_id=scenario.id,
                     name=name, replaced=existing is not None)
        return scenario.id


def set_target(engine: Engine, catalogue: Catalogue, values: pl.DataFrame, *, indicator_id: str, area_code: str,
               period_type: str, value: float, set_by: str, note: str = "") -> None:
    """Set the target for a measure in an area (replacing any earlier one)."""
    _check(catalogue, values, indicator_id, area_code, period_type)
    with session_scope(engine) as session:
        target = session.scalars(select(Target).where(
            Target.indicator_id == indicator_id, Target.area_code == area_code,
            Target.period_type == period_type)).one_or_none()
        before = None if target is None else target.value
        if target is None:
            target = Target(indicator_id=indicator_id, area_code=area_code, period_type=period_type, value=value,
                            set_by=set_by, note=note)
            session.add(target)
        else:
            target.value, target.set_by, target.note = value, set_by, note
        record_audit(session, set_by, "ttc_target", f"{indicator_id}/{area_code}", value=value, before=before)


def load_records(engine: Engine) -> Records:
    """Every cycle (with its vintage), scenario and target, for the pipeline to publish."""
    with session_scope(engine) as session:
        cycles = [
            CycleRecord(
                cycle_id=c.id, indicator_id=c.indicator_id, area_code=c.area_code, period_type=c.period_type,
                name=c.name, started_on=c.started_on, started_by=c.started_by, vintage_id=c.vintage_id,
                frozen_at=c.vintage.frozen_at.isoformat(timespec="seconds"),
                baseline=Baseline(method=c.vintage.method, fitted_from=c.vintage.fitted_from,
                                  fitted_to=c.vintage.fitted_to, fitted_points=c.vintage.fitted_points,
                                  note=c.vintage.note,
                                  points=tuple(BaselinePoint(p.period_start, p.forecast, p.lower, p.upper,
                                                             p.mean_lower, p.mean_upper) for p in c.vintage.points)))
            for c in session.scalars(select(TtcCycle).options(selectinload(TtcCycle.vintage)
                                                              .selectinload(BaselineVintage.points))
                                     .order_by(TtcCycle.id))
        ]
        scenarios = [
            ScenarioRecord(scenario_id=s.id, indicator_id=s.indicator_id, area_code=s.area_code,
                           period_type=s.period_type, name=s.name, author=s.author,
                           created_at=s.created_at.isoformat(timespec="seconds"), reason=s.reason,
                           values={p.period_start: p.value for p in s.points})
            for s in session.scalars(select(Scenario).options(selectinload(Scenario.points)).order_by(Scenario.id))
        ]
        targets = {(t.indicator_id, t.area_code, t.period_type): t.value for t in session.scalars(select(Target))}
    return Records(cycles=cycles, scenarios=scenarios, targets=targets)
