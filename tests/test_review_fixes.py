"""Regressions found in review: throttles keyed on a trusted address, names that could catch
a share meant for an address, and bad input that used to give a 500."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from locker import services

from .factories import PASSWORD, UserFactory, make_case
from .test_api import client_for

pytestmark = pytest.mark.django_db


def test_varying_x_forwarded_for_does_not_escape_the_login_throttle() -> None:
    # The throttle's rate is read when the API module loads: the default, 20 a minute. Each
    # guess names another account, so that only the per-address limit is in play (one account
    # is limited after fewer failures: tests/security/test_accounts.py).
    statuses = [
        Client()
        .post(
            "/api/tokens",
            {"username": f"someone{n}", "password": "wrong"},
            content_type="application/json",
            HTTP_X_FORWARDED_FOR=f"10.0.0.{n}",
        )
        .status_code
        for n in range(22)
    ]
    assert statuses[:20] == [401] * 20
    assert statuses[20:] == [429, 429]


def test_a_user_name_cannot_look_like_an_email_address() -> None:
    response = Client().post(
        "/accounts/signup/",
        {
            "username": "lawyer@firm.cn",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "time_zone": "Asia/Shanghai",
        },
    )
    assert response.status_code == 200
    assert "@" in response.content.decode()
    from django.contrib.auth.models import User

    assert not User.objects.filter(username="lawyer@firm.cn").exists()


def test_an_address_is_never_matched_against_user_names() -> None:
    owner = UserFactory()
    squatter = UserFactory(username="lawyer@firm.cn", email="")
    result = services.share_case(
        case=make_case(owner),
        by=owner,
        grantee="lawyer@firm.cn",
        role="viewer",
        site_url="http://testserver/",
    )
    assert result.share.user_id != squatter.pk


@pytest.mark.parametrize("value", [1.0, True, 1.5])
def test_money_must_be_an_integer_not_a_float_or_boolean(value) -> None:
    api = client_for(UserFactory())
    response = api.post_json("/api/cases", {"title": "x", "principal_minor": value})
    assert response.status_code == 422


def test_deeply_nested_json_is_a_400_not_a_500() -> None:
    case = make_case()
    api = client_for(case.owner)
    raw = b'{"kind": "note", "body": ' + b"[" * 100000 + b"]" * 100000 + b"}"
    response = api.post_json(f"/api/cases/{case.id}/entries", None, raw=raw)
    assert response.status_code == 400


def test_a_lone_surrogate_in_case_facts_is_a_422() -> None:
    api = client_for(UserFactory())
    raw = json.dumps({"title": "\ud800"}).encode()
    response = api.post_json("/api/cases", None, raw=raw)
    assert response.status_code == 422


def test_a_malformed_dossier_id_is_a_404() -> None:
    api = client_for(UserFactory())
    assert api.get("/api/dossiers/not-a-uuid").status_code == 404


def test_the_public_verify_page_is_rate_limited() -> None:
    client = Client()
    statuses = [client.post("/verify", {}).status_code for _ in range(22)]
    assert 429 not in statuses[:20]
    assert statuses[20:] == [429, 429]
