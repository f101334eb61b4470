"""Real-browser tests of the dashboard: a server started as users start it, driven in headless Chromium.

The server runs `python -m dashboards` on a small published snapshot (tests/dashboard_fixtures.py).
Tests wait for text to appear rather than sleeping, fail on any browser console error, and run the
axe-core accessibility rules in the page.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import browser_support
import pytest
from browser_support import open_page, serious_violations
from dashboard_fixtures import INDICATORS, publish_sample

pytestmark = browser_support.MARKS
expect = browser_support.playwright_api().expect

server_url = browser_support.server_fixture(lambda root: publish_sample(root / "home"))
browser = browser_support.browser_fixture()


@pytest.fixture()
def page(browser: Any, server_url: str) -> Iterator[Any]:
    """A fresh page on the scorecard, checked for console errors and foreign requests afterwards."""
    with open_page(browser, server_url) as tab:
        expect(tab.locator("#scorecard-status")).to_contain_text("Showing Northtown", timeout=30_000)
        yield tab


def choose_area(tab: Any, label: str) -> None:
    tab.get_by_role("button", name="Area").click()
    tab.get_by_role("radiogroup", name="Area").get_by_text(label, exact=True).click()


def row_of(tab: Any, measure: str) -> Any:
    return tab.locator("tr", has=tab.get_by_role("button", name=measure, exact=True))


def test_scorecard_lists_every_measure_with_freshness_and_licence(page: Any) -> None:
    for entry in INDICATORS:
        expect(page.get_by_role("button", name=entry["name"], exact=True)).to_be_visible()
    expect(page.locator("#scorecard-freshness")).to_contain_text("30 April 2025")
    expect(page.locator("#scorecard-freshness")).to_contain_text("Published")
    expect(page.get_by_role("heading", name="Children are safe at home")).to_be_visible()
    expect(page.get_by_role("table", name="Front door: How well did we do it?")).to_be_visible()
    expect(page.get_by_role("contentinfo")).to_contain_text(
        "Contains public sector information licensed under the Open Government Licence v3.0.")
    expect(row_of(page, "Referrals per 10,000 children")).to_contain_text("Down: better, 2 months in a row")


def test_switching_to_a_locality_changes_the_figures(page: Any) -> None:
    rate_row = row_of(page, "Referrals per 10,000 children")
    expect(rate_row).to_contain_text("38.2 per 10,000")
    choose_area(page, "Northtown North (locality)")
    expect(page.locator("#scorecard-status")).to_contain_text("Showing Northtown North")
    expect(rate_row).to_contain_text("49.9 per 10,000")
    expect(rate_row).not_to_contain_text("38.2 per 10,000")
    suppressed = row_of(page, "Assessments completed within 45 working days")
    expect(suppressed).to_contain_text("suppressed to protect confidentiality")
    page.get_by_text("Reporting year (April to March)", exact=True).click()
    expect(page.locator("#scorecard-status")).to_contain_text("reporting year")
    expect(rate_row).to_contain_text("590.0 per 10,000")


def test_filters_narrow_the_scorecard_to_a_service_and_a_question(page: Any) -> None:
    page.get_by_role("button", name="Service").click()
    page.get_by_role("radiogroup", name="Service").get_by_text("Front door", exact=True).click()
    expect(page.locator("#scorecard-status")).to_contain_text("as filtered")
    expect(page.get_by_role("table", name="Front door: How well did we do it?")).to_be_visible()
    expect(page.get_by_role("heading", name="Children are safe at home")).to_have_count(0)
    page.get_by_role("button", name="Question").click()
    page.get_by_role("radiogroup", name="Question").get_by_text("How much did we do?", exact=True).click()
    expect(page.get_by_role("table", name="Front door: How well did we do it?")).to_have_count(0)
    expect(page.get_by_role("table", name="Front door: How much did we do?")).to_be_visible()


def test_a_measure_opens_its_history_chart_and_table(page: Any) -> None:
    page.get_by_role("button", name="Assessments completed within 45 working days", exact=True).click()
    heading = page.locator("#scorecard-detail-heading")
    expect(heading).to_have_text("Assessments completed within 45 working days")
    expect(heading).to_be_focused()
    expect(page.locator("#scorecard-history-chart .main-svg").first).to_be_visible()
    table = page.get_by_role("table", name="Figures behind the chart: "
                                           "Assessments completed within 45 working days")
    expect(table.locator("tbody tr")).to_have_count(4)
    expect(table).to_contain_text("85.0%")
    expect(page.locator("#scorecard-detail-about")).to_contain_text("Higher is better")
    # The history follows the area: a locality with a suppressed month shows 'c' in the table.
    choose_area(page, "Northtown South (locality)")
    expect(table.locator("tbody tr").nth(1)).to_contain_text("c")
    expect(table.locator("tbody tr").nth(1)).to_contain_text("confidentiality")


def test_measures_open_from_the_keyboard(page: Any) -> None:
    page.get_by_role("button", name="Referrals received", exact=True).focus()
    page.keyboard.press("Enter")
    expect(page.locator("#scorecard-detail-heading")).to_have_text("Referrals received")
    expect(page.locator("#scorecard-detail-about")).to_contain_text("Neither higher nor lower is better")


def test_no_serious_accessibility_violations(page: Any, tmp_path: Path) -> None:
    assert serious_violations(page) == []
    page.get_by_role("button", name="Referrals per 10,000 children", exact=True).click()
    expect(page.locator("#scorecard-history-table")).to_be_visible()
    assert serious_violations(page) == []
    # With the area list open too: its pop-up is checked in the state a keyboard user meets it.
    page.get_by_role("button", name="Area").click()
    expect(page.get_by_role("radiogroup", name="Area")).to_be_visible()
    assert serious_violations(page) == []
    page.keyboard.press("Escape")
    page.screenshot(path=str(tmp_path / "scorecard.png"), full_page=True)
