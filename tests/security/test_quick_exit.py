"""Quick exit (issue 12): leaving always works, but only a POST from our own page locks the
session. A GET, or a POST another site makes the browser send, must not: otherwise any link,
image or form elsewhere could lock a harassed user out of their case at will."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from locker.web.middleware.safety import LOCK_KEY

from ..factories import UserFactory, make_case
from ..ui_helpers import client_for, csrf_post

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in():
    user = UserFactory()
    case = make_case(owner=user)
    return client_for(user), reverse("case_detail", args=[case.pk])


def _locked(client: Client, case_url: str) -> bool:
    answer = client.get(case_url)
    assert answer.status_code in (200, 302)
    return answer.status_code == 302 and answer["Location"].startswith(reverse("unlock"))


def test_a_get_leaves_but_locks_nothing(signed_in) -> None:
    """An <img src=/exit/> or a link on another site."""
    client, case_url = signed_in
    leave = client.get(reverse("quick_exit"), HTTP_SEC_FETCH_SITE="cross-site")
    assert leave.status_code == 302 and leave["Location"] == settings.LOCKER_QUICK_EXIT_URL
    assert leave["Referrer-Policy"] == "no-referrer"
    assert not _locked(client, case_url)
    assert client.session.get(LOCK_KEY) is None


def test_a_cross_site_post_without_our_token_leaves_but_locks_nothing(signed_in) -> None:
    """Another site's auto-submitting form: the browser sends the cookie, not our token."""
    client, case_url = signed_in
    leave = client.post(reverse("quick_exit"), {}, HTTP_ORIGIN="https://evil.example")
    assert leave.status_code == 302 and leave["Location"] == settings.LOCKER_QUICK_EXIT_URL
    assert not _locked(client, case_url)


def test_a_post_with_a_token_but_from_another_origin_locks_nothing(signed_in) -> None:
    client, case_url = signed_in
    leave = csrf_post(client, reverse("quick_exit"), {}, HTTP_ORIGIN="https://evil.example")
    assert leave.status_code == 302
    assert not _locked(client, case_url)


def test_the_post_from_our_page_locks(signed_in) -> None:
    client, case_url = signed_in
    leave = csrf_post(client, reverse("quick_exit"), {}, HTTP_ORIGIN="http://testserver")
    assert leave.status_code == 302 and leave["Location"] == settings.LOCKER_QUICK_EXIT_URL
    assert _locked(client, case_url)


def test_signed_out_the_exit_still_leaves() -> None:
    for answer in (
        Client(enforce_csrf_checks=True).get(reverse("quick_exit")),
        Client(enforce_csrf_checks=True).post(reverse("quick_exit")),
    ):
        assert answer.status_code == 302
        assert answer["Location"] == settings.LOCKER_QUICK_EXIT_URL


def test_the_control_on_every_page_is_a_post_form_with_our_token(signed_in) -> None:
    client, case_url = signed_in
    html = client.get(case_url).content.decode()
    form = re.search(r'<form id="quick-exit-form"[^>]*>(.*?)</form>', html, re.S)
    assert form, "no quick-exit form"
    assert 'method="post"' in form.group(0) and f'action="{reverse("quick_exit")}"' in form.group(0)
    assert 'name="csrfmiddlewaretoken"' in form.group(1)
    assert 'id="quick-exit"' in form.group(1)
