"""Reading and writing turn-the-curve sessions: the story, partners, what works and the action plan.

Every change names who made it and is written to the audit trail with what changed. Whether a person may
change a session's area is the caller's rule, passed in as `may_edit`; it is checked here, against the
area the session really belongs to, so a request naming another area's session is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, selectinload

from oba_pipeline.appdb import record_audit, session_scope
from oba_pipeline.appdb.ttc_sessions import SessionAction, SessionPartner, TtcSession, WhatWorks

COSTS = {"no_cost": "No cost", "low_cost": "Low cost", "some_cost": "Some cost", "high_cost": "High cost"}
STATUSES = {"planned": "Planned", "in_progress": "In progress", "done": "Done", "dropped": "Dropped"}
STORY_FIELDS = {"the_end": "What is the end", "story_helps": "What helps", "story_hurts": "What hurts",
                "need_to_know": "What else we need to know"}
MAX_TEXT = 4000
MAX_NAME = 200
# How much of a changed text the audit trail keeps: enough to see what changed, not a second copy of it.
AUDIT_EXCERPT = 300

AreaRule = Callable[[str], bool]


class SessionError(ValueError):
    """A change to a session that cannot be made; the message says why and what to do."""


@dataclass(frozen=True)
class PartnerView:
    id: int
    name: str
    role: str
    added_by: str
    added_at: datetime


@dataclass(frozen=True)
class WhatWorksView:
    id: int
    idea: str
    evidence: str
    cost: str
    added_by: str
    added_at: datetime

    @property
    def cost_label(self) -> str:
        return COSTS.get(self.cost, self.cost)


@dataclass(frozen=True)
class ActionView:
    id: int
    session_id: int
    description: str
    owner: str
    start_date: date
    due_date: date
    status: str
    completed_on: date | None
    updated_by: str
    updated_at: datetime

    @property
    def status_label(self) -> str:
        return STATUSES.get(self.status, self.status)


@dataclass(frozen=True)
class SessionView:
    id: int
    indicator_id: str
    area_code: str
    period_type: str
    held_on: date
    cycle_id: int | None
    the_end: str
    story_helps: str
    story_hurts: str
    need_to_know: str
    created_by: str
    created_at: datetime
    updated_by: str
    updated_at: datetime
    partners: tuple[PartnerView, ...]
    what_works: tuple[WhatWorksView, ...]
    actions: tuple[ActionView, ...]


def _action_view(a: SessionAction) -> ActionView:
    return ActionView(id=a.id, session_id=a.session_id, description=a.description, owner=a.owner,
                      start_date=a.start_date, due_date=a.due_date, status=a.status, completed_on=a.completed_on,
                      updated_by=a.updated_by, updated_at=a.updated_at)


def _view(s: TtcSession) -> SessionView:
    return SessionView(
        id=s.id, indicator_id=s.indicator_id, area_code=s.area_code, period_type=s.period_type, held_on=s.held_on,
        cycle_id=s.cycle_id, the_end=s.the_end, story_helps=s.story_helps, story_hurts=s.story_hurts,
        need_to_know=s.need_to_know, created_by=s.created_by, created_at=s.created_at, updated_by=s.updated_by,
        updated_at=s.updated_at,
        partners=tuple(PartnerView(p.id, p.name, p.role, p.added_by, p.added_at) for p in s.partners),
        what_works=tuple(WhatWorksView(w.id, w.idea, w.evidence, w.cost, w.added_by, w.added_at)
                         for w in s.what_works),
        actions=tuple(_action_view(a) for a in s.actions),
    )


def _loaded() -> list:  # type: ignore[type-arg]
    return [selectinload(TtcSession.partners), selectinload(TtcSession.what_works), selectinload(TtcSession.actions)]


# --- Checking what people typed ---------------------------------------------------------------------------


def _text(value: str | None, field: str, *, required: bool = False, most: int = MAX_TEXT) -> str:
    text = (value or "").strip()
    if required and not text:
        raise SessionError(f"{field} is empty: write something in it, then save again.")
    if len(text) > most:
        raise SessionError(f"{field} is {len(text):,} characters long; the most it can hold is {most:,}. "
                           "Shorten it, then save again.")
    return text


def parse_day(value: str | date | None, field: str) -> date:
    """A date from a date picker (YYYY-MM-DD) or a date; a clear message when it is missing or not a date."""
    if isinstance(value, date):
        return value
    if not value or not str(value).strip():
        raise SessionError(f"{field} is missing: choose a date.")
    try:
        return date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        raise SessionError(f"{field} '{value}' is not a date: write it as YYYY-MM-DD, e.g. 2026-04-01.") from None


def _choice(value: str | None, field: str, choices: dict[str, str]) -> str:
    if value not in choices:
        raise SessionError(f"{field} '{value or ''}' is not one of the choices: "
                           f"{', '.join(choices.values())}.")
    return str(value)


def _allowed(area_code: str, may_edit: AreaRule | None, by: str) -> None:
    if may_edit is not None and not may_edit(area_code):
        raise SessionError(f"{by or 'This account'} may not change turn-the-curve sessions for area {area_code}: "
                           "ask the data team to add the area to your account.")


def _session(db: Session, session_id: int, may_edit: AreaRule | None, by: str) -> TtcSession:
    found = db.get(TtcSession, session_id)
    if found is None:
        raise SessionError(f"There is no session {session_id}: it may have been removed. Reload the page.")
    _allowed(found.area_code, may_edit, by)
    return found


def _excerpt(text: str) -> str:
    return text if len(text) <= AUDIT_EXCERPT else text[:AUDIT_EXCERPT] + "..."


# --- Writing ------------------------------------------------------------------------------------------------


def create_session(engine: Engine, *, indicator_id: str, area_code: str, period_type: str, held_on: date, by: str,
                   may_edit: AreaRule | None = None) -> int:
    """A new session for a measure and area. It carries on the last one's record: its cycle, the end, the
    story, the partners and what works, as they stood, for the partnership to revise (the last session
    keeps its own copy). Actions stay with the session that agreed them; every session shows them all."""
    _allowed(area_code, may_edit, by)
    with session_scope(engine) as db:
        last = db.scalars(select(TtcSession).options(*_loaded()).where(
            TtcSession.indicator_id == indicator_id, TtcSession.area_code == area_code,
            TtcSession.period_type == period_type).order_by(TtcSession.held_on.desc(), TtcSession.id.desc())).first()
        session = TtcSession(indicator_id=indicator_id, area_code=area_code, period_type=period_type,
                             held_on=held_on, cycle_id=last.cycle_id if last else None,
                             the_end=last.the_end if last else "", created_by=by, updated_by=by)
        if last is not None:
            session.story_helps, session.story_hurts = last.story_helps, last.story_hurts
            session.need_to_know = last.need_to_know
            session.partners = [SessionPartner(name=p.name, role=p.role, added_by=p.added_by, added_at=p.added_at)
                                for p in last.partners]
            session.what_works = [WhatWorks(idea=w.idea, evidence=w.evidence, cost=w.cost, added_by=w.added_by,
                                            added_at=w.added_at) for w in last.what_works]
        db.add(session)
        db.flush()
        record_audit(db, by, "ttc_session_create", f"session/{session.id}", indicator_id=indicator_id,
                     area_code=area_code, period_type=period_type, held_on=held_on.isoformat(),
                     follows=last.id if last else None)
        return session.id


def update_story(engine: Engine, session_id: int, *, by: str, may_edit: AreaRule | None = None,
                 **texts: str | None) -> list[str]:
    """Save steps 1 and 3 (the end; what helps, what hurts, what else we need to know); the fields changed."""
    unknown = set(texts) - set(STORY_FIELDS)
    if unknown:
        raise SessionError(f"unknown story field(s): {', '.join(sorted(unknown))}")
    with session_scope(engine) as db:
        session = _session(db, session_id, may_edit, by)
        changed: dict[str, dict[str, str]] = {}
        for field, value in texts.items():
            new = _text(value, STORY_FIELDS[field])
            old = getattr(session, field)
            if new != old:
                setattr(session, field, new)
                changed[field] = {"before": _excerpt(old), "after": _excerpt(new)}
        if changed:
            session.updated_by = by
            record_audit(db, by, "ttc_session_story", f"session/{session_id}", changed=changed)
        return list(changed)


def add_partner(engine: Engine, session_id: int, *, by: str, name: str | None, role: str | None,
                may_edit: AreaRule | None = None) -> int:
    """Step 4: add a partner and the role they can play."""
    clean_name = _text(name, "Partner", required=True, most=MAX_NAME)
    clean_role = _text(role, "Their role")
    with session_scope(engine) as db:
        session = _session(db, session_id, may_edit, by)
        partner = SessionPartner(name=clean_name, role=clean_role, added_by=by)
        session.partners.append(partner)
        session.updated_by = by
        db.flush()
        record_audit(db, by, "ttc_session_partner", f"session/{session_id}", partner_id=partner.id,
                     name=clean_name, role=_excerpt(clean_role))
        return partner.id


def add_what_works(engine: Engine, session_id: int, *, by: str, idea: str | None, evidence: str | None,
                   cost: str | None, may_edit: AreaRule | None = None) -> int:
    """Step 5: add an idea of what works, with its evidence and cost."""
    clean_idea = _text(idea, "What works", required=True)
    clean_evidence = _text(evidence, "Evidence")
    clean_cost = _choice(cost, "Cost", COSTS)
    with session_scope(engine) as db:
        session = _session(db, session_id, may_edit, by)
        item = WhatWorks(idea=clean_idea, evidence=clean_evidence, cost=clean_cost, added_by=by)
        session.what_works.append(item)
        session.updated_by = by
        db.flush()
        record_audit(db, by, "ttc_session_what_works", f"session/{session_id}", item_id=item.id,
                     idea=_excerpt(clean_idea), cost=clean_cost)
        return item.id


def add_action(engine: Engine, session_id: int, *, by: str, description: str | None, owner: str | None,
               start_date: str | date | None, due_date: str | date | None, status: str | None = "planned",
               may_edit: AreaRule | None = None) -> int:
    """Step 6: add an action to the plan, with its owner, start and due dates and status."""
    clean_description = _text(description, "Action", required=True)
    clean_owner = _text(owner, "Owner", required=True, most=MAX_NAME)
    start = parse_day(start_date, "Start date")
    due = parse_day(due_date, "Due date")
    if due < start:
        raise SessionError(f"Due date {due:%-d %B %Y} is before the start date {start:%-d %B %Y}: "
                           "an action is due on or after the day it starts.")
    clean_status = _choice(status, "Status", STATUSES)
    with session_scope(engine) as db:
        session = _session(db, session_id, may_edit, by)
        action = SessionAction(description=clean_description, owner=clean_owner, start_date=start, due_date=due,
                               status=clean_status, completed_on=date.today() if clean_status == "done" else None,
                               updated_by=by)
        session.actions.append(action)
        session.updated_by = by
        db.flush()
        record_audit(db, by, "ttc_session_action", f"session/{session_id}", action_id=action.id,
                     description=_excerpt(clean_description), owner=clean_owner, start_date=start.isoformat(),
                     due_date=due.isoformat(), status=clean_status)
        return action.id


def set_action_status(engine: Engine, action_id: int, *, by: str, status: str | None,
                      completed_on: date | None = None, may_edit: AreaRule | None = None) -> ActionView:
    """Change an action's status (at a later session, say); `done` records the day it was completed."""
    clean_status = _choice(status, "Status", STATUSES)
    with session_scope(engine) as db:
        action = db.get(SessionAction, action_id)
        if action is None:
            raise SessionError(f"There is no action {action_id}: it may have been removed. Reload the page.")
        _allowed(action.session.area_code, may_edit, by)
        before = action.status
        action.status = clean_status
        action.completed_on = (completed_on or date.today()) if clean_status == "done" else None
        action.updated_by = by
        db.flush()
        record_audit(db, by, "ttc_session_action_status", f"session/{action.session_id}", action_id=action_id,
                     before=before, after=clean_status)
        return _action_view(action)


