"""Sign-in and roles in a real browser: the server as users start it, headless Chromium, axe-core."""

from __future__ import annotations

from typing import Any

import browser_support
from browser_support import open_page, serious_violations
from dashboard_fixtures import SCORECARD_FILTER_INPUTS, publish_sample

pytestmark = browser_support.MARKS
expect = browser_support.playwright_api().expect

server_url = browser_support.server_fixture(lambda root: publish_sample(root / "home"), name="auth-browser")
browser = browser_support.browser_fixture()

def crafted_callback(tab: Any, server_url: str, area: str) -> tuple[int, str]:
    """The scorecard's area callback for an area of the client's choosing, sent with the tab's own cookies
    and CSRF token (as a script or a hand-made request would), outside the page so the page stays clean."""
    cookies = {c["name"]: c["value"] for c in tab.context.cookies()}
    response = tab.context.request.post(
        server_url + "_dash-update-component",
        headers={"X-CSRFToken": cookies.get("_csrf_token", "")},
        data={"output": "scorecard-body.children", "outputs": {"id": "scorecard-body", "property": "children"},
              "inputs": [{"id": "scorecard-area", "property": "value", "value": area},
                         {"id": "scorecard-period", "property": "value", "value": "month"},
                   *SCORECARD_FILTER_INPUTS],
              "changedPropIds": ["scorecard-area.value"], "state": []})
    return response.status, response.text()


def test_sign_in_page_has_labelled_fields_and_is_accessible(browser: Any, server_url: str) -> None:
    with open_page(browser, server_url, "/sign-in", user=None) as tab:
        expect(tab.get_by_role("heading", name="Sign in")).to_be_visible()
        expect(tab.get_by_label("Username")).to_be_editable()
        expect(tab.get_by_label("Password")).to_have_attribute("type", "password")
        assert serious_violations(tab) == []


def test_unsigned_visitors_see_no_figures(browser: Any, server_url: str) -> None:
    with open_page(browser, server_url, "/", user=None) as tab:
        expect(tab).to_have_url(server_url + "sign-in?next=/")
        expect(tab.get_by_text("per 10,000")).to_have_count(0)
        status, body = crafted_callback(tab, server_url, "E09000999")
        assert status == 401 and "Northtown" not in body


def test_wrong_password_says_so_without_echoing_and_can_try_again(browser: Any, server_url: str) -> None:
    with open_page(browser, server_url, "/sign-in", user=None) as tab:
        tab.get_by_label("Username").fill("data-team")
        tab.get_by_label("Password").fill("not the password")
        tab.get_by_role("button", name="Sign in").click()
        expect(tab.get_by_role("alert")).to_contain_text("The username or password is not right")
        assert serious_violations(tab) == []


def test_partnership_member_sees_only_their_area(browser: Any, server_url: str) -> None:
    with open_page(browser, server_url, "/", user="member-north") as tab:
        expect(tab.locator("#scorecard-status")).to_contain_text("Showing Northtown North", timeout=30_000)
        expect(tab.locator("#oba-account-name")).to_contain_text("member-north")
        tab.get_by_role("button", name="Area").click()
        options = tab.get_by_role("radiogroup", name="Area")
        expect(options.get_by_text("Northtown North (locality)", exact=True)).to_be_visible()
        expect(options.get_by_text("Northtown South (locality)", exact=True)).to_have_count(0)
        tab.keyboard.press("Escape")
        # The audit trail is not in their menu.
        expect(tab.get_by_role("link", name="Audit trail")).to_have_count(0)
        status, body = crafted_callback(tab, server_url, "NT-N")
        assert status == 200 and "49.9 per 10,000" in body
        for other in ("NT-S", "E09000999"):
            status, body = crafted_callback(tab, server_url, other)
            assert status == 200, body
            assert "per 10,000" not in body and "Northtown South" not in body


def test_text_typed_by_a_person_is_shown_as_text_never_run(browser: Any, server_url: str) -> None:
    attack = "<script>window.__oba_pwned = 1</script><img src=x onerror=\"window.__oba_pwned = 2\">"
    with open_page(browser, server_url, "/sign-in", user=None) as tab:
        tab.get_by_label("Username").fill(attack)
        tab.get_by_label("Password").fill("whatever it is")
        tab.get_by_role("button", name="Sign in").click()
        expect(tab.get_by_role("alert")).to_be_visible()
        assert tab.evaluate("window.__oba_pwned") is None
    # The name typed at sign-in reaches the audit trail; the data team sees it there as plain text.
    with open_page(browser, server_url, "/audit") as tab:
        table = tab.get_by_role("table", name="Audit events, newest first")
        expect(table).to_contain_text(attack, timeout=30_000)
        assert tab.evaluate("window.__oba_pwned") is None
        assert tab.locator("#audit-table script").count() == 0
        assert tab.locator("#audit-table img").count() == 0
        assert serious_violations(tab) == []


def test_sign_out_ends_the_session(browser: Any, server_url: str) -> None:
    with open_page(browser, server_url, "/") as tab:
        expect(tab.locator("#scorecard-status")).to_contain_text("Showing Northtown", timeout=30_000)
        tab.get_by_role("button", name="Sign out").click()
        expect(tab.get_by_role("heading", name="Sign in")).to_be_visible()
        tab.goto(server_url)
        expect(tab).to_have_url(server_url + "sign-in?next=/")
