"""Issue 15's "Done when", tried as a new user would, end to end against the live server in
real Chromium (360×740, Chinese), with real Tesseract and poppler:

sign up and create a case; add a capture device on its web page (address, QR code, secret);
post to that address exactly as the phone apps do: SmsForwarder's default form post of an SMS
and of a call event (`from`, `content`, `timestamp` in ms, `sign` = URL-encoded Base64 of
HMAC-SHA256(secret, "<timestamp>\\n<secret>")) and SMS to URL Forwarder's JSON with the secret
in a header, over HTTP; share a screenshot with Chinese text and a phone number into the share
target, land in the prefilled quick-log and save it; the worker's OCR task reads it and the
timeline finds it by a word only in the picture; enter the loan facts (5,000 on the contract,
3,500 received, 5,000 repaid seven days later) and see the APR on the analysis page; make a
cn_regulator dossier in Chinese and a us_cfpb dossier in English and find in each, with
pdftotext, the device's SMS with the device as its author, the machine-read text marked as
such, the per-number conduct and the loan audit.

The worker's two tasks (OCR, dossier rendering) are run here where a worker would run them.
The case page's conduct panel is not asserted here (it is another change's)."""

from __future__ import annotations

import base64
import json
import re
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from django.urls import reverse
from django.utils import timezone

from locker import tasks
from locker.models import CaptureDevice, Case, Dossier, Entry

from .conftest import chromium_path
from .dossier_helpers import has, pdf_text
from .factories import run_worker_on_text
from .prerequisites import needs
from .test_browser import browser  # noqa: F401  (the fixture is used by name)
from .test_browser_review import render_in_a_worker_thread
from .test_capture_devices import SMS, default_content, sign_of, sms_to_url_body
from .test_ocr import NUMBER, _tesseract_ready, screenshot
from .test_offline_drafts import _worker_ready
from .test_share_target import SHARE, _phone

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    needs(chromium_path() is not None, "Chromium is not installed (apt-get install chromium)"),
    needs(
        _tesseract_ready(),
        "Tesseract with chi_sim and eng is not installed "
        "(apt-get install tesseract-ocr tesseract-ocr-chi-sim tesseract-ocr-eng)",
    ),
    needs(has("pdftotext"), "poppler-utils (pdftotext) is not installed"),
]

PASSWORD = "Lantern-harbour-47"
SMS_SENDER = "+86 138 0013 8000"
CALLER = "13900139000"
CALL_TEXT = "通讯录名：未知号码\n通话时间：2026-03-02 21:40:00\n通话时长：35s\n通话类型：来电挂机"
FORWARDED = "您的账单已逾期，请尽快处理"  # what SMS to URL Forwarder sends, from 106900001111
CAPTION = "催收短信截图"  # the text shared with the screenshot


