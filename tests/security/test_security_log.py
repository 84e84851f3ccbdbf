"""The security log (issue 12, item 7): log-ins and failed log-ins, API tokens made, revoked
and used from a new address, password changes, second-factor events, admin log-ins and
changes; append-only, nothing secret kept, shown to the account's owner alone."""

from __future__ import annotations

import json
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client, RequestFactory
from django.urls import reverse

from locker import services
from locker.models import SecurityEvent
from locker.selectors.security import PAGE_SIZE

from ..factories import PASSWORD, UserFactory
from ..personas import api_as
from ..ui_helpers import client_for, csrf_post
from .test_accounts import CODE_STEP, TWO_FACTOR, current_code, signed_in, turn_on_second_factor

pytestmark = pytest.mark.django_db

Kind = SecurityEvent.Kind
AGENT = "Mozilla/5.0 (Linux; Android 14) test-browser"
WRONG = "wrong password 12345"


def kinds_of(user: Any) -> list[str]:
    return list(SecurityEvent.objects.filter(user=user).values_list("kind", flat=True))


def no_secret_in(user: Any, *secrets: str) -> None:
    for event in SecurityEvent.objects.filter(user=user):
        text = json.dumps([event.detail, event.user_agent, str(event.ip)])
        for secret in secrets:
            assert secret not in text


def web_login(username: str, password: str, ip: str = "203.0.113.7", path: str = "") -> Any:
    browser = Client()
    url = path or reverse("login")
    return browser.post(
        url,
        {"username": username, "password": password},
        REMOTE_ADDR=ip,
        HTTP_USER_AGENT=AGENT,
    )


# What is recorded ----------------------------------------------------------------------------


def test_a_web_log_in_is_recorded_with_address_and_browser() -> None:
    user = UserFactory(username="amy")
    assert web_login("amy", PASSWORD).status_code == 302
    event = SecurityEvent.objects.get(user=user, kind=Kind.LOGIN)
    assert event.ip == "203.0.113.7" and event.user_agent == AGENT


def test_a_failed_log_in_is_recorded_on_the_named_account_without_the_password() -> None:
    user = UserFactory(username="amy")
    assert web_login("amy", WRONG).status_code == 200
    (event,) = SecurityEvent.objects.filter(user=user)
    assert event.kind == Kind.LOGIN_FAILED and event.ip == "203.0.113.7"
    no_secret_in(user, WRONG, PASSWORD)


def test_a_failed_log_in_with_a_name_that_has_no_account_records_nothing() -> None:
    web_login("nobody_here", WRONG)
    assert not SecurityEvent.objects.exists()


def test_the_api_records_failed_guesses_and_the_token_it_issues() -> None:
    user = UserFactory(username="amy")
    client = Client()
    bad = client.post(
        "/api/tokens",
        json.dumps({"username": "amy", "password": WRONG}),
        content_type="application/json",
        REMOTE_ADDR="198.51.100.4",
    )
    assert bad.status_code == 401
    good = client.post(
        "/api/tokens",
        json.dumps({"username": "amy", "password": PASSWORD, "name": "phone"}),
        content_type="application/json",
        REMOTE_ADDR="198.51.100.4",
    )
    assert good.status_code == 201
    raw = good.json()["token"]
    assert kinds_of(user) == [Kind.TOKEN_CREATED, Kind.LOGIN_FAILED]
    created = SecurityEvent.objects.get(user=user, kind=Kind.TOKEN_CREATED)
    assert created.ip == "198.51.100.4" and created.token_ref == good.json()["id"]
    assert "phone" in created.detail
    no_secret_in(user, WRONG, PASSWORD, raw, raw[12:])


def test_a_token_used_from_a_new_address_is_recorded_once_per_address() -> None:
    user = UserFactory(username="amy")
    token, raw = services.issue_token(user=user, name="laptop")
    headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    client = Client()
    for _ in range(3):
        assert client.get("/api/cases", REMOTE_ADDR="192.0.2.1", **headers).status_code == 200
    assert client.get("/api/cases", REMOTE_ADDR="192.0.2.99", **headers).status_code == 200
    new = SecurityEvent.objects.filter(user=user, kind=Kind.TOKEN_NEW_ADDRESS)
    assert sorted(new.values_list("ip", flat=True)) == ["192.0.2.1", "192.0.2.99"]
    assert set(new.values_list("token_ref", flat=True)) == {token.pk}


