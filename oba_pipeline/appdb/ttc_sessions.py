"""The record of a partnership's turn-the-curve sessions: for one measure and area, the story behind the
curve, the partners with a role to play, what works and the action plan. These survive every refresh."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from oba_pipeline.appdb.base import Base


def _now() -> datetime:
    return datetime.now(UTC)


class TtcSession(Base):
    """One meeting of a partnership about one curve, in the order of the six questions."""

    __tablename__ = "ttc_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    indicator_id: Mapped[str] = mapped_column(String(80), index=True)
    area_code: Mapped[str] = mapped_column(String(20), index=True)
    period_type: Mapped[str] = mapped_column(String(20))
    held_on: Mapped[date] = mapped_column(Date)
    # The cycle whose frozen baseline the session works against, once one has been started.
    cycle_id: Mapped[int | None] = mapped_column(ForeignKey("ttc_cycles.id"), nullable=True, index=True)
    the_end: Mapped[str] = mapped_column(Text, default="")  # step 1: the result or the customers
    story_helps: Mapped[str] = mapped_column(Text, default="")  # step 3: forces at work that help
    story_hurts: Mapped[str] = mapped_column(Text, default="")  # step 3: forces at work that hurt
    need_to_know: Mapped[str] = mapped_column(Text, default="")  # feeds the data development agenda
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    updated_by: Mapped[str] = mapped_column(String(120))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, onupdate=_now)
    partners: Mapped[list[SessionPartner]] = relationship(
        back_populates="session", cascade="all, delete-orphan", order_by="SessionPartner.id")
    what_works: Mapped[list[WhatWorks]] = relationship(
        back_populates="session", cascade="all, delete-orphan", order_by="WhatWorks.id")
    actions: Mapped[list[SessionAction]] = relationship(
        back_populates="session", cascade="all, delete-orphan", order_by="SessionAction.id")


class SessionPartner(Base):
    """Step 4: a partner with a role to play in turning the curve."""

    __tablename__ = "ttc_session_partners"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("ttc_sessions.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(Text, default="")
    added_by: Mapped[str] = mapped_column(String(120))
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    session: Mapped[TtcSession] = relationship(back_populates="partners")


class WhatWorks(Base):
    """Step 5: an idea of what works, with the evidence for it and what it costs."""

    __tablename__ = "ttc_session_what_works"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("ttc_sessions.id", ondelete="CASCADE"), index=True)
    idea: Mapped[str] = mapped_column(Text)
    evidence: Mapped[str] = mapped_column(Text, default="")
    cost: Mapped[str] = mapped_column(String(20))  # no_cost, low_cost, some_cost, high_cost
    added_by: Mapped[str] = mapped_column(String(120))
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    session: Mapped[TtcSession] = relationship(back_populates="what_works")


class SessionAction(Base):
    """Step 6: one action of the plan, with its owner, dates and status."""

    __tablename__ = "ttc_session_actions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("ttc_sessions.id", ondelete="CASCADE"), index=True)
    description: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(200))
    start_date: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20))  # planned, in_progress, done, dropped
    completed_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    updated_by: Mapped[str] = mapped_column(String(120))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, onupdate=_now)
    session: Mapped[TtcSession] = relationship(back_populates="actions")
