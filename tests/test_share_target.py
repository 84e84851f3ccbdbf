"""Share into the locker (issue 15; docs/capture.md, "Share into the locker"): the manifest's
share_target; a share that reaches the server (no worker yet) is answered with a page and
changes nothing, for every persona, without a CSRF token; the steps of the share page; and in
real Chromium at 360×740, a screenshot and an SMS's text shared by a navigation POST are taken
by the service worker, shown in the message form, saved once by the form's own Save, and the
kept copy is gone; signed out, the share waits for the log-in and a case is chosen."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from locker.infra import content
from locker.models import Entry, EvidenceFile

from .factories import UserFactory, make_case
from .personas import PERSONAS, SIGNED_OUT
from .test_browser import browser, log_in, wait_until  # noqa: F401  (the fixture is used by name)
from .test_browser_phone import shot, small_targets
from .test_offline_drafts import _worker_ready, browser_test
from .ui_helpers import client_for, png_bytes

pytestmark = pytest.mark.django_db

SMS = "【某某贷】您的借款已逾期，请立即还款，否则将联系您的通讯录。客服 13812345678"
HELD = "0123456789abcdef0123456789abcdef"


def test_the_manifest_offers_the_share_target_with_the_exact_contract(client) -> None:
    manifest = client.get(reverse("manifest")).json()
    types = sorted({kind.media_type for kind in content.FORMATS})
    assert manifest["share_target"] == {
        "action": "/share/",
        "method": "POST",
        "enctype": "multipart/form-data",
        "params": {
            "title": "title",
            "text": "text",
            "url": "url",
            "files": [{"name": "files", "accept": ["image/*", "audio/*", *types]}],
        },
    }
    assert "application/pdf" in types and "audio/amr" in types and "image/heic" in types


@pytest.mark.parametrize("persona", PERSONAS)
def test_a_share_that_reaches_the_server_changes_nothing(world, persona: str) -> None:
    """No worker yet: the share sheet's post, without a CSRF token, meets a page saying to
    open the app once; no entry, no file, nothing in the session."""
    world.add_screenshot()
    client = world.web(persona)
    client.handler.enforce_csrf_checks = True
    session_before = dict(client.session.items())
    entries, files = Entry.objects.count(), EvidenceFile.objects.count()
    picture = _upload("shot.png", png_bytes())
    response = client.post(reverse("share"), {"text": SMS, "title": "短信", "files": [picture]})
    assert response.status_code == 200
    page = response.content.decode()
    assert "打开一次" in page or "Open the app once" in page
    assert SMS not in page
    assert (Entry.objects.count(), EvidenceFile.objects.count()) == (entries, files)
    assert dict(client.session.items()) == session_before


def _upload(name: str, data: bytes) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type="image/png")


def test_the_share_page_signed_out_asks_to_log_in_and_comes_back_to_the_share() -> None:
    page = Client().get(reverse("share") + f"?held={HELD}")
    assert page.status_code == 200
    html = page.content.decode()
    assert f"/accounts/login/?next=/share/%3Fheld%3D{HELD}" in html
    assert f'data-held="{HELD}"' in html and 'data-step="waiting"' in html


def test_the_share_page_goes_straight_to_the_only_case() -> None:
    owner = UserFactory()
    case = make_case(owner=owner, title="网贷催收")
    client = client_for(owner)
    response = client.get(reverse("share") + f"?held={HELD}")
    assert response.status_code == 302
    assert response["Location"] == f"/share/?held={HELD}&case={case.pk}"
    form = client.get(response["Location"])
    html = form.content.decode()
    action = reverse("log_entry", args=[case.pk, "message"])
    assert form.status_code == 200
    assert f'action="{action}"' in html and 'data-step="form"' in html
    assert 'name="csrfmiddlewaretoken"' in html  # Save is the ordinary, CSRF-checked post
    assert re.search(r'value="sms"[^>]*checked|checked[^>]*value="sms"', html)


def test_the_share_page_lets_one_of_several_cases_be_chosen_and_no_other() -> None:
    owner = UserFactory()
    first = make_case(owner=owner, title="甲贷")
    second = make_case(owner=owner, title="乙贷")
    stranger_case = make_case(owner=UserFactory(), title="别人的")
    client = client_for(owner)
    html = client.get(reverse("share") + f"?held={HELD}").content.decode()
    for case in (first, second):
        assert f"/share/?held={HELD}&amp;case={case.pk}" in html and case.title in html
    assert "别人的" not in html
    other = client.get(reverse("share") + f"?held={HELD}&case={stranger_case.pk}")
    assert other.status_code == 404


def test_the_share_page_without_a_case_or_a_share_says_what_to_do() -> None:
    client = client_for(UserFactory())
    no_case = client.get(reverse("share") + f"?held={HELD}").content.decode()
    assert reverse("case_create") in no_case and 'data-step="forget"' in no_case
    nothing = client.get(reverse("share") + "?held=../../etc").content.decode()
    assert "share-script" not in nothing and reverse("case_list") in nothing


def test_each_persona_gets_the_share_page(world) -> None:
    for persona in PERSONAS:
        response = world.web(persona).get(reverse("share"))
        assert response.status_code == 200, persona
        if persona in SIGNED_OUT:
            assert "/accounts/login/" in response.content.decode()


# In Chromium -------------------------------------------------------------------------------

SCREENSHOT = png_bytes(90, 160, "blue")

# The share sheet's post: a navigation POST of a multipart form to /share/, as the phone makes
# it, from a page the worker controls (its fetch event takes it).
SHARE = """([text, png]) => {
  const form = document.createElement('form');
  form.method = 'post'; form.action = '/share/'; form.enctype = 'multipart/form-data';
  const add = (name, value) => { const i = document.createElement('input');
    i.type = 'hidden'; i.name = name; i.value = value; form.appendChild(i); };
  add('title', ''); add('text', text); add('url', '');
  const input = document.createElement('input'); input.type = 'file'; input.name = 'files';
  const bytes = Uint8Array.from(atob(png), c => c.charCodeAt(0));
  const transfer = new DataTransfer();
  transfer.items.add(new File([bytes], 'Screenshot_20240501.png', {type: 'image/png'}));
  input.files = transfer.files; form.appendChild(input);
  document.body.appendChild(form); form.submit();
}"""

KEPT = "async () => (await caches.keys()).filter(n => n === 'locker-share').length"
GONE = "async () => !(await caches.keys()).includes('locker-share')"


def _phone(browser) -> Any:  # noqa: F811
    context = browser.new_context(
        viewport={"width": 360, "height": 740}, locale="zh-CN", timezone_id="Asia/Shanghai",
        is_mobile=True, has_touch=True, service_workers="allow",
    )  # fmt: skip
    context.set_default_timeout(15000)
    return context


def _share(page) -> None:
    page.evaluate(SHARE, [SMS, base64.b64encode(SCREENSHOT).decode()])


def _share_from(page, url: str) -> None:
    """Open `url`, once the service worker controls it, and share into the locker from it."""
    page.goto(url)
    _worker_ready(page)
    page.reload()
    _share(page)


def _check_prefilled(page, base: str, case) -> None:
    page.wait_for_url(re.compile(rf"{base}/share/\?held=[0-9a-f]{{32}}&case={case.pk}$"))
    page.locator("[data-share-senders]").wait_for()
    assert "什么都不会被记录" in page.locator("[data-share-notice]").inner_text()
    assert page.locator("#id_text").input_value() == SMS
    assert page.evaluate("[...document.querySelector('#id_files').files].map(f => f.name)") == [
        "Screenshot_20240501.png"
    ]
    assert "Screenshot_20240501.png" in page.locator("[data-picked]").inner_text()
    offered = page.locator("[data-share-senders] button").all_inner_texts()
    assert offered == ["某某贷", "13812345678"]
    # Offered, not filled in: the sender is the user's call.
    assert page.locator("#id_sender").input_value() == ""
    # In the page now: the kept copy is gone.
    wait_until(page, GONE)


@browser_test
def test_a_shared_screenshot_and_sms_are_saved_once_through_the_form(
    browser,  # noqa: F811
    live_server,
) -> None:
    owner = UserFactory(username="xiaoli")
    case = make_case(owner=owner, title="网贷催收")
    base = live_server.url
    context = _phone(browser)
    page = context.new_page()
    log_in(page, base, owner.username)
    _share_from(page, f"{base}/cases/")
    _check_prefilled(page, base, case)
    assert not Entry.objects.filter(case=case, kind="message").exists()  # nothing until Save
    page.locator("[data-share-senders] button", has_text="某某贷").click()
    assert page.locator("#id_sender").input_value() == "某某贷"
    assert small_targets(page) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    shot(page, "share-prefilled")
    page.get_by_role("button", name="保存").click()
    page.wait_for_url(re.compile(rf"{base}/cases/{case.pk}/entries/\d+/receipt/$"))
    message = Entry.objects.get(case=case, kind="message")
    assert message.body["text"] == SMS and message.body["sender"] == "某某贷"
    assert message.body["channel"] == "sms"
    assert len(message.evidence) == 1
    assert message.evidence[0]["name"] == "Screenshot_20240501.png"
    assert page.evaluate(KEPT) == 0
    context.close()


@browser_test
def test_a_share_while_signed_out_waits_for_the_log_in_and_a_case(
    browser,  # noqa: F811
    live_server,
) -> None:
    from .factories import PASSWORD

    owner = UserFactory(username="xiaoli")
    make_case(owner=owner, title="甲贷")
    second = make_case(owner=owner, title="乙贷")
    base = live_server.url
    context = _phone(browser)
    page = context.new_page()
    _share_from(page, f"{base}/accounts/login/")
    page.wait_for_url(re.compile(rf"{base}/share/\?held=[0-9a-f]{{32}}$"))
    page.locator("[data-share-notice]", has_text="等待保存：1 个文件").wait_for()
    assert page.evaluate(KEPT) == 1  # kept until the log-in
    assert small_targets(page) == []
    shot(page, "share-signed-out")
    page.locator("main a.button").click()
    page.fill("#id_username", owner.username)
    page.fill("#id_password", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(rf"{base}/share/\?held=[0-9a-f]{{32}}$"))
    assert page.evaluate(KEPT) == 1  # still waiting while a case is chosen
    assert small_targets(page) == []
    shot(page, "share-choose")
    page.get_by_role("link", name="乙贷").click()
    _check_prefilled(page, base, second)
    page.get_by_role("button", name="保存").click()
    page.wait_for_url(re.compile(rf"{base}/cases/{second.pk}/entries/\d+/receipt/$"))
    assert Entry.objects.filter(kind="message").count() == 1
    assert Entry.objects.get(kind="message").case_id == second.pk
    context.close()


@browser_test
def test_the_quick_exit_deletes_a_waiting_share(browser, live_server, settings) -> None:  # noqa: F811
    settings.LOCKER_QUICK_EXIT_URL = f"{live_server.url}/static/locker/icon-192.png"
    context = _phone(browser)
    page = context.new_page()
    _share_from(page, f"{live_server.url}/accounts/login/")
    page.wait_for_url(re.compile(r".*/share/\?held=[0-9a-f]{32}$"))
    assert page.evaluate(KEPT) == 1
    page.locator("#quick-exit").click()
    page.wait_for_url("**/icon-192.png")
    assert page.evaluate(KEPT) == 0
    context.close()


# Make the kept share look `minutes` old (its X-Held-At moved back), as if the phone had
# waited that long; the page's own clock judges it.
AGED = """async minutes => {
  const cache = await caches.open('locker-share');
  const [request] = await cache.keys();
  const kept = await cache.match(request);
  const headers = new Headers(kept.headers);
  headers.set('X-Held-At', String(Date.now() - minutes * 60 * 1000));
  await cache.put(request, new Response(await kept.blob(), {headers}));
}"""


@browser_test
def test_a_share_nobody_took_in_30_minutes_is_deleted_by_the_next_page(
    browser,  # noqa: F811
    live_server,
) -> None:
    context = _phone(browser)
    page = context.new_page()
    _share_from(page, f"{live_server.url}/accounts/login/")
    page.wait_for_url(re.compile(r".*/share/\?held=[0-9a-f]{32}$"))
    held = page.url
    assert page.evaluate(KEPT) == 1
    # 29 minutes: the next page keeps it, and the share page still offers it.
    page.evaluate(AGED, 29)
    page.goto(f"{live_server.url}/accounts/login/")
    page.goto(held)
    page.locator("[data-share-notice]", has_text="等待保存：1 个文件").wait_for()
    assert page.evaluate(KEPT) == 1
    # 31 minutes: any page of the site deletes it unread.
    page.evaluate(AGED, 31)
    page.goto(f"{live_server.url}/accounts/login/")
    wait_until(page, GONE)
    page.goto(held)
    page.locator("[data-share-notice].error").wait_for()
    context.close()


@browser_test
def test_log_out_deletes_a_waiting_share(browser, live_server) -> None:  # noqa: F811
    owner = UserFactory(username="xiaoli")
    make_case(owner=owner, title="甲贷")
    make_case(owner=owner, title="乙贷")
    context = _phone(browser)
    page = context.new_page()
    log_in(page, live_server.url, owner.username)
    _share_from(page, f"{live_server.url}/cases/")
    # Two cases: it waits while one is chosen. Log out instead.
    page.wait_for_url(re.compile(r".*/share/\?held=[0-9a-f]{32}$"))
    page.locator("[data-share-notice]", has_text="等待保存：1 个文件").wait_for()
    assert page.evaluate(KEPT) == 1
    with page.expect_navigation(url=f"{live_server.url}/"):
        page.locator(".account button.link").click()
    assert page.evaluate(KEPT) == 0
    context.close()
