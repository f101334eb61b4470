"""What a partnership decides about its curves: turn-the-curve cycles with their frozen baseline vintages,
named forecast scenarios, and targets per measure and area. These survive every refresh."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import Date, DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from oba_pipeline.appdb.base import Base


def _now() -> datetime:
    return datetime.now(UTC)


class BaselineVintage(Base):
    """A baseline exactly as it stood the day a cycle started: later data never redraws it."""

    __tablename__ = "ttc_vintages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    indicator_id: Mapped[str] = mapped_column(String(80), index=True)
    area_code: Mapped[str] = mapped_column(String(20), index=True)
    period_type: Mapped[str] = mapped_column(String(20))
    frozen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    frozen_by: Mapped[str] = mapped_column(String(120))
    snapshot_id: Mapped[str] = mapped_column(String(80), default="")  # the published snapshot it was fitted on
    method: Mapped[str] = mapped_column(String(40))
    fitted_from: Mapped[date] = mapped_column(Date)
    fitted_to: Mapped[date] = mapped_column(Date)
    fitted_points: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text, default="")
    points: Mapped[list[VintagePoint]] = relationship(
        back_populates="vintage", cascade="all, delete-orphan", order_by="VintagePoint.period_start")


class VintagePoint(Base):
    __tablename__ = "ttc_vintage_points"
    __table_args__ = (UniqueConstraint("vintage_id", "period_start"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    vintage_id: Mapped[int] = mapped_column(ForeignKey("ttc_vintages.id", ondelete="CASCADE"), index=True)
    period_start: Mapped[date] = mapped_column(Date)
    forecast: Mapped[float] = mapped_column(Float)
    lower: Mapped[float] = mapped_column(Float)
    upper: Mapped[float] = mapped_column(Float)
    mean_lower: Mapped[float] = mapped_column(Float)
    mean_upper: Mapped[float] = mapped_column(Float)
    vintage: Mapped[BaselineVintage] = relationship(back_populates="points")


class TtcCycle(Base):
    """A turn-the-curve cycle for one measure and area, judged against the vintage frozen when it started."""

    __tablename__ = "ttc_cycles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    indicator_id: Mapped[str] = mapped_column(String(80), index=True)
    area_code: Mapped[str] = mapped_column(String(20), index=True)
    period_type: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    started_on: Mapped[date] = mapped_column(Date)
    started_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    vintage_id: Mapped[int] = mapped_column(ForeignKey("ttc_vintages.id"), index=True)
    vintage: Mapped[BaselineVintage] = relationship()


class Scenario(Base):
    """A named forecast a partnership adds beside the statistical one, with who, when and why."""

    __tablename__ = "ttc_scenarios"
    __table_args__ = (UniqueConstraint("indicator_id", "area_code", "period_type", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    indicator_id: Mapped[str] = mapped_column(String(80), index=True)
    area_code: Mapped[str] = mapped_column(String(20), index=True)
    period_type: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    author: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    reason: Mapped[str] = mapped_column(Text)
    points: Mapped[list[ScenarioPoint]] = relationship(
        back_populates="scenario", cascade="all, delete-orphan", order_by="ScenarioPoint.period_start")


class ScenarioPoint(Base):
    __tablename__ = "ttc_scenario_points"
    __table_args__ = (UniqueConstraint("scenario_id", "period_start"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scenario_id: Mapped[int] = mapped_column(ForeignKey("ttc_scenarios.id", ondelete="CASCADE"), index=True)
    period_start: Mapped[date] = mapped_column(Date)
    value: Mapped[float] = mapped_column(Float)
    scenario: Mapped[Scenario] = relationship(back_populates="points")


class Target(Base):
    """The value a partnership aims for on a measure in an area (one current target each)."""

    __tablename__ = "ttc_targets"
    __table_args__ = (UniqueConstraint("indicator_id", "area_code", "period_type"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    indicator_id: Mapped[str] = mapped_column(String(80), index=True)
    area_code: Mapped[str] = mapped_column(String(20), index=True)
    period_type: Mapped[str] = mapped_column(String(20))
    value: Mapped[float] = mapped_column(Float)
    set_by: Mapped[str] = mapped_column(String(120))
    set_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, onupdate=_now)
    note: Mapped[str] = mapped_column(Text, default="")
