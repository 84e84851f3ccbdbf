"""The daily receipt mail (issue 11, "Copies outside the server"): opt-in per person, to the
owner and the lawyers of active shares, only to confirmed addresses; one mail per recipient
with the anchored receipt of each case whose head is new to them, checked against a real
RFC 3161 service on loopback (tests/tsa_server.py); idle cases and second runs mail nothing;
a worker that dies between claiming and sending is made good once, not twice; the mail says
nothing of the records."""

from __future__ import annotations

import json
import re
import smtplib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from django.conf import settings as django_settings
from django.core import mail
from django.core.mail import EmailMessage
from django.core.management import call_command
from django.urls import reverse

from locker import services, tasks
from locker.core import anchors
from locker.infra import queue
from locker.models import AccessLog, Entry, MailedReceipt, Profile
from locker.selectors.chain import chain_head
from locker.services import anchors as anchor_services
from locker.services import mailed_receipts as mail_services

from .factories import UserFactory, add_entry, make_case, share_with
from .personas import CASE_FACTS, SCREENSHOT_MESSAGE, Personas
from .tsa import LoopbackTSA
from .ui_helpers import client_for, csrf_post

pytestmark = pytest.mark.django_db

CALL = {"number": "13800138000", "summary": "说要去找我父母", "tags": ["threat"]}
CONTACT = {"contact_name": "王阿姨", "relation": "邻居", "summary": "催收员打给了邻居"}
# A fixed morning (Asia/Shanghai 09:00), so that "the same day" and "the next day" are days.
MORNING = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def loopback_tsa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoopbackTSA]:
    tsa = LoopbackTSA(tmp_path_factory.mktemp("tsa"), name="Loopback TSA M").start()
    try:
        yield tsa
    finally:
        tsa.stop()


@pytest.fixture
def tsa_root(loopback_tsa: LoopbackTSA) -> frozenset[str]:
    """The SHA-256 fingerprint of the loopback TSA's root: what a recipient trusts."""
    root = x509.load_pem_x509_certificate(loopback_tsa.root_pem.read_bytes())
    return frozenset({root.fingerprint(hashes.SHA256()).hex()})


@pytest.fixture
def world(world: Personas, settings, loopback_tsa: LoopbackTSA) -> Personas:
    settings.LOCKER_TSA_URLS = [loopback_tsa.url]
    settings.LOCKER_PUBLIC_URL = "https://locker.example.org"
    world.everyone()
    add_entry(world.case, "call", CALL)
    add_entry(world.case, "contact_report", {**CONTACT, "channel": "call"})
    world.screenshot  # noqa: B018 - the SMS with its screenshot, appended
    anchor_services.anchor_pending_checkpoints()
    mail.outbox.clear()  # the share invitations
    return world


def opt_in(user: Any, *, titles: bool = False, language: str | None = None) -> None:
    services.set_preferences(
        user=user, mail_daily_receipt=True, mail_case_titles=titles, language=language
    )


def run() -> int:
    """One daily run, as the task does it: plan, then send what is due."""
    mail_services.plan_receipt_mails()
    return mail_services.send_due_receipt_mails().receipts


def recipients() -> list[str]:
    return sorted(address for message in mail.outbox for address in message.to)


def attached_receipts(message: EmailMessage) -> list[dict[str, Any]]:
    receipts = []
    for name, content, mimetype in message.attachments:
        assert mimetype == "application/json" and name.endswith(".json")
        receipts.append(json.loads(content))
    return receipts


def test_nothing_is_mailed_unless_asked(world: Personas) -> None:
    profile = Profile.objects.filter(user=world.owner).first()
    assert profile is None or not profile.mail_daily_receipt
    assert run() == 0
    assert mail.outbox == [] and not MailedReceipt.objects.exists()


