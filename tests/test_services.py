from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.utils import timezone

from locker import services
from locker.core import chain
from locker.models import Entry, EvidenceFile

from .factories import add_entry, make_case

pytestmark = pytest.mark.django_db

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"
    b"\x90wS\xde\x00\x00\x00\x0cIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe\x92\xef"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)


def test_case_creation_opens_the_chain_with_its_facts() -> None:
    case = make_case(principal_minor=300000, received_minor=210000)
    first = case.entries.get()
    assert first.seq == 1 and first.prev == chain.GENESIS_PREV and first.kind == "case_update"
    assert first.body["changes"]["principal_minor"] == 300000


def test_append_links_entries_and_signs_a_receipt() -> None:
    case = make_case()
    result = services.append_entry(
        case=case, author="user:1", kind="call", body={"number": "95188", "tags": ["night_time"]}
    )
    assert result.entry.seq == 2
    assert result.entry.prev == case.entries.get(seq=1).hash
    assert result.receipt["checkpoint"]["head"] == result.entry.hash
    assert result.receipt["checkpoint"]["length"] == 2
    chain.verify_checkpoint(result.receipt)
    assert chain.entry_hash(result.entry.as_entry()) == result.entry.hash


@pytest.mark.parametrize(
    ("kind", "body", "message"),
    [
        ("call", {"duration_s": 1.5}, "floating-point"),
        ("call", {"unknown": 1}, "unknown member"),
        ("shout", {}, "unknown kind"),
        ("note", [], "JSON object"),
        ("message", {"channel": "pigeon"}, "channel"),
        ("call", {"tags": ["rude"]}, "tags"),
        ("case_update", {"changes": {}}, "cannot be added"),
        ("correction", {"corrects_seq": 99, "reason": "typo"}, "does not exist"),
    ],
)
def test_bad_bodies_are_refused_and_nothing_is_stored(kind, body, message) -> None:
    case = make_case()
    with pytest.raises(services.InputError, match=message):
        services.append_entry(case=case, author="user:1", kind=kind, body=body)
    assert case.entries.count() == 1


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("yesterday", "ISO 8601"),
        ("2026-11-01T10:00:00", "time zone"),
        ("1999-12-31T23:59:59Z", "before 2000"),
        (timedelta(minutes=11), "future"),
    ],
)
def test_bad_occurred_at_is_refused(value, message) -> None:
    if isinstance(value, timedelta):
        # From now when the test runs, not when it was collected: on a busy machine more than
        # the minute between the 11 and the allowed 10 minutes of clock skew passes in between.
        value = (timezone.now() + value).isoformat()
    case = make_case()
    with pytest.raises(services.InputError, match=message):
        add_entry(case, occurred_at=value)


def test_occurred_at_is_normalised_to_utc_microseconds() -> None:
    entry = add_entry(make_case(), occurred_at="2026-11-28T23:10:00+08:00")
    assert entry.as_entry()["occurred_at"] == "2026-11-28T15:10:00.000000Z"


def test_evidence_is_stored_once_per_case_by_hash() -> None:
    case = make_case()
    uploads = [services.Upload("a.png", io.BytesIO(PNG)), services.Upload("b.png", io.BytesIO(PNG))]
    entry = services.append_entry(
        case=case, author="user:1", kind="note", body={"text": "x"}, uploads=uploads
    ).entry
    assert [e["name"] for e in entry.evidence] == ["a.png", "b.png"]
    assert entry.evidence[0]["sha256"] == chain.sha256_hex(PNG)
    assert entry.evidence[0]["media_type"] == "image/png"
    assert EvidenceFile.objects.filter(case=case).count() == 1


def test_unknown_file_type_and_oversized_files_are_refused(settings) -> None:
    case = make_case()
    with pytest.raises(services.InputError, match="not accepted"):
        add_entry(case, uploads=[services.Upload("x.exe", io.BytesIO(b"MZ" + b"\0" * 100))])
    settings.LOCKER_MAX_UPLOAD_BYTES = 10
    with pytest.raises(services.InputError, match="larger than"):
        add_entry(case, uploads=[services.Upload("a.png", io.BytesIO(PNG))])
    assert case.entries.count() == 1


def test_entries_cannot_be_updated_or_deleted_through_the_orm() -> None:
    entry = add_entry(make_case())
    entry.body = {"text": "rewritten"}
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        entry.delete()
    with pytest.raises(PermissionError):
        Entry.objects.filter(pk=entry.pk).update(kind="note")
    with pytest.raises(PermissionError):
        Entry.objects.filter(pk=entry.pk).delete()


def test_correction_must_name_valid_members() -> None:
    case = make_case()
    call = add_entry(case, kind="call", body={"summary": "he shouted"})
    with pytest.raises(services.InputError, match="unknown members"):
        add_entry(
            case,
            kind="correction",
            body={"corrects_seq": call.seq, "reason": "typo", "changes": {"colour": "red"}},
        )
    fixed = add_entry(
        case,
        kind="correction",
        body={"corrects_seq": call.seq, "reason": "typo", "changes": {"summary": "he screamed"}},
    )
    assert fixed.body["changes"] == {"summary": "he screamed"}


def test_case_update_records_only_what_changed() -> None:
    case = make_case(lender="A")
    result = services.update_case_facts(
        case=case, author="user:1", changes={"lender": "B", "title": case.title}
    )
    assert result is not None
    assert result.entry.body == {"changes": {"lender": "B"}, "previous": {"lender": "A"}}
    assert services.update_case_facts(case=case, author="user:1", changes={"lender": "B"}) is None