ITEM_KINDS = ("partner", "what_works", "action")


def _item(db: Session, kind: str, item_id: int) -> SessionPartner | WhatWorks | SessionAction | None:
    if kind == "partner":
        return db.get(SessionPartner, item_id)
    if kind == "what_works":
        return db.get(WhatWorks, item_id)
    return db.get(SessionAction, item_id)


def remove_item(engine: Engine, kind: str, item_id: int, *, by: str, may_edit: AreaRule | None = None) -> None:
    """Remove a partner, a what-works idea or an action (the audit trail keeps what it said)."""
    if kind not in ITEM_KINDS:
        raise SessionError(f"unknown kind of item '{kind}'")
    with session_scope(engine) as db:
        item = _item(db, kind, item_id)
        if item is None:
            raise SessionError(f"That {kind.replace('_', ' ')} has already been removed. Reload the page.")
        _allowed(item.session.area_code, may_edit, by)
        said = {c.name: getattr(item, c.name) for c in item.__table__.columns}
        record_audit(db, by, "ttc_session_remove", f"session/{item.session_id}", kind=kind,
                     item={k: v.isoformat() if isinstance(v, date | datetime) else v for k, v in said.items()})
        db.delete(item)


def link_cycle(engine: Engine, session_id: int, cycle_id: int, *, by: str, may_edit: AreaRule | None = None) -> None:
    """Record that the session works against the baseline frozen for `cycle_id`."""
    with session_scope(engine) as db:
        session = _session(db, session_id, may_edit, by)
        session.cycle_id = cycle_id
        session.updated_by = by
        record_audit(db, by, "ttc_session_cycle", f"session/{session_id}", cycle_id=cycle_id)