def test_the_owner_gets_one_mail_whose_receipt_checks_out(world: Personas, tsa_root) -> None:
    opt_in(world.owner)
    assert run() == 1
    (message,) = mail.outbox
    assert message.to == [world.owner.email]
    (receipt,) = attached_receipts(message)
    check = anchors.check_anchored_receipt(receipt, trusted_roots=tsa_root)
    assert check.ok, check.problems
    assert "Loopback TSA M" in check.attested_by[0]
    length, head = chain_head(world.case)
    assert (check.length, check.head, receipt["checkpoint"]["case"]) == (
        length,
        head,
        str(world.case.pk),
    )
    name = message.attachments[0][0]
    assert name == f"receipt-{str(world.case.pk)[:8]}-{length}.json"
    # A TSA this recipient does not trust vouches for nothing.
    assert not anchors.check_anchored_receipt(receipt, trusted_roots={"0" * 64}).ok


def test_the_mail_says_nothing_of_the_records(world: Personas) -> None:
    opt_in(world.owner)
    run()
    (message,) = mail.outbox
    text = message.subject + "\n" + message.body
    secrets = [
        SCREENSHOT_MESSAGE["text"],
        CALL["number"],
        CALL["summary"],
        CONTACT["contact_name"],
        CONTACT["summary"],
        CASE_FACTS["title"],
        CASE_FACTS["lender"],
        CASE_FACTS["borrower_name"],
        world.owner.username,
    ]
    assert [s for s in secrets if s in text] == []
    # A neutral subject: neither the app's name nor what it is for.
    for word in ("证据", "Evidence", "催收", "debt", "harass"):
        assert word not in message.subject
    assert f"案件 {str(world.case.pk)[:8]}" in message.body
    assert "https://locker.example.org/verify" in message.body
    assert "https://locker.example.org/accounts/preferences/" in message.body
    assert "docs/chain-format.md" in message.body
    # The attachment holds the receipt only: no entry.
    for _, content, _ in message.attachments:
        assert [s for s in secrets if s.encode() in content] == []


def test_the_title_only_when_chosen_and_in_the_recipients_language(world: Personas) -> None:
    opt_in(world.owner, titles=True, language="en")
    run()
    (message,) = mail.outbox
    assert message.subject.startswith("Daily receipt, ")
    assert f"- {CASE_FACTS['title']}: " in message.body
    assert "Keep this mail" in message.body and "time-stamped" in message.body
    assert "Asia/Shanghai" in message.body


def test_chinese_by_default(world: Personas) -> None:
    opt_in(world.owner)
    run()
    (message,) = mail.outbox
    assert message.subject.startswith("每日回执，")
    assert "请保留这封邮件" in message.body and "Keep this mail" not in message.body


def test_active_lawyers_get_it_ended_pending_and_unconfirmed_do_not(world: Personas) -> None:
    pending = UserFactory(username="pending")
    share_with(world.case, pending, "viewer", accept=False)
    unconfirmed = UserFactory(username="unconfirmed", email="")
    share_with(world.case, unconfirmed, "reviewer")
    # Asked to use an address, never opened the link: the address is not theirs yet.
    services.request_email_confirmation(
        user=unconfirmed, email="unconfirmed@example.org", site_url="https://el.test"
    )
    not_asking = world.user("viewer")
    asking = [world.owner, world.user("reviewer"), world.user("revoked"), pending, unconfirmed]
    for user in asking:
        opt_in(user)
    mail.outbox.clear()
    assert run() == 2
    assert recipients() == sorted([world.owner.email, world.user("reviewer").email])
    assert not_asking.email not in recipients()
    # Each mail is that person's own: one recipient, not a copy to the others.
    assert all(len(message.to) == 1 and not message.cc for message in mail.outbox)


def test_a_share_ended_after_planning_is_not_mailed(world: Personas) -> None:
    opt_in(world.owner)
    opt_in(world.user("reviewer"))
    mail_services.plan_receipt_mails()
    services.end_share(share=world.share("reviewer"), by=world.owner)
    mail_services.send_due_receipt_mails()
    assert recipients() == [world.owner.email]
    row = MailedReceipt.objects.get(user=world.user("reviewer"))
    assert row.sent_at is None and row.dropped_at is not None


