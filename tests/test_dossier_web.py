"""Dossier API and pages, for the owner, a stranger and an anonymous visitor; and the public
/verify page and POST /api/verify."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from locker import services
from locker.dossier.build import build_dossier
from locker.exports.bundle import write_bundle
from locker.models import Case, Dossier
from locker.services import dossiers as ds

from .dossier_helpers import make_dossier, small_case
from .factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clear_throttle() -> None:
    cache.clear()


@pytest.fixture
def case() -> Case:
    return small_case()


@pytest.fixture
def stranger() -> Any:
    return UserFactory()


def bearer(user: Any) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {services.issue_token(user=user)[1]}"}


def browser(user: Any | None) -> Client:
    client = Client()
    if user is not None:
        assert client.login(username=user.username, password=PASSWORD)
    return client


def render_now(dossier_id: Any) -> Dossier:
    claim = ds.claim_dossier(dossier_id=dossier_id)
    assert claim is not None
    build_dossier(claim)
    return Dossier.objects.get(pk=dossier_id)


# API ---------------------------------------------------------------------------------------


def test_api_request_progress_and_download(case: Case) -> None:
    client, auth = Client(), bearer(case.owner)
    response = client.post(
        f"/api/cases/{case.id}/dossiers",
        json.dumps({"template": "us_cfpb", "language": "en", "from": "2026-01-01"}),
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "queued"
    dossier = Dossier.objects.get(pk=body["id"])
    assert dossier.date_from.isoformat() == "2026-01-01"
    assert dossier.verify_url == "http://testserver/verify"

    status = client.get(f"/api/dossiers/{dossier.id}", **auth).json()
    assert (status["status"], status["progress"], status["error"]) == ("queued", 0, None)
    assert client.get(f"/api/dossiers/{dossier.id}/pdf", **auth).status_code == 409

    render_now(dossier.id)
    status = client.get(f"/api/dossiers/{dossier.id}", **auth).json()
    assert (status["status"], status["progress"]) == ("ready", 100)
    pdf = client.get(f"/api/dossiers/{dossier.id}/pdf", **auth)
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    content = b"".join(pdf.streaming_content)
    assert content.startswith(b"%PDF-") and pdf["Cache-Control"] == "no-store"
    listed = client.get(f"/api/cases/{case.id}/dossiers", **auth).json()
    assert [d["id"] for d in listed] == [str(dossier.id)]


def test_api_refuses_bad_requests(case: Case) -> None:
    response = Client().post(
        f"/api/cases/{case.id}/dossiers",
        json.dumps({"template": "gossip", "language": "en"}),
        content_type="application/json",
        **bearer(case.owner),
    )
    assert response.status_code == 422 and "template" in response.json()["detail"]
    assert not Dossier.objects.exists()


def test_api_strangers_get_404_and_anonymous_401(case: Case, stranger: Any) -> None:
    dossier = ds.request_dossier(case=case, user=case.owner, template="court", language="en")
    client = Client()
    payload = json.dumps({"template": "court", "language": "en"})
    for auth, expected in ((bearer(stranger), 404), ({}, 401)):
        assert (
            client.post(
                f"/api/cases/{case.id}/dossiers", payload, content_type="application/json", **auth
            ).status_code
            == expected
        )
        assert client.get(f"/api/dossiers/{dossier.id}", **auth).status_code == expected
        assert client.get(f"/api/dossiers/{dossier.id}/pdf", **auth).status_code == expected
        assert client.get(f"/api/cases/{case.id}/dossiers", **auth).status_code == expected
    assert Dossier.objects.count() == 1


def test_api_verify_needs_no_account(case: Case) -> None:
    _dossier, data = make_dossier(case, "court", "en")
    client = Client()
    ok = client.post("/api/verify", {"file": io.BytesIO(data)}).json()
    assert ok["ok"] and ok["kind"] == "dossier" and ok["head_known"]
    assert ok["length"] == case.entries.count()
    tampered = bytearray(data)
    tampered[len(data) // 3] ^= 0xFF
    bad = client.post("/api/verify", {"file": io.BytesIO(bytes(tampered))}).json()
    assert not bad["ok"] and bad["problem"]
    bundle = io.BytesIO()
    receipt = services.issue_checkpoint(case=case, length=2, head=case.entries.get(seq=2).hash)
    write_bundle(case, bundle)
    bundle.seek(0)
    zipped = client.post(
        "/api/verify",
        {"file": bundle, "receipt": io.BytesIO(json.dumps(receipt).encode())},
    ).json()
    assert zipped["ok"] and zipped["kind"] == "bundle" and zipped["receipt_checked"]
    nonsense = client.post("/api/verify", {"file": io.BytesIO(b"hello")}).json()
    assert not nonsense["ok"] and nonsense["kind"] == "unknown"


# Pages -------------------------------------------------------------------------------------


def test_export_page_for_owner_stranger_and_anonymous(case: Case, stranger: Any) -> None:
    url = f"/cases/{case.id}/dossiers/"
    page = browser(case.owner).get(url)
    assert page.status_code == 200
    assert "导出签名卷宗" in page.content.decode()
    assert browser(stranger).get(url).status_code == 404
    anonymous = browser(None).get(url)
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    assert browser(stranger).post(url, {"template": "court", "language": "en"}).status_code == 404
    assert browser(None).post(url, {"template": "court", "language": "en"}).status_code == 302
    assert not Dossier.objects.exists()


def test_owner_exports_watches_progress_and_downloads(case: Case, stranger: Any) -> None:
    client = browser(case.owner)
    response = client.post(
        f"/cases/{case.id}/dossiers/",
        {"template": "cn_12321", "language": "en", "kinds": ["call", "message"]},
    )
    dossier = Dossier.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/cases/{case.id}/dossiers/{dossier.id}/"
    assert dossier.kinds == ["call", "message"] and dossier.language == "en"
    detail = client.get(response["Location"])
    assert detail.status_code == 200 and b'<progress max="100" value="0"' in detail.content
    status_url = f"/cases/{case.id}/dossiers/{dossier.id}/status"
    assert client.get(status_url).json()["status"] == "queued"
    pdf_url = f"/cases/{case.id}/dossiers/{dossier.id}/pdf"
    assert client.get(pdf_url).status_code == 302  # not ready: back to the progress page
    render_now(dossier.id)
    assert client.get(status_url).json()["progress"] == 100
    download = client.get(pdf_url)
    assert download.status_code == 200
    assert b"".join(download.streaming_content).startswith(b"%PDF-")
    listing = client.get(f"/cases/{case.id}/dossiers/").content.decode()
    assert pdf_url in listing
    for other in (browser(stranger), browser(None)):
        for url in (response["Location"], status_url, pdf_url):
            assert other.get(url).status_code in (302, 404)
            assert other.get(url).status_code != 200


def test_export_form_errors_are_shown(case: Case) -> None:
    response = browser(case.owner).post(
        f"/cases/{case.id}/dossiers/",
        {"template": "court", "language": "en", "date_from": "2026-03-01", "date_to": "2026-01-01"},
    )
    assert response.status_code == 400
    assert not Dossier.objects.exists()


@pytest.mark.parametrize("user", ["owner", "stranger", "anonymous"])
def test_verify_page_is_public(case: Case, stranger: Any, user: str) -> None:
    _dossier, data = make_dossier(case, "cn_regulator", "zh-hans")
    client = browser({"owner": case.owner, "stranger": stranger, "anonymous": None}[user])
    assert client.get("/verify").status_code == 200
    good = client.post("/verify", {"file": io.BytesIO(data)}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "核验通过" in good.content.decode()
    bad = bytearray(data)
    bad[len(data) // 2] ^= 0xFF
    response = Client(HTTP_ACCEPT_LANGUAGE="en").post("/verify", {"file": io.BytesIO(bytes(bad))})
    assert "Not verified." in response.content.decode()


def test_verify_rate_per_address_and_for_the_whole_instance(settings) -> None:
    from locker.infra import ratelimit

    assert ratelimit.parse_rate("20/m") == (20, 60) and ratelimit.parse_rate("5/hour") == (5, 3600)
    settings.LOCKER_VERIFY_RATE = "2/m"
    settings.LOCKER_VERIFY_INSTANCE_PER_MINUTE = 4

    def page_from(address: str) -> int:
        upload = {"file": io.BytesIO(b"hello")}
        return Client().post("/verify", upload, REMOTE_ADDR=address).status_code

    def api_from(address: str) -> int:
        upload = {"file": io.BytesIO(b"hello")}
        return Client().post("/api/verify", upload, REMOTE_ADDR=address).status_code

    # One address: its own limit (the page reads LOCKER_VERIFY_RATE as the API does).
    assert [page_from("203.0.113.1") for _ in range(3)] == [200, 200, 429]
    # Other addresses share what is left of the instance's minute, page and API together.
    assert page_from("203.0.113.2") == 200
    assert api_from("203.0.113.3") == 200
    assert page_from("203.0.113.4") == 429
    refused = Client().post(
        "/api/verify", {"file": io.BytesIO(b"hello")}, REMOTE_ADDR="203.0.113.5"
    )
    assert refused.status_code == 429 and "try again in a minute" in refused.json()["detail"]


@pytest.mark.parametrize(
    ("persona", "owners_tabs"), [("owner", True), ("reviewer", False), ("viewer", False)]
)
def test_the_dossier_pages_show_each_person_their_own_tabs(world, persona, owners_tabs) -> None:
    # The pages once read the role from an attribute the case there never had, so the owner
    # was shown the lawyer's Review tab and not their own Log and Contacts tabs.
    world.everyone()
    dossier = ds.request_dossier(
        case=world.case, user=world.user("owner"), template="court", language="en"
    )
    case_id = world.case.pk
    log_tab = f'href="{reverse("quick_log", args=[case_id])}"'
    review_tab = f'href="{reverse("review", args=[case_id])}"'
    for url in (
        reverse("dossier_export", args=[case_id]),
        reverse("dossier_detail", args=[case_id, dossier.pk]),
    ):
        page = world.web(persona).get(url).content.decode()
        assert (log_tab in page) is owners_tabs, url
        assert (review_tab in page) is not owners_tabs, url