def _post(url: str, body: bytes, content_type: str, **headers: str) -> tuple[int, Any]:
    """One HTTP POST as the phone's app makes it, to the live server."""
    assert url.startswith("http://")  # the test's own live server
    request = urllib.request.Request(  # noqa: S310
        url, data=body, method="POST", headers={"Content-Type": content_type, **headers}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode()


def _smsforwarder(url: str, secret: str, sender: str, content: str, stamp: int) -> Any:
    # The default webhook post: a urlencoded form whose sign is already URL-encoded.
    fields = {
        "from": sender,
        "content": content,
        "timestamp": str(stamp),
        "sign": sign_of(secret, str(stamp)),
    }
    return _post(url, urlencode(fields).encode(), "application/x-www-form-urlencoded")


def _flat(text: str) -> str:
    return re.sub(r"\s", "", text)


def _dossier(page: Any, base: str, case: Case, template: str, language: str, folder: Path) -> str:
    """Ask for a dossier on the web page, render it as the worker does, download it and
    return its text."""
    page.goto(f"{base}/cases/{case.pk}/dossiers/")
    page.locator(f"input[name=template][value={template}]").check()
    page.locator(f"input[name=language][value={language}]").check()
    page.get_by_role("button", name="生成卷宗").click()
    page.wait_for_url(f"**/cases/{case.pk}/dossiers/*/")
    dossier = Dossier.objects.filter(case=case).order_by("-created_at").first()
    assert dossier is not None and dossier.template == template
    render_in_a_worker_thread(dossier.pk)
    answer = page.request.get(base + reverse("dossier_pdf", args=[case.pk, dossier.pk]))
    assert answer.status == 200 and answer.body().startswith(b"%PDF-")
    path = folder / f"{template}.pdf"
    path.write_bytes(answer.body())
    return pdf_text(str(path))


def test_a_new_user_captures_shares_reads_audits_and_files(
    browser,  # noqa: F811
    live_server,
    tmp_path: Path,
) -> None:
    base = live_server.url
    context = _phone(browser)
    page = context.new_page()

    # Sign up, and the first case.
    page.goto(f"{base}/accounts/signup/")
    page.fill("#id_username", "xiaoli")
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    page.get_by_role("button", name="注册").click()
    page.wait_for_url("**/cases/new/")
    page.fill("#id_title", "网贷催收")
    page.get_by_role("button", name="保存").click()
    page.wait_for_url(re.compile(r".*/cases/[0-9a-f-]{36}/$"))
    case = Case.objects.get(owner__username="xiaoli")
    case_url = f"{base}/cases/{case.pk}/"

    # A capture device: its address (with the QR code of it) and its secret, shown once.
    page.goto(case_url + "devices/")
    page.fill("#id_name", "我的安卓手机")
    page.get_by_role("button", name="添加设备").click()
    page.wait_for_url(re.compile(r".*/devices/[^/]+/$"))
    device = CaptureDevice.objects.get(case=case)
    address = page.locator("#device-url").input_value()
    secret = page.locator("#device-secret").input_value()
    assert address == f"{base}/api/capture/{device.public_id}"
    assert page.locator(".qr svg").count() == 1
    assert secret and secret not in address

    # The phone's apps post to it, over HTTP, as they do.
    stamp = int(timezone.now().timestamp() * 1000)
    status, sms = _smsforwarder(
        address, secret, SMS_SENDER, default_content(SMS_SENDER, SMS), stamp
    )
    assert status == 201, sms
    status, call = _smsforwarder(
        address, secret, CALLER, default_content(CALLER, CALL_TEXT), stamp + 1
    )
    assert status == 201, call
    status, forwarded = _post(
        address, sms_to_url_body(FORWARDED), "application/json", **{"X-Locker-Secret": secret}
    )
    assert status == 201, forwarded
    # A forged signature stores nothing.
    status, _refused = _smsforwarder(address, secret + "x", CALLER, "x", stamp + 2)
    assert status == 401
    author = f"device:{device.public_id}"
    by_device = {e.seq: e for e in Entry.objects.filter(case=case, author=author)}
    assert set(by_device) == {sms["seq"], call["seq"], forwarded["seq"]}
    assert by_device[sms["seq"]].body["text"] == SMS
    assert by_device[sms["seq"]].body["sender_e164"] == "+8613800138000"
    assert by_device[call["seq"]].kind == "call"
    assert by_device[call["seq"]].body["duration_s"] == 35
    assert by_device[forwarded["seq"]].body["sender"] == "106900001111"

    # A screenshot shared from the gallery lands in the prefilled quick-log; Save records it.
    page.goto(f"{base}/cases/")
    _worker_ready(page)
    page.reload()
    page.evaluate(SHARE, [CAPTION, base64.b64encode(screenshot()).decode()])
    page.wait_for_url(re.compile(rf"{base}/share/\?held=[0-9a-f]{{32}}&case={case.pk}$"))
    page.locator("[data-share-notice]").wait_for()
    assert page.locator("#id_text").input_value() == CAPTION
    assert page.evaluate("document.querySelector('#id_files').files.length") == 1
    page.get_by_role("button", name="保存").click()
    page.wait_for_url(re.compile(rf"{case_url}entries/\d+/receipt/$"))
    shared = Entry.objects.get(case=case, kind="message", author=f"user:{case.owner_id}")
    assert shared.evidence[0]["name"] == "Screenshot_20240501.png"

    # The worker reads it; the timeline finds it by words only in the picture.
    assert run_worker_on_text(case) == ["ready"]
    shared_link = reverse("entry_detail", args=[case.pk, shared.seq])
    for word in ("zebracode", "家人"):
        page.goto(f"{case_url}timeline/?{urlencode({'q': word})}")
        assert page.locator(f'a[href="{shared_link}"]').count() >= 1, word
        assert page.locator(f'a[href*="/entries/{sms["seq"]}/"]').count() == 0

    # The loan facts, then the repayment: the analysis page gives the real rate.
    page.goto(case_url + "edit/")
    page.fill("#id_principal_minor", "5000")
    page.fill("#id_received_minor", "3500")
    page.fill("#id_loan_start", "2026-03-01")
    page.get_by_role("button", name="保存").click()
    page.wait_for_url("**/receipt/")
    page.goto(case_url + "analysis/")
    page.fill("#id_amount_minor", "5000")
    page.fill("#id_day", "2026-03-08")
    page.get_by_role("button", name="记录付款").click()
    page.wait_for_url(f"{case_url}analysis/")
    assert "年化利率（APR）为 1,908.00 %" in page.locator("main").inner_text()
    numbers = page.locator("#conduct-numbers").inner_text()
    assert "13800138000" in numbers and CALLER in numbers and "106900001111" in numbers

    # The worker brings the case page's conduct panel up to the chain's head (the task
    # itself, as the worker runs it): the same numbers, flagged per number.
    assert tasks.refresh_case_conduct.apply(args=[str(case.pk)]).get() == "ready"
    page.goto(case_url)
    panel = page.locator("#conduct-panel").inner_text()
    for number in ("13800138000", CALLER, "106900001111"):
        assert number in panel, (number, panel)
    head = Case.objects.get(pk=case.pk).head_seq
    assert f"截至第 {head} 条记录" in panel, panel

    # The dossiers carry all of it.
    for template, language, words in (
        (
            "cn_regulator",
            "zh-hans",
            ("自动来源：设备", "机器识别文字（可能有误）", "催收行为分析", "借款成本核算"),
        ),
        (
            "us_cfpb",
            "en",
            (
                "automatic source: device",
                "Machine-read text (may contain errors)",
                "Conduct analysis",
                "Loan-cost audit",
            ),
        ),
    ):
        text = _flat(_dossier(page, base, case, template, language, tmp_path))
        for word in words:
            assert _flat(word) in text, (template, word)
        assert device.public_id in text  # the author named as the device
        assert _flat("今晚12点前不还款将联系您的通讯录") in text  # the device's SMS
        assert "zebracode" in text and NUMBER in text  # what was read from the screenshot
        assert "1,908.00%" in text  # the audit's APR
        # The per-number conduct, in the conduct section (before the audit's).
        conduct = text[text.index(_flat(words[2])) : text.index(_flat(words[3]))]
        for number in ("13800138000", CALLER, "106900001111"):
            assert number in conduct, (template, number, conduct[:2000])
    context.close()