def test_idle_cases_and_second_runs_mail_nothing_new(world: Personas) -> None:
    opt_in(world.owner)
    with time_machine.travel(MORNING, tick=False):
        assert run() == 1
        assert run() == 0  # the same day, nothing new
        add_entry(world.case, "note", {"text": "下午又来了"})
        anchor_services.anchor_pending_checkpoints()
        assert run() == 0  # the same day: a new head waits for tomorrow
    with time_machine.travel(MORNING + timedelta(days=1), tick=False):
        assert run() == 1
        (_, second) = mail.outbox
        (receipt,) = attached_receipts(second)
        assert receipt["checkpoint"]["length"] == chain_head(world.case)[0]
    with time_machine.travel(MORNING + timedelta(days=2), tick=False):
        assert run() == 0  # idle since yesterday's
    assert len(mail.outbox) == 2


def test_a_head_not_anchored_yet_mails_the_newest_anchored_one(world: Personas) -> None:
    anchored_length = chain_head(world.case)[0]
    add_entry(world.case, "note", {"text": "还没有时间戳"})
    opt_in(world.owner)
    run()
    (message,) = mail.outbox
    (receipt,) = attached_receipts(message)
    assert receipt["checkpoint"]["length"] == anchored_length
    assert "anchor" in receipt


def test_nothing_anchored_nothing_mailed(settings) -> None:
    settings.LOCKER_TSA_URLS = []
    owner = UserFactory()
    make_case(owner)
    opt_in(owner)
    assert run() == 0 and mail.outbox == []


def test_one_mail_per_recipient_for_all_their_cases(world: Personas, tsa_root) -> None:
    second = make_case(world.owner, title="另一个")
    add_entry(second, "note", {"text": "第二个案件"})
    third = make_case(UserFactory(), title="别人的")
    share_with(third, world.user("reviewer"), "viewer")
    anchor_services.anchor_pending_checkpoints()
    opt_in(world.user("reviewer"))
    mail.outbox.clear()
    assert run() == 2
    (message,) = mail.outbox
    cases = {r["checkpoint"]["case"] for r in attached_receipts(message)}
    assert cases == {str(world.case.pk), str(third.pk)}
    assert all(
        anchors.check_anchored_receipt(r, trusted_roots=tsa_root).ok
        for r in attached_receipts(message)
    )


class WorkerDied(BaseException):
    """What a killed worker looks like from inside: nothing after it runs."""


def test_a_worker_that_dies_after_claiming_is_made_good_once(world: Personas, monkeypatch) -> None:
    opt_in(world.owner)
    with time_machine.travel(MORNING, tick=False):
        mail_services.plan_receipt_mails()

        def die(self: EmailMessage, fail_silently: bool = False) -> int:
            raise WorkerDied

        with monkeypatch.context() as patch:
            patch.setattr(EmailMessage, "send", die)
            with pytest.raises(WorkerDied):
                mail_services.send_due_receipt_mails()
        row = MailedReceipt.objects.get()
        assert row.sent_at is None and row.claimed_until is not None and row.attempts == 1
        # The redelivered task comes at once: the row is still leased, so nothing is sent
        # (the dead worker might only have been slow) and the task is told when to come back.
        result = mail_services.send_due_receipt_mails()
        assert (result.receipts, result.held_until) == (0, row.claimed_until)
        assert mail.outbox == []
    with time_machine.travel(MORNING + mail_services.LEASE + timedelta(seconds=1), tick=False):
        assert mail_services.send_due_receipt_mails().receipts == 1
        assert mail_services.send_due_receipt_mails().receipts == 0
        assert run() == 0
    assert len(mail.outbox) == 1
    row.refresh_from_db()
    assert row.sent_at is not None and row.attempts == 2


