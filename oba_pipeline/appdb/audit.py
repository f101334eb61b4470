"""The audit trail: who signed in, viewed which area, exported what, changed which note."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import JSON, DateTime, Integer, String
from sqlalchemy.orm import Mapped, Session, mapped_column

from oba_pipeline.appdb.base import Base


def _now() -> datetime:
    return datetime.now(UTC)


class AuditEvent(Base):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, index=True)
    actor: Mapped[str] = mapped_column(String(120), index=True)
    action: Mapped[str] = mapped_column(String(60), index=True)  # e.g. sign_in, view, export, note_change
    target: Mapped[str] = mapped_column(String(240), default="")  # e.g. an area code, session id, file name
    detail: Mapped[dict] = mapped_column(JSON, default=dict)


def record_audit(session: Session, actor: str, action: str, target: str = "", **detail: object) -> AuditEvent:
    """Add one audit event to the session (committed with the caller's transaction)."""
    event = AuditEvent(actor=actor, action=action, target=target, detail=dict(detail))
    session.add(event)
    return event
