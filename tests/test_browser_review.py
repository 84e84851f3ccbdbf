"""A lawyer's review session in real Chromium (Debian's, driven by Playwright) at desktop size,
in Chinese: the client shares a case by the lawyer's email, the lawyer accepts it on the desk,
opens the review page, filters and searches, looks at a screenshot, writes a note; the client
ends the share, the lawyer's next request finds nothing, and the client's "who has seen it"
page lists every access. Screenshots go to test-artifacts/review-*.png."""

from __future__ import annotations

import io
import re
import threading

import pytest
from django.core import mail
from django.db import connections
from django.urls import reverse

from locker import services
from locker.dossier.build import build_dossier
from locker.exports.verification import verify_bundle_zip
from locker.models import AccessLog, Annotation, Dossier, Share
from locker.services import demo
from locker.services import dossiers as dossier_services

from .conftest import chromium_path, needs
from .factories import UserFactory, add_entry, make_case, run_worker_on_derived
from .test_browser import ARTIFACTS, browser, log_in, phone, shot  # noqa: F401  (the fixture is used by name)
from .ui_helpers import png_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def screen(page, name: str) -> None:
    """What the lawyer sees in the 1440×900 window (a full-page capture would paint the
    sticky header and timeline column into the middle of the picture)."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def sms_picture() -> bytes:
    font = demo.cjk_font_path()
    if font is None:
        return png_bytes(720, 1480, color="#dde")
    return demo.sms_screenshot(
        font_path=font,
        sender="170 1234 5678",
        messages=[("01-05 23:10", "今天不还钱，明天就把你的通讯录全部爆掉。")],
    )


def desktop(browser):  # noqa: F811
    context = browser.new_context(
        viewport={"width": 1440, "height": 900}, locale="zh-CN", timezone_id="Asia/Shanghai"
    )
    context.set_default_timeout(15000)
    return context


def render_in_a_worker_thread(dossier_id) -> None:
    """What the Celery worker does, in its own thread: pyHanko's signer runs an asyncio loop,
    which cannot start inside Playwright's."""
    failures: list[BaseException] = []

    def work() -> None:
        try:
            claim = dossier_services.claim_dossier(dossier_id=dossier_id)
            assert claim is not None
            build_dossier(claim)
        except BaseException as exc:  # reported in the test's thread
            failures.append(exc)
        finally:
            connections.close_all()

    worker = threading.Thread(target=work)
    worker.start()
    worker.join(120)
    assert not worker.is_alive() and not failures, failures


def a_month_of_harassment(owner):
    case = make_case(owner, title="网贷催收", lender="闪电借款", borrower_name="李小姐")
    for day in range(1, 13):
        add_entry(
            case,
            "call",
            {
                "direction": "incoming",
                "number": f"170 0000 {day:04d}",
                "summary": "半夜打来，说要去我单位闹。",
                "tags": ["threat", "night_time"],
            },
            occurred_at=f"2026-01-{day:02d}T15:{day:02d}:00Z",
        )
    message = services.append_entry(
        case=case,
        author=f"user:{owner.pk}",
        kind="message",
        body={"channel": "sms", "sender": "170 1234 5678", "text": "不还钱就爆你通讯录"},
        occurred_at="2026-01-05T15:10:00Z",
        uploads=[services.Upload(name="Screenshot_20260105.png", stream=io.BytesIO(sms_picture()))],
    ).entry
    run_worker_on_derived(case)  # its pictures, as the worker makes them after the commit
    add_entry(
        case,
        "contact_report",
        {"contact_name": "李阿姨", "relation": "母亲", "summary": "催收打电话骂我女儿。"},
        occurred_at="2026-01-06T13:00:00Z",
    )
    return case, message