def test_an_address_this_process_knows_is_not_looked_up_again(
    django_assert_num_queries, monkeypatch
) -> None:
    from locker.services import security

    monkeypatch.setattr(security, "TOKEN_SEEN_IN_PROCESS_MAX", 2)
    token, _ = services.issue_token(user=UserFactory(username="amy"), name="phone")
    requests = [RequestFactory().get("/api/cases", REMOTE_ADDR=f"192.0.2.{n}") for n in (1, 2, 3)]
    for request in requests:
        assert services.note_token_use(token=token, request=request) is not None
    cache.clear()  # the shared cache forgot; the process remembers the two latest
    with django_assert_num_queries(0):
        assert services.note_token_use(token=token, request=requests[2]) is None
        assert services.note_token_use(token=token, request=requests[1]) is None
    with django_assert_num_queries(1):  # the oldest was let go: the log is asked again
        assert services.note_token_use(token=token, request=requests[0]) is None
    assert SecurityEvent.objects.filter(kind=Kind.TOKEN_NEW_ADDRESS).count() == 3


def test_a_token_used_where_it_was_made_is_not_new() -> None:
    UserFactory(username="amy")
    client = Client()
    made = client.post(
        "/api/tokens",
        json.dumps({"username": "amy", "password": PASSWORD}),
        content_type="application/json",
        REMOTE_ADDR="192.0.2.5",
    ).json()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {made['token']}"}
    assert client.get("/api/cases", REMOTE_ADDR="192.0.2.5", **headers).status_code == 200
    assert not SecurityEvent.objects.filter(kind=Kind.TOKEN_NEW_ADDRESS).exists()


def test_revoking_a_token_is_recorded_once() -> None:
    user = UserFactory(username="amy")
    spare, _raw = services.issue_token(user=user, name="spare")
    api = api_as(user)
    assert api.delete(f"/api/tokens/{spare.pk}").status_code == 204
    services.revoke_token(token=spare)  # already revoked: nothing more
    (event,) = SecurityEvent.objects.filter(user=user, kind=Kind.TOKEN_REVOKED)
    assert event.token_ref == spare.pk


def test_a_password_change_is_recorded_and_the_first_password_is_not() -> None:
    user = UserFactory(username="amy")
    assert Kind.PASSWORD_CHANGED not in kinds_of(user)
    browser = client_for(user)
    new_password = "a brand new passphrase 9"
    response = csrf_post(
        browser,
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": new_password, "new_password2": new_password},
    )
    assert response.status_code == 302
    assert kinds_of(user).count(Kind.PASSWORD_CHANGED) == 1
    no_secret_in(user, PASSWORD, new_password)


def test_a_log_in_that_rehashes_the_password_is_no_password_change(settings) -> None:
    """Django re-hashes a password under the first hasher when one logs in; a change of
    hasher (Argon2 first, another engineer's work) must not fill every log with changes."""
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    ]
    user = User.objects.create_user("amy", password=PASSWORD)  # hashed with MD5
    settings.PASSWORD_HASHERS = settings.PASSWORD_HASHERS[::-1]
    assert web_login("amy", PASSWORD).status_code == 302
    user.refresh_from_db()
    assert user.password.startswith("pbkdf2_")
    assert Kind.PASSWORD_CHANGED not in kinds_of(user)


def test_second_factor_events_are_recorded_through_the_service() -> None:
    user = UserFactory(username="amy")
    for kind in (Kind.SECOND_FACTOR_ADDED, Kind.RECOVERY_CODES_GENERATED, Kind.RECOVERY_CODE_USED):
        services.record_security_event(user=user, kind=kind, detail="totp")
    services.record_security_event(user=user, kind="second_factor_removed")
    assert sorted(kinds_of(user)) == sorted(
        [
            Kind.SECOND_FACTOR_ADDED,
            Kind.RECOVERY_CODES_GENERATED,
            Kind.RECOVERY_CODE_USED,
            Kind.SECOND_FACTOR_REMOVED,
        ]
    )