# --- Reading ------------------------------------------------------------------------------------------------


def get_session(engine: Engine, session_id: int) -> SessionView | None:
    with session_scope(engine) as db:
        found = db.scalars(select(TtcSession).options(*_loaded()).where(TtcSession.id == session_id)).one_or_none()
        return _view(found) if found is not None else None


def list_sessions(engine: Engine, indicator_id: str, area_code: str,
                  period_type: str | None = None) -> list[SessionView]:
    """The sessions on one measure and area, latest first."""
    query = select(TtcSession).options(*_loaded()).where(TtcSession.indicator_id == indicator_id,
                                                        TtcSession.area_code == area_code)
    if period_type is not None:
        query = query.where(TtcSession.period_type == period_type)
    with session_scope(engine) as db:
        return [_view(s) for s in db.scalars(query.order_by(TtcSession.held_on.desc(), TtcSession.id.desc()))]


def sessions_in_areas(engine: Engine, area_codes: Sequence[str]) -> list[SessionView]:
    """Every session in the given areas, latest first (report cards, progress reports)."""
    with session_scope(engine) as db:
        return [_view(s) for s in db.scalars(
            select(TtcSession).options(*_loaded()).where(TtcSession.area_code.in_(list(area_codes)))
            .order_by(TtcSession.held_on.desc(), TtcSession.id.desc()))]


def latest_by_measure(sessions: Sequence[SessionView]) -> dict[str, SessionView]:
    """The latest session of each measure, from a list ordered latest first."""
    latest: dict[str, SessionView] = {}
    for session in sessions:
        latest.setdefault(session.indicator_id, session)
    return latest
