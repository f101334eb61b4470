"""Unit tests of the dashboard: value formats, trend judgements, figures, data access and page builders.

They run against a small snapshot published into a temporary OBA home (tests/dashboard_fixtures.py);
no browser and no server.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import plotly.graph_objects as go
import polars as pl
import pytest

# tests/ is a plain folder of test modules: pytest puts it on sys.path, so the fixtures import by name.
from dashboard_fixtures import (
    AUTHORITY,
    SCORECARD_FILTER_INPUTS,
    csrf_header,
    publish_sample,
    sample_tables,
    signed_in_client,
)

from dashboards import data
from dashboards.app import STATIC_DIR, create_app
from dashboards.figures import format_value, history_figure, sparkline_figure
from oba_pipeline.config import Home
from oba_pipeline.publish import publish_tables


@pytest.fixture()
def home(tmp_path: Path) -> Home:
    return publish_sample(tmp_path / "home")


@pytest.fixture()
def empty_home(tmp_path: Path) -> Home:
    return Home(tmp_path / "empty").ensure()


@pytest.fixture()
def scorecard(home: Home) -> ModuleType:
    """The scorecard page module; Dash requires an app to exist before a page module registers."""
    create_app(home)
    return importlib.import_module("dashboards.pages.scorecard")


def text_of(node: Any) -> str:
    """All the text a Dash component tree would show, for assertions on what a reader sees."""
    if node is None or isinstance(node, bool):
        return ""
    if isinstance(node, str | int | float):
        return str(node)
    if isinstance(node, list | tuple):
        return " ".join(text_of(child) for child in node)
    return text_of(getattr(node, "children", None))


def find_all(node: Any, kind: str) -> list[Any]:
    """Every component of the given type name (e.g. 'Table', 'Graph') in a tree."""
    found: list[Any] = []
    if isinstance(node, list | tuple):
        for child in node:
            found += find_all(child, kind)
        return found
    if hasattr(node, "_type"):
        if node._type == kind:
            found.append(node)
        found += find_all(getattr(node, "children", None), kind)
    return found


# --- Formatting ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "unit", "decimals", "expected"), [
    (675.66, "rate_per_10000", 1, "675.7 per 10,000"),
    (16.84, "percent", 1, "16.8%"),
    (1_234_567.0, "gbp", 0, "£1.2m"),
    (2_500_000_000.0, "gbp", 0, "£2.5bn"),
    (48_200.0, "gbp", 0, "£48k"),
    (950.0, "gbp", 0, "£950"),
    (-1_500_000.0, "gbp", 0, "-£1.5m"),
    (17.29, "ratio", 1, "17.3"),
    (1204.0, "count", 0, "1,204"),
    (None, "percent", 1, "no figure"),
])
def test_format_value_by_unit_and_decimals(value: float | None, unit: str, decimals: int,
                                           expected: str) -> None:
    assert format_value(value, unit, decimals) == expected


# --- Trend and polarity (worked by hand) --------------------------------------------------------------


def test_trend_down_twice_is_better_when_lower_is_better() -> None:
    # 40.0 -> 42.5 (up) -> 41.0 (down) -> 38.2 (down): the latest run is two falls.
    trend = data.judge_trend([40.0, 42.5, 41.0, 38.2], ["ok"] * 4, "lower_is_better", 1)
    assert (trend.direction, trend.verdict, trend.run_length) == ("down", "better", 2)


def test_the_same_fall_is_worse_when_higher_is_better() -> None:
    trend = data.judge_trend([40.0, 42.5, 41.0, 38.2], ["ok"] * 4, "higher_is_better", 1)
    assert (trend.direction, trend.verdict, trend.run_length) == ("down", "worse", 2)


def test_neutral_polarity_is_not_judged() -> None:
    trend = data.judge_trend([60.0, 70.0, 80.0, 90.0], ["ok"] * 4, "neutral", 0)
    assert (trend.direction, trend.verdict, trend.run_length) == ("up", "not judged", 3)


def test_change_too_small_to_show_is_no_change() -> None:
    # 12.34 and 12.31 both show as 12.3 at one decimal place.
    trend = data.judge_trend([12.0, 12.34, 12.31], ["ok"] * 3, "higher_is_better", 1)
    assert (trend.direction, trend.verdict, trend.run_length) == ("flat", "no change", 1)


def test_a_suppressed_figure_breaks_the_run() -> None:
    # 1 -> 2 (up), 2 -> c (gap), c -> 3 (gap), 3 -> 4 (up): only the last rise counts.
    trend = data.judge_trend([1.0, 2.0, None, 3.0, 4.0], ["ok", "ok", "c", "ok", "ok"], "higher_is_better", 0)
    assert (trend.direction, trend.verdict, trend.run_length) == ("up", "better", 1)


@pytest.mark.parametrize(("values", "statuses"), [
    ([70.0, 72.0, None], ["ok", "ok", "c"]),   # latest suppressed
    ([None, 72.0], ["x", "ok"]),               # prior not available
    ([72.0], ["ok"]),                          # one figure only
    ([], []),                                  # none at all
])
def test_no_trend_without_two_consecutive_figures(values: list[float | None], statuses: list[str]) -> None:
    trend = data.judge_trend(values, statuses, "higher_is_better", 1)
    assert (trend.direction, trend.verdict, trend.run_length) == (None, None, 0)


@pytest.mark.parametrize(("direction", "polarity", "verdict"), [
    ("up", "higher_is_better", "better"), ("up", "lower_is_better", "worse"),
    ("down", "higher_is_better", "worse"), ("down", "lower_is_better", "better"),
    ("flat", "lower_is_better", "no change"), ("up", "neutral", "not judged"),
])
def test_verdict_follows_polarity(direction: data.Direction, polarity: str, verdict: str) -> None:
    assert data.verdict_for(direction, polarity) == verdict


# --- Figures ------------------------------------------------------------------------------------------


RATE_META: dict[str, Any] = {"name": "Referrals per 10,000 children", "unit": "rate_per_10000", "decimals": 1,
             "unit_label": "per 10,000 children aged 0-17", "polarity": "lower_is_better"}
POINTS: list[dict[str, Any]] = [{"period_label": "Jan 2025", "value": 40.0, "status": "ok"},
          {"period_label": "Feb 2025", "value": None, "status": "c"},
          {"period_label": "Mar 2025", "value": 41.0, "status": "ok"}]


def test_history_chart_leaves_a_gap_at_a_suppressed_figure() -> None:
    figure = history_figure(POINTS, RATE_META, "month")
    line = figure.data[0]
    assert list(line.y) == [40.0, None, 41.0]
    assert line.connectgaps is False
    assert [a.text for a in figure.layout.annotations] == ["<b>c</b>"]
    assert "confidentiality" in figure.layout.annotations[0].hovertext


def test_history_chart_never_plots_a_value_whose_status_is_not_ok() -> None:
    # A value left on a 'c' row by mistake must still not be drawn.
    leaky = [dict(POINTS[0]), {"period_label": "Feb 2025", "value": 3.0, "status": "c"}]
    assert list(history_figure(leaky, RATE_META, "month").data[0].y) == [40.0, None]


def test_history_chart_titles_carry_unit_period_and_polarity() -> None:
    figure = history_figure(POINTS, RATE_META, "month")
    assert figure.layout.title.text == "Referrals per 10,000 children"
    subtitle = figure.layout.title.subtitle.text
    assert "per 10,000 children aged 0-17" in subtitle
    assert "lower is better" in subtitle
    assert figure.layout.yaxis.title.text.replace("<br>", " ") == "Rate per 10,000 children aged 0-17"
    assert figure.layout.xaxis.title.text == "Month"
    assert history_figure(POINTS, {**RATE_META, "polarity": "higher_is_better"}, "reporting_year") \
        .layout.xaxis.title.text == "Reporting year (April to March)"


def test_long_monthly_runs_label_only_some_periods() -> None:
    labels = [f"M{i}" for i in range(60)]
    points = [{"period_label": label, "value": float(i), "status": "ok"} for i, label in enumerate(labels)]
    ticks = list(history_figure(points, RATE_META, "month").layout.xaxis.tickvals)
    assert ticks[0] == "M0" and len(ticks) <= 8
    assert list(history_figure(POINTS, RATE_META, "month").layout.xaxis.tickvals) == [p["period_label"]
                                                                                        for p in POINTS]


def test_percent_chart_marks_its_axis_as_percent() -> None:
    meta = {**RATE_META, "unit": "percent", "unit_label": "%", "polarity": "higher_is_better"}
    figure = history_figure(POINTS, meta, "month")
    assert figure.layout.yaxis.ticksuffix == "%"
    assert "higher is better" in figure.layout.title.subtitle.text


def test_sparkline_has_gaps_and_no_axes() -> None:
    figure = go.Figure(sparkline_figure([1.0, None, 3.0, 4.0], ["ok", "c", "ok", "ok"]))  # a valid figure
    assert list(figure.data[0].y) == [1.0, None, 3.0, 4.0]
    assert figure.data[0].connectgaps is False
    assert figure.layout.xaxis.visible is False and figure.layout.yaxis.visible is False
    assert list(figure.data[1].y) == [4.0]  # the latest figure is marked


# --- Data access --------------------------------------------------------------------------------------


def test_nothing_published_is_an_empty_state_not_an_error(empty_home: Home) -> None:
    assert data.snapshot_info(empty_home) is None
    assert data.areas(empty_home).columns == list(data.AREA_SCHEMA)
    assert data.areas(empty_home).is_empty()
    rows = data.scorecard_rows(empty_home, AUTHORITY[0], "month")
    assert rows.is_empty() and rows.columns == list(data.SCORECARD_SCHEMA)
    assert data.history(empty_home, "referral_rate", AUTHORITY[0], "month").is_empty()
    assert data.period_types(empty_home) == []


def test_snapshot_info_and_areas(home: Home) -> None:
    info = data.snapshot_info(home)
    assert info is not None
    assert info["extract_date"] == "2025-04-30"
    assert info["authority"]["name"] == "Northtown"
    assert data.areas(home).get_column("area_code").to_list() == ["E09000999", "NT-N", "NT-S"]
    assert data.period_types(home) == ["month", "reporting_year"]


def test_scorecard_rows_for_the_authority_by_month(home: Home) -> None:
    frame = data.scorecard_rows(home, AUTHORITY[0], "month")
    rows = {r["indicator_id"]: r for r in frame.iter_rows(named=True)}
    assert list(rows) == ["referral_rate", "referrals_received", "assessments_on_time", "early_help_spend"]
    rate = rows["referral_rate"]
    assert (rate["latest_label"], rate["latest_value"], rate["prior_value"]) == ("Apr 2025", 38.2, 41.0)
    assert (rate["direction"], rate["verdict"], rate["run_length"]) == ("down", "better", 2)
    received = rows["referrals_received"]
    assert (received["verdict"], received["run_length"]) == ("no change", 1)
    # Spend is published yearly only: the row is still there, with no monthly figure.
    spend = rows["early_help_spend"]
    assert spend["latest_status"] is None and spend["periods_available"] == 0


def test_suppressed_latest_figure_has_its_symbol_and_no_value(home: Home) -> None:
    rows = data.scorecard_rows(home, "NT-N", "month").filter(pl.col("indicator_id") == "assessments_on_time")
    row = rows.row(0, named=True)
    assert (row["latest_status"], row["latest_value"], row["direction"]) == ("c", None, None)
    assert row["prior_value"] == 75.0


def test_history_is_in_period_order_with_status(home: Home) -> None:
    frame = data.history(home, "assessments_on_time", "NT-S", "month")
    assert frame.get_column("period_label").to_list() == ["Jan 2025", "Feb 2025", "Mar 2025", "Apr 2025"]
    assert frame.get_column("status").to_list() == ["ok", "c", "ok", "ok"]
    assert frame.get_column("value").to_list()[1] is None


def test_values_are_bound_not_spliced_into_sql(home: Home) -> None:
    hostile = "NT-N' or '1'='1"
    assert data.history(home, "referral_rate", hostile, "month").is_empty()
    assert data.scorecard_rows(home, hostile, "month").get_column("latest_status").null_count() == 4


def test_connection_is_read_only(home: Home) -> None:
    import duckdb

    data.areas(home)
    snapshot = data._CACHE.get(home)
    assert snapshot is not None
    with pytest.raises(duckdb.Error):
        snapshot.connection.execute("create table scribble (a integer)")


def test_a_new_snapshot_is_picked_up_without_restarting(home: Home) -> None:
    assert data.scorecard_rows(home, AUTHORITY[0], "month").row(0, named=True)["latest_value"] == 38.2
    tables = sample_tables()
    tables["indicator_values"] = tables["indicator_values"].with_columns(
        pl.when((pl.col("indicator_id") == "referral_rate") & (pl.col("area_code") == AUTHORITY[0])
                & (pl.col("period_label") == "Apr 2025"))
        .then(30.5).otherwise(pl.col("value")).alias("value"))
    publish_tables(home, tables, {"extract_date": "2025-05-31", "authority": {"code": AUTHORITY[0],
                                                                             "name": AUTHORITY[1]}})
    assert data.scorecard_rows(home, AUTHORITY[0], "month").row(0, named=True)["latest_value"] == 30.5
    info = data.snapshot_info(home)
    assert info is not None and info["extract_date"] == "2025-05-31"


# --- Page builders and callbacks ----------------------------------------------------------------------


def test_page_lists_every_catalogue_entry_with_freshness(home: Home, scorecard: ModuleType) -> None:
    text = text_of(scorecard.page_content(home))
    for entry in sample_tables()["indicators"].iter_rows(named=True):
        assert entry["name"] in text
    assert "Extracts up to" in text and "30 April 2025" in text
    assert "Published" in text
    assert "Children are safe at home" in text
    assert "How much did we do?" in text and "How well did we do it?" in text


def test_scorecard_groups_indicators_by_result_and_measures_by_service_and_question(
        home: Home, scorecard: ModuleType) -> None:
    body = scorecard.scorecard_body(home, AUTHORITY[0], "month")
    captions = [text_of(table.children[0]) for table in find_all(body, "Table")]
    assert captions == ["Population indicators: Children are safe at home",
                        "Front door: How much did we do?", "Front door: How well did we do it?",
                        "Early help: How much did we do?"]
    headers = [text_of(th) for th in find_all(find_all(body, "Thead")[0], "Th")]
    assert headers[:5] == ["Measure", "Kind", "Latest figure", "Previous figure", "Trend"]
    assert all(th.scope == "col" for th in find_all(find_all(body, "Thead")[0], "Th"))


def test_scorecard_filters_by_result_service_and_question(home: Home, scorecard: ModuleType) -> None:
    def captions(**chosen: str) -> list[str]:
        body = scorecard.scorecard_body(home, AUTHORITY[0], "month", **chosen)
        return [text_of(table.children[0]) for table in find_all(body, "Table")]

    assert captions(result="Children are safe at home") == ["Population indicators: Children are safe at home"]
    assert captions(service="Front door") == ["Front door: How much did we do?", "Front door: How well did we do it?"]
    assert captions(quadrant="how_much") == ["Front door: How much did we do?", "Early help: How much did we do?"]
    assert captions(service="Early help", quadrant="how_well") == []
    text = text_of(scorecard.scorecard_body(home, AUTHORITY[0], "month", result="Children are safe at home",
                                            service="Front door"))
    assert "as filtered" in text and "No measure matches these filters" in text
    choosers = scorecard.filters(data.catalogue(home))
    dropdowns = {d.id: d for d in find_all(choosers, "Dropdown")}
    assert set(dropdowns) == {"scorecard-result", "scorecard-service", "scorecard-quadrant"}
    assert all(d.value == "all" for d in dropdowns.values())
    assert [o["label"] for o in dropdowns["scorecard-quadrant"].options][0] == "All three questions"
    assert {text_of(label) for label in find_all(choosers, "Label")} == {"Result", "Service", "Question"}


def test_scorecard_rows_read_in_plain_words(home: Home, scorecard: ModuleType) -> None:
    text = text_of(scorecard.scorecard_body(home, AUTHORITY[0], "month"))
    assert "38.2 per 10,000" in text and "41.0 per 10,000" in text
    assert "Down: better, 2 months in a row" in text
    assert "Level: no change, 1 month" in text
    assert "No monthly figures" in text


def test_suppressed_figure_shows_its_symbol_and_reason_never_a_number(home: Home,
                                                                      scorecard: ModuleType) -> None:
    body = scorecard.scorecard_body(home, "NT-N", "month")
    row = next(tr for tr in find_all(body, "Tr") if "Assessments completed" in text_of(tr))
    latest = text_of(row.children[2])
    assert latest.split()[0] == "c"
    assert "confidentiality" in latest
    assert not any(ch.isdigit() for ch in latest.replace("2025", ""))
    assert "Not enough figures to judge" in text_of(row.children[4])


def test_switching_area_changes_the_figures(home: Home, scorecard: ModuleType) -> None:
    authority = text_of(scorecard.scorecard_body(home, AUTHORITY[0], "month"))
    locality = text_of(scorecard.scorecard_body(home, "NT-N", "month"))
    assert "Showing Northtown North" in locality
    assert "49.9 per 10,000" in locality and "49.9 per 10,000" not in authority


def test_detail_panel_has_chart_definition_polarity_source_and_table(home: Home,
                                                                     scorecard: ModuleType) -> None:
    panel = scorecard.detail_panel(home, "assessments_on_time", "NT-S", "month")
    text = text_of(panel)
    assert "Share of assessments completed" in text
    assert "Higher is better" in text
    assert "referrals" in text  # the source
    graph = find_all(panel, "Graph")[0]
    assert list(graph.figure.data[0].y) == [90.0, None, 88.0, 91.0]
    table = find_all(panel, "Table")[0]
    body_rows = find_all(table, "Tbody")[0].children
    assert [text_of(tr.children[1]) for tr in body_rows] == ["90.0%", "c", "88.0%", "91.0%"]
    assert all(tr.children[0]._type == "Th" and tr.children[0].scope == "row" for tr in body_rows)


def test_detail_panel_without_a_choice_or_figures(home: Home, scorecard: ModuleType) -> None:
    def panel_text(indicator_id: str | None) -> str:
        return text_of(scorecard.detail_panel(home, indicator_id, AUTHORITY[0], "month"))

    assert "Choose a measure" in panel_text(None)
    assert "no monthly figures" in panel_text("early_help_spend")
    assert "not in the published catalogue" in panel_text("gone")


def test_empty_home_page_explains_what_to_do(empty_home: Home, scorecard: ModuleType) -> None:
    text = text_of(scorecard.page_content(empty_home))
    assert "No figures have been published yet" in text
    assert "no need to restart" in text


def test_selected_indicator_only_on_a_real_press(scorecard: ModuleType) -> None:
    button = {"type": "scorecard-open", "index": "referral_rate"}
    assert scorecard.selected_indicator(button, 1) == "referral_rate"
    assert scorecard.selected_indicator(button, 0) is None  # a re-rendered button, not a press
    assert scorecard.selected_indicator("scorecard-area", 1) is None


@pytest.mark.parametrize(("args", "expected"), [
    (("down", "better", 2, "month"), "Down: better, 2 months in a row"),
    (("up", "worse", 1, "reporting_year"), "Up: worse, 1 year"),
    (("flat", "no change", 3, "reporting_year"), "Level: no change, 3 years in a row"),
    ((None, None, 0, "month"), "Not enough figures to judge"),
])
def test_trend_text(scorecard: ModuleType, args: tuple[Any, ...], expected: str) -> None:
    assert scorecard.trend_text(*args) == expected


# --- The app and its callbacks through the web server ------------------------------------------------


def test_app_is_configured_for_offline_use(home: Home) -> None:
    app = create_app(home)
    assert app.config.assets_folder == str(STATIC_DIR)
    assert app.config.serve_locally is True
    assert app.title == "OBA toolkit"
    client = signed_in_client(app, home)
    index = client.get("/").get_data(as_text=True)
    assert '<html lang="en-GB">' in index
    assert "oba.css" in index and "a11y.js" in index
    assert "https://" not in index.split("<body>")[1].split("_dash-config")[0]  # no CDN script or style
    assert client.get("/assets/oba.css").status_code == 200
    layout = client.get("/_dash-layout").get_data(as_text=True)
    assert "Contains public sector information licensed under the Open Government Licence v3.0." in layout


def test_scorecard_callback_through_the_server(home: Home) -> None:
    app = create_app(home)
    client = signed_in_client(app, home)
    client.get("/")  # the first request sets up the callbacks
    payload = {
        "output": "scorecard-body.children",
        "outputs": {"id": "scorecard-body", "property": "children"},
        "inputs": [{"id": "scorecard-area", "property": "value", "value": "NT-N"},
                   {"id": "scorecard-period", "property": "value", "value": "month"},
                   *SCORECARD_FILTER_INPUTS],
        "changedPropIds": ["scorecard-area.value"],
        "state": [],
    }
    response = client.post("/_dash-update-component", json=payload, headers=csrf_header(client))
    assert response.status_code == 200
    body = json.dumps(response.get_json())
    assert "Showing Northtown North" in body and "49.9 per 10,000" in body


def test_command_line_passes_its_arguments_to_serve(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import dashboards.__main__ as cli

    seen: dict[str, Any] = {}
    monkeypatch.setattr(cli, "serve", lambda home, host, port: seen.update(home=home, host=host, port=port))
    cli.main(["--home", str(tmp_path), "--host", "127.0.0.1", "--port", "8123"])
    assert seen == {"home": Home(tmp_path.resolve()), "host": "127.0.0.1", "port": 8123}


# --- What is kept per published snapshot ---------------------------------------------------------------


def page_request(path: str) -> dict[str, Any]:
    """The request the pages router sends when the browser opens `path`."""
    return {"output": ".._pages_content.children..._pages_store.data..",
            "outputs": [{"id": "_pages_content", "property": "children"},
                        {"id": "_pages_store", "property": "data"}],
            "inputs": [{"id": "_pages_location", "property": "pathname", "value": path},
                       {"id": "_pages_location", "property": "search", "value": ""}],
            "changedPropIds": ["_pages_location.pathname"], "state": []}


def scorecard_request(area_code: str) -> dict[str, Any]:
    return {"output": "scorecard-body.children", "outputs": {"id": "scorecard-body", "property": "children"},
            "inputs": [{"id": "scorecard-area", "property": "value", "value": area_code},
                       {"id": "scorecard-period", "property": "value", "value": "month"},
                       *SCORECARD_FILTER_INPUTS],
            "changedPropIds": ["scorecard-area.value"], "state": []}


def test_memo_drops_the_least_recently_used_value() -> None:
    memo = data.Memo(2)
    memo.put("a", 1)
    memo.put("b", 2)
    assert memo.get("a") == 1  # "b" is now the least recently used
    memo.put("c", 3)
    assert (memo.get("a"), memo.get("b"), memo.get("c")) == (1, None, 3)


def test_kept_pages_are_per_reader_and_per_snapshot(home: Home) -> None:
    from sqlalchemy import select

    from oba_pipeline.appdb import AuditEvent, make_engine, session_scope

    app = create_app(home)
    member = signed_in_client(app, home, "member-north")
    team = signed_in_client(app, home, "data-team")

    def post(client: Any, payload: dict[str, Any]) -> str:
        response = client.post("/_dash-update-component", json=payload, headers=csrf_header(client))
        assert response.status_code == 200
        return json.dumps(response.get_json())

    for client in (member, team):
        client.get("/")
    # Built for the data team first: a reader restricted to NT-N still sees nothing of NT-S.
    assert "Showing Northtown South" in post(team, scorecard_request("NT-S"))
    refused = post(member, scorecard_request("NT-S"))
    assert "There are no figures to show for that area." in refused and "Northtown South" not in refused
    # Built for the restricted reader first: the data team still gets every area in the page's choosers.
    assert "Northtown South" not in post(member, page_request("/"))
    assert "Northtown South" in post(team, page_request("/"))
    # Every view is audited, whether it was built or kept.
    post(team, scorecard_request("NT-S"))
    engine = make_engine(home=home)
    with session_scope(engine) as session:
        views = [(e.actor, e.target) for e in session.scalars(select(AuditEvent)) if e.action == "view"]
    engine.dispose()
    assert views.count(("data-team", "NT-S")) == 2 and ("member-north", "NT-S") not in views
    # A newly published snapshot is read afresh.
    tables = sample_tables()
    tables["indicator_values"] = tables["indicator_values"].with_columns(
        pl.when(pl.col("area_code") == "NT-S").then(pl.col("value") + 1000).otherwise(pl.col("value")).alias("value"))
    before = post(team, scorecard_request("NT-S"))
    publish_tables(home, tables, {"extract_date": "2025-05-31", "authority": {"code": AUTHORITY[0],
                                                                             "name": AUTHORITY[1]}})
    assert post(team, scorecard_request("NT-S")) != before
