"""Unit tests of the measure page, the turn-the-curve session page and the report cards: figures and HTML from
pure functions, page builders and the functions the callbacks call, over a published snapshot with three
years of monthly referral rates (tests/measure_fixtures.py). No browser, no server."""

from __future__ import annotations

import importlib
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from measure_fixtures import MEASURE, SCENARIO, publish_measure_sample
from test_dashboard_units import text_of

from dashboards import data
from dashboards.app import create_app
from dashboards.auth import Viewer
from dashboards.measure_figures import (
    Curve,
    Forecast,
    choose_forecast,
    curve_rows,
    curve_svg,
    gap_starts,
    measure_figure,
    recent,
)
from dashboards.report_cards import quarter_of
from oba_pipeline.config import Home
from oba_pipeline.turn_the_curve import sessions

META = {"indicator_id": MEASURE, "name": "Referrals per 10,000 children", "unit": "rate_per_10000",
        "unit_label": "per 10,000 children aged 0-17", "decimals": 1, "polarity": "lower_is_better"}
DATA_TEAM = Viewer(username="data-team", role="data_team", areas=None)
MEMBER_NORTH = Viewer(username="member-north", role="partnership_member", areas=("NT-N",))
AUTHORITY = "E09000999"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Home:
    return publish_measure_sample(tmp_path_factory.mktemp("measure-units") / "home")


@pytest.fixture()
def pages(home: Home, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, ModuleType]]:
    """The page modules inside a request of an app without sign-in, with an empty application database."""
    monkeypatch.setenv("OBA_APP_DB_URL", f"sqlite:///{tmp_path / 'app.sqlite'}")
    app = create_app(home, auth=False)
    with app.server.test_request_context("/"):
        yield {name: importlib.import_module(f"dashboards.pages.{name}") for name in ("measure", "session",
                                                                                     "report_card")}


def history(*points: tuple[date, float | None, str]) -> list[dict[str, Any]]:
    return [{"period_start": p, "period_label": f"{p:%b %Y}", "value": v, "status": s} for p, v, s in points]


def forecast_points(*starts: date) -> tuple[dict[str, Any], ...]:
    return tuple({"period_start": p, "forecast_value": 40.0, "lower": 35.0, "upper": 45.0} for p in starts)


# --- Pure figures -------------------------------------------------------------------------------------------


def test_curve_never_joins_a_gap_and_marks_forecast_scenario_target_and_actions() -> None:
    curve = Curve(meta=META, period_type="month",
                  history=history((date(2025, 1, 1), 41.0, "ok"), (date(2025, 2, 1), None, "c"),
                                  (date(2025, 3, 1), 43.0, "ok")),
                  forecast=Forecast("Baseline frozen for Front door", forecast_points(date(2025, 4, 1)), frozen=True),
                  scenarios={"Hopeful": [(date(2025, 4, 1), 38.0)]}, target=39.0,
                  actions=[(date(2025, 2, 14), "Train leads"), (date(2030, 1, 1), "Far future")])
    figure = measure_figure(curve)
    names = [trace.name for trace in figure.data]
    assert names == [None, "95% prediction interval", "Baseline frozen for Front door", "Scenario: Hopeful",
                     "Referrals per 10,000 children", "Target 39.0 per 10,000"]
    line = figure.data[4]
    assert list(line.y) == [41.0, None, 43.0, None] and line.connectgaps is False
    assert [a.text for a in figure.layout.annotations] == ["<b>c</b>", "A1"]  # the far-future action is off the chart
    assert figure.layout.shapes[0].x0 == "Feb 2025"
    assert "lower is better" in figure.layout.title.subtitle.text
    rows = curve_rows(curve)
    assert rows[1]["figure"].startswith("c (suppressed") and rows[3]["interval"] == "35.0 per 10,000 to 45.0 per 10,000"


def test_comparators_are_drawn_on_reporting_years_only() -> None:
    years = [{"period_start": date(y, 4, 1), "period_label": f"{y}-{(y + 1) % 100:02d}", "value": 500.0,
              "status": "ok"} for y in (2022, 2023)]
    benchmark = [{"period_label": "2023-24", "england_value": 540.0, "neighbours_median": 610.0}]
    assert "England" in [t.name for t in measure_figure(Curve(META, "reporting_year", years,
                                                              comparators=benchmark)).data]
    assert "England" not in [t.name for t in measure_figure(Curve(META, "month", years, comparators=benchmark)).data]


