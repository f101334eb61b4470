"""Sign-in, roles and web hygiene for the dashboard.

- Sessions are Flask's signed cookies, keyed by OBA_SECRET_KEY; the dashboard refuses to start without it.
- Accounts live in the application database (oba_pipeline.appdb.accounts); Flask-Login holds who is
  signed in. Every request other than the sign-in page and static files needs a signed-in account:
  pages redirect to /sign-in, callbacks and anything else answer 401 with no data.
- Flask-WTF guards every POST against cross-site request forgery: the sign-in and sign-out forms carry
  a token field, and Dash's renderer sends the token from the `_csrf_token` cookie as X-CSRFToken.
- Flask-Limiter limits failed sign-ins per address.
- Every response carries a content security policy (scripts only from this server, plus Dash's own
  inline scripts by hash), frame and content-type options, and data responses are never cached.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import dash
import flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_wtf.csrf import CSRFError, CSRFProtect, generate_csrf
from sqlalchemy import Engine, desc, select

from oba_pipeline.appdb import AuditEvent, accounts, create_schema, make_engine, record_audit, session_scope
from oba_pipeline.config import Home

log = logging.getLogger(__name__)

SECRET_ENV = "OBA_SECRET_KEY"
MIN_SECRET_LENGTH = 32
SIGN_IN_PATH = "/sign-in"
SIGN_OUT_PATH = "/sign-out"
CSRF_COOKIE = "_csrf_token"
ENGINE_KEY = "OBA_APP_ENGINE"
AUTH_KEY = "OBA_AUTH"
# Failed sign-ins allowed per client address (successful ones are not counted).
SIGN_IN_LIMIT_ENV = "OBA_SIGN_IN_LIMIT"
# Single sign-on through an authenticating proxy (e.g. oauth2-proxy with Microsoft Entra ID): the header
# the proxy sets to the signed-in person's username. Only for a dashboard reachable through that proxy alone.
TRUSTED_HEADER_ENV = "OBA_TRUSTED_USER_HEADER"
DEFAULT_SIGN_IN_LIMIT = "10 per minute;50 per hour"
# Static files need no account: they hold no data.
OPEN_PREFIXES = ("/assets/", "/_dash-component-suites/", "/_favicon.ico", "/favicon.ico")
CACHEABLE_PREFIXES = ("/assets/", "/_dash-component-suites/")


class MissingSecretError(RuntimeError):
    """OBA_SECRET_KEY is missing or too short: sessions cannot be signed safely."""


@dataclass(frozen=True)
class Viewer:
    """Who is reading, and what they may see. `areas` None means every area."""

    username: str
    role: str
    areas: tuple[str, ...] | None

    @property
    def public(self) -> bool:
        return self.role == "public"

    def may_see(self, area_code: str | None) -> bool:
        return self.areas is None or (area_code is not None and area_code in self.areas)

    def may_edit(self, area_code: str | None) -> bool:
        """Turn-the-curve sessions: the data team anywhere, partnership members in their own areas."""
        return self.role == "data_team" or (self.role == "partnership_member" and self.may_see(area_code))


# Nobody signed in: sees nothing.
NO_ACCESS = Viewer(username="", role="none", areas=())
# The dashboard built without sign-in (development only, by code): sees everything.
UNRESTRICTED = Viewer(username="local", role="data_team", areas=None)


class _User(UserMixin):  # type: ignore[misc]
    def __init__(self, view: accounts.AccountView) -> None:
        self.id = str(view.id)
        self.viewer = Viewer(username=view.username, role=view.role,
                             areas=tuple(view.areas) if view.role == "partnership_member" else None)


def secret_key() -> str:
    """The session-signing secret; missing or short is a clear startup error, never a default."""
    value = os.environ.get(SECRET_ENV, "").strip()
    if len(value) < MIN_SECRET_LENGTH:
        raise MissingSecretError(
            f"{SECRET_ENV} is {'too short' if value else 'not set'}: the dashboard signs sessions with it and will "
            f"not start without one of at least {MIN_SECRET_LENGTH} characters. Make one with "
            "python -c \"import secrets; print(secrets.token_hex(32))\" and keep it outside the data folder.")
    return value


def current_viewer() -> Viewer | None:
    """The reader of the current request; None outside a request (library code, tests, exports)."""
    if not flask.has_request_context():
        return None
    app = flask.current_app
    if not app.config.get(AUTH_KEY, False):
        return UNRESTRICTED
    user = current_user
    if user is None or not user.is_authenticated:
        return NO_ACCESS
    return user.viewer  # type: ignore[no-any-return]


def app_engine() -> Engine:
    return flask.current_app.config[ENGINE_KEY]  # type: ignore[no-any-return]


def audit(action: str, target: str = "", **detail: object) -> None:
    """Record what the current reader did (a view, an export) in the application database."""
    viewer = current_viewer()
    if viewer is None or not flask.has_request_context() or ENGINE_KEY not in flask.current_app.config:
        return
    try:
        with session_scope(app_engine()) as session:
            record_audit(session, viewer.username or "anonymous", action, target, **detail)
    except Exception:  # an audit failure must be seen, but must not take the page down with it
        log.exception("could not record audit event %s %s", action, target)


def recent_audit(limit: int = 200) -> list[dict[str, Any]]:
    """The latest audit events, for the data team only; anyone else gets nothing."""
    viewer = current_viewer()
    if viewer is None or viewer.role != "data_team" or ENGINE_KEY not in flask.current_app.config:
        return []
    with session_scope(app_engine()) as session:
        events = session.scalars(select(AuditEvent).order_by(desc(AuditEvent.at), desc(AuditEvent.id)).limit(limit))
        return [{"at": e.at, "actor": e.actor, "action": e.action, "target": e.target, "detail": e.detail}
                for e in events]


def install(app: dash.Dash, home: Home) -> None:
    """Require sign-in on every data page and callback of `app`, with CSRF, rate limits and headers."""
    server = app.server
    server.config.update(
        SECRET_KEY=secret_key(),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=os.environ.get("OBA_COOKIE_SECURE", "") == "1",
        PERMANENT_SESSION_LIFETIME=8 * 3600,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the signed session
        WTF_CSRF_SSL_STRICT=os.environ.get("OBA_COOKIE_SECURE", "") == "1",
    )
    server.config[AUTH_KEY] = True
    engine = make_engine(home=home)
    create_schema(engine)
    server.config[ENGINE_KEY] = engine

    login = LoginManager(server)
    login.session_protection = "strong"
    login.login_view = None

    @login.user_loader
    def load_user(user_id: str) -> _User | None:
        if not user_id.isdigit():
            return None
        with session_scope(engine) as session:
            view = accounts.get_account(session, int(user_id))
        return _User(view) if view else None

    trusted_header = os.environ.get(TRUSTED_HEADER_ENV, "").strip()
    if trusted_header:
        log.warning("accepting the username in the %s header from the authenticating proxy: the dashboard must "
                    "be reachable only through that proxy", trusted_header)

    # Registered before CSRF protection, so a request without a session is refused as unsigned.
    @server.before_request
    def require_sign_in() -> Any:
        path = flask.request.path
        if path in (SIGN_IN_PATH,) or path.startswith(OPEN_PREFIXES):
            return None
        if current_user.is_authenticated:
            return None
        if trusted_header and _sign_in_from_proxy(engine, trusted_header):
            return None
        if flask.request.method == "GET" and not path.startswith("/_"):
            return flask.redirect(f"{SIGN_IN_PATH}?next={flask.request.full_path.rstrip('?')}")
        return flask.jsonify({"error": "sign in required"}), 401

    CSRFProtect(server)
    limiter = Limiter(get_remote_address, app=server, storage_uri="memory://", default_limits=[],
                      headers_enabled=False)
    sign_in_limit = os.environ.get(SIGN_IN_LIMIT_ENV, DEFAULT_SIGN_IN_LIMIT)

    def sign_in() -> Any:
        target = _safe_next(flask.request.values.get("next", "/"))
        if flask.request.method == "GET":
            return _sign_in_page(target)
        username = flask.request.form.get("username", "")
        password = flask.request.form.get("password", "")
        with session_scope(engine) as session:
            view = accounts.verify_credentials(session, username, password) if username and password else None
            if view is None:
                # The name as typed is kept (truncated) so the data team can see guessing; never the password.
                record_audit(session, username[:120] or "(blank)", "sign_in_failed", "",
                             address=flask.request.remote_addr or "")
            else:
                record_audit(session, view.username, "sign_in", "", role=view.role,
                             address=flask.request.remote_addr or "")
        if view is None:
            # 200 with the form again (a page, not an HTTP authentication challenge); still counted by the limiter.
            return _sign_in_page(target, error="The username or password is not right. Check them and try again.")
        flask.session.clear()  # a fresh session on sign-in, so an earlier one cannot be carried over
        login_user(_User(view))
        return flask.redirect(target)

    server.add_url_rule(SIGN_IN_PATH, "sign_in", limiter.limit(
        sign_in_limit, methods=["POST"], deduct_when=lambda response: response.status_code != 302,
        error_message="Too many failed sign-ins from this address: wait a few minutes and try again.",
    )(sign_in), methods=["GET", "POST"])

    def sign_out() -> Any:
        viewer = current_viewer()
        if viewer is not None and viewer.username:
            with session_scope(engine) as session:
                record_audit(session, viewer.username, "sign_out")
        logout_user()
        flask.session.clear()
        return flask.redirect(SIGN_IN_PATH)

    server.add_url_rule(SIGN_OUT_PATH, "sign_out", sign_out, methods=["POST"])

    @server.errorhandler(CSRFError)
    def csrf_failed(error: CSRFError) -> Any:
        log.warning("request refused, CSRF check failed: %s %s (%s)", flask.request.method, flask.request.path,
                    error.description)
        return flask.jsonify({"error": "The form or request was not accepted (security token missing or out of "
                                       "date). Reload the page and try again."}), 400

    @server.after_request
    def security_headers(response: flask.Response) -> flask.Response:
        return _harden(app, response)

    log.info("sign-in required; accounts in %s", engine.url.render_as_string(hide_password=True))


def _sign_in_from_proxy(engine: Engine, header: str) -> bool:
    """Sign in the person the authenticating proxy names, if they hold an account here (roles stay ours)."""
    username = flask.request.headers.get(header, "").strip().lower()
    if not username:
        return False
    with session_scope(engine) as session:
        view = accounts.find_account(session, username)
        if view is None:
            record_audit(session, username[:120], "sign_in_failed", "", via="proxy", reason="no account")
            return False
        record_audit(session, view.username, "sign_in", "", role=view.role, via="proxy")
    login_user(_User(view))
    return True


def _harden(app: dash.Dash, response: flask.Response) -> flask.Response:
    path = flask.request.path
    script_hashes = " ".join(app.csp_hashes())  # already quoted, e.g. 'sha256-...'
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; "
        f"script-src 'self' {script_hashes}; "
        # Plotly sets styles on the elements it draws.
        "style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
        "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    )
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    if not path.startswith(CACHEABLE_PREFIXES):
        response.headers["Cache-Control"] = "no-store"
        response.headers["Pragma"] = "no-cache"
    if current_user.is_authenticated and path not in (SIGN_OUT_PATH,):
        # Dash's renderer reads this cookie and sends it back as X-CSRFToken on every callback.
        response.set_cookie(CSRF_COOKIE, generate_csrf(), samesite="Strict", httponly=False,
                            secure=flask.current_app.config["SESSION_COOKIE_SECURE"])
    return response


def _safe_next(target: str) -> str:
    """Only a path on this server: never an address elsewhere (an open redirect)."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


