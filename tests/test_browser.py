"""The phone journey in real Chromium (Debian's /usr/bin/chromium driven by Playwright), in a
390×844 viewport and in Chinese: sign up, create a case, log a call with tags, upload two
screenshots in one go, see both in the timeline, make a contact link, file a statement
through it from a fresh browser, see it in the timeline, and find the link used up.
Screenshots of the main pages go to test-artifacts/."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connections

from locker.models import ContactLink, Entry
from locker.services import demo

from .conftest import chromium_path, needs
from .factories import run_worker_on_derived
from .ui_helpers import png_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(django_settings.BASE_DIR) / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def browser():
    # Playwright's sync API runs an event loop in this thread; the test's own ORM queries
    # are still plain synchronous calls.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()
        # While Playwright's loop runs, the test's ORM calls get their own connection (Django
        # keeps connections per async context); close it, or the test database cannot be
        # dropped at the end of the session.
        connections.close_all()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


def log_in(page, base: str, username: str) -> None:
    from .factories import PASSWORD

    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()


def wait_until(page, predicate: str, arg: object = None, timeout_s: float = 15.0) -> None:
    """Poll `predicate` (a page function, async or not) until it gives a truthy value.
    page.wait_for_function cannot do this for an async function: it takes the promise itself,
    which is truthy, and returns at once."""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(predicate, arg):
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout_s} s: {predicate}")
        page.wait_for_timeout(100)


def phone(browser):
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        is_mobile=True,
        has_touch=True,
    )
    context.set_default_timeout(15000)
    return context


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def screenshot_files(tmp_path: Path) -> list[Path]:
    font = demo.cjk_font_path()
    paths = []
    for n, text in enumerate(["今天不还钱，明天就去你单位。", "你的通讯录我们已经拿到了。"]):
        path = tmp_path / f"Screenshot_2026010{n + 1}.png"
        if font:
            path.write_bytes(
                demo.sms_screenshot(
                    font_path=font,
                    sender="170 1234 5678",
                    messages=[("01-0" + str(n + 1) + " 23:10", text)],
                )
            )
        else:
            path.write_bytes(png_bytes(720, 1480, color=("#dde", "#ede")[n]))
        paths.append(path)
    return paths


@needs(chromium_path() is not None, "Chromium is not installed (apt-get install chromium)")
def test_phone_journey_in_chinese(browser, live_server, tmp_path, settings) -> None:
    # A neutral page the closed network can reach; in use it is an ordinary public site.
    settings.LOCKER_QUICK_EXIT_URL = f"{live_server.url}/static/locker/icon-192.png"
    owner = phone(browser)
    page = owner.new_page()

    page.goto(f"{live_server.url}/")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    page.get_by_role("link", name="注册账号").first.click()
    page.fill("#id_username", "xiaoli")
    page.fill("#id_password1", "Lantern-harbour-47")
    page.fill("#id_password2", "Lantern-harbour-47")
    assert page.locator("#id_time_zone").input_value() == "Asia/Shanghai"
    shot(page, "01-signup")
    page.get_by_role("button", name="注册").click()

    page.wait_for_url("**/cases/new/")
    page.fill("#id_title", "网贷催收")
    page.get_by_role("button", name="保存").click()
    page.wait_for_url(re.compile(r".*/cases/[0-9a-f-]{36}/$"))
    case_url = page.url
    assert "网贷催收" not in page.title()

    # A call with two tags, through the quick-log buttons.
    page.get_by_role("link", name="记录发生的事").click()
    shot(page, "02-quick-log")
    page.locator("a.bigbutton.call").click()
    assert page.locator("#id_occurred_at").input_value()  # opens at "now"
    page.fill("#id_number", "170 1234 5678")
    page.locator("label.chip", has_text="威胁").click()
    page.locator("label.chip", has_text="深夜").click()
    page.fill("#id_summary", "半夜打来，说明天去我单位。")
    shot(page, "03-call-form")
    page.get_by_role("button", name="保存").click()
    page.wait_for_url("**/receipt/")
    assert "已保存到您的记录" in page.content()
    shot(page, "04-receipt")
    call = Entry.objects.get(kind="call")
    assert sorted(call.body["tags"]) == ["night_time", "threat"]
    assert call.hash[:12] in page.content()

    # Two screenshots in one go from the gallery control.
    page.goto(case_url + "log/message/")
    assert page.locator("#id_files").get_attribute("multiple") is not None
    assert page.locator("#id_files").get_attribute("capture") is None
    assert page.locator("#id_photo").get_attribute("capture") == "environment"
    page.set_input_files("#id_files", [str(p) for p in screenshot_files(tmp_path)])
    assert page.locator("[data-picked] li").count() == 2
    page.locator("label.chip", has_text="威胁").click()
    page.get_by_role("button", name="保存").click()
    page.wait_for_url("**/receipt/")
    message = Entry.objects.get(kind="message")
    assert len(message.evidence) == 2
    # The pictures, as the Celery worker makes them after the commit.
    assert run_worker_on_derived() == ["ready", "ready"]

    page.goto(case_url + "timeline/")
    thumbs = page.locator('li.kind-message img[src*="/thumb.jpg"]')
    assert thumbs.count() == 2
    for index in range(2):
        thumbs.nth(index).scroll_into_view_if_needed()
        page.wait_for_function(
            "img => img.complete && img.naturalWidth > 0", arg=thumbs.nth(index).element_handle()
        )
        # The worker's JPEG, not the "being prepared" placeholder.
        kind = thumbs.nth(index).evaluate(
            "img => fetch(img.src).then(response => response.headers.get('content-type'))"
        )
        assert kind == "image/jpeg"
    shot(page, "05-timeline")
    page.goto(case_url)
    shot(page, "06-case")

    # A contact statement link, opened in a fresh browser.
    page.goto(case_url + "links/")
    page.fill("#id_label", "妈妈")
    page.get_by_role("button", name="生成链接").click()
    link_url = page.locator("#link-url").input_value()
    assert "/c/" in link_url and page.locator(".qr svg").count() == 1
    shot(page, "07-link")

    contact = phone(browser)
    contact_page = contact.new_page()
    contact_page.goto(link_url)
    contact_page.wait_for_url(f"{live_server.url}/c/")
    token = link_url.rstrip("/").rsplit("/", 1)[1]
    assert token not in contact_page.url and token not in contact_page.content()
    assert "网贷催收" not in contact_page.content() and "妈妈" not in contact_page.content()
    contact_page.fill("#id_contact_name", "李阿姨")
    contact_page.fill("#id_relation", "母亲")
    contact_page.fill("#id_summary", "晚上十点多打电话给我，骂我女儿是老赖。")
    shot(contact_page, "08-statement")
    contact_page.get_by_role("button", name="提交陈述").click()
    contact_page.wait_for_url("**/c/thanks/")
    shot(contact_page, "09-statement-done")

    report = Entry.objects.get(kind="contact_report")
    assert report.author == f"contact-link:{ContactLink.objects.get().pk}"
    page.goto(case_url + "timeline/")
    assert "李阿姨" in page.content()

    contact_page.goto(link_url)
    assert "这个链接已失效" in contact_page.content()
    stranger = phone(browser)
    fresh = stranger.new_page()
    fresh.goto(link_url)
    assert "这个链接已失效" in fresh.content()
    stranger.close()
    contact.close()

    page.goto(f"{case_url}entries/{message.seq}/")
    shot(page, "10-entry")

    # Quick exit: the case page leaves the history; going back meets the password prompt.
    page.goto(case_url)
    page.locator("#quick-exit").click()
    page.wait_for_url("**/icon-192.png")
    page.go_back()
    page.wait_for_load_state()
    assert "/accounts/unlock/" in page.url
    assert "网贷催收" not in page.content()
    shot(page, "11-after-quick-exit")
    owner.close()


@needs(chromium_path() is not None, "Chromium is not installed (apt-get install chromium)")
def test_contact_statement_and_invitation_work_with_javascript_off(browser, live_server) -> None:
    """Plain form posts from the token pages. A no-referrer policy on them makes Chromium send
    `Origin: null`, which Django's CSRF check refuses: only a real browser shows this."""
    from locker import services

    from .factories import UserFactory, make_case

    case = make_case(title="网贷催收")
    _, raw = services.create_contact_link(case=case, user=case.owner, label="妈妈")
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, locale="zh-CN", java_script_enabled=False
    )
    context.set_default_timeout(15000)
    contact = context.new_page()
    contact.goto(f"{live_server.url}/c/{raw}/")
    contact.wait_for_url(f"{live_server.url}/c/")
    contact.fill("#id_contact_name", "李阿姨")
    contact.fill("#id_summary", "晚上十点多打电话给我。")
    contact.get_by_role("button", name="提交陈述").click()
    contact.wait_for_url("**/c/thanks/")
    assert Entry.objects.filter(case=case, kind="contact_report").count() == 1

    lawyer = UserFactory(username="lawyer-li")
    services.share_case(
        case=case, by=case.owner, grantee="li@law.example", role="viewer", site_url=live_server.url
    )
    from django.core import mail

    link = re.search(r"https?://\S+/invitations/[^/\s]+/", mail.outbox[-1].body)
    assert link
    page = context.new_page()
    log_in(page, live_server.url, lawyer.username)
    page.goto(link.group(0))
    page.get_by_role("button", name="接受并打开案件").click()
    page.wait_for_url(f"**/cases/{case.pk}/review/")
    context.close()


