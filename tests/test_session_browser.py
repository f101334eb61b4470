"""Real-browser tests of the measure page, the turn-the-curve session page and the report cards: the server as
users start it (`python -m dashboards`), headless Chromium, signed in as the data team; the console must stay
empty and nothing may be fetched from elsewhere (browser_support.open_page checks both)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import browser_support
from browser_support import open_page, serious_violations
from measure_fixtures import publish_measure_sample

pytestmark = browser_support.MARKS
expect = browser_support.playwright_api().expect

server_url = browser_support.server_fixture(lambda root: publish_measure_sample(root / "home"), name="session-browser")
browser = browser_support.browser_fixture()

MEASURE_PATH = "/measure?indicator=referral_rate&area=E09000999&period=month"


def test_measure_page_opens_from_the_scorecard_with_curve_definition_and_story(browser: Any, server_url: str) -> None:
    with open_page(browser, server_url, "/") as tab:
        expect(tab.locator("#scorecard-status")).to_contain_text("Showing Northtown", timeout=30_000)
        tab.get_by_role("link", name="Curve and story: Referrals per 10,000 children").click()
        expect(tab.locator("#measure-heading")).to_have_text("Referrals per 10,000 children", timeout=30_000)
        expect(tab.locator("#measure-chart .main-svg").first).to_be_visible()
        expect(tab.locator("#measure-chart")).to_contain_text("Forecast if nothing changes")
        expect(tab.locator("#measure-about")).to_contain_text("Lower is better")
        expect(tab.locator("#measure-notes")).to_contain_text("Target: 40.0 per 10,000.")
        expect(tab.get_by_role("table", name="Story behind the curve by referral source")).to_contain_text("Schools")
        tab.get_by_text("Reporting year (April to March)", exact=True).click()
        expect(tab.locator("#measure-status")).to_contain_text("reporting year")
        expect(tab.locator("#measure-chart")).to_contain_text("England")
        assert serious_violations(tab) == []


def test_a_session_is_recorded_and_found_again_after_a_reload(browser: Any, server_url: str, tmp_path: Path) -> None:
    with open_page(browser, server_url, MEASURE_PATH) as tab:
        tab.get_by_role("link", name="Hold a turn-the-curve session on this curve").click()
        expect(tab.get_by_role("heading", name="Turn-the-curve session")).to_be_visible(timeout=30_000)
        tab.get_by_label("Date of the meeting").fill("2025-05-12")
        tab.get_by_role("button", name="Start a new session").click()
        expect(tab.get_by_text("12 May 2025 (this session)")).to_be_visible(timeout=30_000)
        for step in ("1. What is the end?", "2. How are we doing?", "6. What do we propose to do?"):
            expect(tab.get_by_role("heading", name=step)).to_be_visible()
        expect(tab.locator("#session-chart .main-svg").first).to_be_visible()

        tab.get_by_label("What helps").fill("Schools refer to early help first")
        tab.get_by_label("What hurts").fill("Housing pressure in the south")
        tab.get_by_role("button", name="Save the end and the story").click()
        expect(tab.locator("#session-message")).to_have_text("Saved.")
        tab.get_by_label("Partner", exact=True).fill("Northtown Police")
        tab.get_by_label("Their role").fill("Share notifications early")
        tab.get_by_role("button", name="Add partner").click()
        expect(tab.locator("#session-partners")).to_contain_text("Northtown Police")
        tab.get_by_label("What works").fill("Family group conferences")
        tab.get_by_label("Evidence", exact=True).fill("Local pilot 2024")
        tab.get_by_text("Low cost", exact=True).click()
        tab.get_by_role("button", name="Add what works").click()
        expect(tab.locator("#session-what-works")).to_contain_text("Family group conferences (low cost)")
        tab.get_by_label("Action", exact=True).fill("Train designated safeguarding leads")
        tab.get_by_label("Owner").fill("Head of early help")
        tab.get_by_label("Start date").fill("2024-10-01")
        tab.get_by_label("Due date").fill("2025-03-31")
        tab.get_by_role("button", name="Add action").click()
        table = tab.get_by_role("table", name="The action plan")
        expect(table).to_contain_text("Train designated safeguarding leads")
        # The action's start is marked on the curve.
        expect(tab.locator("#session-chart")).to_contain_text("A1")
        tab.get_by_role("button", name="Mark in progress: Train designated safeguarding leads").click()
        expect(table).to_contain_text("In progress")
        tab.get_by_role("button", name="Start a cycle and freeze this baseline").click()
        expect(tab.locator("#session-message")).to_contain_text("started: the baseline is frozen")
        expect(tab.locator("#session-chart")).to_contain_text("Baseline frozen for")
        assert serious_violations(tab) == []

        tab.reload()
        expect(tab.get_by_label("What helps")).to_have_value("Schools refer to early help first", timeout=30_000)
        expect(tab.get_by_label("What hurts")).to_have_value("Housing pressure in the south")
        expect(tab.locator("#session-partners")).to_contain_text("Northtown Police: Share notifications early")
        expect(tab.locator("#session-what-works")).to_contain_text("Evidence: Local pilot 2024")
        expect(tab.get_by_role("table", name="The action plan")).to_contain_text("Head of early help")
        expect(tab.get_by_role("table", name="The action plan")).to_contain_text("In progress")
        expect(tab.locator("#session-cycle")).to_contain_text("its baseline is frozen")
        tab.screenshot(path=str(tmp_path / "session.png"), full_page=True)


def test_report_card_downloads_as_a_page_with_the_measure_chart(browser: Any, server_url: str,
                                                                tmp_path: Path) -> None:
    with open_page(browser, server_url, "/report-card") as tab:
        expect(tab.get_by_role("heading", name="Report cards and progress reports")).to_be_visible(timeout=30_000)
        assert serious_violations(tab) == []
        with tab.expect_download() as download_info:
            tab.get_by_role("button", name="Download the report card (HTML)").click()
        download = download_info.value
        assert download.suggested_filename.startswith("report-card-") and download.suggested_filename.endswith(".html")
        saved = tmp_path / download.suggested_filename
        download.save_as(saved)
        expect(tab.locator("#report-message")).to_contain_text("Downloaded report-card-")
        page = saved.read_text(encoding="utf-8")
        assert page.startswith("<!DOCTYPE html>") and "</html>" in page
        assert "Referrals per 10,000 children" in page and "<svg" in page and "<polyline" in page
    # The downloaded file opens on its own, offline, chart and all (in a tab of its own: a file, not the server).
    offline = browser.new_context(offline=True)
    try:
        alone = offline.new_page()
        problems: list[str] = []
        alone.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
        alone.goto(saved.as_uri())
        expect(alone.get_by_role("heading", name="Headline measures and their baselines")).to_be_visible()
        expect(alone.locator("svg").first).to_be_visible()
        assert problems == []
    finally:
        offline.close()
