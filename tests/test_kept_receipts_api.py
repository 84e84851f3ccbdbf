"""Receipts the client kept, through the JSON API: every persona on both routes, idempotent
uploads, refusals with 422 (or 413, or 415) that store nothing, and the status as the chain
changes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from locker.models import AccessLog, Entry, KeptReceipt

from .personas import WITHOUT_CONTACT, Personas, api_as
from .tamper import delete_entry
from .test_kept_receipts import as_bytes, bad_uploads, keep, receipt_of, with_a_call_and_a_note

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(world: Personas) -> Personas:
    return with_a_call_and_a_note(world)


def api_url(world: Personas) -> str:
    return f"/api/cases/{world.case.pk}/receipts"


def api_expect(owner: int, lawyer: int) -> dict[str, int]:
    return {
        "owner": owner,
        "viewer": lawyer,
        "reviewer": lawyer,
        "revoked": 404,
        "stranger": 404,
        "anonymous": 401,
    }


@pytest.mark.parametrize("persona", WITHOUT_CONTACT)
def test_api_list_answers_each_persona(world: Personas, persona: str) -> None:
    keep(world, 2)
    response = api_as(world.user(persona)).get(api_url(world))
    assert response.status_code == api_expect(200, 200)[persona]
    if response.status_code == 200:
        (item,) = response.json()
        kept = KeptReceipt.objects.get()
        assert item == {
            "id": kept.pk,
            "length": 2,
            "head": kept.head,
            "signed_at": receipt_of(world.case, 2)["checkpoint"]["signed_at"],
            "uploaded_at": item["uploaded_at"],
            "signer_fingerprint": kept.signer_fingerprint,
            "signer_trusted": True,
            "signer": {"fingerprint_sha256": kept.signer_fingerprint, "status": "current"},
            "status": "holds",
            # A receipt without an anchor has no third-party time (test_kept_receipts_anchored).
            "attested_at": None,
            "attested_by": [],
        }
        assert datetime.fromisoformat(item["uploaded_at"]) <= datetime.now(UTC)


@pytest.mark.parametrize("persona", WITHOUT_CONTACT)
def test_api_upload_answers_each_persona(world: Personas, persona: str) -> None:
    data = as_bytes(receipt_of(world.case, 2))
    response = api_as(world.user(persona)).post_json(api_url(world), None, raw=data)
    assert response.status_code == api_expect(201, 404)[persona]
    assert KeptReceipt.objects.count() == (1 if persona == "owner" else 0)


def test_api_upload_is_idempotent_and_reports_the_status(world: Personas) -> None:
    owner = api_as(world.user("owner"))
    data = as_bytes(receipt_of(world.case, 3))
    created = owner.post_json(api_url(world), None, raw=data)
    again = owner.post_json(api_url(world), None, raw=data)
    assert (created.status_code, again.status_code) == (201, 200)
    assert created.json() == again.json()
    assert created.json()["status"] == "holds" and created.json()["length"] == 3
    delete_entry(Entry.objects.get(case=world.case, seq=3).pk)
    assert owner.post_json(api_url(world), None, raw=data).json()["status"] == "removed"
    (item,) = owner.get(api_url(world)).json()
    assert item["status"] == "removed"


def test_api_refuses_bad_receipts_with_422_and_stores_nothing(world: Personas) -> None:
    owner = api_as(world.user("owner"))
    for name, (data, message) in bad_uploads(world).items():
        if not data:
            continue  # the test client sends no Content-Type with an empty body: that is a 415
        response = owner.post_json(api_url(world), None, raw=data)
        expected = 413 if name == "too large" else 422
        assert response.status_code == expected, name
        assert message in response.json()["detail"], name
    assert not KeptReceipt.objects.exists()


def test_api_refusal_in_chinese_when_asked(world: Personas) -> None:
    owner = api_as(world.user("owner"))
    data, _message = bad_uploads(world)["another case"]
    response = owner.client.post(
        api_url(world),
        data,
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="zh-CN",
        **owner.headers,
    )
    assert response.status_code == 422
    assert response.json()["detail"] == "这张回执属于另一个案件"


def test_api_upload_needs_json(world: Personas) -> None:
    owner = api_as(world.user("owner"))
    response = owner.client.post(
        api_url(world),
        as_bytes(receipt_of(world.case, 2)),
        content_type="text/plain",
        **owner.headers,
    )
    assert response.status_code == 415
    assert not KeptReceipt.objects.exists()


def test_a_lawyers_api_listing_is_logged(world: Personas) -> None:
    api_as(world.user("reviewer")).get(api_url(world))
    (row,) = AccessLog.objects.filter(user=world.user("reviewer"))
    assert (row.action, row.via) == ("view", "api")
