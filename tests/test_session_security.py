"""Who may change a turn-the-curve session, through the dashboard's real Flask server (no browser): the session
page's callback is sent as a hand-made request, with the reader's own cookies and CSRF token, naming sessions
of areas they may and may not edit."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from dashboard_fixtures import create_accounts, csrf_header, publish_sample, signed_in_client
from sqlalchemy import select

from dashboards.app import create_app
from oba_pipeline.appdb import AuditEvent, make_engine, session_scope
from oba_pipeline.config import Home
from oba_pipeline.turn_the_curve import sessions

OUTPUTS = ["session-message.children", "session-curve.children", "session-partners.children",
           "session-what-works.children", "session-actions.children", "session-partner-name.value",
           "session-partner-role.value", "session-ww-idea.value", "session-ww-evidence.value",
           "session-action-text.value", "session-action-owner.value"]
BUTTONS = ["session-save-story", "session-add-partner", "session-add-what-works", "session-add-action"]
FIELDS = ["session-the-end", "session-helps", "session-hurts", "session-need", "session-partner-name",
          "session-partner-role", "session-ww-idea", "session-ww-evidence", "session-ww-cost", "session-action-text",
          "session-action-owner", "session-action-start", "session-action-due"]


@pytest.fixture()
def home(tmp_path: Path) -> Home:
    home = publish_sample(tmp_path / "home")
    create_accounts(home)
    return home


def add_partner_request(session_id: int, partner: str) -> dict[str, Any]:
    """The request the session page sends when "Add partner" is pressed."""
    values = {"session-partner-name": partner, "session-partner-role": "A role", "session-ww-cost": "no_cost"}
    return {
        "output": "".join(f"..{o}." for o in OUTPUTS) + ".",
        "outputs": [{"id": o.split(".")[0], "property": o.split(".")[1]} for o in OUTPUTS],
        "inputs": [*[{"id": b, "property": "n_clicks", "value": 1 if b == "session-add-partner" else 0}
                     for b in BUTTONS], [], [], []],
        "changedPropIds": ["session-add-partner.n_clicks"],
        "state": [{"id": "session-id", "property": "data", "value": session_id},
                  *[{"id": f, "property": "value", "value": values.get(f, "")} for f in FIELDS], []],
    }


def partners_of(home: Home, session_id: int) -> list[str]:
    engine = make_engine(home=home)
    try:
        found = sessions.get_session(engine, session_id)
        return [p.name for p in found.partners] if found else []
    finally:
        engine.dispose()


def new_session(home: Home, area: str) -> int:
    engine = make_engine(home=home)
    try:
        return sessions.create_session(engine, indicator_id="referral_rate", area_code=area, period_type="month",
                                       held_on=date(2025, 5, 1), by="data-team")
    finally:
        engine.dispose()


def send(app: Any, home: Home, user: str, session_id: int, partner: str, *, with_token: bool = True) -> Any:
    client = signed_in_client(app, home, user)
    client.get("/")
    headers = csrf_header(client) if with_token else {}
    return client.post("/_dash-update-component", json=add_partner_request(session_id, partner), headers=headers)


def test_members_edit_their_own_areas_only(home: Home) -> None:
    app = create_app(home)
    south, north = new_session(home, "NT-S"), new_session(home, "NT-N")
    refused = send(app, home, "member-north", south, "Should not be saved")
    assert refused.status_code == 200
    assert "member-north may not change turn-the-curve sessions for area NT-S" in refused.get_data(as_text=True)
    assert partners_of(home, south) == []
    accepted = send(app, home, "member-north", north, "Northtown Police")
    assert "Partner Northtown Police added." in accepted.get_data(as_text=True)
    assert partners_of(home, north) == ["Northtown Police"]
    engine = make_engine(home=home)
    try:
        with session_scope(engine) as db:
            event = db.scalars(select(AuditEvent).where(AuditEvent.action == "ttc_session_partner")).one()
            assert (event.actor, event.target, event.detail["name"]) == ("member-north", f"session/{north}",
                                                                        "Northtown Police")
    finally:
        engine.dispose()


@pytest.mark.parametrize("user", ["commissioner", "public"])
def test_commissioners_and_the_public_cannot_edit(home: Home, user: str) -> None:
    app = create_app(home)
    north = new_session(home, "NT-N")
    response = send(app, home, user, north, "Not allowed")
    assert response.status_code == 200
    assert f"Not saved: {user} may not change turn-the-curve sessions for area NT-N" in response.get_data(as_text=True)
    assert partners_of(home, north) == []


def test_changes_need_the_csrf_token(home: Home) -> None:
    app = create_app(home)
    north = new_session(home, "NT-N")
    assert send(app, home, "data-team", north, "Forged", with_token=False).status_code == 400
    assert partners_of(home, north) == []
    assert send(app, home, "data-team", north, "Genuine").status_code == 200
    assert partners_of(home, north) == ["Genuine"]


def test_a_new_snapshot_leaves_sessions_as_they_were(home: Home) -> None:
    north = new_session(home, "NT-N")
    app = create_app(home)
    send(app, home, "member-north", north, "Kept across refreshes")
    before = sorted(home.published.iterdir())
    publish_sample(home.root)  # what a refresh ends in: a new snapshot made live
    assert len(sorted(home.published.iterdir())) > len(before)
    assert partners_of(home, north) == ["Kept across refreshes"]
