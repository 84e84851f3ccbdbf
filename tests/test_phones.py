"""Phone numbers as typed and as caller ID shows them, read by one function
(locker/core/phones.py normalise_phone), and the numbers already logged offered on the call
and message forms (issue 15 part 1)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from locker.core import identity, stats
from locker.core.phones import normalise_phone, numbers_in_text
from locker.models import Entry
from locker.selectors.entries import numbers_seen

from .factories import add_entry, make_case
from .ui_helpers import client_for, csrf_post


@pytest.mark.parametrize(
    ("typed", "e164", "display"),
    [
        ("13800138000", "+8613800138000", "13800138000"),
        # full-width digits and plus, an ideographic space, full-width dashes
        ("＋８６　１３８－００１３－８０００", "+8613800138000", "13800138000"),
        ("+86 138 0013 8000", "+8613800138000", "13800138000"),
        ("0086 138 0013 8000", "+8613800138000", "13800138000"),
        ("8613800138000", "+8613800138000", "13800138000"),
        ("138-0013-8000", "+8613800138000", "13800138000"),
        ("(138) 0013 8000", "+8613800138000", "13800138000"),
        # landlines with their area code, with and without the country code
        ("010 1234 5678", "+861012345678", "01012345678"),
        ("0755-1234567", "+867551234567", "07551234567"),
        ("+86 10 1234 5678", "+861012345678", "01012345678"),
        ("+86 755 1234 5678", "+8675512345678", "075512345678"),
        # short service codes and SMS sender codes stay as they are
        ("95588", None, "95588"),
        ("12321", None, "12321"),
        ("10086", None, "10086"),
        ("1069 0123 4567 8", None, "1069012345678"),
        ("106980095588", None, "106980095588"),
        ("+86 95588", None, "95588"),
        # masked numbers and labels have no E.164 form
        ("138****8000", None, "138****8000"),
        ("138 **** 8000", None, "138****8000"),
        ("未知号码", None, "未知号码"),
        ("", None, ""),
        # other countries keep their +
        ("+1 202-555-0100", "+12025550100", "+12025550100"),
        ("00852 9123 4567", "+85291234567", "+85291234567"),
    ],
)
def test_normalise_phone(typed: str, e164: str | None, display: str) -> None:
    phone = normalise_phone(typed)
    assert (phone.e164, phone.display, phone.typed) == (e164, display, typed.strip())


def test_the_other_readers_are_the_same_function() -> None:
    # stats counts one number typed three ways once; identity prints it as the channels do.
    assert {stats.normalise_number(n) for n in ("+86 138 0013 8000", "１３８００１３８０００")} == {
        "13800138000"
    }
    assert stats.normalise_number("未知号码") == ""
    assert identity.channel_number("＋８６ １３８ ００１３ ８０００") == "13800138000"
    assert identity.channel_number("1069 0123") == "10690123"
    assert identity.clean_phone("0086 10 1234 5678") == "01012345678"
    with pytest.raises(identity.DetailError):
        identity.clean_phone("95588")


def test_numbers_in_text() -> None:
    text = (
        "【某某贷】您尾号 138 0013 8000 的借款已逾期，请致电 010-1234-5678 或回复 95588。金额 3,000"
    )
    assert [p.display for p in numbers_in_text(text)] == ["13800138000", "01012345678", "95588"]


@pytest.mark.django_db
def test_numbers_already_logged_are_offered_most_recent_first() -> None:
    case = make_case()
    add_entry(case, "call", {"number": "+86 139 0000 1111"})
    add_entry(case, "message", {"channel": "sms", "sender": "95588", "text": "x"})
    add_entry(case, "call", {"number": "１３８ ００１３ ８０００"})
    add_entry(case, "call", {"number": "139-0000-1111"})  # the first number again
    add_entry(case, "message", {"channel": "wechat", "sender": "张经理", "text": "y"})
    assert numbers_seen(case) == ["13900001111", "13800138000", "95588"]
    for form in ("call", "message"):
        page = client_for(case.owner).get(reverse("log_entry", args=[case.pk, form]))
        html = page.content.decode()
        assert 'list="numbers-seen"' in html
        assert '<datalist id="numbers-seen"><option value="13900001111">' in html


@pytest.mark.django_db
def test_the_call_form_keeps_the_typed_number_and_adds_its_e164_form() -> None:
    case = make_case()
    client = client_for(case.owner)
    url = reverse("log_entry", args=[case.pk, "call"])
    response = csrf_post(
        client,
        url,
        {
            "direction": "incoming",
            "number": "＋８６ １３８－００１３－８０００",
            "occurred_at": "2026-01-05T10:00",
        },
    )
    assert response.status_code in (200, 302), response.content[:500]
    entry = Entry.objects.get(case=case, kind="call")
    assert entry.body["number"] == "+86 138-0013-8000"
    assert entry.body["number_e164"] == "+8613800138000"
    # A short code has no E.164 form: none is recorded.
    csrf_post(
        client, url, {"direction": "incoming", "number": "95588", "occurred_at": "2026-01-05T11:00"}
    )
    short = Entry.objects.filter(case=case, kind="call").order_by("-seq").first()
    assert short is not None and short.body["number"] == "95588"
    assert "number_e164" not in short.body


@pytest.mark.django_db
def test_a_malformed_e164_member_is_refused_and_old_entries_stay_valid() -> None:
    from locker.core import kinds

    assert "number_e164" not in kinds.clean_body("call", {"number": "13800138000"})
    with pytest.raises(kinds.BodyError):
        kinds.clean_body("call", {"number": "13800138000", "number_e164": "13800138000"})
    assert (
        kinds.clean_body("message", {"channel": "sms", "sender_e164": "+8613800138000"})[
            "sender_e164"
        ]
        == "+8613800138000"
    )


@pytest.mark.django_db
def test_the_api_fills_the_e164_forms_as_the_web_forms_do() -> None:
    """One place fills `number_e164` / `sender_e164` (services.append_entry): a call and a
    message posted to the API carry the same members the web forms record, a correction of
    the number takes the new form along, and a form that is not the number's is refused."""
    from locker import services

    from .personas import ApiClient

    case = make_case()
    api = ApiClient(services.issue_token(user=case.owner, name="test")[1])
    url = f"/api/cases/{case.pk}/entries"

    def post(kind: str, body: dict) -> Entry:
        answer = api.post_json(url, {"kind": kind, "body": body})
        assert answer.status_code == 201, answer.content
        return Entry.objects.get(case=case, seq=answer.json()["seq"])

    call = post("call", {"number": "＋８６ １３８－００１３－８０００"})
    assert call.body["number"] == "＋８６ １３８－００１３－８０００"  # kept as typed
    assert call.body["number_e164"] == "+8613800138000"
    web = client_for(case.owner)
    csrf_post(
        web,
        reverse("log_entry", args=[case.pk, "call"]),
        {
            "direction": "incoming",
            "number": "＋８６ １３８－００１３－８０００",
            "occurred_at": "2026-01-05T10:00",
        },
    )
    by_web = Entry.objects.filter(case=case, kind="call").order_by("-seq").first()
    assert by_web is not None and by_web.body["number_e164"] == call.body["number_e164"]

    message = post("message", {"channel": "sms", "sender": "0086 138 0013 8000", "text": "还钱"})
    assert message.body["sender_e164"] == "+8613800138000"
    assert "sender_e164" not in post("message", {"channel": "sms", "sender": "95588"}).body
    # Sent with the right form, it is taken as it is.
    same = post("call", {"number": "13800138000", "number_e164": "+8613800138000"})
    assert same.body["number_e164"] == "+8613800138000"

    # A correction of the number takes its new form along; to a short code, none (null).
    fixed = post(
        "correction",
        {
            "corrects_seq": call.seq,
            "reason": "wrong number",
            "changes": {"number": "010 1234 5678"},
        },
    )
    assert fixed.body["changes"] == {"number": "010 1234 5678", "number_e164": "+861012345678"}
    cleared = post(
        "correction",
        {"corrects_seq": call.seq, "reason": "short code", "changes": {"number": "95588"}},
    )
    assert cleared.body["changes"] == {"number": "95588", "number_e164": None}

    # A form that is not the number's is refused, and nothing is stored.
    before = Entry.objects.filter(case=case).count()
    for kind, body in (
        ("call", {"number": "13800138000", "number_e164": "+8613900139000"}),
        ("call", {"number": "95588", "number_e164": "+8695588000"}),
        ("message", {"channel": "sms", "sender_e164": "+8613800138000"}),
        (
            "correction",
            {
                "corrects_seq": message.seq,
                "reason": "x",
                "changes": {"sender": "13800138000", "sender_e164": "+12025550100"},
            },
        ),
    ):
        answer = api.post_json(url, {"kind": kind, "body": body})
        assert answer.status_code == 422, (kind, body, answer.content)
        assert "E.164" in answer.json()["detail"]
    assert Entry.objects.filter(case=case).count() == before
