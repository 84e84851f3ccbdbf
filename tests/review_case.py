"""The case of the page-by-page review of the eight dossiers (docs/dossier-review.md, "Redo
the review", step 2), built through the services as a user would: a borrower 王𠮷 (an account
whose first and last names are 𠮷 and 王) with complainant details, the case complaint with
an agent and an authorisation, case facts with a stated rate, loan payments, calls and
messages from several numbers (a conversation, more than 7 calls in 7 days, night calls, a
threat with 🔪, an SMS known by its screenshot only), a request to stop and calls after it, a
contact's statement through their link, an SMS through a capture device, a note in Arabic and
Hebrew, and a corrected call time. `extra_calls` adds that many calls from one more number,
for layouts of several sizes. Without the review's TSA and OCR: they change no layout here."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta, timezone
from typing import Any

from django.db import transaction

from locker import services
from locker.models import Case
from locker.services import analysis as analysis_services
from locker.services import complainant as details
from locker.services import demo, devices

from .factories import UserFactory
from .ui_helpers import png_bytes

CST = timezone(timedelta(hours=8))


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 1, day, hour, minute, tzinfo=CST)


def review_case(extra_calls: int = 0) -> Case:
    user = UserFactory(first_name="𠮷", last_name="王")
    author = f"user:{user.pk}"
    details.save_complainant_details(
        user=user,
        legal_name="王𠮷",
        id_type="resident_id",
        id_number="11010519491231002X",
        phone="+86 139-1234-5678",
        email="wang.ji@example.org",
        address="北京市朝阳区幸福路1号院䶮楼3单元",
    )
    case = services.create_case(
        owner=user,
        author=author,
        title="速借花 催收骚扰 🔪 王𠮷",
        borrower_name="王𠮷",
        lender="速借花（深圳）网络小额贷款有限公司",
        lending_app="速借花",
        funding_institution="某某消费金融股份有限公司",
        staff_involved="李经理（工号0231）",
        collector_agency="鼎信催收服务有限公司",
        principal_minor=500000,
        received_minor=350000,
        demanded_minor=900000,
        loan_start="2025-11-01",
        loan_due="2025-12-01",
        stated_rate_bp=2400,
    )
    details.save_case_complaint(
        case=case,
        receiving_numbers=["139 1234 5678"],
        typed_signature=True,
        agent_name="赵律师",
        agent_relationship="北京明理律师事务所",
        agent_contact="zhao@minglilaw.example",
    )
    details.store_authorisation(case=case, upload=io.BytesIO(png_bytes(300, 400, "blue")))
    for amount, day, what, status in (
        (200000, date(2025, 11, 15), "repayment", "paid"),
        (50000, date(2025, 11, 25), "extension_fee", "paid"),
        (400000, date(2026, 1, 10), "penalty", "demanded"),
    ):
        analysis_services.record_loan_payment(
            case=case, author=author, amount_minor=amount, day=day, what=what, status=status
        )

    def add(kind: str, body: dict[str, Any], when: datetime | None, uploads: Any = ()) -> Any:
        with transaction.atomic():
            return services.append_entry(
                case=case,
                author=author,
                kind=kind,
                body=body,
                occurred_at=when,
                uploads=list(uploads),
            ).entry

    first, second, third = "17012345678", "+86 171 2345 6789", "0086-10-6900-0123"
    add(
        "call",
        {
            "direction": "incoming",
            "number": first,
            "duration_s": 120,
            "caller_claims": "自称法务部",
            "summary": "通话两分钟，要求今天还清",
        },
        at(3, 10),
    )
    for day in range(4, 10):
        for hour in (7, 14):
            add(
                "call",
                {
                    "direction": "missed" if hour == 7 else "incoming",
                    "number": first,
                    "caller_claims": "自称法务部",
                    "summary": f"又打来 {day}日{hour}点",
                    "tags": ["night_time"] if hour == 7 else [],
                },
                at(day, hour, 5),
            )
    add(
        "call",
        {
            "direction": "incoming",
            "number": second,
            "duration_s": 30,
            "caller_claims": "自称律师 李经理",
            "summary": "说要上门，🔪 等着",
            "tags": ["threat", "impersonation"],
        },
        at(5, 23, 40),
    )
    add(
        "message",
        {
            "channel": "sms",
            "sender": third,
            "text": "王𠮷你再不还钱就🔪了你，全家都知道",
            "tags": ["threat", "contact_list_blast"],
        },
        at(6, 22, 15),
    )
    font = demo.cjk_font_path()
    shot = demo.sms_screenshot(
        font_path=font,
        sender="10690000123",
        messages=[("2026-01-07 21:30", "最后通知：明天上午不还款将起诉你并联系你单位领导")],
    )
    add(
        "message",
        {"channel": "sms", "sender": "10690000123", "text": "", "tags": ["fake_legal_document"]},
        at(7, 21, 30),
        [services.Upload("Screenshot_20260107.png", io.BytesIO(shot))],
    )
    add(
        "message",
        {
            "channel": "sms",
            "sender": "me",
            "text": "请停止联系我，我会通过正规渠道处理。",
            "tags": ["asked_to_stop"],
        },
        at(10, 9),
    )
    for day in (11, 12):
        add(
            "call",
            {
                "direction": "incoming",
                "number": second,
                "duration_s": 0,
                "caller_claims": "自称律师",
                "summary": "停止请求之后又打来",
            },
            at(day, 22, 30),
        )
    for index in range(extra_calls):
        add(
            "call",
            {"direction": "missed", "number": "13300001111", "summary": f"第{index + 1}次来电"},
            at(16 + index // 12, 8 + index % 12),
        )
    link, _raw = services.create_contact_link(case=case, user=user)
    shot2 = demo.sms_screenshot(
        font_path=font,
        sender=first,
        messages=[("2026-01-12 11:00", "你是王𠮷的同事吧，告诉他赶紧还钱")],
    )
    services.submit_contact_report(
        link=link,
        body={
            "contact_name": "䶮阿姨",
            "relation": "同事",
            "summary": "催收员打到我公司，说王𠮷欠钱不还",
        },
        occurred_at=at(12, 11),
        uploads=[services.Upload("contact.png", io.BytesIO(shot2))],
    )
    device, secret = devices.create_device(case=case, user=user, name="王的安卓")
    devices.ingest_device_post(
        public_id=device.public_id,
        fields={
            "from": "10690000999",
            "text": "【速借花】您已逾期，今晚上门 🔪",
            "time": "2026-01-13T21:45:00+08:00",
        },
        raw=b'{"from":"10690000999"}',
        json_body=True,
        offered_secret=secret,
    )
    add("note", {"text": "一位催收员用阿拉伯语和希伯来语发消息：مرحبا بك ؛ שלום לך"}, at(14, 10))
    wrong = add(
        "call", {"direction": "incoming", "number": first, "summary": "记错了时间"}, at(15, 3)
    )
    add(
        "correction",
        {
            "corrects_seq": wrong.seq,
            "reason": "时间记错了",
            "changes": {"occurred_at": "2026-01-15T02:30:00+08:00"},
        },
        None,
    )
    case.refresh_from_db()
    return case
