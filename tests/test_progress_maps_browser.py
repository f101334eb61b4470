"""Real-browser test of the progress maps page: the dashboard server over a snapshot with benchmarks from
the real DfE files, driven in headless Chromium, with axe-core's accessibility rules."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import browser_support
import pytest
from benchmark_fixtures import publish_with_benchmarks
from browser_support import open_page, serious_violations

pytestmark = browser_support.MARKS
expect = browser_support.playwright_api().expect

server_url = browser_support.server_fixture(lambda root: publish_with_benchmarks(root / "home"),
                                            name="progress-maps-browser")
browser = browser_support.browser_fixture()


@pytest.fixture()
def page(browser: Any, server_url: str) -> Iterator[Any]:
    with open_page(browser, server_url, "/progress-maps") as tab:
        expect(tab.locator("#progress-summary")).to_contain_text("Islington, 2024-25: 675.7 per 10,000.",
                                                                 timeout=30_000)
        yield tab


def choose(tab: Any, control: str, option: str) -> None:
    tab.get_by_role("button", name=control).click()
    tab.get_by_role("radiogroup", name=control).get_by_text(option, exact=True).click()


def test_islington_against_its_comparators(page: Any) -> None:
    summary = page.locator("#progress-summary")
    expect(summary).to_contain_text("England 519.4 per 10,000")
    expect(summary).to_contain_text("DfE statistical neighbour model 2025")
    expect(page.locator("#progress-home")).to_contain_text("Islington (206), set by OBA_HOME_LA")
    for chart in ("progress-trend", "progress-ranked", "progress-scatter", "progress-tiles"):
        expect(page.locator(f"#{chart} .main-svg").first).to_be_visible()
    expect(page.locator("#progress-trend")).to_contain_text("Neighbours' median")
    expect(page.locator("#progress-scatter")).to_contain_text("Line of best fit")
    expect(page.locator("#progress-tiles")).to_contain_text("Quartile 1 (best quarter)")
    page.get_by_text("The neighbours' figures as a table").click()
    table = page.get_by_role("table", name="Referrals per 10,000 children: the authority and its neighbours")
    expect(table.locator("tbody tr")).to_have_count(11)
    expect(table).to_contain_text("Islington (home)")


def test_changing_measure_and_authority(page: Any) -> None:
    choose(page, "Measure", "Re-referrals within 12 months (%)")
    expect(page.locator("#progress-summary")).to_contain_text("Islington, 2024-25: 16.8%.")
    # The authorities' list is long (and drawn only as it scrolls): type to find one.
    page.get_by_role("button", name="Authority").click()
    page.get_by_role("dialog", name="Authority").get_by_placeholder("Search").fill("Barnet")
    page.get_by_role("dialog", name="Authority").get_by_text("Barnet (302)", exact=True).click()
    expect(page.locator("#progress-summary")).to_contain_text("Barnet, 2024-25:")
    page.get_by_text("The neighbours' figures as a table").click()
    table = page.get_by_role("table", name="Re-referrals within 12 months (%): the authority and its neighbours")
    expect(table).to_contain_text("Barnet (home)")
    expect(table).not_to_contain_text("Islington (home)")


def test_no_serious_accessibility_violations(page: Any, tmp_path: Path) -> None:
    expect(page.locator("#progress-tiles .main-svg").first).to_be_visible()
    assert serious_violations(page) == []
    page.get_by_role("button", name="Measure").click()
    expect(page.get_by_role("radiogroup", name="Measure")).to_be_visible()
    assert serious_violations(page) == []
    page.keyboard.press("Escape")
    page.get_by_role("button", name="Authority").click()
    expect(page.get_by_role("dialog", name="Authority").get_by_placeholder("Search")).to_be_visible()
    assert serious_violations(page) == []
    page.keyboard.press("Escape")
    page.screenshot(path=str(tmp_path / "progress-maps.png"), full_page=True)
