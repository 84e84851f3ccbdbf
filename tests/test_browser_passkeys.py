"""Passkeys in real Chromium, with the DevTools virtual authenticator (CDP `WebAuthn.enable`,
`WebAuthn.addVirtualAuthenticator`): a phone-sized page in Chinese registers a passkey on the
second-factor page through static/locker/passkeys.js, logs out, and logs in again with the
password and then the passkey. The same device cannot register twice (the page says so), and
with scripts off the page says passkeys need JavaScript while a recovery code still signs in.
The live server is http://localhost:<port>, so the relying party id is "localhost", which
browsers treat as a secure origin."""

from __future__ import annotations

import pytest
from django_otp.plugins.otp_static.models import StaticToken

from locker.models import Passkey, UserSession

from .conftest import chromium_path, needs
from .factories import PASSWORD, UserFactory
from .test_browser import browser, log_in, phone, shot  # noqa: F401  (the fixture is used by name)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
needs_chromium = needs(
    chromium_path() is not None, "Chromium is not installed (apt-get install chromium)"
)

VIRTUAL_PHONE = {
    "protocol": "ctap2",
    "transport": "internal",
    "hasResidentKey": True,
    "hasUserVerification": True,
    "isUserVerified": True,
    # The "touch" happens by itself: no prompt to click through.
    "automaticPresenceSimulation": True,
}


def watch_errors(page) -> list[str]:
    """Console errors and uncaught exceptions of the page (CSP refusals show up there)."""
    seen: list[str] = []
    page.on("console", lambda m: seen.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: seen.append(str(e)))
    return seen


@needs_chromium
def test_a_passkey_is_registered_and_signs_in_in_chromium(browser, live_server) -> None:  # noqa: F811
    user = UserFactory(username="xiaoli")
    context = phone(browser)
    page = context.new_page()
    errors = watch_errors(page)
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    authenticator = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": VIRTUAL_PHONE})[
        "authenticatorId"
    ]

    log_in(page, live_server.url, user.username)
    page.goto(f"{live_server.url}/accounts/two-factor/")
    form = page.locator('form[data-passkey="register"]')
    form.wait_for(state="visible")  # shown by the script: this browser has passkeys
    page.fill("#id_passkey_name", "我的手机")
    page.get_by_role("button", name="添加通行密钥").click()
    page.wait_for_selector("text=通行密钥已添加")
    codes = page.locator("main ul li code").all_inner_texts()
    assert len(codes) == 10
    shot(page, "passkey-01-added")
    passkey = Passkey.objects.get(user=user)
    assert passkey.name == "我的手机"
    held = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
    assert len(held) == 1 and held[0]["rpId"] == "localhost"

    # The same device again: excluded by the options, and the page says why.
    page.goto(f"{live_server.url}/accounts/two-factor/")
    page.get_by_role("button", name="添加通行密钥").click()
    error = page.locator("[data-passkey-error]")
    error.filter(has_text="这台设备上已经有您这个账号的通行密钥").wait_for()
    assert Passkey.objects.filter(user=user).count() == 1

    # Log out, and in again: the password, then the passkey.
    # The form is sent once the page's script has wiped what the phone keeps (offline
    # drafts, a waiting share): wait for that navigation.
    with page.expect_navigation():
        page.locator("footer form button[type=submit]", has_text="退出登录").click()
    log_in(page, live_server.url, user.username)
    assert page.url.endswith("/accounts/login/second-factor/")
    shot(page, "passkey-02-step")
    page.get_by_role("button", name="使用通行密钥").click()
    page.wait_for_url("**/cases/")
    passkey.refresh_from_db()
    assert passkey.last_used_at is not None
    held = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
    # Chromium's virtual authenticator counts its signatures; the server kept its count.
    assert passkey.sign_count == held[0]["signCount"] >= 1

    # Later, "confirm it's you" before a sensitive page: the password and the passkey, and no
    # recovery code is spent.
    UserSession.objects.filter(user=user).update(confirmed_at=None)
    page.goto(f"{live_server.url}/accounts/two-factor/")
    assert "/accounts/confirm/" in page.url
    page.locator('form[data-passkey="reauth"]').wait_for(state="visible")
    page.fill("#id_passkey_password", PASSWORD)
    shot(page, "passkey-03-confirm")
    page.get_by_role("button", name="用通行密钥继续").click()
    page.wait_for_url("**/accounts/two-factor/")
    assert StaticToken.objects.filter(device__user=user).count() == 10
    assert errors == []
    context.close()


@needs_chromium
def test_without_javascript_the_page_says_so_and_a_code_still_works(browser, live_server) -> None:  # noqa: F811
    from locker.services.second_factor import new_recovery_codes

    user = UserFactory(username="laowang")
    # A passkey made elsewhere stands for the account's second factor; codes beside it.
    Passkey.objects.create(
        user=user, name="手机", credential_id=b"\x01" * 32, public_key=b"-", user_handle=b"h"
    )
    codes = new_recovery_codes(user)
    context = browser.new_context(java_script_enabled=False, locale="zh-CN")
    context.set_default_timeout(15000)
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/accounts/login/second-factor/")
    assert page.locator("p.error", has_text="通行密钥需要 JavaScript").is_visible()
    assert not page.get_by_role("button", name="使用通行密钥").is_visible()
    page.fill("#id_code", codes[0])
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/cases/")
    context.close()
