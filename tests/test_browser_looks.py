"""What the app is called on the screen, and the lock on return (issue 16 item 8), in real
Chromium at 360×740 in Chinese: sign-up offers a neutral name, the header, the title and the
manifest the page links all say it, and a page seen again after more than
LOCKER_SCREEN_LOCK_S hidden is covered and its session locked until the password is given.

Hidden time is never waited for: Playwright's clock (page.clock) moves the page's Date
forward, and the page is told it was hidden and shown again by overriding
document.visibilityState and sending the events a phone would send (headless Chromium never
hides a page by itself). A restore from the back-forward cache is the pageshow event with
persisted set, as Chromium sends it; Chromium does not keep these no-store pages in that cache,
so the event is sent by the test."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import chromium_path
from .factories import PASSWORD, UserFactory, make_case
from .prerequisites import needs
from .test_browser import browser, log_in  # noqa: F401  (the fixture is used by name)
from .test_browser_phone import axe_findings, axe_source, phone_context, shot  # noqa: F401

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    needs(chromium_path() is not None, "Chromium is not installed (apt-get install chromium)"),
]

WIDTH, HEIGHT = 360, 740
SET_VISIBILITY = """state => {
    Object.defineProperty(document, 'visibilityState', {value: state, configurable: true});
    Object.defineProperty(document, 'hidden', {value: state === 'hidden', configurable: true});
    document.dispatchEvent(new Event('visibilitychange'));
}"""
# The manifest as the browser fetches it: with cookies only if the link asks for them.
LINKED_MANIFEST = """async () => {
    const link = document.querySelector('link[rel=manifest]');
    const credentials = link.crossOrigin === 'use-credentials' ? 'include' : 'omit';
    return (await fetch(link.href, {credentials})).json();
}"""


def serious(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [f for f in findings if f["impact"] in ("serious", "critical")]


def brand(page) -> str:
    return page.locator("header.top .brand").inner_text().strip()


def test_a_discreet_name_from_sign_up_to_the_home_screen(
    browser,  # noqa: F811
    live_server,
    axe_source,  # noqa: F811
) -> None:
    context = phone_context(browser, WIDTH, HEIGHT)
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/signup/")
    assert page.locator("input[name=look][value=notes]").is_checked()
    shot(page, f"{WIDTH}-signup-look")
    assert serious(axe_findings(page, axe_source)) == []
    page.fill("#id_username", "xiaoli")
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    page.get_by_role("button", name="注册").click()
    page.wait_for_url("**/cases/new/")
    assert brand(page) == "记事本" and page.title() == "记事本"
    manifest = page.evaluate(LINKED_MANIFEST)
    assert manifest["name"] == manifest["short_name"] == "记事本"
    assert manifest["icons"][0]["src"] == "/static/locker/looks/notes-192.png"

    page.goto(f"{live_server.url}/accounts/preferences/")
    page.locator("#f-look label.segment", has_text="天气").click()
    page.get_by_role("button", name="保存名称").click()
    page.wait_for_url("**/accounts/preferences/")
    assert brand(page) == "天气" and page.title() == "天气"
    assert page.evaluate(LINKED_MANIFEST)["name"] == "天气"
    shot(page, f"{WIDTH}-settings-look")
    assert serious(axe_findings(page, axe_source)) == []
    # The log-out form is sent once the page's script has wiped what the phone keeps
    # (offline drafts, a waiting share): wait for that navigation before the next one.
    with page.expect_navigation():
        page.locator("form[action='/accounts/logout/'] button").click()
    page.goto(f"{live_server.url}/accounts/login/")
    assert brand(page) == "天气" and page.title() == "天气"
    assert "证据" not in page.content()
    assert page.evaluate(LINKED_MANIFEST)["name"] == "天气"
    context.close()


@pytest.fixture
def owner_on_a_log_form(browser, live_server, settings):  # noqa: F811
    """The owner signed in on a phone, typing a call into its form, the page's clock
    Playwright's."""
    settings.LOCKER_SCREEN_LOCK_S = 120
    owner = UserFactory(username="xiaoli")
    case = make_case(owner=owner, title="网贷催收")
    context = phone_context(browser, WIDTH, HEIGHT)
    page = context.new_page()
    page.clock.install()
    log_in(page, live_server.url, owner.username)
    form_url = f"{live_server.url}/cases/{case.pk}/log/call/"
    page.goto(form_url)
    page.fill("#id_number", "170 1234 5678")
    yield page, form_url
    context.close()