_SIGN_IN_TEMPLATE = """<!DOCTYPE html>
<html lang="en-GB">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Sign in - OBA toolkit</title>
  <link rel="stylesheet" href="/assets/oba.css">
</head>
<body>
  <header class="oba-header"><div class="oba-width oba-header__inner">
    <span class="oba-header__title">OBA toolkit</span>
    <span class="oba-header__strap">Outcomes-Based Accountability for children's services</span>
  </div></header>
  <main id="main-content" class="oba-width oba-main oba-sign-in">
    <h1>Sign in</h1>
    <p>The figures are about children and families. Sign in with the account your data team gave you.</p>
    {% if error %}<p class="oba-sign-in__error" role="alert" id="sign-in-error">{{ error }}</p>{% endif %}
    <form method="post" action="/sign-in">
      <input type="hidden" name="csrf_token" value="{{ csrf_token }}">
      <input type="hidden" name="next" value="{{ next }}">
      <div class="oba-field">
        <label for="username">Username</label>
        <input id="username" name="username" type="text" autocomplete="username" required
               autocapitalize="none" spellcheck="false">
      </div>
      <div class="oba-field">
        <label for="password">Password</label>
        <input id="password" name="password" type="password" autocomplete="current-password" required>
      </div>
      <button type="submit" class="oba-button">Sign in</button>
    </form>
  </main>
</body>
</html>"""


def _sign_in_page(target: str, error: str | None = None) -> str:
    # render_template_string escapes every value, so nothing typed into the form runs as markup.
    return flask.render_template_string(_SIGN_IN_TEMPLATE, error=error, next=target, csrf_token=generate_csrf())