def test_second_factor_changes_made_on_the_pages_are_recorded_with_the_address() -> None:
    """Set up, new recovery codes, a recovery code used at log-in, removed: each is on the
    account's log with where it came from (someone holding the phone could do the first)."""
    user = UserFactory(username="amy")
    here = signed_in(user)
    first_codes = turn_on_second_factor(here, user)
    codes = here.post(TWO_FACTOR, {"action": "recovery"}).context["codes"]
    browser = Client()
    browser.post(reverse("login"), {"username": "amy", "password": PASSWORD})
    used = browser.post(
        reverse("login_second_factor"), {"code": codes[0]}, REMOTE_ADDR="198.51.100.9"
    )
    assert used.status_code == 302
    assert here.post(TWO_FACTOR, {"action": "remove", "password": PASSWORD}).status_code == 302
    in_order = SecurityEvent.objects.filter(user=user).exclude(kind=Kind.LOGIN).order_by("pk")
    assert list(in_order.values_list("kind", flat=True)) == [
        Kind.SECOND_FACTOR_ADDED,
        Kind.RECOVERY_CODES_GENERATED,  # the first codes, made with the authenticator
        Kind.RECOVERY_CODES_GENERATED,  # the new ones asked for
        Kind.RECOVERY_CODE_USED,
        Kind.SECOND_FACTOR_REMOVED,
    ]
    added = SecurityEvent.objects.get(user=user, kind=Kind.SECOND_FACTOR_ADDED)
    assert str(added.ip) == "192.0.2.10"
    recovery = SecurityEvent.objects.get(user=user, kind=Kind.RECOVERY_CODE_USED)
    assert str(recovery.ip) == "198.51.100.9"
    no_secret_in(user, *first_codes, *codes)


def test_an_authenticator_code_at_log_in_is_no_recovery_code_used() -> None:
    user = UserFactory(username="amy")
    with time_machine.travel("2026-12-01 10:00:00+00:00", tick=False) as clock:
        turn_on_second_factor(signed_in(user), user)
        clock.shift(CODE_STEP)  # the set-up code is spent
        browser = Client()
        browser.post(reverse("login"), {"username": "amy", "password": PASSWORD})
        answer = browser.post(reverse("login_second_factor"), {"code": current_code(user)})
    assert answer.status_code == 302
    assert Kind.RECOVERY_CODE_USED not in kinds_of(user)


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError):
        services.record_security_event(user=UserFactory(), kind="made_up")
    assert not SecurityEvent.objects.exists()


def test_admin_log_in_and_changes_are_recorded() -> None:
    staff = User.objects.create_superuser("boss", password=PASSWORD)
    target = UserFactory(username="amy")
    admin = Client()
    # /admin/login/ sends staff to the one log-in page, with `next` into the admin.
    sent = admin.get(reverse("admin:login"))
    assert sent.status_code == 302 and sent["Location"].startswith(reverse("login"))
    response = admin.post(
        reverse("login"),
        {"username": "boss", "password": PASSWORD, "next": "/admin/"},
        REMOTE_ADDR="192.0.2.77",
    )
    assert response.status_code == 302
    assert SecurityEvent.objects.get(user=staff, kind=Kind.ADMIN_LOGIN).ip == "192.0.2.77"
    change_url = reverse("admin:auth_user_change", args=[target.pk])
    page = admin.get(change_url)
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    data.update(
        {
            "username": "amy",
            "first_name": "Amy",
            "last_name": "",
            "email": "",
            "is_active": "on",
            "date_joined_0": target.date_joined.strftime("%Y-%m-%d"),
            "date_joined_1": target.date_joined.strftime("%H:%M:%S"),
            "groups": [],
            "user_permissions": [],
        }
    )
    data.pop("last_login", None)
    data.pop("password", None)
    response = admin.post(change_url, data)
    assert response.status_code == 302, response.content[:2000]
    action = SecurityEvent.objects.get(user=staff, kind=Kind.ADMIN_ACTION)
    assert action.detail == f"changed auth.user {target.pk}"
    assert SecurityEvent.objects.filter(user=target, kind=Kind.CHANGED_BY_ADMIN).count() == 1