def test_the_frozen_vintage_wins_over_the_latest_forecast() -> None:
    rows = [{"series": "forecast", "vintage_id": None, "period_start": date(2025, 5, 1), "forecast_value": 1.0,
             "lower": 0.0, "upper": 2.0},
            *[{"series": "vintage", "vintage_id": v, "cycle_name": f"Cycle {v}", "period_start": date(2025, 5, 1),
               "forecast_value": float(v), "lower": 0.0, "upper": 9.0} for v in (1, 2)]]
    chosen = choose_forecast(rows)
    assert chosen is not None and chosen.frozen and chosen.label == "Baseline frozen for Cycle 2"
    only_latest = choose_forecast(rows[:1])
    assert only_latest is not None and not only_latest.frozen and only_latest.label == "Forecast if nothing changes"
    # A cycle started today is drawn from the application database before a refresh publishes it.
    fresh = {"vintage_id": 7, "name": "New cycle", "points": forecast_points(date(2025, 5, 1))}
    assert choose_forecast(rows, fresh).label == "Baseline frozen for New cycle"  # type: ignore[union-attr]
    assert choose_forecast([]) is None


def test_report_card_svg_is_well_formed_breaks_at_gaps_and_escapes_text() -> None:
    meta = {**META, "name": "Referrals <script>alert(1)</script>"}
    curve = Curve(meta=meta, period_type="month",
                  history=history((date(2025, 1, 1), 41.0, "ok"), (date(2025, 2, 1), 42.0, "ok"),
                                  (date(2025, 3, 1), None, "c"), (date(2025, 4, 1), 43.0, "ok"),
                                  (date(2025, 5, 1), 44.0, "ok")),
                  forecast=Forecast("Forecast if nothing changes", forecast_points(date(2025, 6, 1), date(2025, 7, 1))),
                  target=40.0, actions=[(date(2025, 4, 3), "Train leads")])
    svg = curve_svg(curve)
    tree = ET.fromstring(svg)  # raises if the SVG is not well-formed XML
    ns = "{http://www.w3.org/2000/svg}"
    assert len(tree.findall(f"{ns}polyline")) == 3  # two runs of figures either side of the gap, and the forecast
    assert [t.text for t in tree.findall(f"{ns}text") if t.text in ("c", "A1")] == ["c", "A1"]
    assert "<script>" not in svg and "&lt;script&gt;" in svg


# --- The measure page ---------------------------------------------------------------------------------------


def test_measure_page_shows_definition_forecast_target_scenario_verdict_and_story(
        pages: dict[str, ModuleType], home: Home) -> None:
    body = pages["measure"].measure_body(home, MEASURE, AUTHORITY, "month")
    text = text_of(body)
    for expected in ("Lower is better", "Source referrals", "On the baseline: no clear change",
                     "Forecast if nothing changes: the latest statistical forecast", "Target: 40.0 per 10,000.",
                     f"Scenario {SCENARIO}: data-team", "Story behind the curve by referral source", "Schools",
                     "Hold a turn-the-curve session on this curve"):
        assert expected in text, expected
    graph = next(child for child in body[4].children if getattr(child, "id", None) == "measure-chart")
    assert "Scenario: Schools' early help offer" in [t.name for t in graph.figure.data]
    # The reporting-year curve has Islington's published comparators beside it.
    yearly = pages["measure"].measure_body(home, MEASURE, AUTHORITY, "reporting_year")
    graph = next(child for child in yearly[4].children if getattr(child, "id", None) == "measure-chart")
    assert {"England", "Statistical neighbours' median"} <= {t.name for t in graph.figure.data}
    assert "Comparators: England and the statistical neighbours' median" in text_of(yearly)


def test_measure_page_names_an_unknown_measure_plainly(pages: dict[str, ModuleType], home: Home) -> None:
    assert text_of(pages["measure"].measure_body(home, "no_such_measure", AUTHORITY, "month")) == \
        "There are no figures to show for that measure and area."
    # An address with nonsense in it falls back to the first measure and area rather than failing.
    assert "A measure and its curve" in text_of(pages["measure"].page_content(home, "x", "y", "z"))


