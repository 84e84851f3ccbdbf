from __future__ import annotations

import io
import json
import uuid

import pytest
from django.test import Client

from locker import services
from locker.core import chain
from locker.models import ApiToken, Case, Entry

from .factories import PASSWORD, UserFactory, make_case
from .personas import ApiClient
from .test_services import PNG

pytestmark = pytest.mark.django_db


def client_for(user) -> ApiClient:
    return ApiClient(services.issue_token(user=user, name="test")[1])


@pytest.fixture
def owner():
    return UserFactory()


@pytest.fixture
def case(owner) -> Case:
    return make_case(owner)


@pytest.fixture
def as_owner(owner) -> ApiClient:
    return client_for(owner)


@pytest.fixture
def as_stranger() -> ApiClient:
    return client_for(UserFactory())


@pytest.fixture
def anonymous() -> ApiClient:
    return ApiClient(None)


# Tokens ------------------------------------------------------------------------------------


def test_token_exchange_and_use(owner) -> None:
    response = Client().post(
        "/api/tokens",
        {"username": owner.username, "password": PASSWORD},
        content_type="application/json",
    )
    assert response.status_code == 201
    raw = response.json()["token"]
    assert len(raw) >= 32
    stored = ApiToken.objects.get(user=owner)
    assert raw not in (stored.token_hash, stored.prefix)
    assert ApiClient(raw).get("/api/cases").status_code == 200


def test_wrong_password_gives_401_and_no_token(owner) -> None:
    response = Client().post(
        "/api/tokens",
        {"username": owner.username, "password": "nope"},
        content_type="application/json",
    )
    assert response.status_code == 401
    assert not ApiToken.objects.exists()


def test_login_attempts_are_rate_limited(owner, settings) -> None:
    for _ in range(20):
        Client().post(
            "/api/tokens",
            {"username": owner.username, "password": "x"},
            content_type="application/json",
        )
    response = Client().post(
        "/api/tokens",
        {"username": owner.username, "password": PASSWORD},
        content_type="application/json",
    )
    assert response.status_code == 429


def test_tokens_are_listed_and_revocable_by_their_owner_only(owner, as_stranger) -> None:
    token, raw = services.issue_token(user=owner, name="phone")
    mine = ApiClient(raw)
    listed = mine.get("/api/tokens").json()
    assert [t["name"] for t in listed] == ["phone"]
    assert "token_hash" not in listed[0]
    assert as_stranger.delete(f"/api/tokens/{token.pk}").status_code == 404
    assert mine.delete(f"/api/tokens/{token.pk}").status_code == 204
    assert mine.get("/api/cases").status_code == 401


@pytest.mark.parametrize("header", [None, "Bearer nope", "Basic abc", "Bearer "])
def test_missing_or_bad_token_is_401(case, header) -> None:
    headers = {"HTTP_AUTHORIZATION": header} if header else {}
    for path in (
        "/api/cases",
        f"/api/cases/{case.id}",
        f"/api/cases/{case.id}/entries",
        f"/api/cases/{case.id}/verify",
        f"/api/cases/{case.id}/export",
        "/api/tokens",
    ):
        assert Client().get(path, **headers).status_code == 401, path


# Cases -------------------------------------------------------------------------------------


def test_create_list_get_case(as_owner, as_stranger) -> None:
    response = as_owner.post_json(
        "/api/cases",
        {
            "title": "闪电借款 催收",
            "lender": "闪电借款",
            "principal_minor": 500000,
            "received_minor": 350000,
            "loan_due": "2026-10-01",
        },
    )
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["length"] == 1 and created["principal_minor"] == 500000
    assert [c["id"] for c in as_owner.get("/api/cases").json()] == [created["id"]]
    assert as_owner.get(f"/api/cases/{created['id']}").json()["lender"] == "闪电借款"
    assert as_stranger.get("/api/cases").json() == []


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"title": ""},
        {"title": "x", "principal_minor": 1.5},
        {"title": "x", "currency": "yuan"},
        {"title": "x", "loan_due": "tomorrow"},
        {"title": "a\u0000b"},
    ],
)
def test_bad_case_input_is_4xx_and_creates_nothing(as_owner, payload) -> None:
    response = as_owner.post_json("/api/cases", payload)
    assert 400 <= response.status_code < 500
    assert "detail" in response.json()
    assert not Case.objects.exists()


def test_patch_case_records_a_case_update(as_owner, as_stranger, case) -> None:
    response = as_owner.patch_json(f"/api/cases/{case.id}", {"demanded_minor": 900000})
    assert response.status_code == 200
    assert response.json()["length"] == 2
    assert case.entries.get(seq=2).body["changes"] == {"demanded_minor": 900000}
    assert as_stranger.patch_json(f"/api/cases/{case.id}", {"title": "x"}).status_code == 404


def test_someone_elses_case_is_404_on_every_route(as_stranger, case) -> None:
    base = f"/api/cases/{case.id}"
    for path in (base, f"{base}/entries", f"{base}/verify", f"{base}/export"):
        assert as_stranger.get(path).status_code == 404, path
    response = as_stranger.post_json(f"{base}/entries", {"kind": "note", "body": {"text": "x"}})
    assert response.status_code == 404
    assert case.entries.count() == 1


@pytest.mark.parametrize("case_id", ["nope", str(uuid.uuid4())])
def test_unknown_case_is_404(as_owner, case_id) -> None:
    assert as_owner.get(f"/api/cases/{case_id}").status_code == 404


# Entries -----------------------------------------------------------------------------------


