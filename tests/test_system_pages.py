"""Unit tests of the whole system and data quality pages, the downloads and the validation-report route.

Builders and the lag maths are called as plain functions; the download callback and the report route are
called through the signed-in server, as the browser calls them. No browser here.
"""

from __future__ import annotations

import base64
import importlib
import io
import json
from datetime import date, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import polars as pl
import pytest
from conftest import TEST_SECRET
from dashboard_fixtures import AUTHORITY, create_accounts, csrf_header, signed_in_client
from system_fixtures import PLANTED_LAG, REPORT_TEXT, SMALL_AREA, SMALL_COUNT, publish_system_sample
from test_dashboard_units import find_all, text_of

from dashboards import data
from dashboards.app import create_app
from dashboards.system_figures import (
    LagResult,
    changes,
    cross_correlation,
    lag_figure,
    lag_sentence,
    pearson,
    strongest,
    system_figure,
)
from oba_pipeline.config import Home
from oba_pipeline.export import DisclosureBreachError, check_frame_disclosure, frame_bytes


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Home:
    home = publish_system_sample(tmp_path_factory.mktemp("system") / "home")
    create_accounts(home)
    return home


@pytest.fixture(scope="module")
def app(home: Home) -> Any:
    # Module-scoped, so it runs before conftest's per-test secret: it sets the same one itself.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OBA_SECRET_KEY", TEST_SECRET)
        return create_app(home)


@pytest.fixture(scope="module")
def whole_system(app: Any) -> ModuleType:
    return importlib.import_module("dashboards.pages.whole_system")


@pytest.fixture(scope="module")
def data_quality(app: Any) -> ModuleType:
    return importlib.import_module("dashboards.pages.data_quality")


# --- The lag maths ------------------------------------------------------------------------------------


def test_changes_leave_a_gap_either_side_of_a_missing_figure() -> None:
    assert changes([1.0, 3.0, None, 4.0, 6.0]) == [2.0, None, None, 2.0]


def test_pearson_of_a_perfect_line_and_of_a_flat_series() -> None:
    assert pearson([1, 2, 3, 4], [2, 4, 6, 8]) == pytest.approx(1.0)
    assert pearson([1, 2, 3, 4], [8, 6, 4, 2]) == pytest.approx(-1.0)
    assert pearson([1, 2, 3, 4], [5, 5, 5, 5]) is None
    assert pearson([1, 2], [1, 2]) is None