def test_suppressed_story_groups_show_their_symbol_only(pages: dict[str, ModuleType], home: Home) -> None:
    story = data.story_behind_the_curve(home, MEASURE, AUTHORITY)
    section = pages["measure"].story_section(story, META)
    health = next(r for r in text_of(section).split("Health")[1:2])
    assert health.split()[:3] == ["c", "c", "c"]


# --- The session page ---------------------------------------------------------------------------------------


def new_session(home: Home, area: str = AUTHORITY) -> int:
    return sessions.create_session(data.app_engine(home), indicator_id=MEASURE, area_code=area, period_type="month",
                                   held_on=date(2025, 5, 12), by="data-team")


def test_a_session_records_the_six_steps_and_shows_them_again(pages: dict[str, ModuleType], home: Home) -> None:
    page = pages["session"]
    session_id = new_session(home)
    change = page.apply_change
    assert change(home, DATA_TEAM, session_id, "story", {"the_end": "Children safe at home", "helps": "Schools",
                                                         "hurts": "Housing", "need": "Sources by school"}) == "Saved."
    assert change(home, DATA_TEAM, session_id, "partner", {"partner_name": "Police", "partner_role": "Share"
                                                           " notifications early"}) == "Partner Police added."
    assert change(home, DATA_TEAM, session_id, "what_works", {"ww_idea": "Family group conferences",
                                                              "ww_evidence": "Local pilot", "ww_cost": "low_cost"}) \
        == "Added to what works."
    assert change(home, DATA_TEAM, session_id, "action", {
        "action_text": "Train designated leads", "action_owner": "Head of early help", "action_start": "2024-10-01",
        "action_due": "2025-03-31"}) == "Action added to the plan."
    text = text_of(page.page_content(home, MEASURE, AUTHORITY, "month", str(session_id)))
    for expected in (*page.STEPS, "Police", "Share notifications early", "Family group conferences", "(low cost)",
                     "Evidence: Local pilot", "Train designated leads", "Head of early help", "1 Oct 2024",
                     "Start a cycle and freeze this baseline", "Story behind the curve by locality"):
        assert expected in text, expected
    # The text areas come back filled with what was saved.
    layout = page.page_content(home, MEASURE, AUTHORITY, "month", str(session_id))
    assert _value_of(layout, "session-helps") == "Schools" and _value_of(layout, "session-the-end") == \
        "Children safe at home"


def _value_of(node: Any, component_id: str) -> Any:
    if getattr(node, "id", None) == component_id:
        return node.value
    children = getattr(node, "children", None)
    for child in children if isinstance(children, list) else [children]:
        if child is not None and not isinstance(child, str):
            found = _value_of(child, component_id)
            if found is not None:
                return found
    return None


def test_starting_a_cycle_freezes_the_baseline_and_marks_actions(pages: dict[str, ModuleType], home: Home) -> None:
    page = pages["session"]
    session_id = new_session(home)
    page.apply_change(home, DATA_TEAM, session_id, "action", {
        "action_text": "Train leads", "action_owner": "Ann", "action_start": "2024-10-01", "action_due": "2025-03-31"})
    message = page.apply_change(home, DATA_TEAM, session_id, "cycle", {"cycle_name": "Front door 2025"})
    assert message.startswith("Cycle 'Front door 2025' started")
    saved = data.ttc_session(home, session_id)
    assert saved is not None and saved.cycle_id is not None
    cycle = data.cycle_forecast(home, saved.cycle_id)
    assert cycle is not None and cycle["fitted_to"] == date(2025, 4, 1) and len(cycle["points"]) == 24
    curve_part, *_ = page.record_parts(home, session_id, True)
    graph = curve_part[0].children[0]
    assert "Baseline frozen for Front door 2025" in [t.name for t in graph.figure.data]
    assert [a.text for a in graph.figure.layout.annotations] == ["A1"]
    assert "Not yet known" in text_of(curve_part)
    # A later session on the curve carries on the same cycle.
    later = sessions.create_session(data.app_engine(home), indicator_id=MEASURE, area_code=AUTHORITY,
                                    period_type="month", held_on=date(2025, 8, 1), by="data-team")
    assert data.ttc_session(home, later).cycle_id == saved.cycle_id  # type: ignore[union-attr]


