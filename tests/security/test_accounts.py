"""Accounts under attack (issue 12, item 1): password hashing, log-in throttling that a
stranger cannot turn into a lockout, sessions, API tokens, and the second factor."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.conf import settings as live_settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.signals import user_login_failed
from django.test import Client

import config.settings as production
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def settings_module() -> Any:
    return live_settings


# Hashing ------------------------------------------------------------------------------------


def test_the_production_setting_hashes_with_argon2_first() -> None:
    # The suite swaps in MD5 for speed (tests/conftest.py); the setting itself must not.
    assert production.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    assert "django.contrib.auth.hashers.PBKDF2PasswordHasher" in production.PASSWORD_HASHERS


def test_an_old_pbkdf2_hash_becomes_argon2_at_the_next_log_in(client, settings) -> None:
    settings.PASSWORD_HASHERS = production.PASSWORD_HASHERS
    user = UserFactory()
    user.password = make_password(PASSWORD, hasher="pbkdf2_sha256")
    user.save(update_fields=["password"])
    response = client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.password.startswith("argon2$argon2id$")


# Log-in throttling --------------------------------------------------------------------------

WEB_LOGIN = "/accounts/login/"
API_LOGIN = "/api/tokens"


def web_guess(client: Client, username: str, password: str, address: str) -> int:
    return client.post(
        WEB_LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address
    ).status_code


def api_guess(client: Client, username: str, password: str, address: str) -> int:
    return client.post(
        API_LOGIN,
        json.dumps({"username": username, "password": password}),
        content_type="application/json",
        REMOTE_ADDR=address,
    ).status_code


@pytest.mark.parametrize("guess", [web_guess, api_guess], ids=["web", "api"])
def test_sixty_addresses_guessing_one_account_are_refused_after_the_free_failures(
    guess, settings
) -> None:
    # The issue: 60 addresses x 3 guesses at one account all reached the password check.
    victim = UserFactory()
    answers = [
        guess(Client(), victim.username, f"guess-{n}-{attempt}", f"10.0.{n}.1")
        for n in range(60)
        for attempt in range(3)
    ]
    checked = [status for status in answers if status != 429]
    assert len(checked) == settings.LOCKER_LOGIN_ACCOUNT_FAILURES
    assert answers[-1] == 429


def test_a_refusal_says_how_long_to_wait() -> None:
    victim = UserFactory()
    client = Client()
    for n in range(5):
        web_guess(client, victim.username, "wrong", f"10.1.0.{n}")
    response = client.post(
        WEB_LOGIN,
        {"username": victim.username, "password": "wrong"},
        REMOTE_ADDR="10.1.1.1",
        HTTP_ACCEPT_LANGUAGE="zh-CN",
    )
    assert response.status_code == 429 and response["Retry-After"] == "30"
    assert "请等 1 分钟后再试" in response.content.decode()
    api = Client().post(
        API_LOGIN,
        json.dumps({"username": victim.username, "password": PASSWORD}),
        content_type="application/json",
    )
    assert api.status_code == 429 and "try again" in api.json()["detail"]


def test_the_owner_gets_in_after_the_cool_off_however_long_the_stranger_goes_on() -> None:
    owner = UserFactory()
    stranger = Client()
    with time_machine.travel("2026-12-01 12:00:00+00:00", tick=False) as clock:
        # A stranger guesses for an hour and a half from ever new addresses, as fast as
        # they are let through, and hammers the refusals in between.
        for minute in range(90):
            for n in range(3):
                web_guess(stranger, owner.username, "wrong", f"10.2.{minute}.{n}")
            clock.shift(timedelta(minutes=1))
        # The owner, from home, is refused only for the rest of the current wait, which
        # never grows past the cap, however many guesses came before.
        home = Client()
        assert web_guess(home, owner.username, PASSWORD, "192.0.2.7") == 429
        clock.shift(timedelta(seconds=settings_module().LOCKER_LOGIN_MAX_WAIT_S))
        assert web_guess(home, owner.username, PASSWORD, "192.0.2.7") == 302
        assert home.get("/cases/").status_code == 200


def test_waits_double_per_failure_up_to_the_cap() -> None:
    from locker.infra.login_throttle import wait_after

    assert [wait_after(n, 5) for n in (4, 5, 6, 7)] == [0, 30, 60, 120]
    assert wait_after(50, 5) == settings_module().LOCKER_LOGIN_MAX_WAIT_S


def test_one_address_guessing_many_accounts_is_refused(settings) -> None:
    settings.LOCKER_LOGIN_ADDRESS_FAILURES = 10
    settings.LOCKER_LOGIN_RATE = "1000/m"
    client = Client()
    answers = [web_guess(client, f"nobody{n}", "wrong", "10.3.0.1") for n in range(15)]
    assert answers[:10] == [200] * 10 and set(answers[10:]) == {429}
    # Another address is not held back by that one.
    assert web_guess(Client(), "nobody99", "wrong", "10.3.0.2") == 200


def test_the_per_address_rate_covers_the_web_log_in_too(settings) -> None:
    settings.LOCKER_LOGIN_RATE = "3/m"
    client = Client()
    answers = [web_guess(client, f"someone{n}", "wrong", "10.4.0.1") for n in range(5)]
    assert answers == [200, 200, 200, 429, 429]


def test_the_admin_log_in_checks_no_password_and_sends_people_to_the_one_log_in() -> None:
    staff = UserFactory(is_staff=True, is_superuser=True)
    client = Client()
    response = client.post(
        "/admin/login/?next=/admin/", {"username": staff.username, "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"].startswith(WEB_LOGIN + "?next=/admin/")
    assert "_auth_user_id" not in client.session
    # The admin's guesses are the web's: limited as there.
    for n in range(5):
        web_guess(client, staff.username, "wrong", f"10.5.0.{n}")
    assert web_guess(client, staff.username, PASSWORD, "10.5.1.1") == 429


def test_a_success_clears_the_account_count() -> None:
    owner = UserFactory()
    client = Client()
    for _ in range(4):
        web_guess(client, owner.username, "typo", "192.0.2.8")
    assert web_guess(client, owner.username, PASSWORD, "192.0.2.8") == 302
    client.post("/accounts/logout/")
    for _ in range(4):
        assert web_guess(client, owner.username, "typo", "192.0.2.8") == 200


def test_refused_attempts_still_send_the_login_failed_signal() -> None:
    # The security log (issue 12, item 7) listens to it.
    owner = UserFactory()
    seen: list[str] = []

    def listen(sender: Any, credentials: dict[str, Any], **kwargs: Any) -> None:
        seen.append(credentials["username"])

    user_login_failed.connect(listen)
    try:
        for n in range(7):
            web_guess(Client(), owner.username, "wrong", f"10.6.0.{n}")
    finally:
        user_login_failed.disconnect(listen)
    assert seen == [owner.username] * 7
