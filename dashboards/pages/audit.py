"""Audit page, for the data team: who signed in, viewed which area, exported what, changed which note.

Everything here was typed by someone (a username tried at sign-in, a note, a file name) and is shown as
text: Dash renders strings as text nodes, never as markup.
"""

from __future__ import annotations

import json
from typing import Any

import dash
from dash import html

from dashboards.auth import current_viewer, recent_audit

dash.register_page(__name__, path="/audit", name="Audit trail", title="Audit trail - OBA toolkit", order=90,
                   roles=["data_team"])

COLUMNS = ("When (UTC)", "Who", "What", "Which", "Details")


def layout(**_query: str) -> html.Div:
    viewer = current_viewer()
    if viewer is not None and viewer.role != "data_team":
        return html.Div([html.H1("Audit trail"),
                         html.P("This page is for the data team.")], className="oba-page")
    return html.Div([
        html.H1("Audit trail"),
        html.P("The latest 200 events in the application database: sign-ins (and failed attempts), areas "
               "viewed, exports and account changes.", className="oba-lede"),
        audit_table(recent_audit()),
    ], className="oba-page")


def audit_table(events: list[dict[str, Any]]) -> html.Table | html.P:
    if not events:
        return html.P("Nothing has been recorded yet.")
    rows = [html.Tr([
        html.Td(event["at"].strftime("%Y-%m-%d %H:%M:%S") if event["at"] else ""),
        html.Td(event["actor"]), html.Td(event["action"].replace("_", " ")), html.Td(event["target"]),
        html.Td(json.dumps(event["detail"], default=str) if event["detail"] else ""),
    ]) for event in events]
    return html.Table([
        html.Caption("Audit events, newest first"),
        html.Thead(html.Tr([html.Th(c, scope="col") for c in COLUMNS])),
        html.Tbody(rows),
    ], className="oba-table oba-audit", id="audit-table")