def test_turned_after_counts_published_periods_since_each_action(pages: dict[str, ModuleType]) -> None:
    action = sessions.ActionView(id=1, session_id=1, description="Train leads", owner="Ann",
                                 start_date=date(2025, 2, 10), due_date=date(2025, 6, 1), status="in_progress",
                                 completed_on=None, updated_by="a", updated_at=None)  # type: ignore[arg-type]
    verdict = {"overall": "better", "overall_label": "Better than the baseline: the curve turned",
               "window_from": date(2025, 1, 1), "window_to": date(2025, 4, 1)}
    points = history((date(2025, 1, 1), 1.0, "ok"), (date(2025, 2, 1), 1.0, "ok"), (date(2025, 3, 1), None, "c"),
                     (date(2025, 4, 1), 1.0, "ok"))
    text = text_of(pages["session"].turned_after([action], verdict, points, "month"))
    assert "Better than the baseline: the curve turned" in text
    assert "A1, Train leads (started 10 February 2025, in progress): 2 published periods since it started." in text


def test_members_change_only_their_own_areas_and_commissioners_only_read(pages: dict[str, ModuleType], home: Home,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    page = pages["session"]
    session_id = new_session(home, AUTHORITY)
    refused = page.apply_change(home, MEMBER_NORTH, session_id, "partner", {"partner_name": "Police"})
    assert refused.startswith("Not saved: member-north may not change turn-the-curve sessions for area E09000999")
    assert page.apply_change(home, MEMBER_NORTH, session_id, "cycle", {"cycle_name": "Sneaky"}).startswith(
        "Not saved")
    saved = data.ttc_session(home, session_id)
    assert saved is not None and saved.partners == () and saved.cycle_id is None
    own = new_session(home, "NT-N")
    assert page.apply_change(home, MEMBER_NORTH, own, "partner", {"partner_name": "School nurses"}) == \
        "Partner School nurses added."
    # As the page sees each reader: a commissioner reads without a form; the public sees no sessions at all.
    import dashboards.auth as auth

    for module in (auth, page):
        monkeypatch.setattr(module, "current_viewer", lambda: Viewer("commissioner", "commissioner", None))
    read = page.page_content(home, MEASURE, "NT-N", "month", str(own))
    assert "School nurses" in text_of(read) and _value_of(read, "session-helps") is None
    assert "Add partner" not in text_of(read)
    for module in (auth, page):
        monkeypatch.setattr(module, "current_viewer", lambda: Viewer("public", "public", None))
    assert data.ttc_sessions(home, MEASURE, "NT-N") == [] and data.ttc_session(home, own) is None
    assert "School nurses" not in text_of(page.page_content(home, MEASURE, "NT-N", "month", str(own)))


def test_callback_presses_map_to_changes(pages: dict[str, ModuleType]) -> None:
    trigger_of = pages["session"].trigger_of
    assert trigger_of("session-add-partner", 1) == "partner"
    assert trigger_of({"type": "session-action-status", "index": 4, "status": "done"}, 1) == "status:4:done"
    assert trigger_of({"type": "session-remove", "kind": "what_works", "index": 2}, 1) == "remove:what_works:2"
    assert trigger_of({"type": "session-start-cycle", "index": 0}, 1) == "cycle"
    # A button drawn afresh (no clicks yet) is not a press.
    assert trigger_of({"type": "session-remove", "kind": "partner", "index": 2}, 0) is None


# --- Report cards -------------------------------------------------------------------------------------------


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        self.tags.append(tag)


def test_report_card_is_a_self_contained_page_with_the_chart_and_the_record(pages: dict[str, ModuleType],
                                                                           home: Home) -> None:
    session_id = new_session(home)
    session_page = pages["session"]
    session_page.apply_change(home, DATA_TEAM, session_id, "story", {"helps": "Schools <b>refer</b> early"})
    session_page.apply_change(home, DATA_TEAM, session_id, "partner", {"partner_name": "Police",
                                                                       "partner_role": "MASH"})
    made = pages["report_card"].report_card(home, AUTHORITY, "result:Children are safe at home")
    assert made is not None
    filename, page = made
    assert filename == "report-card-children-are-safe-at-home-e09000999.html"
    assert page.startswith("<!DOCTYPE html>") and '<html lang="en-GB">' in page
    parser = _Tags()
    parser.feed(page)
    assert {"svg", "polyline", "style", "main", "footer"} <= set(parser.tags)
    assert "<link" not in page and "<script" not in page and "http://" not in page.replace(
        "http://www.w3.org/2000/svg", "")  # nothing fetched from anywhere
    assert "Referrals per 10,000 children" in page and "Schools &lt;b&gt;refer&lt;/b&gt; early" in page
    assert "<strong>Police</strong>: MASH" in page and "Open Government Licence" in page
    assert pages["report_card"].report_card(home, "NOWHERE", "result:Children are safe at home") is None


def test_progress_report_lists_turned_curves_services_and_completed_actions(pages: dict[str, ModuleType],
                                                                           home: Home) -> None:
    session_id = new_session(home)
    engine = data.app_engine(home)
    action = sessions.add_action(engine, session_id, by="a", description="Open a family hub", owner="Ann",
                                 start_date=date(2025, 1, 10), due_date=date(2025, 3, 1))
    sessions.set_action_status(engine, action, by="a", status="done", completed_on=date(2025, 2, 20))
    made = pages["report_card"].progress_report(home, AUTHORITY, "2025-01-01")
    assert made is not None
    filename, page = made
    assert filename == "progress-report-2025-01-e09000999.html"
    assert "January to March 2025" in page and "Open a family hub" in page and "20 February 2025" in page
    assert "0 of 1 curves judged have turned" in page
    assert "Assessments completed within 45 working days" in page  # a service measure, at the quarter's end
    assert "Mar 2025: 82.5%" in page


def test_quarters() -> None:
    assert quarter_of(date(2025, 11, 3)) == (date(2025, 10, 1), date(2025, 12, 31), "October to December 2025")
    assert quarter_of(date(2025, 1, 1))[1] == date(2025, 3, 31)


def test_a_run_of_missing_figures_is_labelled_once_and_cards_show_five_years() -> None:
    months = [date(2016 + i // 12, i % 12 + 1, 1) for i in range(120)]
    points = history(*[(m, None, "x") if i < 12 else (m, 10.0 + i % 3, "ok") for i, m in enumerate(months)])
    points[50]["status"], points[50]["value"] = "c", None
    assert gap_starts(points) == [months[0], months[50]]
    curve = Curve(META, "month", points)
    assert [a.text for a in measure_figure(curve).layout.annotations] == ["<b>x</b>", "<b>c</b>"]
    short = recent(curve)
    assert len(short.history) == 60 and short.history[0]["period_start"] == date(2021, 1, 1)
    assert curve_svg(short).count(">c</text>") == 0  # the suppressed month is older than five years


def test_measure_page_offers_its_chart_and_tables_for_download(pages: dict[str, ModuleType], home: Home) -> None:
    from dashboards import downloads

    body = pages["measure"].measure_body(home, MEASURE, AUTHORITY, "month")
    buttons = [component.id for component in _walk(body) if isinstance(getattr(component, "id", None), dict)]
    assert {(b["table"], b["format"]) for b in buttons} == {
        (name, fmt) for name in ("history", "baselines", "story_behind_the_curve") for fmt in ("csv", "xlsx")}
    graph = next(child for child in body[4].children if getattr(child, "id", None) == "measure-chart")
    assert graph.config["modeBarButtons"] == [["toImage"]]
    baselines = downloads.download_frame(home, "baselines", {"indicator_id": MEASURE, "area_code": AUTHORITY,
                                                             "period_type": "month"})
    assert {"history", "forecast", "scenario"} <= set(baselines.get_column("series").to_list())
    assert set(baselines.get_column("indicator_id").to_list()) == {MEASURE}
    story = downloads.download_frame(home, "story_behind_the_curve", {"indicator_id": MEASURE,
                                                                      "area_code": AUTHORITY})
    suppressed = story.filter(story.get_column("status") != "ok")
    assert story.height and suppressed.height and suppressed.get_column("after_value").null_count() == suppressed.height


def _walk(component: Any) -> Iterator[Any]:
    if isinstance(component, list | tuple):
        for child in component:
            yield from _walk(child)
        return
    yield component
    children = getattr(component, "children", None)
    if children is not None and not isinstance(children, str):
        yield from _walk(children)
