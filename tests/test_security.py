"""Sign-in, roles and web hygiene of the dashboard, through its real Flask server (no browser)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from dashboard_fixtures import (
    SCORECARD_FILTER_INPUTS,
    TEST_PASSWORD,
    create_accounts,
    csrf_header,
    csrf_token_of,
    publish_sample,
    sample_tables,
    signed_in_client,
)
from sqlalchemy import select

from dashboards import data
from dashboards.app import create_app
from dashboards.auth import MissingSecretError
from oba_pipeline.appdb import AuditEvent, make_engine, session_scope
from oba_pipeline.config import Home
from oba_pipeline.publish import publish_tables


@pytest.fixture()
def home(tmp_path: Path) -> Home:
    return publish_sample(tmp_path / "home")


@pytest.fixture()
def app(home: Home) -> Any:
    create_accounts(home)
    return create_app(home)


def scorecard_request(area_code: str, period_type: str = "month") -> dict[str, Any]:
    """The callback request the scorecard's area picker sends, as a crafted client would send it."""
    return {
        "output": "scorecard-body.children",
        "outputs": {"id": "scorecard-body", "property": "children"},
        "inputs": [{"id": "scorecard-area", "property": "value", "value": area_code},
                   {"id": "scorecard-period", "property": "value", "value": period_type},
                   *SCORECARD_FILTER_INPUTS],
        "changedPropIds": ["scorecard-area.value"],
        "state": [],
    }


def audit_events(home: Home) -> list[AuditEvent]:
    engine = make_engine(home=home)
    try:
        with session_scope(engine) as session:
            return list(session.scalars(select(AuditEvent).order_by(AuditEvent.id)))
    finally:
        engine.dispose()


