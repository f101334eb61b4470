"""Real-browser tests of every dashboard page, the whole system and data quality pages and the downloads.

One server over the snapshot of tests/system_fixtures.py (family voice, benchmarks, whole-system months,
a validation report and a public subset). Every page is opened and checked with axe-core (WCAG 2.2 A and
AA, serious and critical) and for an empty browser console; the main choices are made on the new pages;
CSV, XLSX and PNG downloads are saved as a browser saves them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import browser_support
import pytest
from browser_support import axe_version, open_page, serious_violations
from system_fixtures import PLANTED_LAG, REPORT_TEXT, publish_system_sample

pytestmark = browser_support.MARKS
expect = browser_support.playwright_api().expect

server_url = browser_support.server_fixture(lambda root: publish_system_sample(root / "home"), "system-pages")
browser = browser_support.browser_fixture()

# Every page, and text that shows once its content has been drawn.
PAGES = {
    "/": "Showing Northtown",
    "/what-families-say": "Showing Northtown",
    "/progress-maps": "Islington",
    "/whole-system": "Showing Northtown, monthly figures",
    "/data-quality": "sources are up to date",
    "/audit": "Audit events, newest first",
}


def choose(tab: Any, control: str, option: str) -> None:
    tab.get_by_role("button", name=control).click()
    tab.get_by_role("radiogroup", name=control).get_by_text(option, exact=True).click()


def saved_csv(download: Any) -> list[dict[str, str]]:
    raw = Path(download.path()).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(raw[3:].decode("utf-8"))))


@pytest.mark.parametrize("path", list(PAGES))
def test_every_page_has_freshness_and_no_serious_accessibility_violations(browser: Any, server_url: str,
                                                                          path: str) -> None:
    with open_page(browser, server_url, path) as tab:
        expect(tab.locator("#main-content")).to_contain_text(PAGES[path], timeout=30_000)
        expect(tab.locator("#oba-freshness-line")).to_contain_text("extracts up to 30 April 2025")
        expect(tab.locator("#oba-freshness-stale summary")).to_contain_text("out-of-date sources")
        assert serious_violations(tab) == [], path
        assert axe_version(tab) == browser_support.AXE_CORE_VERSION


@pytest.fixture()
def whole_system(browser: Any, server_url: str) -> Iterator[Any]:
    with open_page(browser, server_url, "/whole-system") as tab:
        expect(tab.locator("#whole-system-status")).to_contain_text("Showing Northtown", timeout=30_000)
        yield tab


def test_whole_system_states_the_strongest_lag_and_follows_the_choices(whole_system: Any) -> None:
    sentence = whole_system.locator("#whole-system-lag-sentence")
    expect(sentence).to_contain_text(f"lag of {PLANTED_LAG} months")
    expect(sentence).to_contain_text("referrals received tends to fall")
    expect(sentence).to_contain_text("association, not cause")
    expect(whole_system.locator("#whole-system-spend-table tbody tr")).to_have_count(2)
    expect(whole_system.locator("#whole-system-chart .main-svg").first).to_be_visible()
    choose(whole_system, "Followed by", "Children in need per 10,000 children")
    expect(sentence).to_contain_text("children in need per 10,000 children tends to")
    choose(whole_system, "Area", "Northtown South (locality)")
    expect(whole_system.locator("#whole-system-status")).to_contain_text("Showing Northtown South")
    expect(whole_system.locator("#main-content")).to_contain_text("spend is recorded for the whole authority")
    assert serious_violations(whole_system) == []


def test_whole_system_choices_work_from_the_keyboard(whole_system: Any) -> None:
    whole_system.get_by_role("button", name="Followed by").focus()
    whole_system.keyboard.press("Enter")
    group = whole_system.get_by_role("radiogroup", name="Followed by")
    expect(group).to_be_visible()
    wanted = "Average caseload per social worker (FTE)"
    focused = group.locator("label:focus-within")
    for _ in range(8):  # arrow down through the options until the wanted one has focus
        whole_system.keyboard.press("ArrowDown")
        try:  # let the focus settle before reading it: on a busy machine the list redraws after each key
            expect(focused).to_contain_text(wanted, timeout=1_500)
            break
        except AssertionError:
            continue
    expect(focused).to_contain_text(wanted)
    whole_system.keyboard.press("Enter")
    expect(whole_system.locator("#whole-system-lag-sentence")).to_contain_text("average caseload per social worker")


def test_a_chart_downloads_as_a_png_offline(whole_system: Any) -> None:
    button = whole_system.locator("#whole-system-lag-chart").get_by_role("button", name="Download plot as a PNG")
    expect(button).to_be_visible()  # always shown, not only on hover, so keyboard users meet it too
    with whole_system.expect_download() as caught:
        button.click()
    saved = Path(caught.value.path()).read_bytes()
    assert saved.startswith(b"\x89PNG\r\n\x1a\n")
    assert caught.value.suggested_filename == "lags-prevention-spend-referrals-received.png"


def test_whole_system_figures_download_as_csv_and_xlsx(whole_system: Any) -> None:
    with whole_system.expect_download() as caught:
        whole_system.get_by_role("button", name="Download CSV: correlation by lag").click()
    rows = saved_csv(caught.value)
    assert len(rows) == 13
    assert min(rows, key=lambda row: float(row["correlation"]))["lag_months"] == str(PLANTED_LAG)
    with whole_system.expect_download() as caught:
        whole_system.get_by_role("button", name="Download Excel (XLSX): spend by reporting year").click()
    assert Path(caught.value.path()).read_bytes()[:2] == b"PK"  # a workbook is a zip file


@pytest.mark.parametrize(("user", "status", "value"), [("commissioner", "ok", "8.0"), ("public", "c", "")])
def test_a_scorecard_csv_has_the_readers_suppression(browser: Any, server_url: str, user: str, status: str,
                                                     value: str) -> None:
    """Eight referrals in Northtown South in April 2025: shown to partnership staff, suppressed for the public."""
    with open_page(browser, server_url, "/", user=user) as tab:
        expect(tab.locator("#scorecard-status")).to_contain_text("Showing Northtown", timeout=30_000)
        choose(tab, "Area", "Northtown South (locality)")
        expect(tab.locator("#scorecard-status")).to_contain_text("Showing Northtown South")
        with tab.expect_download() as caught:
            tab.get_by_role("button", name="Download CSV: the scorecard for Northtown South").click()
        rows = {row["indicator_id"]: row for row in saved_csv(caught.value)}
        referrals = rows["referrals_received"]
        assert (referrals["latest_label"], referrals["latest_status"], referrals["latest_value"]) == (
            "Apr 2025", status, value)
        if user == "public":
            assert "prevention_spend" not in rows and "families_supported" not in rows


def test_data_quality_links_the_data_team_to_the_full_report(browser: Any, server_url: str) -> None:
    with open_page(browser, server_url, "/data-quality") as tab:
        expect(tab.locator("#data-quality-rules")).to_contain_text("not a real date")
        link = tab.get_by_role("link", name="Validation report: Referrals and episodes of need")
        with tab.context.expect_page() as opened:
            link.click()
        report = opened.value
        expect(report.locator("body")).to_contain_text(REPORT_TEXT)
        report.close()


def test_data_quality_gives_other_roles_counts_but_no_rows(browser: Any, server_url: str) -> None:
    with open_page(browser, server_url, "/data-quality", user="commissioner") as tab:
        expect(tab.locator("#data-quality-rules")).to_contain_text("not a real date", timeout=30_000)
        expect(tab.locator("#data-quality-reports-restricted")).to_contain_text("for the data team only")
        expect(tab.get_by_role("link", name="Validation report: Referrals and episodes of need")).to_have_count(0)
        response = tab.request.get(server_url.rstrip("/") + "/reports/validation/referrals.html")
        assert response.status == 403 and REPORT_TEXT not in response.text()
