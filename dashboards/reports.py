"""The HTML validation reports under OBA_HOME/reports/validation, served to the signed-in data team only.

The reports name the rows that broke each rule (identifiers and dates of birth already withheld), so
they are row-level detail: other roles get a plain refusal and see counts by rule on the data quality page.
"""

from __future__ import annotations

import logging
import re

import dash
import flask

from dashboards import data
from dashboards.auth import audit, current_viewer
from oba_pipeline.config import Home

log = logging.getLogger(__name__)

REPORTS_PATH = "/reports/validation"
REPORT_ROLES = ("data_team",)
# A source name as the pipeline writes it: nothing that could step outside the folder.
_SOURCE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def report_url(source: str) -> str:
    return f"{REPORTS_PATH}/{source}.html"


def may_read_reports() -> bool:
    viewer = current_viewer()
    return viewer is None or viewer.role in REPORT_ROLES


def install(app: dash.Dash, home: Home) -> None:
    """Add the route that serves one source's validation report (sign-in is enforced for every route)."""

    def validation_report(source: str) -> flask.Response:
        if not may_read_reports():
            viewer = current_viewer()
            log.warning("%s (%s) asked for the %s validation report: refused", viewer.username if viewer else "",
                        viewer.role if viewer else "", source)
            return flask.Response("The full validation reports list rows from the extracts and are for the data "
                                  "team only. The data quality page shows the rows set aside, counted by rule.",
                                  status=403, mimetype="text/plain")
        if not _SOURCE.match(source) or source not in data.validation_reports(home):
            return flask.Response(f"There is no validation report for {source!r}: a refresh writes one per source.",
                                  status=404, mimetype="text/plain")
        audit("view_validation_report", source)
        response = flask.send_from_directory(data.validation_reports_folder(home), f"{source}.html",
                                             mimetype="text/html", max_age=0)
        return response

    app.server.add_url_rule(f"{REPORTS_PATH}/<source>.html", "validation_report", validation_report,
                            methods=["GET"])