@needs(chromium_path() is not None, "Chromium is not installed (apt-get install chromium)")
def test_lawyer_review_session_at_desktop_size(browser, live_server) -> None:  # noqa: F811
    base = live_server.url
    owner = UserFactory(username="xiaoli")
    lawyer = UserFactory(username="lawyer-wang", email="wang@law.example")
    services.upsert_profile(user=lawyer, name="王律师", organisation="明理律师事务所")
    case, message = a_month_of_harassment(owner)
    sha = message.evidence[0]["sha256"]

    # The client shares the case, from her phone, by the lawyer's email.
    client_ctx = phone(browser)
    client = client_ctx.new_page()
    log_in(client, base, "xiaoli")
    client.goto(f"{base}/cases/{case.pk}/")
    client.locator(".case-nav").get_by_role("link", name="共享").click()
    client.fill("#id_grantee", "wang@law.example")
    client.locator("label.segment", has_text="审阅人").click()
    shot(client, "review-01-client-shares")
    client.get_by_role("button", name="共享", exact=True).click()
    client.wait_for_load_state()
    assert "王律师 (明理律师事务所)" not in client.content()  # not accepted yet: what she typed
    assert "wang@law.example" in client.content()

    # The lawyer, on a desktop, signs in and opens the invitation mailed to that address.
    (invitation_mail,) = [m for m in mail.outbox if m.to == ["wang@law.example"]]
    match = re.search(r"https?://\S+/invitations/[^/\s]+/", invitation_mail.body)
    assert match, invitation_mail.body
    lawyer_ctx = desktop(browser)
    desk = lawyer_ctx.new_page()
    log_in(desk, base, "lawyer-wang")
    desk.goto(base + "/" + match.group(0).split("://", 1)[1].split("/", 1)[1])
    desk.wait_for_url(f"**{reverse('invitation')}")
    assert "与您共享了一个案件" in desk.content()
    desk.get_by_role("button", name="接受并打开案件").click()
    desk.wait_for_url(f"**/cases/{case.pk}/review/")
    assert Share.objects.get(case=case).status == "active"
    assert desk.locator(".rrow").count() == 15
    screen(desk, "review-02-review-page")

    # Search the entries' text, in Chinese, then filter by kind.
    desk.fill("#id_q", "通讯录")
    desk.get_by_role("button", name="搜索").click()
    desk.wait_for_load_state()
    assert desk.locator(".rrow").count() == 1
    desk.locator(".rrow a").first.click()
    desk.wait_for_load_state()
    image = desk.locator(".review-viewer img.viewer")
    desk.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=image.element_handle()
    )
    assert (
        sha in desk.content()
        and f"#{message.seq}" in desk.locator(".review-viewer h2").inner_text()
    )
    box = image.bounding_box()
    assert box is not None and box["height"] <= 900
    screen(desk, "review-03-evidence")

    desk.get_by_role("link", name="清除").click()
    desk.select_option("#id_kind", "contact_report")
    desk.get_by_role("button", name="搜索").click()
    desk.wait_for_load_state()
    assert desk.locator(".rrow").count() == 1 and "李阿姨" in desk.locator(".rlist").inner_text()

    # A private note on the screenshot's entry.
    desk.goto(f"{base}/cases/{case.pk}/review/?seq={message.seq}")
    desk.fill("#id_text", "短信截图显示以爆通讯录相威胁，可作为恐吓证据。")
    desk.get_by_role("button", name="添加批注").click()
    desk.wait_for_url(f"**?seq={message.seq}#notes")
    assert "可作为恐吓证据" in desk.locator("#notes").inner_text()
    assert Annotation.objects.get().entry_seq == message.seq
    screen(desk, "review-04-note")

    # Exports, as the owner has them: the evidence bundle with every original, and a signed
    # court dossier (rendered here in the test's thread, as a worker would).
    desk.goto(f"{base}/cases/{case.pk}/review/")
    with desk.expect_download() as bundle_download:
        desk.get_by_role("link", name="证据包（ZIP，含全部原始文件）").click()
    bundle_path = bundle_download.value.path()
    checked = verify_bundle_zip(str(bundle_path))
    assert checked.ok and checked.length == case.entries.count(), checked
    desk.locator("#export").get_by_role("link", name="卷宗").click()
    desk.locator("label", has_text="法院证据材料").click()
    desk.get_by_role("button", name="生成卷宗").click()
    desk.wait_for_url(f"**/cases/{case.pk}/dossiers/*/")
    dossier = Dossier.objects.get(case=case)
    assert dossier.template == "court" and not dossier.include_access_log
    render_in_a_worker_thread(dossier.pk)
    desk.reload()
    with desk.expect_download() as pdf_download:
        desk.get_by_role("link", name="下载 PDF").click()
    assert pdf_download.value.path().read_bytes().startswith(b"%PDF-")

    # Back on the desk: the case's row, its chain status and nothing unread.
    desk.locator(".top-nav").get_by_role("link", name="与我共享").click()
    row = desk.locator("table.desk tbody tr").first
    assert "李小姐" in row.inner_text() and "完好" in row.inner_text()
    screen(desk, "review-05-desk")
    desk.locator("table.desk tbody tr").first.get_by_role("link", name="审阅").click()
    desk.wait_for_url(f"**/cases/{case.pk}/review/")

    # The client ends the share; the lawyer's very next request finds nothing.
    client.goto(f"{base}/cases/{case.pk}/sharing/")
    assert "王律师 (明理律师事务所)" in client.content()
    client.get_by_role("button", name="结束共享").click()
    client.wait_for_load_state()
    assert Share.objects.get(case=case).status == "ended"
    again = desk.reload()
    assert again is not None and again.status == 404
    assert "可作为恐吓证据" not in desk.content()
    picture = desk.request.get(f"{base}/cases/{case.pk}/files/{sha}/view.jpg")
    assert picture.status == 404

    # The client sees every access the lawyer made.
    client.locator(".case-nav").get_by_role("link", name="谁看过").click()
    client.wait_for_load_state()
    log = client.locator(".access-log").inner_text()
    assert "王律师 (明理律师事务所)" in log
    for label in ("查看了", "写了私人批注", "在列表中看到了", "导出了"):
        assert label in log, label
    assert "Screenshot_20260105.png" in log
    # The exports in words: the bundle, the dossier asked for, and its PDF downloaded.
    assert "证据包（ZIP）" in log and "一份新的签名 PDF 卷宗" in log
    assert "申请的卷宗“法院证据材料”" in log
    actions = set(AccessLog.objects.filter(case=case).values_list("action", flat=True))
    assert actions == {"list", "view", "view_file", "annotate", "export"}
    exports = AccessLog.objects.filter(case=case, action="export")
    assert {row.detail for row in exports} == {"bundle", "dossier", f"dossier:{dossier.pk}"}
    assert AccessLog.objects.filter(case=case).exclude(user=lawyer).count() == 0
    shot(client, "review-06-who-has-seen")
    lawyer_ctx.close()
    client_ctx.close()
