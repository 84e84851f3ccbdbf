"""Offline drafts (issue 16 item 15; docs/privacy.md, "Offline drafts"): the setting, off by
default, for each persona; and in real Chromium at 360×740 with the network cut by
Playwright: a log form opened without signal, saved as an encrypted draft (no plaintext in
IndexedDB), sent once the connection returns, recorded exactly once even when the answer to
the first send is lost; with drafts off, nothing in IndexedDB or CacheStorage and the worker's
own "no connection" page; log-out and the quick exit delete the drafts."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from locker.models import Entry, Profile

from .conftest import chromium_path
from .factories import UserFactory, make_case
from .personas import PERSONAS, SIGNED_OUT
from .prerequisites import needs
from .test_browser import browser, log_in, wait_until  # noqa: F401  (the fixture is used by name)
from .test_browser_phone import shot, small_targets
from .ui_helpers import csrf_post, png_bytes

pytestmark = pytest.mark.django_db

NOTE = "催收员周三晚上十点打电话威胁"
SCREENSHOT = png_bytes()

# Reads every stored draft as raw bytes (the record's fields and its data blob), and whether
# the key could be exported.
RAW_DRAFTS = """async () => {
  const db = await new Promise((ok, no) => {
    const r = indexedDB.open('locker-offline'); r.onsuccess = () => ok(r.result); r.onerror = no;
  });
  const all = (store) => new Promise((ok) => {
    const r = db.transaction(store).objectStore(store).getAll(); r.onsuccess = () => ok(r.result);
  });
  const drafts = await all('drafts');
  const keys = await all('keys');
  const out = [];
  for (const d of drafts) {
    const bytes = new Uint8Array(await d.data.arrayBuffer());
    out.push({id: d.id, record: JSON.stringify({...d, data: null, iv: Array.from(d.iv)}),
              text: new TextDecoder('utf-8', {fatal: false}).decode(bytes),
              latin1: Array.from(bytes.slice(0, 200000), b => String.fromCharCode(b)).join('')});
  }
  let exportable = true;
  try { await crypto.subtle.exportKey('raw', keys[0]); } catch (e) { exportable = false; }
  db.close();
  return {drafts: out, keys: keys.length, extractable: keys[0] && keys[0].extractable,
          exportable};
}"""

STORED = """async () => ({
  databases: (await indexedDB.databases()).map(d => d.name),
  caches: await caches.keys(),
})"""


def test_offline_drafts_are_off_by_default_and_turned_on_in_settings(client) -> None:
    user = UserFactory()
    client.force_login(user)
    page = client.get(reverse("preferences")).content.decode()
    assert (
        'name="offline_drafts"' in page
        and "checked" not in page.split('name="offline_drafts"')[1][:80]
    )
    assert 'id="offline-drafts-warning"' in page
    # The pages say "off" and hold no list of forms to keep.
    home = client.get(reverse("case_list")).content.decode()
    assert 'data-drafts="off"' in home and "data-shells" not in home
    response = client.post(
        reverse("preferences"), {"time_zone": "Asia/Shanghai", "offline_drafts": "on"}
    )
    assert response.status_code == 302
    assert Profile.objects.get(user=user).offline_drafts is True
    home = client.get(reverse("case_list")).content.decode()
    assert 'data-drafts="on"' in home and "/offline/log/note/" in home
    client.post(reverse("preferences"), {"time_zone": "Asia/Shanghai"})
    assert Profile.objects.get(user=user).offline_drafts is False


@pytest.mark.parametrize("persona", PERSONAS)
def test_each_persona_turns_offline_drafts_on_for_themselves_only(world, persona: str) -> None:
    client = world.web(persona)
    response = csrf_post(
        client, reverse("preferences"), {"time_zone": "Asia/Shanghai", "offline_drafts": "on"}
    )
    if persona in SIGNED_OUT:
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
        assert not Profile.objects.filter(offline_drafts=True).exists()
        return
    assert response.status_code == 302
    assert list(Profile.objects.filter(offline_drafts=True).values_list("user", flat=True)) == [
        world.user(persona).pk
    ]
    assert 'data-drafts="on"' in client.get(reverse("case_list")).content.decode()


@pytest.mark.parametrize("persona", PERSONAS)
def test_the_kept_log_forms_hold_nothing_of_any_case(world, persona: str) -> None:
    """Every signed-in persona gets the same empty forms; signed-out ones are sent to log in."""
    client = world.web(persona)
    for url in (reverse("offline_shell_log"), reverse("offline_shell_form", args=["call"])):
        response = client.get(url)
        if persona in SIGNED_OUT:
            assert response.status_code == 302
            continue
        assert response.status_code == 200
        html = response.content.decode()
        assert world.case.title not in html and str(world.case.pk) not in html
        assert "csrfmiddlewaretoken" not in html  # a stale token is useless and still a secret
        assert re.search(r'name="submission"[^>]*value="[0-9a-f-]{36}"', html) is None


def test_the_worker_script_is_served_from_the_root_in_the_language_asked_for() -> None:
    response = Client().get(reverse("service_worker") + "?lang=zh-hans")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    body = response.content.decode()
    assert body.startswith("self.LOCKER_OFFLINE = ") and "没有网络连接" in body
    assert "Evidence Locker" not in body.split("\n", 1)[0]


def test_log_out_asks_the_browser_to_clear_the_site_storage(client) -> None:
    client.force_login(UserFactory())
    response = client.post(reverse("logout"))
    assert response["Clear-Site-Data"] == '"storage"'


# In Chromium -------------------------------------------------------------------------------


def browser_test(test: Any) -> Any:
    for mark in (
        pytest.mark.browser,
        pytest.mark.django_db(transaction=True),
        needs(chromium_path() is not None, "Chromium is not installed (apt-get install chromium)"),
    ):
        test = mark(test)
    return test


def _signed_in(browser, live_server, drafts: bool) -> tuple[Any, Any, Any]:  # noqa: F811
    owner = UserFactory(username="xiaoli")
    Profile.objects.update_or_create(
        user=owner, defaults={"time_zone": "Asia/Shanghai", "offline_drafts": drafts}
    )
    case = make_case(owner=owner, title="网贷催收")
    # The worker must see the page's own headers: the CSP is not bypassed here.
    context = browser.new_context(
        viewport={"width": 360, "height": 740}, locale="zh-CN", timezone_id="Asia/Shanghai",
        is_mobile=True, has_touch=True, service_workers="allow",
    )  # fmt: skip
    context.set_default_timeout(15000)
    page = context.new_page()
    log_in(page, live_server.url, owner.username)
    return case, context, page


def _worker_ready(page) -> None:
    page.wait_for_function(
        "navigator.serviceWorker.ready.then(() => !!navigator.serviceWorker.controller)"
        " || !!navigator.serviceWorker.controller"
    )


def _shells_kept(page) -> None:
    wait_until(
        page,
        """async () => {
          const names = await caches.keys();
          if (!names.length) return false;
          const cache = await caches.open(names[0]);
          return (await cache.keys()).length >= 8;
        }""",
    )


@browser_test
def test_a_note_typed_offline_is_kept_encrypted_and_sent_once(browser, live_server) -> None:  # noqa: F811
    case, context, page = _signed_in(browser, live_server, drafts=True)
    base = live_server.url
    chain_before = case.entries.count()
    page.goto(f"{base}/cases/{case.pk}/")
    _worker_ready(page)
    page.reload()  # now controlled by the worker
    _shells_kept(page)

    # No signal: the log page and the note form open from the kept shells, not an error page.
    context.set_offline(True)
    page.goto(f"{base}/cases/{case.pk}/log/")
    assert page.locator("[data-offline-notice]").is_visible()
    assert "网贷催收" not in page.content()
    page.locator(".bigbutton.note").click()
    page.wait_for_url(f"{base}/cases/{case.pk}/log/note/")
    page.fill("#id_text", NOTE)
    page.set_input_files(
        "#id_files", files=[{"name": "shot.png", "mimeType": "image/png", "buffer": SCREENSHOT}]
    )
    assert small_targets(page) == []
    page.get_by_role("button", name="保存").click()
    notice = page.locator("#offline-messages .msg.success")
    notice.wait_for()
    assert "加密草稿" in notice.inner_text()
    shot(page, "offline-draft-saved")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    raw = page.evaluate(RAW_DRAFTS)
    assert len(raw["drafts"]) == 1 and raw["keys"] == 1
    assert raw["extractable"] is False and raw["exportable"] is False
    stored = raw["drafts"][0]
    for text in (NOTE, "shot.png", str(case.pk), "note"):
        assert text not in stored["text"] and text not in stored["record"], text
    assert SCREENSHOT[:64].decode("latin-1") not in stored["latin1"]
    assert NOTE.encode().decode("latin-1") not in stored["latin1"]
    assert not Entry.objects.filter(case=case, kind="note").exists()

    # The first send reaches the server, but its answer is lost: the draft must stay.
    lost: list[str] = []

    def lose_the_answer(route) -> None:
        if route.request.method == "POST" and not lost:
            assert route.fetch().status == 200
            lost.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    page.route("**/log/note/", lose_the_answer)
    context.set_offline(False)  # the page's "online" event sends it
    for _attempt in range(100):
        if lost:
            break
        page.wait_for_timeout(100)
    assert lost, "the draft was not sent when the connection returned"
    assert Entry.objects.filter(case=case, kind="note").count() == 1
    assert len(page.evaluate(RAW_DRAFTS)["drafts"]) == 1  # kept: no answer, no deletion

    # The next page load sends it again with the same submission id: the same record.
    page.unroute("**/log/note/")
    page.goto(f"{base}/cases/{case.pk}/")
    sent = page.locator("#offline-messages .msg.success")
    sent.wait_for()
    assert "已发送 1 份草稿" in sent.inner_text()
    shot(page, "offline-draft-sent")
    notes = Entry.objects.filter(case=case, kind="note")
    assert notes.count() == 1 and notes.get().body["text"] == NOTE
    assert len(notes.get().evidence) == 1  # the screenshot came along
    assert case.entries.count() == chain_before + 1  # one record in the chain, not two
    wait_until(
        page,
        """async () => { const r = indexedDB.open('locker-offline');
          const db = await new Promise(ok => { r.onsuccess = () => ok(r.result); });
          const n = await new Promise(ok => { const q = db.transaction('drafts')
            .objectStore('drafts').count(); q.onsuccess = () => ok(q.result); });
          db.close(); return n === 0; }""",
    )
    context.close()


@browser_test
def test_a_form_opened_online_keeps_its_submission_id_when_saved_offline(
    browser,  # noqa: F811
    live_server,
) -> None:
    case, context, page = _signed_in(browser, live_server, drafts=True)
    page.goto(f"{live_server.url}/cases/{case.pk}/log/call/")
    submission = page.locator("input[name=submission]").input_value()
    context.set_offline(True)
    page.fill("#id_number", "13800138000")
    page.get_by_role("button", name="保存").click()
    page.locator("#offline-messages .msg.success").wait_for()
    assert page.evaluate(RAW_DRAFTS)["drafts"][0]["id"] == submission
    # The form is ready for the next call, with a new id.
    assert page.locator("#id_number").input_value() == ""
    assert page.locator("input[name=submission]").input_value() != submission
    context.set_offline(False)
    page.locator("#offline-messages .msg.success", has_text="已发送").wait_for()
    call = Entry.objects.get(case=case, kind="call")
    assert call.body["number"] == "13800138000"
    context.close()


@browser_test
def test_with_drafts_off_nothing_is_stored_and_offline_shows_the_workers_page(
    browser,  # noqa: F811
    live_server,
) -> None:
    case, context, page = _signed_in(browser, live_server, drafts=False)
    page.goto(f"{live_server.url}/cases/{case.pk}/log/note/")
    _worker_ready(page)
    page.reload()
    page.wait_for_timeout(500)
    assert page.evaluate(STORED) == {"databases": [], "caches": []}
    # Sending without signal: the form is kept on screen with Retry, nothing on the phone.
    context.set_offline(True)
    page.fill("#id_text", NOTE)
    page.get_by_role("button", name="保存").click()
    page.locator("[data-retry]").wait_for()
    assert page.evaluate(STORED) == {"databases": [], "caches": []}
    # Opening a page without signal: the worker's own page, with nothing of the case in it.
    page.goto(f"{live_server.url}/cases/{case.pk}/log/note/")
    assert page.locator("h1").inner_text() == "没有网络连接"
    assert "网贷催收" not in page.content() and NOTE not in page.content()
    assert small_targets(page) == []
    shot(page, "offline-page")
    assert page.evaluate(STORED) == {"databases": [], "caches": []}
    context.close()


@browser_test
def test_log_out_and_turning_drafts_off_delete_them(browser, live_server) -> None:  # noqa: F811
    case, context, page = _signed_in(browser, live_server, drafts=True)
    page.goto(f"{live_server.url}/cases/{case.pk}/log/note/")
    _shells_kept(page)
    context.set_offline(True)
    page.fill("#id_text", NOTE)
    page.get_by_role("button", name="保存").click()
    page.locator("#offline-messages .msg.success").wait_for()
    assert len(page.evaluate(RAW_DRAFTS)["drafts"]) == 1
    context.set_offline(False)
    page.locator("#offline-messages .msg.success", has_text="已发送").wait_for()

    # A second draft, then the setting turned off: the next page deletes everything.
    context.set_offline(True)
    page.goto(f"{live_server.url}/cases/{case.pk}/log/note/")
    page.fill("#id_text", "第二条")
    page.get_by_role("button", name="保存").click()
    page.locator("#offline-messages .msg.success").wait_for()
    Profile.objects.filter(user=case.owner).update(offline_drafts=False)
    page.route("**/log/note/", lambda route: route.abort())  # keep it from being sent first
    context.set_offline(False)
    page.goto(f"{live_server.url}/cases/")
    wait_until(
        page,
        "async () => (await indexedDB.databases()).length === 0"
        " && (await caches.keys()).length === 0",
    )
    assert Entry.objects.filter(case=case, kind="note").count() == 1

    # On again, a draft, then log out: gone.
    Profile.objects.filter(user=case.owner).update(offline_drafts=True)
    page.unroute("**/log/note/")
    page.goto(f"{live_server.url}/cases/{case.pk}/log/note/")
    context.set_offline(True)
    page.fill("#id_text", "第三条")
    page.get_by_role("button", name="保存").click()
    page.locator("#offline-messages .msg.success").wait_for()
    # Kept from being sent when the connection returns, to see log-out delete it.
    page.route("**/log/note/", lambda route: route.abort())
    context.set_offline(False)
    with page.expect_navigation(url=f"{live_server.url}/"):
        page.locator(".account button.link").click()
    assert page.evaluate(STORED) == {"databases": [], "caches": []}
    assert Entry.objects.filter(case=case, kind="note").count() == 1
    context.close()


@browser_test
def test_the_quick_exit_deletes_the_drafts(browser, live_server, settings) -> None:  # noqa: F811
    settings.LOCKER_QUICK_EXIT_URL = f"{live_server.url}/static/locker/icon-192.png"
    case, context, page = _signed_in(browser, live_server, drafts=True)
    page.goto(f"{live_server.url}/cases/{case.pk}/log/note/")
    context.set_offline(True)
    page.fill("#id_text", NOTE)
    page.get_by_role("button", name="保存").click()
    page.locator("#offline-messages .msg.success").wait_for()
    # Kept from being sent when the connection returns, to see log-out delete it.
    page.route("**/log/note/", lambda route: route.abort())
    context.set_offline(False)
    page.locator("#quick-exit").click()
    page.wait_for_url("**/icon-192.png")
    assert page.evaluate(STORED) == {"databases": [], "caches": []}
    context.close()