def test_the_dashboard_refuses_to_start_without_a_secret(home: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OBA_SECRET_KEY")
    with pytest.raises(MissingSecretError, match="OBA_SECRET_KEY is not set"):
        create_app(home)
    monkeypatch.setenv("OBA_SECRET_KEY", "short")
    with pytest.raises(MissingSecretError, match="too short"):
        create_app(home)


def test_unsigned_requests_get_no_data(app: Any) -> None:
    client = app.server.test_client()
    page = client.get("/")
    assert page.status_code == 302 and page.headers["Location"].startswith("/sign-in?next=/")
    for path in ("/audit", "/_dash-layout", "/_dash-dependencies"):
        response = client.get(path)
        assert response.status_code in (302, 401), path
        assert "Northtown" not in response.get_data(as_text=True), path
    callback = client.post("/_dash-update-component", json=scorecard_request("E09000999"))
    assert callback.status_code == 401
    assert "Northtown" not in callback.get_data(as_text=True) and "per 10,000" not in callback.get_data(as_text=True)
    # A username header means nothing unless single sign-on through a proxy was configured.
    assert client.get("/", headers={"X-Forwarded-Email": "data-team"}).status_code == 302
    # Static files hold no data and need no account.
    assert client.get("/assets/oba.css").status_code == 200


def test_sign_in_page_has_labelled_fields_and_a_token(app: Any) -> None:
    html = app.server.test_client().get("/sign-in").get_data(as_text=True)
    assert '<label for="username">Username</label>' in html and 'id="username"' in html
    assert '<label for="password">Password</label>' in html and 'type="password"' in html
    assert csrf_token_of(html)


def test_wrong_password_is_refused_and_audited(app: Any, home: Home) -> None:
    client = app.server.test_client()
    token = csrf_token_of(client.get("/sign-in").get_data(as_text=True))
    refused = client.post("/sign-in", data={"username": "data-team", "password": "not the password",
                                            "csrf_token": token})
    assert refused.status_code == 200  # the form again, with the error
    assert "not right" in refused.get_data(as_text=True)
    assert client.get("/_dash-layout").status_code == 401
    signed = client.post("/sign-in", data={"username": "data-team", "password": TEST_PASSWORD, "csrf_token": token,
                                           "next": "https://elsewhere.example/steal"})
    assert signed.status_code == 302 and signed.headers["Location"] == "/"  # never redirected off the site
    actions = [(e.actor, e.action) for e in audit_events(home)]
    assert ("data-team", "sign_in_failed") in actions and ("data-team", "sign_in") in actions


def test_sign_in_without_its_form_token_is_refused(app: Any) -> None:
    client = app.server.test_client()
    response = client.post("/sign-in", data={"username": "data-team", "password": TEST_PASSWORD})
    assert response.status_code == 400


def test_callbacks_need_the_csrf_token(app: Any, home: Home) -> None:
    client = signed_in_client(app, home)
    client.get("/")
    refused = client.post("/_dash-update-component", json=scorecard_request("NT-N"))
    assert refused.status_code == 400
    accepted = client.post("/_dash-update-component", json=scorecard_request("NT-N"), headers=csrf_header(client))
    assert accepted.status_code == 200


def test_failed_sign_ins_are_rate_limited(app: Any) -> None:
    client = app.server.test_client()
    token = csrf_token_of(client.get("/sign-in").get_data(as_text=True))
    statuses = [client.post("/sign-in", data={"username": "data-team", "password": f"guess-{n}",
                                              "csrf_token": token}).status_code for n in range(12)]
    assert statuses[:10] == [200] * 10
    assert statuses[10:] == [429, 429]
    # The right password is refused too while the limit holds: guessing cannot continue.
    assert client.post("/sign-in", data={"username": "data-team", "password": TEST_PASSWORD,
                                         "csrf_token": token}).status_code == 429


def test_security_headers_and_no_caching_of_data(app: Any, home: Home) -> None:
    client = signed_in_client(app, home)
    page = client.get("/")
    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "script-src 'self' 'sha256-" in policy and "unsafe-eval" not in policy
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    for response in (page, client.get("/_dash-layout"),
                     client.post("/_dash-update-component", json=scorecard_request("NT-N"),
                                 headers=csrf_header(client))):
        assert response.headers["Cache-Control"] == "no-store"
    assert "no-store" not in client.get("/assets/oba.css").headers.get("Cache-Control", "")


def test_partnership_member_gets_nothing_for_another_area(app: Any, home: Home) -> None:
    client = signed_in_client(app, home, "member-north")
    client.get("/")
    own = client.post("/_dash-update-component", json=scorecard_request("NT-N"), headers=csrf_header(client))
    assert own.status_code == 200 and "49.9 per 10,000" in json.dumps(own.get_json())
    for other in ("NT-S", "E09000999"):
        crafted = client.post("/_dash-update-component", json=scorecard_request(other), headers=csrf_header(client))
        body = json.dumps(crafted.get_json())
        assert crafted.status_code == 200
        assert "There are no figures to show for that area." in body
        assert "per 10,000" not in body and "Northtown South" not in body and "38.2" not in body
    layout = client.get("/_dash-layout").get_data(as_text=True)
    assert "Signed in as" in layout and "member-north" in layout


def test_a_filter_value_containing_sql_is_treated_as_a_value(app: Any, home: Home) -> None:
    client = signed_in_client(app, home)
    client.get("/")
    for value in ("NT-N' or '1'='1", "NT-N'; drop table indicator_values; --"):
        response = client.post("/_dash-update-component", json=scorecard_request(value), headers=csrf_header(client))
        assert response.status_code == 200
        assert "There are no figures to show for that area." in json.dumps(response.get_json())
        assert data.history(home, "referral_rate", value, "month").is_empty()
    # The table is still there and untouched.
    assert data.history(home, "referral_rate", "NT-N", "month").height == 4


def test_area_views_are_audited(app: Any, home: Home) -> None:
    client = signed_in_client(app, home, "commissioner")
    client.get("/")
    client.post("/_dash-update-component", json=scorecard_request("NT-S"), headers=csrf_header(client))
    views = [(e.actor, e.target) for e in audit_events(home) if e.action == "view"]
    assert ("commissioner", "NT-S") in views


def test_audit_page_is_for_the_data_team_only(app: Any, home: Home) -> None:
    page_request = {"output": ".._pages_content.children..._pages_store.data..",
                    "outputs": [{"id": "_pages_content", "property": "children"},
                                {"id": "_pages_store", "property": "data"}],
                    "inputs": [{"id": "_pages_location", "property": "pathname", "value": "/audit"},
                               {"id": "_pages_location", "property": "search", "value": ""}],
                    "changedPropIds": ["_pages_location.pathname"], "state": []}
    commissioner = signed_in_client(app, home, "commissioner")
    commissioner.get("/")
    body = json.dumps(commissioner.post("/_dash-update-component", json=page_request,
                                        headers=csrf_header(commissioner)).get_json())
    assert "This page is for the data team." in body and "sign_in" not in body
    team = signed_in_client(app, home, "data-team")
    team.get("/")
    body = json.dumps(team.post("/_dash-update-component", json=page_request, headers=csrf_header(team)).get_json())
    assert "audit-table" in body and "commissioner" in body


def test_public_accounts_read_only_the_public_subset(home: Home) -> None:
    tables = sample_tables()
    public = {**tables, "indicators": tables["indicators"].filter(pl.col("indicator_id") == "referral_rate"),
              "indicator_values": tables["indicator_values"].filter(pl.col("indicator_id") == "referral_rate")}
    publish_tables(home, tables, {"authority": {"code": "E09000999", "name": "Northtown"}}, public=public)
    app = create_app(home)
    client = signed_in_client(app, home, "public")
    client.get("/")
    body = json.dumps(client.post("/_dash-update-component", json=scorecard_request("E09000999"),
                                  headers=csrf_header(client)).get_json())
    assert "Referrals per 10,000 children" in body
    assert "Referrals received" not in body and "Spend on early help" not in body


def test_single_sign_on_through_a_trusted_proxy_header(home: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OBA_TRUSTED_USER_HEADER", "X-Forwarded-Email")
    create_accounts(home)
    app = create_app(home)
    client = app.server.test_client()
    assert client.get("/", headers={"X-Forwarded-Email": "stranger@council.example"}).status_code == 302
    client.get("/", headers={"X-Forwarded-Email": "member-north"})
    response = client.post("/_dash-update-component", json=scorecard_request("NT-S"), headers=csrf_header(client))
    assert "There are no figures to show for that area." in json.dumps(response.get_json())  # roles still apply
    assert [e.detail.get("via") for e in audit_events(home) if e.action.startswith("sign_in")] == ["proxy", "proxy"]