def test_admin_failed_log_ins_are_recorded_as_admin() -> None:
    staff = User.objects.create_superuser("boss", password=PASSWORD)
    # /admin/login/ sends staff to the one log-in page with `next` into the admin.
    Client().post(reverse("login"), {"username": "boss", "password": WRONG, "next": "/admin/"})
    event = SecurityEvent.objects.get(user=staff, kind=Kind.LOGIN_FAILED)
    assert event.detail == "admin"


# The log itself ------------------------------------------------------------------------------


def test_the_log_is_append_only() -> None:
    event = services.record_security_event(user=UserFactory(), kind=Kind.LOGIN)
    event.detail = "rewritten"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        SecurityEvent.objects.filter(pk=event.pk).update(detail="x")
    with pytest.raises(PermissionError):
        SecurityEvent.objects.all().delete()


def test_the_page_shows_my_events_newest_first_and_nobody_elses(world) -> None:
    mine, theirs = world.owner, world.user("stranger")
    services.record_security_event(user=mine, kind=Kind.SECOND_FACTOR_ADDED, detail="mine-1")
    services.record_security_event(user=mine, kind=Kind.SECOND_FACTOR_REMOVED, detail="mine-2")
    services.record_security_event(user=theirs, kind=Kind.SECOND_FACTOR_ADDED, detail="theirs")
    page = world.web("owner").get(reverse("security_events"))
    assert page.status_code == 200 and "no-store" in page["Cache-Control"]
    html = page.content.decode()
    assert "安全记录" in html and "已移除第二验证方式" in html
    assert html.index("mine-2") < html.index("mine-1")
    assert "theirs" not in html
    other = world.web("stranger").get(reverse("security_events")).content.decode()
    assert "theirs" in other and "mine-1" not in other


def test_the_page_speaks_english_and_is_paginated(world) -> None:
    for n in range(PAGE_SIZE + 1):
        services.record_security_event(user=world.owner, kind=Kind.TOKEN_CREATED, detail=f"t{n}")
    browser = world.web("owner")
    first = browser.get(reverse("security_events"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Security log" in first and "API token created" in first
    assert "?page=2" in first and f"t{PAGE_SIZE}" in first
    second = browser.get(reverse("security_events") + "?page=2").content.decode()
    assert "t0<" in second or "t0 " in second or ">t0" in second


def test_signed_out_people_are_sent_to_log_in() -> None:
    response = Client().get(reverse("security_events"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_the_api_lists_my_events_only(world) -> None:
    services.record_security_event(user=world.owner, kind=Kind.RECOVERY_CODE_USED)
    services.record_security_event(user=world.user("stranger"), kind=Kind.RECOVERY_CODE_USED)
    body = world.api("owner").get("/api/account/security-events").json()
    assert body["count"] == len(body["items"])
    assert {item["kind"] for item in body["items"]} >= {"recovery_code_used", "token_created"}
    mine = SecurityEvent.objects.filter(user=world.owner).count()
    assert body["count"] == mine
    first = body["items"][0]
    assert set(first) == {"id", "kind", "at", "ip", "user_agent", "detail"}
    stranger = world.api("stranger").get("/api/account/security-events").json()
    assert stranger["count"] == SecurityEvent.objects.filter(user=world.user("stranger")).count()
    assert Client().get("/api/account/security-events").status_code == 401


def test_the_api_pages_the_log(world) -> None:
    for _ in range(5):
        services.record_security_event(user=world.owner, kind=Kind.LOGIN)
    body = world.api("owner").get("/api/account/security-events?limit=2&offset=1").json()
    assert len(body["items"]) == 2 and body["count"] >= 5
