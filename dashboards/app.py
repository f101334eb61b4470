"""The Dash application: a multi-page dashboard over the live published snapshot, served by waitress."""

from __future__ import annotations

import logging
from pathlib import Path

import dash
import flask
import waitress

from dashboards.layout import INDEX_STRING, shell
from oba_pipeline.config import Home

log = logging.getLogger(__name__)

PACKAGE_DIR = Path(__file__).resolve().parent
PAGES_DIR = PACKAGE_DIR / "pages"
# Explicit: the repository has a top-level `assets` package (SQL assets), which is not static files.
STATIC_DIR = PACKAGE_DIR / "static"
HOME_KEY = "OBA_HOME"


def create_app(home: Home, *, auth: bool = True) -> dash.Dash:
    """Build the dashboard for one OBA home; every page reads that home's live snapshot.

    Sign-in is on unless a caller passes `auth=False` in code (a local development server only); it
    needs OBA_SECRET_KEY and refuses to start without it (dashboards/auth.py).
    """
    app = dash.Dash(
        "dashboards",
        use_pages=True,
        pages_folder=str(PAGES_DIR),
        assets_folder=str(STATIC_DIR),
        serve_locally=True,  # the machine is offline: never point the browser at a CDN
        title="OBA toolkit",
        update_title="",  # keep the page title steady while callbacks run
        index_string=INDEX_STRING,
        meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}],
        # Page layouts hold the components the callbacks name; they are not in the frame itself.
        suppress_callback_exceptions=True,
    )
    # Callbacks find the home through the app that runs them (see current_home), not a global.
    app.server.config[HOME_KEY] = home
    app.layout = shell
    from dashboards import downloads  # imported here: downloads imports this module (current_home)

    downloads.install(app)
    from dashboards import reports

    reports.install(app, home)
    if auth:
        from dashboards.auth import install

        install(app, home)
    else:
        log.warning("dashboard created WITHOUT sign-in: every figure is visible to anyone who can reach it")
    log.info("dashboard created for OBA home %s", home.root)
    return app


def current_home() -> Home:
    """The OBA home of the app handling the current request or layout call."""
    # The Flask app of the request first: with several apps in one process (tests), dash.get_app()
    # names the first one created, not the one answering.
    home = (flask.current_app.config.get(HOME_KEY) if flask.has_request_context()
            else dash.get_app().server.config[HOME_KEY])
    if not isinstance(home, Home):
        raise RuntimeError("the dashboard was not created with create_app(home)")
    return home


def serve(home: Home, host: str = "127.0.0.1", port: int = 8050) -> None:
    """Serve the dashboard with waitress (a production WSGI server) until interrupted."""
    app = create_app(home)
    log.info("dashboard for %s at http://%s:%d/", home.root, host, port)
    waitress.serve(app.server, host=host, port=port, threads=4, ident="oba-dashboard")
