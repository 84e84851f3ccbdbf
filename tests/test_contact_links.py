"""Contact statement links: hashed single-use tokens, swapped for a session, rate-limited,
never a window into the case."""

from __future__ import annotations

import hashlib
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from locker import services
from locker.models import ContactLink, Entry

from .conftest import is_postgres, needs
from .factories import UserFactory, make_case
from .ui_helpers import client_for, csrf_post

pytestmark = pytest.mark.django_db

STATEMENT = {
    "contact_name": "王阿姨",
    "relation": "邻居",
    "channel": "call",
    "occurred_at": "2026-01-05T22:30",
    "summary": "半夜打电话骂人，说要去她家门口贴告示。",
    "tags": ["third_party_contact", "threat"],
}


def _open(client: Client, raw: str):
    return client.get(reverse("statement_open", args=[raw]))


def test_token_is_long_random_and_stored_only_as_hash() -> None:
    case = make_case()
    link, raw = services.create_contact_link(case=case, user=case.owner)
    assert len(raw) >= 43  # 32 bytes of randomness, url-safe base64
    assert link.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in str(ContactLink.objects.filter(pk=link.pk).values().get())
    assert link.expires_at - timezone.now() > timedelta(days=6, hours=23)
    assert link.expires_at - timezone.now() <= timedelta(days=7)


def test_contact_files_a_statement_once_and_the_token_leaves_the_url() -> None:
    case = make_case()
    owner = client_for(case.owner)
    owner.get(reverse("links", args=[case.pk]))
    created = csrf_post(owner, reverse("links", args=[case.pk]), {"label": "阿姨", "days": "7"})
    page = owner.get(created["Location"]).content.decode()
    raw = page.split("/c/")[1].split("/")[0]
    assert "<svg" in page  # the QR code
    assert "/c/" not in owner.get(created["Location"]).content.decode()  # shown only once

    contact = Client(enforce_csrf_checks=True)
    first = _open(contact, raw)
    assert first.status_code == 302 and first["Location"] == reverse("statement")
    assert first["Referrer-Policy"] == "no-referrer"
    form = contact.get(reverse("statement"))
    html = form.content.decode()
    assert raw not in html
    for secret in (case.title, case.lender, str(case.pk), "阿姨"):
        assert secret not in html  # the link never shows the case (not even the label)
    assert "no-store" in form["Cache-Control"]
    done = csrf_post(contact, reverse("statement"), STATEMENT)
    assert done.status_code == 302 and done["Location"] == reverse("statement_done")

    entry = Entry.objects.filter(case=case).order_by("-seq").first()
    link = ContactLink.objects.get(case=case)
    assert entry.kind == "contact_report" and entry.author == f"contact-link:{link.pk}"
    assert entry.body["contact_name"] == "王阿姨" and entry.body["tags"] == STATEMENT["tags"]
    assert link.used_at is not None and link.entry_id == entry.pk
    # Afterwards the link works no more, in that browser or any other.
    assert contact.get(reverse("statement")).status_code == 410
    assert _open(Client(), raw).status_code == 410
    timeline = owner.get(reverse("timeline", args=[case.pk])).content.decode()
    assert "王阿姨" in timeline


def test_revoked_expired_and_unknown_links_do_not_open() -> None:
    case = make_case()
    revoked, raw_revoked = services.create_contact_link(case=case, user=case.owner)
    services.revoke_contact_link(link=revoked)
    _expired, raw_expired = services.create_contact_link(case=case, user=case.owner, days=0)
    for raw in (raw_revoked, raw_expired, "x" * 43):
        response = _open(Client(), raw)
        assert response.status_code == 410
        assert case.title not in response.content.decode()


def test_revoking_while_the_contact_has_the_form_open_refuses_the_submission() -> None:
    case = make_case()
    link, raw = services.create_contact_link(case=case, user=case.owner)
    contact = Client(enforce_csrf_checks=True)
    _open(contact, raw)
    contact.get(reverse("statement"))
    services.revoke_contact_link(link=link)
    response = csrf_post(contact, reverse("statement"), STATEMENT)
    assert response.status_code == 410
    assert not Entry.objects.filter(case=case, kind="contact_report").exists()


def test_a_bad_statement_keeps_the_link_usable() -> None:
    case = make_case()
    link, raw = services.create_contact_link(case=case, user=case.owner)
    contact = Client(enforce_csrf_checks=True)
    _open(contact, raw)
    response = csrf_post(contact, reverse("statement"), {**STATEMENT, "contact_name": ""})
    assert response.status_code == 400
    link.refresh_from_db()
    assert link.used_at is None


def test_opening_links_is_rate_limited() -> None:
    client = Client()
    codes = [_open(client, f"guess{n:040d}").status_code for n in range(22)]
    assert codes[0] == 410 and codes[-1] == 429


def test_statement_link_cannot_read_the_case() -> None:
    case = make_case()
    _link, raw = services.create_contact_link(case=case, user=case.owner)
    contact = Client()
    _open(contact, raw)
    for url in (
        reverse("case_detail", args=[case.pk]),
        reverse("timeline", args=[case.pk]),
        reverse("entry_detail", args=[case.pk, 1]),
    ):
        assert contact.get(url).status_code == 302  # to the login page, nothing else


def test_other_users_cannot_see_or_revoke_my_links() -> None:
    case = make_case()
    link, _raw = services.create_contact_link(case=case, user=case.owner)
    stranger = client_for(UserFactory())
    assert stranger.get(reverse("link_detail", args=[case.pk, link.pk])).status_code == 404
    assert (
        csrf_post(stranger, reverse("link_revoke", args=[case.pk, link.pk]), {}).status_code == 404
    )
    link.refresh_from_db()
    assert link.revoked_at is None


def test_submit_service_refuses_a_used_link() -> None:
    case = make_case()
    link, _raw = services.create_contact_link(case=case, user=case.owner)
    body = {"contact_name": "甲", "channel": "sms"}
    services.submit_contact_report(link=link, body=body)
    with pytest.raises(services.LinkUnavailable):
        services.submit_contact_report(link=link, body=body)
    assert Entry.objects.filter(case=case, kind="contact_report").count() == 1


@needs(is_postgres(), "the race needs PostgreSQL row locks; SQLite serialises all writers")
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_submissions_exactly_one_is_accepted() -> None:
    case = make_case()
    link, _raw = services.create_contact_link(case=case, user=case.owner)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def submit(name: str) -> None:
        try:
            barrier.wait(timeout=10)
            services.submit_contact_report(
                link=ContactLink.objects.get(pk=link.pk),
                body={"contact_name": name, "channel": "call"},
            )
            outcomes.append("accepted")
        except services.LinkUnavailable:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=(n,)) for n in ("甲", "乙")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["accepted", "refused"]
    assert Entry.objects.filter(case=case, kind="contact_report").count() == 1
