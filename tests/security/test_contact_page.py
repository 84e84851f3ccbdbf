"""The page a contact opens with their one-time link says nothing of the borrower (issue 12):
not their time zone (where they live), name, case or the label they gave the link. Times the
contact types are read in the contact's own zone, which the page states."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from locker import services
from locker.models import Entry

from ..factories import UserFactory, make_case
from ..ui_helpers import csrf_post

pytestmark = pytest.mark.django_db

BORROWER_ZONE = "America/Argentina/Ushuaia"  # nowhere near the instance's default


@pytest.fixture
def contact():
    borrower = UserFactory(username="liu_borrower_9")
    borrower.first_name, borrower.last_name = "晓丽", "刘"
    borrower.save()
    services.set_preferences(user=borrower, time_zone=BORROWER_ZONE, language="zh-hans")
    case = make_case(owner=borrower, title="刘晓丽的案子", lender="闪电借款")
    link, raw = services.create_contact_link(case=case, user=borrower, label="给二姨的链接")
    client = Client(enforce_csrf_checks=True)
    assert client.get(reverse("statement_open", args=[raw]))["Location"] == reverse("statement")
    return case, client


def test_the_page_shows_nothing_of_the_borrower(contact) -> None:
    _case, client = contact
    page = client.get(reverse("statement"))
    assert page.status_code == 200
    html = page.content.decode()
    for detail in (
        BORROWER_ZONE,
        "Ushuaia",
        "liu_borrower_9",
        "晓丽",
        "刘晓丽",
        "闪电借款",
        "二姨",
    ):
        assert detail not in html, detail
    # The zone the page reads times in is the instance's, until the contact's phone says its own.
    assert f"<span data-tz-name>{settings.TIME_ZONE}</span>" in html
    assert 'data-browser-tz=""' in html


def _statement(zone: str | None) -> dict[str, str]:
    data = {
        "contact_name": "王阿姨",
        "relation": "邻居",
        "channel": "call",
        "occurred_at": "2026-01-05T22:30",
        "summary": "半夜打电话",
    }
    if zone is not None:
        data["time_zone"] = zone
    return data


@pytest.mark.parametrize(
    ("zone", "utc_hour", "utc_day"),
    [
        ("Europe/London", 22, 5),  # the phone's zone, as the script reports it
        (None, 14, 5),  # no script: the instance's default (Asia/Shanghai, UTC+8)
        ("../../etc/passwd", 14, 5),  # nonsense: the default, never an error
        ("Not/A_Zone", 14, 5),
    ],
)
def test_times_are_read_in_the_contacts_zone_never_the_borrowers(
    contact, zone: str | None, utc_hour: int, utc_day: int
) -> None:
    case, client = contact
    client.get(reverse("statement"))
    sent = csrf_post(client, reverse("statement"), _statement(zone))
    assert sent.status_code == 302, sent.content.decode()[:500]
    entry = Entry.objects.get(case=case, kind="contact_report")
    assert entry.occurred_at == datetime(2026, 1, utc_day, utc_hour, 30, tzinfo=UTC)