def test_append_json_entry_returns_link_and_receipt(as_owner, case) -> None:
    response = as_owner.post_json(
        f"/api/cases/{case.id}/entries",
        {
            "kind": "call",
            "occurred_at": "2026-11-28T23:40:00+08:00",
            "body": {
                "number": "+86 171 0000 1234",
                "duration_s": 95,
                "caller_claims": "自称公安局",
                "tags": ["impersonation", "night_time"],
            },
        },
    )
    assert response.status_code == 201, response.content
    data = response.json()
    entry = case.entries.get(seq=2)
    assert data["seq"] == 2 and data["hash"] == entry.hash
    assert data["prev"] == case.entries.get(seq=1).hash
    assert data["recorded_at"].endswith("Z") and len(data["recorded_at"]) == 27
    assert data["receipt"]["checkpoint"]["head"] == entry.hash
    chain.verify_checkpoint(data["receipt"])
    assert entry.author.startswith("token:")


def test_append_multipart_with_files(as_owner, case) -> None:
    response = as_owner.post_multipart(
        f"/api/cases/{case.id}/entries",
        {
            "entry": json.dumps({"kind": "message", "body": {"channel": "sms", "text": "还钱"}}),
            "files": [io.BytesIO(PNG), io.BytesIO(PNG[:-1] + b"\x83")],
        },
    )
    assert response.status_code == 201, response.content
    evidence = case.entries.get(seq=2).evidence
    assert len(evidence) == 2
    assert evidence[0]["sha256"] == chain.sha256_hex(PNG)


BAD_ENTRIES = [
    (None, b'{"kind": "note", "body": {"text": "x"}', 400, "not valid JSON"),
    (None, b'{"kind": "note", "body": {"text": "\xff"}}', 400, "UTF-8"),
    (None, b'{"kind": "note", "body": {"text": "\\ud800"}}', 422, "surrogate"),
    (None, b'{"kind": "call", "body": {"duration_s": NaN}}', 400, "NaN"),
    ({"kind": "call", "body": {"duration_s": 1.5}}, None, 422, "floating-point"),
    ({"kind": "call", "body": {"duration_s": 2**60}}, None, 422, "2^53"),
    ({"kind": "fax", "body": {}}, None, 422, "unknown kind"),
    ({"kind": "note", "body": {"text": "x", "mood": "bad"}}, None, 422, "unknown member"),
    ({"kind": "note", "body": "text"}, None, 422, "JSON object"),
    ({"kind": "note", "body": {"text": "x"}, "extra": 1}, None, 422, "unknown members"),
    ({"kind": "note", "body": {"text": "x"}, "occurred_at": "soon"}, None, 422, "ISO 8601"),
    (
        {"kind": "note", "body": {"text": "x"}, "occurred_at": "2099-01-01T00:00:00Z"},
        None,
        422,
        "future",
    ),
    (
        {"kind": "note", "body": {"text": "x"}, "occurred_at": "1999-01-01T00:00:00Z"},
        None,
        422,
        "2000",
    ),
    ([1, 2], None, 400, "JSON object"),
    ({"kind": "note", "body": {"text": "a\u0000b"}}, None, 422, "NUL"),
]


@pytest.mark.parametrize(("data", "raw", "status", "message"), BAD_ENTRIES)
def test_bad_entries_get_a_clear_4xx_and_nothing_is_stored(
    as_owner, case, data, raw, status, message
) -> None:
    response = as_owner.post_json(f"/api/cases/{case.id}/entries", data, raw=raw)
    assert response.status_code == status, response.content
    assert message in response.json()["detail"]
    assert case.entries.count() == 1


def test_file_over_the_limit_is_413_and_nothing_is_stored(as_owner, case, settings) -> None:
    settings.LOCKER_MAX_UPLOAD_BYTES = 20
    response = as_owner.post_multipart(
        f"/api/cases/{case.id}/entries",
        {"entry": json.dumps({"kind": "note", "body": {"text": "x"}}), "files": [io.BytesIO(PNG)]},
    )
    assert response.status_code == 413
    assert "larger than the limit" in response.json()["detail"]
    assert case.entries.count() == 1


def test_multipart_without_entry_field_is_400(as_owner, case) -> None:
    response = as_owner.post_multipart(
        f"/api/cases/{case.id}/entries", {"files": [io.BytesIO(PNG)]}
    )
    assert response.status_code == 400
    assert "entry" in response.json()["detail"]


def test_list_entries_paginates_line_objects(as_owner, case) -> None:
    for n in range(4):
        services.append_entry(case=case, author="user:1", kind="note", body={"text": f"n{n}"})
    page = as_owner.get(f"/api/cases/{case.id}/entries?limit=2&offset=2").json()
    assert page["count"] == 5
    assert [line["entry"]["seq"] for line in page["items"]] == [3, 4]
    for line in page["items"]:
        assert line["hash"] == chain.entry_hash(line["entry"])


def test_verify_reports_ok(as_owner, case) -> None:
    head = case.entries.get().hash
    assert as_owner.get(f"/api/cases/{case.id}/verify").json() == {
        "ok": True,
        "length": 1,
        "head": head,
    }


def test_openapi_document_and_docs_are_served() -> None:
    response = Client().get("/api/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in (
        "/api/tokens",
        "/api/cases",
        "/api/cases/{case_id}/entries",
        "/api/cases/{case_id}/verify",
        "/api/cases/{case_id}/export",
    ):
        assert path in paths
    assert Client().get("/api/docs").status_code == 200


def test_export_is_a_streamed_zip(as_owner, case) -> None:
    response = as_owner.get(f"/api/cases/{case.id}/export")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response.streaming
    assert b"".join(response.streaming_content)[:2] == b"PK"
    assert Entry.objects.filter(case=case).count() == 1