def test_cross_correlation_finds_a_planted_lag() -> None:
    leading_changes = [((-1) ** (i * i // 3)) * (1 + i % 5) for i in range(40)]
    lead = [100.0]
    for step in leading_changes:
        lead.append(lead[-1] + step)
    follow = [50.0] * 4
    for index in range(4, len(lead)):
        follow.append(follow[-1] - 2 * (lead[index - 3] - lead[index - 4]))
    months = [date(2020 + (i // 12), i % 12 + 1, 1) for i in range(len(lead))]
    results = cross_correlation(dict(zip(months, lead, strict=True)), dict(zip(months, follow, strict=True)))
    assert [r.lag for r in results] == list(range(13))
    best = strongest(results)
    assert best is not None and best.lag == 3 and best.correlation == pytest.approx(-1.0)


def test_cross_correlation_lines_up_months_not_positions() -> None:
    """A month missing from one series is a gap, never a shift of everything after it by one."""
    months = [date(2021, m, 1) for m in range(1, 13)] + [date(2022, m, 1) for m in range(1, 13)]
    lead = {m: float(i * i % 7) for i, m in enumerate(months)}
    follow = dict(lead)
    del follow[months[5]]
    results = cross_correlation(lead, follow)
    assert results[0].correlation == pytest.approx(1.0)
    assert results[0].pairs == len(months) - 1 - 2  # the two changes touching the missing month are gone


def test_too_few_pairs_names_no_lag_and_says_so() -> None:
    results = [LagResult(lag, 0.9 if lag == 2 else 0.1, 8) for lag in range(13)]
    assert strongest(results) is None
    assert "too few months" in lag_sentence(results, "prevention spend", "referrals received")


def test_the_sentence_names_the_lag_the_direction_and_the_caveat() -> None:
    results = [LagResult(lag, -0.62 if lag == 4 else 0.05, 30) for lag in range(13)]
    sentence = lag_sentence(results, "spend on prevention", "referrals received")
    assert "lag of 4 months" in sentence
    assert "tends to fall 4 months later" in sentence
    assert "-0.62" in sentence and "strong" in sentence and "30 pairs" in sentence
    assert "association, not cause" in sentence


def test_lag_chart_marks_the_strongest_lag_and_the_chance_band() -> None:
    results = [LagResult(lag, -0.62 if lag == 4 else 0.05, 30) for lag in range(13)]
    figure = lag_figure(results, {"name": "Spend"}, {"name": "Referrals", "polarity": "neutral"})
    colours = figure.data[0].marker.color
    assert colours[4] != colours[0] and len(set(colours)) == 2
    assert len(figure.layout.shapes) == 2  # the two dashed lines of the chance band
    assert "months" in figure.layout.xaxis.title.text


def test_system_chart_has_a_panel_per_measure_with_its_unit_and_gaps(home: Home, whole_system: ModuleType) -> None:
    meta = whole_system.measures(data.catalogue(home))
    series = whole_system.monthly_series(data.whole_system_values(home, AUTHORITY[0]))
    series["cla_rate"][5] = {**series["cla_rate"][5], "status": "c", "value": None}
    figure = system_figure(series, meta, "Northtown")
    assert len(figure.data) == 6
    assert figure.layout.yaxis.title.text == "Pounds (£)"
    assert "Monthly figures" in figure.layout.title.subtitle.text
    cla = next(trace for trace in figure.data if trace.name == meta["cla_rate"]["name"])
    assert cla.y[5] is None and cla.connectgaps is False


# --- The whole system page -------------------------------------------------------------------------------


def test_whole_system_page_finds_the_planted_lag_in_plain_english(home: Home, whole_system: ModuleType) -> None:
    body = whole_system.page_body(home, AUTHORITY[0], "prevention_spend", "referrals_received")
    words = text_of(body)
    assert f"lag of {PLANTED_LAG} months" in words
    assert "tends to fall" in words
    assert "association, not cause" in words
    assert "Showing Northtown, monthly figures: 6 of 6 measures" in words
    tables = {table.id for table in find_all(body, "Table")}
    assert {"whole-system-spend-table", "whole-system-series-table", "whole-system-lag-table"} <= tables
    graphs = find_all(body, "Graph")
    assert graphs and all(graph.config["toImageButtonOptions"]["format"] == "png" for graph in graphs)


def test_whole_system_spend_table_sets_prevention_against_late_intervention(whole_system: ModuleType) -> None:
    years = pl.DataFrame({
        "indicator_id": ["prevention_spend", "late_intervention_spend", "prevention_spend"],
        "period_start": [date(2023, 4, 1), date(2023, 4, 1), date(2024, 4, 1)],
        "period_label": ["2023-24", "2023-24", "2024-25"], "value": [1_000_000.0, 3_000_000.0, 1_100_000.0],
        "status": ["ok", "ok", "ok"]})
    rows = whole_system.spend_rows(years)
    assert rows[0]["share"] == pytest.approx(25.0)
    assert rows[1]["late"] is None and rows[1]["share"] is None


def test_a_locality_without_spend_says_so(home: Home, whole_system: ModuleType) -> None:
    words = text_of(whole_system.page_body(home, "NT-S", "prevention_spend", "referrals_received"))
    assert "spend is recorded for the whole authority" in words
    assert "No figures for this area" in words


def test_comparing_a_measure_with_itself_is_explained(home: Home, whole_system: ModuleType) -> None:
    words = text_of(whole_system.page_body(home, AUTHORITY[0], "cin_rate", "cin_rate"))
    assert "Choose two different measures" in words


def test_whole_system_empty_home(tmp_path: Path, whole_system: ModuleType) -> None:
    words = text_of(whole_system.page_content(Home(tmp_path / "empty").ensure()))
    assert "No figures have been published yet." in words


# --- The data quality page --------------------------------------------------------------------------------


def test_data_quality_uses_the_oba_status_freshness_rule(home: Home, data_quality: ModuleType) -> None:
    fresh = data_quality.freshness_rows(data.source_details(home), datetime(2025, 5, 2, 12, 0))
    assert all(row["findings"] == [] for row in fresh)
    later = data_quality.freshness_rows(data.source_details(home), datetime(2025, 8, 1, 12, 0))
    assert all(row["findings"] for row in later)
    assert "tonight's extract has not arrived" in later[0]["findings"][0]


def test_data_quality_counts_rows_set_aside_by_rule(home: Home, data_quality: ModuleType) -> None:
    page = data_quality.page_content(home, datetime(2025, 5, 2, 12, 0), show_reports=True)
    words = text_of(page)
    assert "2 of 2 sources are up to date" in words
    assert "not a real date" in words and "earlier than assessment_start_date" in words
    links = [link.href for link in find_all(page, "A")]
    assert links == ["/reports/validation/referrals.html"]


def test_data_quality_without_report_rights_shows_counts_and_no_links(home: Home, data_quality: ModuleType) -> None:
    page = data_quality.page_content(home, datetime(2025, 5, 2, 12, 0), show_reports=False)
    assert find_all(page, "A") == []
    assert "for the data team only" in text_of(page)
    assert "not a real date" in text_of(page)


@pytest.mark.parametrize(("rule", "words"), [
    ("type date", "not a real date"), ("references localities.locality_code", "not found in localities"),
    ("unique referral_id", "used twice"), ("something new", "see the validation report")])
def test_rules_read_in_plain_words(data_quality: ModuleType, rule: str, words: str) -> None:
    assert words in data_quality.rule_text(rule)


# --- The validation report route --------------------------------------------------------------------


@pytest.mark.parametrize(("user", "status"), [("data-team", 200), ("commissioner", 403), ("member-north", 403),
                                              ("public", 403)])
def test_validation_reports_are_for_the_data_team_only(app: Any, home: Home, user: str, status: int) -> None:
    client = signed_in_client(app, home, user)
    response = client.get("/reports/validation/referrals.html")
    assert response.status_code == status
    assert (REPORT_TEXT in response.get_data(as_text=True)) == (status == 200)


def test_validation_reports_need_sign_in_and_stay_in_their_folder(app: Any, home: Home) -> None:
    anonymous = app.server.test_client()
    assert anonymous.get("/reports/validation/referrals.html").status_code == 302
    team = signed_in_client(app, home, "data-team")
    assert team.get("/reports/validation/spend.html").status_code == 404
    assert team.get("/reports/validation/..referrals.html").status_code == 404
    snapshot_id = (home.published / "CURRENT").read_text().strip()
    sideways = team.get("/reports/validation/..%2F..%2Fpublished%2FCURRENT.html")
    assert snapshot_id not in sideways.get_data(as_text=True)
    assert team.get("/reports/validation/Referrals.html").status_code == 404


# --- Downloads --------------------------------------------------------------------------------------


def download_request(table: str, fmt: str, **choices: Any) -> dict[str, Any]:
    """The callback request a download button sends when pressed."""
    button = {"type": "oba-download-button", "table": table, "format": fmt,
              "args": json.dumps(choices, sort_keys=True)}
    key = json.dumps(button, sort_keys=True, separators=(",", ":"))
    return {
        "output": "..oba-download.data...oba-download-message.children..",
        "outputs": [{"id": "oba-download", "property": "data"}, {"id": "oba-download-message", "property": "children"}],
        "inputs": [[{"id": button, "property": "n_clicks", "value": 1}]],
        "changedPropIds": [f"{key}.n_clicks"], "state": [],
    }


def download(app: Any, home: Home, user: str, table: str, fmt: str = "csv", **choices: Any) -> dict[str, Any]:
    client = signed_in_client(app, home, user)
    client.get("/")
    response = client.post("/_dash-update-component", json=download_request(table, fmt, **choices),
                           headers=csrf_header(client))
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["response"]


def downloaded_csv(answer: dict[str, Any]) -> pl.DataFrame:
    sent = answer["oba-download"]["data"]
    raw = base64.b64decode(sent["content"]) if sent.get("base64") else sent["content"].encode()
    assert raw.startswith(b"\xef\xbb\xbf"), "CSV for Excel starts with a byte-order mark"
    return pl.read_csv(io.BytesIO(raw[3:]), infer_schema_length=0)


def small_month(frame: pl.DataFrame) -> dict[str, Any]:
    return frame.filter(pl.col("period_label") == "Apr 2025").row(0, named=True)


def test_a_signed_in_download_has_the_standard_figures(app: Any, home: Home) -> None:
    answer = download(app, home, "commissioner", "history", indicator_id="referrals_received", area_code=SMALL_AREA,
                      period_type="month")
    row = small_month(downloaded_csv(answer))
    assert row["status"] == "ok" and float(row["value"]) == SMALL_COUNT
    assert answer["oba-download"]["data"]["filename"] == "history-nt-s-referrals-received-month.csv"


def test_a_public_download_has_the_public_suppression(app: Any, home: Home) -> None:
    answer = download(app, home, "public", "history", indicator_id="referrals_received", area_code=SMALL_AREA,
                      period_type="month")
    row = small_month(downloaded_csv(answer))
    assert row["status"] == "c" and row["value"] is None and row["numerator"] is None


def test_a_public_download_holds_only_the_public_indicators(app: Any, home: Home) -> None:
    frame = downloaded_csv(download(app, home, "public", "scorecard", area_code=AUTHORITY[0], period_type="month"))
    assert set(frame.get_column("indicator_id").to_list()) <= {
        "referral_rate", "cin_rate", "cpp_rate", "cla_rate", "referrals_received", "assessments_within_45_days",
        "rereferral_rate_12m", "prevention_spend_share"}
    assert "prevention_spend" not in frame.get_column("indicator_id").to_list()


def test_a_partnership_member_cannot_download_another_area(app: Any, home: Home) -> None:
    frame = downloaded_csv(download(app, home, "member-north", "history", indicator_id="referrals_received",
                                    area_code=SMALL_AREA, period_type="month"))
    assert frame.height == 0


def test_xlsx_downloads_open_as_a_workbook(app: Any, home: Home) -> None:
    answer = download(app, home, "data-team", "whole_system_lags", "xlsx", area_code=AUTHORITY[0],
                      leading="prevention_spend", following="referrals_received")
    sent = answer["oba-download"]["data"]
    frame = pl.read_excel(io.BytesIO(base64.b64decode(sent["content"])))
    assert frame.height == 13
    assert frame.sort("correlation").row(0, named=True)["lag_months"] == PLANTED_LAG


def test_an_unknown_table_is_refused_in_words(app: Any, home: Home) -> None:
    answer = download(app, home, "data-team", "warehouse_rows")
    assert "not available" in json.dumps(answer)
    assert "oba-download" not in answer or not answer["oba-download"].get("data")


def test_downloads_are_audited(app: Any, home: Home) -> None:
    from sqlalchemy import select

    from oba_pipeline.appdb import AuditEvent, make_engine, session_scope

    download(app, home, "commissioner", "sources")
    engine = make_engine(home=home)
    try:
        with session_scope(engine) as session:
            events = list(session.scalars(select(AuditEvent).where(AuditEvent.action == "export")))
    finally:
        engine.dispose()
    assert any(event.actor == "commissioner" and event.target == "sources" for event in events)


def test_the_export_check_refuses_small_counts_by_the_audience_threshold() -> None:
    frame = pl.DataFrame({"indicator_id": ["referrals_received"], "period_label": ["Apr 2025"], "value": [8.0],
                          "numerator": [8.0], "denominator": [None], "status": ["ok"]},
                         schema_overrides={"denominator": pl.Float64})
    assert check_frame_disclosure(frame, "standard").height == 1
    with pytest.raises(DisclosureBreachError, match="from 1 to 10"):
        check_frame_disclosure(frame, "public")
    with pytest.raises(DisclosureBreachError, match="from 1 to 5"):
        check_frame_disclosure(frame.with_columns(value=pl.lit(3.0), numerator=pl.lit(3.0)), "standard")


def test_frame_bytes_writes_lists_as_text() -> None:
    frame = pl.DataFrame({"name": ["a"], "recent": [[1.0, None, 2.5]]})
    assert frame_bytes(frame, "csv") == b"\xef\xbb\xbfname,recent\na,1.0; ; 2.5\n"
    with pytest.raises(ValueError, match="csv or xlsx"):
        frame_bytes(frame, "pdf")


def test_progress_maps_charts_have_tables_and_downloads(home: Home, app: Any) -> None:
    progress = importlib.import_module("dashboards.pages.progress_maps")
    section = progress.download_section(home, "referral_rate_published", "206")
    assert {table.id for table in find_all(section, "Table")} == {"progress-trend-table", "progress-authorities-table"}
    buttons = [button.id for button in find_all(section, "Button")]
    tables = ("benchmark_series", "benchmark_neighbours", "benchmark_year")
    assert {(b["table"], b["format"]) for b in buttons} == {(name, fmt) for name in tables for fmt in ("csv", "xlsx")}
    assert "Islington (home)" in text_of(section)


def test_existing_pages_offer_downloads(home: Home, app: Any) -> None:
    scorecard = importlib.import_module("dashboards.pages.scorecard")
    families = importlib.import_module("dashboards.pages.what_families_say")
    body = scorecard.scorecard_body(home, AUTHORITY[0], "month")
    assert {b.id["table"] for b in find_all(body, "Button") if isinstance(b.id, dict) and "table" in b.id} == {
        "scorecard"}
    detail = scorecard.detail_panel(home, "referrals_received", AUTHORITY[0], "month")
    assert "history" in {b.id["table"] for b in find_all(detail, "Button") if isinstance(b.id, dict)}
    assert find_all(detail, "Graph")[0].config["modeBarButtons"] == [["toImage"]]
    page = families.page_body(home, AUTHORITY[0], "2024-04-01")
    assert {b.id["table"] for b in find_all(page, "Button") if isinstance(b.id, dict)} == {
        "family_divergent", "family_vs_service", "family_rater_gaps"}


def test_data_quality_judges_rows_set_aside_against_the_contract(home: Home, data_quality: ModuleType) -> None:
    assert data_quality.contract_limits()["referrals"] == pytest.approx(0.05)
    assert data_quality.contract_result(5000, 10, 0.05) == "within the 5% allowed"
    assert "nothing is published" in data_quality.contract_result(100, 6, 0.05)
    assert data_quality.contract_result(None, None, 0.05) == "no limit recorded"
    words = text_of(data_quality.page_content(home, datetime(2025, 5, 2, 12, 0), show_reports=False))
    assert "within the 5% allowed" in words
