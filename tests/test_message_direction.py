"""A message's direction (docs/chain-format.md, "A message's direction"): a message the borrower
sent (their written request to stop, say) is their own words, no contact they suffered, so it
counts nowhere a contact counts: the case page's figures and running tally, the Reg F
findings, the conduct analysis's numbers and suggestions, the 12321 report's list. Messages
stored before the member existed carry none, verify as they are and read as received; the
owner corrects one on the correction form."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from django.urls import reverse
from django.utils import translation

from locker import services
from locker.core import conduct, kinds, regf, stats
from locker.dossier import cn_12321
from locker.dossier.build import gather
from locker.dossier.data import row_party
from locker.models import Entry
from locker.selectors.cases import full_summary
from locker.selectors.chain import verify_case
from locker.services import dossiers as dossier_services
from locker.services.entries import _link_entry

from .factories import add_entry, make_case
from .personas import Personas
from .test_stats import SHANGHAI, E, at
from .ui_helpers import client_for, csrf_post

COLLECTOR = "17012345678"
STOP = "请停止联系我，否则我会投诉"
THREATS_AND_STOP = "你们再威胁我，我就报警，律师函我也不怕"


def sms(direction: str | None, text: str, sender: str = COLLECTOR, **more: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"channel": "sms", "sender": sender, "text": text, **more}
    if direction is not None:
        body["direction"] = direction
    return body


# A collector's SMS at night, the borrower's reply at night (sent), their request to stop
# (sent, tagged), a message from before the member existed (no direction: received), and a
# collector's SMS after the request.
ENTRIES = [
    E(1, "message", sms("incoming", "还钱"), at("2026-03-02T23:00")),
    E(2, "message", sms("outgoing", THREATS_AND_STOP), at("2026-03-02T23:05")),
    E(3, "message", sms("outgoing", STOP, tags=["asked_to_stop"]), at("2026-03-03T09:00")),
    E(4, "message", sms(None, "不还就爆通讯录", sender="10690000"), at("2026-03-03T22:00")),
    E(5, "message", sms("incoming", "再不还钱就起诉你"), at("2026-03-04T10:00")),
]


# --- the member ------------------------------------------------------------------------------


def test_a_message_is_received_unless_it_says_it_was_sent() -> None:
    assert kinds.clean_body("message", {"channel": "sms"})["direction"] == "incoming"
    sent = kinds.clean_body("message", {"channel": "sms", "direction": "outgoing"})
    assert sent["direction"] == "outgoing"
    assert kinds.sent_by_borrower("message", sent)
    assert not kinds.sent_by_borrower("message", {"channel": "sms"})  # stored before: received
    assert kinds.sent_by_borrower("call", {"direction": "outgoing"})
    assert not kinds.sent_by_borrower("contact_report", {"direction": "outgoing"})


@pytest.mark.parametrize("bad", ["missed", "sent", "", None, 1])
def test_a_direction_a_message_cannot_have_is_refused_saying_which(bad: Any) -> None:
    with pytest.raises(kinds.BodyError) as refused:
        kinds.clean_body("message", {"channel": "sms", "direction": bad})
    said = str(refused.value)
    assert "body.direction" in said and "'incoming' or 'outgoing'" in said


@pytest.mark.django_db
def test_a_refused_direction_stores_nothing() -> None:
    case = make_case()
    before = Entry.objects.filter(case=case).count()
    with pytest.raises(services.InputError, match="body.direction"):
        add_entry(case, "message", sms("missed", "x"))
    assert Entry.objects.filter(case=case).count() == before


# --- the figures -----------------------------------------------------------------------------


def test_sent_messages_are_no_contacts_on_the_case_page() -> None:
    events = stats.effective_events(ENTRIES, SHANGHAI)
    assert [e.seq for e in stats.contact_events(events)] == [1, 4, 5]
    summary = stats.summarise(ENTRIES, SHANGHAI)
    assert (summary.calls, summary.messages, summary.night) == (0, 3, 2)  # 23:00 and 22:00
    assert sum(summary.hours) == 3
    assert [(d.day.day, d.messages) for d in summary.days] == [(2, 1), (3, 1), (4, 1)]
    # The tags of the borrower's own message still say what it was.
    assert summary.tags["asked_to_stop"] == 1
    # The running tally gives the same.
    tally = stats.Tally.build(events, ["Asia/Shanghai"])
    assert tally.summary("Asia/Shanghai") == stats.summarise(ENTRIES, SHANGHAI)


def test_a_correction_of_the_direction_moves_a_message_in_and_out_of_the_counts() -> None:
    fix = E(6, "correction", {"corrects_seq": 5, "reason": "我发的",
                              "changes": {"direction": "outgoing"}}, None)  # fmt: skip
    events = stats.effective_events([*ENTRIES, fix], SHANGHAI)
    assert [e.seq for e in stats.contact_events(events)] == [1, 4]
    back = E(7, "correction", {"corrects_seq": 2, "reason": "收到的",
                               "changes": {"direction": "incoming"}}, None)  # fmt: skip
    events = stats.effective_events([*ENTRIES, fix, back], SHANGHAI)
    assert [e.seq for e in stats.contact_events(events)] == [1, 2, 4]


def test_reg_f_takes_the_request_from_a_sent_message_and_counts_only_the_collectors() -> None:
    events = stats.effective_events(ENTRIES, SHANGHAI)
    found = regf.findings(events)
    assert found.cease is not None
    assert (found.cease.request, found.cease.written) == (3, True)
    assert found.cease.contacts_after == [4, 5]  # the borrower's messages are not after it
    assert [e.seq for e in regf.collector_contacts(events)] == [1, 4, 5]
    assert found.night == [1, 4]
    by_number = {n.number: n.messages for n in found.numbers}
    assert by_number == {COLLECTOR: [1, 5], "10690000": [4]}


def test_conduct_neither_counts_nor_searches_the_borrowers_own_words() -> None:
    analysis = conduct.analyse(stats.effective_events(ENTRIES, SHANGHAI))
    assert (analysis.contacts, analysis.messages, analysis.night) == (3, 3, [1, 4])
    numbers = {n.number: n for n in analysis.numbers}
    assert numbers[COLLECTOR].messages == [1, 5] and numbers[COLLECTOR].night == [1]
    suggested = {s.seq for s in analysis.suggestions}
    # Entry 2 holds threat words but is the borrower's; entry 5 (received) is searched.
    assert 2 not in suggested and 3 not in suggested
    assert any(s.seq == 5 and s.words for s in analysis.suggestions)
    # The same words received are suggested as a tag.
    received = [E(1, "message", sms("incoming", THREATS_AND_STOP), at("2026-03-02T12:00"))]
    assert conduct.analyse(stats.effective_events(received, SHANGHAI)).suggestions


# --- what is stored --------------------------------------------------------------------------


def _link_as_before(case: Any, body: dict[str, Any], occurred: str) -> Entry:
    """An entry linked exactly as the services linked a message before it had a direction:
    the cleaned body of that time, without the member (no file)."""
    entry, _receipt = _link_entry(
        case, f"user:{case.owner_id}", "message", body, datetime.fromisoformat(occurred), ()
    )
    return entry


@pytest.mark.django_db
def test_a_message_stored_before_the_member_verifies_reads_as_received_and_can_be_corrected() -> (
    None
):
    case = make_case()
    old = _link_as_before(
        case, {"channel": "sms", "sender": "me", "text": STOP, "tags": ["asked_to_stop"]},
        "2026-03-03T09:00:00+08:00",
    )  # fmt: skip
    assert "direction" not in Entry.objects.get(pk=old.pk).body
    assert verify_case(case).ok
    assert full_summary(case, SHANGHAI).messages == 1
    # The correction form shows it as received, and a correction says it was sent.
    owner = client_for(case.owner)
    url = reverse("correct_entry", args=[case.pk, old.seq])

    def as_shown(**edits: Any) -> dict[str, Any]:
        shown = dict(owner.get(url).context["form"].initial)
        shown["occurred_at"] = shown["occurred_at"].strftime("%Y-%m-%dT%H:%M")
        return {**shown, **edits}

    assert as_shown()["direction"] == "incoming"
    # Left as shown, the direction is no change (the entry lacks the member, and reads so).
    same = csrf_post(owner, url, as_shown(reason="只补充原因"))
    assert same.status_code == 302, same.content.decode()[:1500]
    first = Entry.objects.filter(case=case, kind="correction").get()
    assert first.body["changes"] == {}
    response = csrf_post(owner, url, as_shown(reason="这是我发的", direction="outgoing"))
    assert response.status_code == 302, response.content.decode()[:1500]
    correction = Entry.objects.filter(case=case, kind="correction").order_by("-seq").first()
    assert correction is not None and correction.body["changes"] == {"direction": "outgoing"}
    assert full_summary(case, SHANGHAI).messages == 0
    assert verify_case(case).ok
    # The correction's page names the member and value as a message's, not a call's.
    with translation.override("zh-hans"):
        shown = owner.get(
            reverse("entry_detail", args=[case.pk, correction.seq]), HTTP_ACCEPT_LANGUAGE="zh-hans"
        ).content.decode()
    assert "收到还是发出: 我发出的" in shown and "去电" not in shown


# --- the web form, the timeline, the API -----------------------------------------------------


@pytest.mark.django_db
def test_the_owner_says_on_the_form_that_they_sent_it_and_a_viewer_cannot(
    world: Personas,
) -> None:
    url = reverse("log_entry", args=[world.case.pk, "message"])
    page = world.web("owner").get(url, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "我收到的" in page.content.decode() and "我发出的" in page.content.decode()
    assert page.context["form"]["direction"].value() == "incoming"  # checked as shown
    fields = {"channel": "sms", "sender": COLLECTOR, "text": STOP, "tags": ["asked_to_stop"],
              "occurred_at": "2026-03-03T09:00"}  # fmt: skip
    sent = csrf_post(world.web("owner"), url, {**fields, "direction": "outgoing"})
    assert sent.status_code == 302, sent.content.decode()[:1500]
    # A post without the choice (a draft from a page cached before it existed): received.
    received = csrf_post(world.web("owner"), url, {**fields, "text": "还钱", "tags": []})
    assert received.status_code == 302, received.content.decode()[:1500]
    messages = Entry.objects.filter(case=world.case, kind="message").order_by("seq")
    assert [m.body["direction"] for m in messages] == ["outgoing", "incoming"]
    before = Entry.objects.filter(case=world.case).count()
    refused = csrf_post(world.web("viewer"), url, {**fields, "direction": "outgoing"})
    assert refused.status_code == 404
    assert Entry.objects.filter(case=world.case).count() == before
    # The timeline says which one the borrower sent.
    timeline = (
        world.web("owner")
        .get(reverse("timeline", args=[world.case.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans")
        .content.decode()
    )
    assert timeline.count('class="direction-sent">我发出的<') == 1


@pytest.mark.django_db
def test_the_api_takes_the_direction_and_refuses_a_wrong_one(world: Personas) -> None:
    path = f"/api/cases/{world.case.pk}/entries"
    entry = {"kind": "message", "body": sms("outgoing", STOP, tags=["asked_to_stop"])}
    made = world.api("owner").post_json(path, entry)
    assert made.status_code == 201, made.content
    stored = Entry.objects.get(case=world.case, seq=made.json()["seq"])
    assert stored.body["direction"] == "outgoing"
    before = Entry.objects.filter(case=world.case).count()
    wrong = world.api("owner").post_json(path, {"kind": "message", "body": sms("sent", "x")})
    assert wrong.status_code == 422 and "body.direction" in wrong.json()["detail"]
    assert world.api("viewer").post_json(path, entry).status_code in (403, 404)
    assert Entry.objects.filter(case=world.case).count() == before


# --- the dossiers ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_12321_list_has_only_what_was_received_and_the_timeline_marks_what_was_sent() -> None:
    case = make_case(borrower_name="王𠮷")
    for entry in ENTRIES:
        add_entry(case, "message", entry.body, occurred_at=entry.occurred_at)
    add_entry(case, "call", {"direction": "outgoing", "number": COLLECTOR, "summary": "我打的"})
    dossier = dossier_services.request_dossier(
        case=case, user=case.owner, template="cn_12321", language="en",
        verify_url="https://locker.example/verify",
    )  # fmt: skip
    with translation.override("en"):
        data = gather(dossier)
        listed = [row.body["text"] for row, _number, _kind in cn_12321._reported(data)]
        assert listed == ["还钱", "不还就爆通讯录", "再不还钱就起诉你"]
        assert data.conduct.contact_count == 3 and data.conduct.night_contacts == 2
        parties = {row.seq: row_party(row) for row in data.rows if row.kind == "message"}
    assert parties[3] == f"SMS {COLLECTOR} (I sent this)"  # entry 3: the request to stop
    assert parties[2] == f"SMS {COLLECTOR}"
