"""The page frame every dashboard page shares: skip link, header with navigation, main area, footer."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any

import dash
from dash import dcc, html

from dashboards.figures import polarity_text
from oba_pipeline.catalogue.catalogue import QUADRANTS

OGL_LINE = "Contains public sector information licensed under the Open Government Licence v3.0."
OGL_URL = "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/"

# The standard Dash page with a language set (screen readers need it) and without the extra
# <footer> Dash wraps its scripts in, which would be read as a second page footer.
INDEX_STRING = """<!DOCTYPE html>
<html lang="en-GB">
    <head>
        {%metas%}
        <title>{%title%}</title>
        {%favicon%}
        {%css%}
    </head>
    <body>
        {%app_entry%}
        {%config%}
        {%scripts%}
        {%renderer%}
    </body>
</html>"""


def aria(**attributes: str) -> dict[str, Any]:
    """ARIA attributes as keyword arguments for a Dash component: aria(label="x") -> {"aria-label": "x"}."""
    return {f"aria-{name.replace('_', '-')}": value for name, value in attributes.items()}


def navigation(pages: Iterable[Mapping[str, Any]]) -> html.Nav:
    """Links to every registered page, in the order the pages were registered."""
    items = [html.Li(dcc.Link(page["name"], href=page["relative_path"], className="oba-nav__link"))
             for page in pages]
    return html.Nav(html.Ul(items, className="oba-nav__list"), className="oba-nav",
                    **aria(label="Dashboard pages"))


def account_bar() -> html.Div | None:
    """Who is signed in, their role, and a sign-out button (a form posting with its CSRF token)."""
    from dashboards.auth import SIGN_OUT_PATH, current_viewer

    viewer = current_viewer()
    if viewer is None or not viewer.username or viewer.role == "none" or viewer.username == "local":
        return None
    from flask_wtf.csrf import generate_csrf

    return html.Div(html.Form([
        html.Span(["Signed in as ", html.Strong(viewer.username), f" ({viewer.role.replace('_', ' ')})"],
                  id="oba-account-name"),
        dcc.Input(type="hidden", name="csrf_token", value=generate_csrf()),
        html.Button("Sign out", type="submit", className="oba-button oba-button--quiet", id="oba-sign-out"),
    ], method="post", action=SIGN_OUT_PATH, className="oba-account"), className="oba-width")


def visible_pages() -> list[Mapping[str, Any]]:
    """Registered pages the reader's role may open (a page registered with `roles=[...]` is limited)."""
    from dashboards.auth import current_viewer

    viewer = current_viewer()
    role = viewer.role if viewer is not None else "data_team"
    return [page for page in dash.page_registry.values() if role in page.get("roles", [role])]


def shell() -> html.Div:
    """The whole page around `dash.page_container`; built per request so new pages appear in the menu."""
    return html.Div([
        html.A("Skip to main content", href="#main-content", className="oba-skip-link"),
        html.Header(html.Div([
            html.A("OBA toolkit", href="/", className="oba-header__title"),
            html.Span("Outcomes-Based Accountability for children's services", className="oba-header__strap"),
        ], className="oba-width oba-header__inner"), className="oba-header"),
        account_bar(),
        html.Div(navigation(visible_pages()), className="oba-width"),
        freshness_bar(),
        html.Main(dash.page_container, id="main-content", className="oba-width oba-main", tabIndex="-1"),
        # One download target for every page's CSV and XLSX buttons (dashboards/downloads.py).
        dcc.Download(id="oba-download"),
        html.Div(html.P(id="oba-download-message", role="status", className="oba-download-message"),
                 className="oba-width"),
        html.Footer(html.Div([
            html.P([OGL_LINE, " ", html.A("Read the licence", href=OGL_URL, className="oba-footer__link")]),
            html.P("Figures marked c are suppressed to protect confidentiality, z are not applicable, "
                   "and x are not available."),
        ], className="oba-width"), className="oba-footer"),
    ])


def freshness_bar() -> html.Div | None:
    """How fresh the figures are, on every page: when published, how recent the extracts, which are stale.

    A source is stale by the same rule `oba status` and the nightly freshness checks apply
    (oba_pipeline/orchestration/freshness.py).
    """
    from dashboards import data
    from dashboards.app import current_home
    from oba_pipeline.orchestration.freshness import freshness_findings

    home = current_home()
    info = data.snapshot_info(home)
    if info is None:
        return html.Div(html.P("No figures have been published yet.", className="oba-freshness__line"),
                        className="oba-width oba-freshness", id="oba-freshness")
    now = datetime.now(UTC).replace(tzinfo=None)
    stale = [finding for row in data.sources(home).iter_rows(named=True)
             for finding in freshness_findings(row["source"], row["loaded_at"], row["last_date"], now)]
    line: list[Any] = [html.Strong("Data: "), f"published {_when(info.get('published_at'))}, "
            f"extracts up to {_day(info.get('extract_date'))}."]
    children: list[Any] = [html.P(line, className="oba-freshness__line", id="oba-freshness-line")]
    if stale:
        children.append(html.Details([
            html.Summary(f"{len(stale)} warning{'s' if len(stale) != 1 else ''} about out-of-date sources"),
            html.Ul([html.Li(finding) for finding in stale], className="oba-list oba-small"),
        ], className="oba-details oba-freshness__stale", id="oba-freshness-stale"))
    return html.Div(children, className="oba-width oba-freshness", id="oba-freshness")


def _when(value: Any) -> str:
    try:
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    except ValueError:
        return str(value or "at a time not recorded")
    return f"{moment:%-d %B %Y} at {moment:%H:%M}" + (" UTC" if moment.utcoffset() is not None else "")


def _day(value: Any) -> str:
    try:
        day = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    except ValueError:
        return "a date not recorded"
    return f"{day:%-d %B %Y}"


KIND_TEXT = {"population_indicator": "Population indicator", "performance_measure": "Performance measure"}


def about_items(meta: Mapping[str, Any], *, breakdowns: bool = False) -> list[Any]:
    """A catalogue entry in plain words, as the terms and details of an html.Dl: what it measures, which way
    is better, its kind, result or service, unit, numerator, denominator, source (and its breakdowns)."""
    facts = [
        ("What it measures", meta.get("definition")),
        ("Which way is better", polarity_text(str(meta.get("polarity"))).capitalize()),
        ("Kind", KIND_TEXT.get(str(meta.get("oba_kind")), str(meta.get("oba_kind")))
         + (f": {QUADRANTS.get(meta['quadrant'], meta['quadrant'])}" if meta.get("quadrant") else "")),
        ("Result" if meta.get("result") else "Service", meta.get("result") or meta.get("service")),
        ("Unit", meta.get("unit_label")),
        ("Numerator", meta.get("numerator")),
        ("Denominator", meta.get("denominator")),
        ("Source", meta.get("source")),
    ]
    if breakdowns:
        facts.append(("Broken down by", meta.get("disaggregations")))
    items: list[Any] = []
    for term, detail in facts:
        if detail:
            items += [html.Dt(term), html.Dd(str(detail))]
    return items