def _server_locked(page, url: str) -> bool:
    answer = page.context.request.get(url, max_redirects=0)
    return answer.status == 302 and "/accounts/unlock/" in answer.headers["location"]


def _covered(page) -> bool:
    return (
        page.locator(".screen-lock").is_visible()
        and page.evaluate("getComputedStyle(document.querySelector('main')).visibility") == "hidden"
    )


def test_a_page_seen_again_after_too_long_is_covered_and_locked(
    owner_on_a_log_form,
    axe_source,  # noqa: F811
) -> None:
    page, form_url = owner_on_a_log_form
    # A short look at another app: nothing happens.
    page.evaluate(SET_VISIBILITY, "hidden")
    page.clock.fast_forward("00:30")
    page.evaluate(SET_VISIBILITY, "visible")
    assert page.locator(".screen-lock").count() == 0
    assert not _server_locked(page, form_url)

    page.evaluate(SET_VISIBILITY, "hidden")
    page.clock.fast_forward("02:01")
    with page.expect_response("**/accounts/lock/") as locked:
        page.evaluate(SET_VISIBILITY, "visible")
    assert locked.value.status == 204
    assert _covered(page)
    assert brand(page) == "证据保管箱" and page.locator("#quick-exit").is_visible()
    assert _server_locked(page, form_url)
    shot(page, f"{WIDTH}-screen-lock")
    assert serious(axe_findings(page, axe_source)) == []

    cover = page.locator(".screen-lock")
    cover.locator("input[type=password]").fill("not my password")
    cover.get_by_role("button", name="继续").click()
    page.locator("[data-lock-error]").wait_for(state="visible")
    assert _covered(page) and _server_locked(page, form_url)

    cover.locator("input[type=password]").fill(PASSWORD)
    cover.get_by_role("button", name="继续").click()
    page.locator(".screen-lock").wait_for(state="detached")
    assert page.input_value("#id_number") == "170 1234 5678"  # what was typed is kept
    assert not _server_locked(page, form_url)


def test_a_page_back_from_the_back_forward_cache_is_covered(owner_on_a_log_form) -> None:
    page, form_url = owner_on_a_log_form
    page.evaluate(SET_VISIBILITY, "hidden")
    page.evaluate("window.dispatchEvent(new PageTransitionEvent('pagehide', {persisted: true}))")
    page.clock.fast_forward("05:00")
    with page.expect_response("**/accounts/lock/"):
        page.evaluate(
            """() => {
            Object.defineProperty(document, 'visibilityState', {value: 'visible',
                                                                configurable: true});
            window.dispatchEvent(new PageTransitionEvent('pageshow', {persisted: true}));
        }"""
        )
    assert _covered(page) and _server_locked(page, form_url)


def test_a_tab_reloaded_after_too_long_is_covered_before_it_is_drawn(
    owner_on_a_log_form,
) -> None:
    """A phone's browser reloads a tab it dropped while hidden: the tab's mark of when it
    was hidden (set here five minutes back) covers the new page from its <head>."""
    page, form_url = owner_on_a_log_form
    page.evaluate(SET_VISIBILITY, "hidden")
    page.evaluate("sessionStorage.setItem('locker.hiddenAt', String(Date.now() - 5 * 60000))")
    with page.expect_response("**/accounts/lock/"):
        page.reload()
    assert _covered(page) and _server_locked(page, form_url)
    # Once the server's lock has taken over, a page of the locked session (the password
    # prompt) clears the marks: after the password there, the next page is not covered again.
    page.goto(form_url)
    assert "/accounts/unlock/" in page.url
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="继续").click()
    page.wait_for_url(form_url)
    assert page.locator(".screen-lock").count() == 0