def test_a_mail_server_failure_is_retried_by_the_task(world: Personas, monkeypatch) -> None:
    opt_in(world.owner)
    original = EmailMessage.send
    calls: list[int] = []

    def refuse_once(self: EmailMessage, fail_silently: bool = False) -> int:
        calls.append(1)
        if len(calls) == 1:
            raise smtplib.SMTPServerDisconnected("the mail server went away")
        return original(self, fail_silently)

    monkeypatch.setattr(EmailMessage, "send", refuse_once)
    # Eagerly, Celery runs the retry at once instead of after the countdown.
    tasks.mail_daily_receipts.apply()
    assert len(calls) == 2 and len(mail.outbox) == 1
    row = MailedReceipt.objects.get()
    assert row.sent_at is not None and row.attempts == 2


def test_the_daily_run_is_on_beats_schedule(settings) -> None:
    from config.celery import app

    (entry,) = [
        e
        for e in django_settings.CELERY_BEAT_SCHEDULE.values()
        if e["task"] == queue.MAIL_DAILY_RECEIPTS
    ]
    assert entry["schedule"].hour == {django_settings.LOCKER_RECEIPT_MAIL_HOUR}
    assert entry["schedule"].minute == {0}
    assert queue.MAIL_DAILY_RECEIPTS in app.tasks


def test_the_command_runs_one_round(world: Personas, capsys) -> None:
    opt_in(world.owner)
    call_command("mail_receipts")
    assert "1 sent in 1 mail(s)" in capsys.readouterr().out
    call_command("mail_receipts")
    assert "0 sent" in capsys.readouterr().out
    assert len(mail.outbox) == 1


def test_the_setting_is_off_by_default_and_saved_from_the_page(world: Personas) -> None:
    client = client_for(world.owner)
    page = client.get(reverse("preferences"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    [box] = re.findall(r'<input[^>]*name="mail_daily_receipt"[^>]*>', page)
    assert "checked" not in box
    response = csrf_post(
        client,
        reverse("preferences"),
        {"time_zone": "Asia/Shanghai", "language": "", "mail_daily_receipt": "on"},
    )
    assert response.status_code == 302
    profile = Profile.objects.get(user=world.owner)
    assert profile.mail_daily_receipt and not profile.mail_case_titles
    page = client.get(reverse("preferences"), HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert "每天把我的案件回执发到我的邮箱" in page
    csrf_post(client, reverse("preferences"), {"time_zone": "Asia/Shanghai", "language": ""})
    assert not Profile.objects.get(user=world.owner).mail_daily_receipt


def test_the_owner_sees_who_was_mailed_a_lawyer_only_their_own(world: Personas) -> None:
    services.upsert_profile(user=world.user("reviewer"), name="张律师", organisation="某律所")
    opt_in(world.owner)
    opt_in(world.user("reviewer"))
    before = AccessLog.objects.count()
    run()
    # Mailing is the server's doing, not a look at the case by anyone.
    assert AccessLog.objects.count() == before
    url = reverse("kept_receipts", args=[world.case.pk])
    length = Entry.objects.filter(case=world.case).count()
    owner_page = world.web("owner").get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    mailed = owner_page[owner_page.index('id="mailed-title"') :]
    assert "to you" in mailed and "to 张律师 (某律所)" in mailed
    assert f"{length} entries" in mailed
    lawyer_page = world.web("reviewer").get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    mailed = lawyer_page[lawyer_page.index('id="mailed-title"') :]
    assert "to you" in mailed and "to " + world.owner.username not in mailed
    assert mailed.count("<li>") == 1
    viewer_page = world.web("viewer").get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="mailed-title"' not in viewer_page


def test_a_receipt_dropped_before_it_went_out_is_planned_again(world: Personas) -> None:
    opt_in(world.owner)
    with time_machine.travel(MORNING, tick=False):
        mail_services.plan_receipt_mails()
        services.set_preferences(user=world.owner, mail_daily_receipt=False)
        assert mail_services.send_due_receipt_mails().receipts == 0
        assert MailedReceipt.objects.get().dropped_at is not None
    with time_machine.travel(MORNING + timedelta(days=1), tick=False):
        opt_in(world.owner)
        assert run() == 1
    assert recipients() == [world.owner.email]
    assert MailedReceipt.objects.get().sent_at is not None
