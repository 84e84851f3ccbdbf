"""An emptied field on the correction form: it removes the value where the entry's kind lets
the member go without one (a call's duration becomes null, a summary ""), and leaves it as it
was where the entry must keep one (a note's text, who was contacted, when it happened)."""

from __future__ import annotations

import re
from datetime import UTC
from typing import Any

import pytest
from django.urls import reverse

from locker import services
from locker.core import stats
from locker.models import Entry

from .factories import UserFactory, add_entry, make_case
from .ui_helpers import client_for, csrf_post

pytestmark = pytest.mark.django_db

CALL = {
    "direction": "incoming",
    "number": "95188",
    "duration_s": 330,
    "caller_claims": "法务部",
    "summary": "威胁要上门",
    "tags": ["threat"],
}


@pytest.fixture
def owner() -> Any:
    return UserFactory()


def correct(owner: Any, entry: Entry, fields: dict[str, Any], lang: str = "en") -> Any:
    """Post the correction form as a person would: every field as shown, then edited."""
    url = reverse("correct_entry", args=[entry.case_id, entry.seq])
    client = client_for(owner)
    page = client.get(url, HTTP_ACCEPT_LANGUAGE=lang)
    assert page.status_code == 200
    shown = page.context["form"].initial
    data: dict[str, Any] = {"reason": "记错了"}
    for name, value in shown.items():
        if name == "occurred_at":
            data[name] = value.strftime("%Y-%m-%dT%H:%M") if value else ""
        elif name != "duration_s":
            data[name] = value
    data.update(fields)
    return csrf_post(client, url, data, HTTP_ACCEPT_LANGUAGE=lang)


def latest(entry: Entry) -> Entry:
    return Entry.objects.filter(case_id=entry.case_id).order_by("-seq").first()


def test_clearing_a_calls_duration_records_null(owner) -> None:
    call = add_entry(make_case(owner), "call", CALL, occurred_at="2026-03-01T22:10:00+08:00")
    response = correct(owner, call, {"duration": ""})
    assert response.status_code == 302, response.content.decode()[:2000]
    correction = latest(call)
    assert correction.kind == "correction"
    assert correction.body["changes"] == {"duration_s": None}
    # Stats read the corrected call as one without a duration.
    (event,) = [e for e in stats.effective_events(call.case.entries.all(), UTC) if e.seq == 2]
    assert event.body["duration_s"] is None
    # The correction's page says the duration is gone, not "None".
    page = client_for(owner).get(
        reverse("entry_detail", args=[call.case_id, correction.seq]), HTTP_ACCEPT_LANGUAGE="en"
    )
    assert '<dt>Changes</dt><dd class="pre">Duration (seconds): —</dd>' in page.content.decode()


def test_clearing_text_records_empty_text_and_other_fields_stay_out(owner) -> None:
    call = add_entry(make_case(owner), "call", CALL)
    response = correct(owner, call, {"summary": "", "caller_claims": ""})
    assert response.status_code == 302
    assert latest(call).body["changes"] == {"summary": "", "caller_claims": ""}


def test_an_empty_field_that_was_already_empty_changes_nothing(owner) -> None:
    call = add_entry(make_case(owner), "call", {"number": "95188"})
    response = correct(owner, call, {"duration": "", "summary": "", "number": "95199"})
    assert response.status_code == 302
    assert latest(call).body["changes"] == {"number": "95199"}


def test_a_new_duration_is_still_recorded(owner) -> None:
    call = add_entry(make_case(owner), "call", CALL)
    assert correct(owner, call, {"duration": "3:20"}).status_code == 302
    assert latest(call).body["changes"] == {"duration_s": 200}


def test_a_bad_duration_is_a_form_error_and_nothing_is_added(owner) -> None:
    call = add_entry(make_case(owner), "call", CALL)
    response = correct(owner, call, {"duration": "long"})
    assert response.status_code == 200
    assert "Enter minutes, or minutes:seconds like 3:20." in response.content.decode()
    assert latest(call).seq == call.seq


@pytest.mark.parametrize(
    ("kind", "body", "field"),
    [
        ("note", {"text": "晚上十一点还在打"}, "text"),
        ("contact_report", {"contact_name": "妈妈", "channel": "call"}, "contact_name"),
        ("message", {"channel": "sms", "text": "还钱"}, "occurred_at"),
    ],
)
def test_emptying_what_an_entry_must_keep_leaves_it_unchanged(owner, kind, body, field) -> None:
    entry = add_entry(make_case(owner), kind, body, occurred_at="2026-03-01T22:10:00+08:00")
    response = correct(owner, entry, {field: ""})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert latest(entry).body["changes"] == {}


def test_the_form_says_what_an_empty_field_does(owner) -> None:
    case = make_case(owner)
    call = add_entry(case, "call", CALL)
    note = add_entry(case, "note", {"text": "记"})
    client = client_for(owner)

    def help_of(entry: Entry, field: str, lang: str) -> str:
        url = reverse("correct_entry", args=[case.pk, entry.seq])
        html = client.get(url, HTTP_ACCEPT_LANGUAGE=lang).content.decode()
        block = html.split(f'id="f-{field}"', 1)[1].split("</div>", 1)[0]
        match = re.search(r'<small class="help">([^<]*)</small>', block)
        return match.group(1) if match else ""

    assert help_of(call, "duration", "en") == "Leave empty to remove it."
    assert help_of(call, "summary", "en") == "Leave empty to remove it."
    assert help_of(call, "occurred_at", "en") == "Leave empty to keep it as it is."
    assert help_of(note, "text", "en") == "Leave empty to keep it as it is."
    assert help_of(call, "duration", "zh-hans") == "留空则删除此项。"
    assert help_of(note, "text", "zh-hans") == "留空则保持不变。"


def test_through_the_service_null_is_accepted_only_where_the_kind_allows_it(owner) -> None:
    case = make_case(owner)
    call = add_entry(case, "call", CALL)

    def correction(changes: dict[str, Any]) -> Entry:
        return services.append_entry(
            case=case,
            author=f"user:{owner.pk}",
            kind="correction",
            body={"corrects_seq": call.seq, "reason": "x", "changes": changes},
        ).entry

    assert correction({"duration_s": None}).body["changes"] == {"duration_s": None}
    with pytest.raises(services.InputError, match="number"):
        correction({"number": None})


def test_a_cleared_value_reads_as_a_dash_in_the_dossier_summary() -> None:
    from datetime import UTC, datetime

    from locker.dossier.data import Row, row_summary

    body = {"corrects_seq": 3, "reason": "记错了", "changes": {"duration_s": None}}
    row = Row(
        entry={"seq": 4, "kind": "correction", "body": body},
        hash="0" * 64,
        occurred=None,
        recorded=datetime(2026, 1, 1, tzinfo=UTC),
        exhibits=[],
    )
    # By its name, as the case page words it (issue 13), and a dash for the emptied value.
    assert row_summary(row) == "#3: 记错了 — Duration (seconds): —"