def _wav(seconds: int, rate: int = 8000) -> bytes:
    data = bytes((n * 7) % 256 for n in range(seconds * rate))
    header = (
        b"RIFF" + (36 + len(data)).to_bytes(4, "little") + b"WAVEfmt "
        + (16).to_bytes(4, "little") + (1).to_bytes(2, "little") + (1).to_bytes(2, "little")
        + rate.to_bytes(4, "little") + rate.to_bytes(4, "little")
        + (1).to_bytes(2, "little") + (8).to_bytes(2, "little")
        + b"data" + len(data).to_bytes(4, "little")
    )  # fmt: skip
    return header + data


@needs(chromium_path() is not None, "Chromium is not installed (apt-get install chromium)")
def test_a_call_recording_can_be_played_from_the_middle(browser, live_server) -> None:
    import io

    from locker import services

    from .factories import make_case

    case = make_case(title="网贷催收")
    entry = services.append_entry(
        case=case,
        author=f"user:{case.owner.pk}",
        kind="call",
        body={"number": "95188", "duration_s": 600},
        uploads=[services.Upload("call.wav", io.BytesIO(_wav(600)))],
    ).entry
    # The worker finds the WAV plays as it is (PCM): the player gets the original.
    assert run_worker_on_derived(case) == ["none needed"]
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    context.set_default_timeout(15000)
    page = context.new_page()
    log_in(page, live_server.url, case.owner.username)
    ranges: list[str] = []
    page.on(
        "response",
        lambda r: ranges.append(r.headers.get("content-range", "")) if "/files/" in r.url else None,
    )
    page.goto(f"{live_server.url}/cases/{case.pk}/entries/{entry.seq}/")
    audio = page.locator("audio").element_handle()
    # The player asks for the part it seeks to (a Range request), and the server must answer
    # with just that part: without ranges it would have to fetch the whole recording first.
    page.evaluate(
        """a => new Promise((done, fail) => {
            a.muted = true;
            a.addEventListener('loadedmetadata', () => { a.currentTime = 500; }, {once: true});
            a.addEventListener('seeked', () => done(), {once: true});
            a.addEventListener('error', () => fail(a.error && a.error.code), {once: true});
            a.preload = 'metadata';
            a.load();
        })""",
        audio,
    )
    position = page.evaluate("a => a.currentTime", audio)
    seekable_end = page.evaluate("a => a.seekable.length ? a.seekable.end(0) : 0", audio)
    assert position >= 499.5 and seekable_end >= 599.5, (position, seekable_end)
    starts = [int(r.split(" ")[1].split("-")[0]) for r in ranges if r.startswith("bytes ")]
    assert any(start > 1_000_000 for start in starts), ranges
    context.close()
