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
from django.contrib.sessions.models import Session
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

import config.settings as production
from locker import services
from locker.models import ProfessionalProfile, UserSession
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def settings_module() -> Any:
    return live_settings


@pytest.fixture(autouse=True)
def _still_clock() -> Any:
    # Waits are measured in seconds of the clock: a slow run must not open one mid-test.
    # Tests that move the clock travel inside this.
    with time_machine.travel("2026-12-01 08:00:00+00:00", tick=False):
        yield


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
    # All within the first wait (30 s): the clock stands still while they guess.
    with time_machine.travel("2026-12-01 12:00:00+00:00", tick=False):
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


# Sessions -----------------------------------------------------------------------------------


def signed_in(user: Any, address: str = "192.0.2.10") -> Client:
    client = Client(REMOTE_ADDR=address, HTTP_USER_AGENT="Mozilla/5.0 (Linux; Android 14)")
    assert web_guess(client, user.username, PASSWORD, address) == 302
    return client


def bearer(raw: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_log_in_gives_the_session_a_new_key() -> None:
    # A key planted in the browser before log-in (session fixation) is worth nothing after.
    user = UserFactory()
    client = Client()
    client.get(WEB_LOGIN)
    client.session.save()
    planted = client.session.session_key
    client.cookies[live_settings.SESSION_COOKIE_NAME] = planted
    assert web_guess(client, user.username, PASSWORD, "192.0.2.11") == 302
    assert client.session.session_key != planted
    assert not Session.objects.filter(session_key=planted).exists()


def test_a_session_ends_after_idle_time_but_not_while_used(settings) -> None:
    settings.LOCKER_SESSION_IDLE_S = 1800
    user = UserFactory()
    with time_machine.travel("2026-12-01 09:00:00+08:00", tick=False) as clock:
        client = signed_in(user)
        for _ in range(4):  # used every 25 minutes: still signed in after 100 minutes
            clock.shift(timedelta(minutes=25))
            assert client.get("/cases/").status_code == 200
        clock.shift(timedelta(minutes=31))
        response = client.get("/cases/")
        assert response.status_code == 302 and response["Location"].startswith(WEB_LOGIN)
        assert not UserSession.objects.filter(user=user).exists()


def test_a_session_ends_twelve_hours_after_log_in_however_active() -> None:
    user = UserFactory()
    with time_machine.travel("2026-12-01 09:00:00+08:00", tick=False) as clock:
        client = signed_in(user)
        for _ in range(11 * 4):
            clock.shift(timedelta(minutes=15))
            assert client.get("/cases/").status_code == 200
        clock.shift(timedelta(minutes=61))
        assert client.get("/cases/").status_code == 302


def test_a_password_change_ends_every_other_session_and_every_token() -> None:
    user = UserFactory()
    here, elsewhere = signed_in(user), signed_in(user, "198.51.100.4")
    _, raw = services.issue_token(user=user)
    assert Client().get("/api/cases", **bearer(raw)).status_code == 200
    response = here.post(
        "/accounts/password_change/",
        {
            "old_password": PASSWORD,
            "new_password1": "n3w-Passw0rd!x",
            "new_password2": "n3w-Passw0rd!x",
        },
    )
    assert response.status_code == 302
    assert here.get("/cases/").status_code == 200
    assert elsewhere.get("/cases/").status_code == 302
    assert Client().get("/api/cases", **bearer(raw)).status_code == 401
    # The page lists only the session that changed it.
    assert list(UserSession.objects.filter(user=user).values_list("session_key", flat=True)) == [
        here.session.session_key
    ]


def test_a_password_set_elsewhere_also_revokes_the_tokens() -> None:
    # The admin's or `changepassword`'s way: set_password and save.
    user = UserFactory()
    _, raw = services.issue_token(user=user)
    user.set_password("an0ther-Passw0rd")
    user.save()
    assert Client().get("/api/cases", **bearer(raw)).status_code == 401


def test_an_upgraded_hash_at_log_in_is_no_password_change(settings) -> None:
    settings.PASSWORD_HASHERS = production.PASSWORD_HASHERS
    user = UserFactory()
    user.password = make_password(PASSWORD, hasher="pbkdf2_sha256")
    user.save(update_fields=["password"])
    _, raw = services.issue_token(user=user)
    other = signed_in(user, "198.51.100.5")
    signed_in(user)  # re-hashes the password with Argon2
    assert Client().get("/api/cases", **bearer(raw)).status_code == 200
    assert other.get("/cases/").status_code == 200


def test_log_out_forgets_the_session() -> None:
    user = UserFactory()
    client = signed_in(user)
    assert UserSession.objects.filter(user=user).count() == 1
    client.post("/accounts/logout/")
    assert not UserSession.objects.filter(user=user).exists()


# API tokens ---------------------------------------------------------------------------------


def test_an_api_token_expires_and_says_so(settings) -> None:
    settings.LOCKER_API_TOKEN_DAYS = 30
    user = UserFactory()
    with time_machine.travel("2026-12-01 09:00:00+08:00", tick=False) as clock:
        created = Client().post(
            API_LOGIN,
            json.dumps({"username": user.username, "password": PASSWORD}),
            content_type="application/json",
        )
        assert created.status_code == 201
        assert created.json()["expires_at"].startswith("2026-12-31")
        raw = created.json()["token"]
        clock.shift(timedelta(days=29))
        assert Client().get("/api/cases", **bearer(raw)).status_code == 200
        clock.shift(timedelta(days=1, seconds=1))
        expired = Client().get("/api/cases", **bearer(raw))
        assert expired.status_code == 401 and "expired" in expired.json()["detail"]
        # A made-up token is told nothing of the kind.
        assert "expired" not in Client().get("/api/cases", **bearer("elk_nope")).json()["detail"]


# The sessions page --------------------------------------------------------------------------


def test_the_sessions_page_lists_sessions_and_tokens_and_ends_another_session() -> None:
    user = UserFactory()
    here, elsewhere = signed_in(user), signed_in(user, "198.51.100.6")
    services.issue_token(user=user, name="my script")
    page = here.get("/accounts/sessions/").content.decode()
    assert "198.51.100.6" in page and "my script" in page and "Android" in page
    other = UserSession.objects.get(user=user, address="198.51.100.6")
    assert here.post(f"/accounts/sessions/{other.pk}/end/").status_code == 302
    assert elsewhere.get("/cases/").status_code == 302
    assert here.get("/cases/").status_code == 200


def test_ending_the_current_session_signs_out() -> None:
    user = UserFactory()
    client = signed_in(user)
    row = UserSession.objects.get(user=user)
    response = client.post(f"/accounts/sessions/{row.pk}/end/")
    assert response.status_code == 302 and response["Location"] == WEB_LOGIN
    assert client.get("/cases/").status_code == 302


def test_no_one_ends_another_persons_session_or_token() -> None:
    victim, attacker = UserFactory(), UserFactory()
    victims_browser = signed_in(victim)
    token, raw = services.issue_token(user=victim)
    client = signed_in(attacker, "203.0.113.9")
    row = UserSession.objects.get(user=victim)
    assert client.post(f"/accounts/sessions/{row.pk}/end/").status_code == 404
    assert client.post(f"/accounts/tokens/{token.pk}/revoke/").status_code == 404
    assert victims_browser.get("/cases/").status_code == 200
    assert Client().get("/api/cases", **bearer(raw)).status_code == 200


def test_a_token_is_revoked_from_the_page() -> None:
    user = UserFactory()
    client = signed_in(user)
    token, raw = services.issue_token(user=user)
    assert client.post(f"/accounts/tokens/{token.pk}/revoke/").status_code == 302
    assert Client().get("/api/cases", **bearer(raw)).status_code == 401


def test_a_token_of_a_deactivated_account_stops_working() -> None:
    user = UserFactory()
    _, raw = services.issue_token(user=user)
    assert Client().get("/api/cases", **bearer(raw)).status_code == 200
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert Client().get("/api/cases", **bearer(raw)).status_code == 401


def test_log_out_everywhere_ends_every_session_and_token() -> None:
    user = UserFactory()
    here, elsewhere = signed_in(user), signed_in(user, "198.51.100.7")
    _, raw = services.issue_token(user=user)
    assert here.post("/accounts/sessions/end-all/").status_code == 302
    assert here.get("/cases/").status_code == 302
    assert elsewhere.get("/cases/").status_code == 302
    assert Client().get("/api/cases", **bearer(raw)).status_code == 401
    assert not UserSession.objects.filter(user=user).exists()


# The second factor --------------------------------------------------------------------------

TWO_FACTOR = "/accounts/two-factor/"
CODE_STEP = timedelta(seconds=30)


def current_code(user: Any) -> str:
    device = TOTPDevice.objects.get(user=user)
    return f"{totp(device.bin_key):06d}"


def turn_on_second_factor(client: Client, user: Any) -> list[str]:
    """Set up an authenticator through the page; the recovery codes it showed."""
    assert client.post(TWO_FACTOR, {"action": "start"}).status_code == 302
    page = client.get(TWO_FACTOR)
    assert "<svg" in page.content.decode()
    done = client.post(TWO_FACTOR, {"action": "confirm", "code": current_code(user)})
    assert done.status_code == 200
    return list(done.context["codes"])


def test_setting_up_a_second_factor_ends_other_sessions_and_tokens() -> None:
    user = UserFactory()
    here, elsewhere = signed_in(user), signed_in(user, "198.51.100.8")
    _, raw = services.issue_token(user=user)
    with time_machine.travel("2026-12-01 08:00:00+00:00", tick=False) as clock:
        here.post(TWO_FACTOR, {"action": "start"})
        wrong = here.post(TWO_FACTOR, {"action": "confirm", "code": "000000"})
        assert wrong.status_code == 400
        assert not TOTPDevice.objects.filter(confirmed=True).exists()
        clock.shift(timedelta(seconds=5))  # django-otp's pause after a wrong code
        done = here.post(TWO_FACTOR, {"action": "confirm", "code": current_code(user)})
        codes = done.context["codes"]
        assert len(codes) == 10 and len(set(codes)) == 10
        assert here.get("/cases/").status_code == 200
    assert elsewhere.get("/cases/").status_code == 302
    assert Client().get("/api/cases", **bearer(raw)).status_code == 401


def test_with_a_second_factor_the_password_alone_signs_no_one_in() -> None:
    user = UserFactory()
    with time_machine.travel("2026-12-01 10:00:00+00:00", tick=False) as clock:
        turn_on_second_factor(signed_in(user), user)
        clock.shift(CODE_STEP)
        client = Client()
        response = client.post(WEB_LOGIN, {"username": user.username, "password": PASSWORD})
        assert response["Location"] == "/accounts/login/second-factor/"
        assert client.get("/cases/").status_code == 302
        before = client.session.session_key
        wrong = client.post("/accounts/login/second-factor/", {"code": "123456"})
        assert wrong.status_code == 200 and wrong.context["error"]
        clock.shift(timedelta(seconds=5))  # django-otp's pause after a wrong code
        right = client.post("/accounts/login/second-factor/", {"code": current_code(user)})
        assert right.status_code == 302 and right["Location"] == "/cases/"
        assert client.get("/cases/").status_code == 200
        assert client.session.session_key != before
        # The same code does not work twice.
        again = Client()
        again.post(WEB_LOGIN, {"username": user.username, "password": PASSWORD})
        assert (
            again.post("/accounts/login/second-factor/", {"code": current_code(user)}).status_code
            == 200
        )


def test_a_recovery_code_works_once() -> None:
    user = UserFactory()
    codes = turn_on_second_factor(signed_in(user), user)
    for expected in (302, 200):
        client = Client()
        client.post(WEB_LOGIN, {"username": user.username, "password": PASSWORD})
        answer = client.post("/accounts/login/second-factor/", {"code": codes[0].upper()})
        assert answer.status_code == expected


def test_code_guesses_are_limited() -> None:
    user = UserFactory()
    turn_on_second_factor(signed_in(user), user)
    client = Client()
    client.post(WEB_LOGIN, {"username": user.username, "password": PASSWORD})
    answers = [
        client.post("/accounts/login/second-factor/", {"code": f"{n:06d}"}).status_code
        for n in range(12)
    ]
    assert 429 in answers and answers.index(429) <= 10


def test_the_code_step_expires() -> None:
    user = UserFactory()
    with time_machine.travel("2026-12-01 10:00:00+00:00", tick=False) as clock:
        turn_on_second_factor(signed_in(user), user)
        client = Client()
        client.post(WEB_LOGIN, {"username": user.username, "password": PASSWORD})
        clock.shift(timedelta(minutes=6))
        late = client.post("/accounts/login/second-factor/", {"code": current_code(user)})
        assert late.status_code == 302 and late["Location"] == WEB_LOGIN
        assert client.get("/cases/").status_code == 302


def test_the_api_asks_for_the_code_too() -> None:
    user = UserFactory()
    with time_machine.travel("2026-12-01 10:00:00+00:00", tick=False) as clock:
        turn_on_second_factor(signed_in(user), user)
        clock.shift(CODE_STEP)

        def ask(**extra: str) -> Any:
            body = {"username": user.username, "password": PASSWORD, **extra}
            return Client().post(API_LOGIN, json.dumps(body), content_type="application/json")

        without = ask()
        assert without.status_code == 401 and '"otp"' in without.json()["detail"]
        assert ask(otp="000000").status_code == 401
        clock.shift(timedelta(seconds=5))
        assert ask(otp=current_code(user)).status_code == 201


def test_new_recovery_codes_and_turning_it_off_end_other_sessions() -> None:
    user = UserFactory()
    here = signed_in(user)
    old = turn_on_second_factor(here, user)
    elsewhere = Client()
    elsewhere.force_login(user)
    renewed = here.post(TWO_FACTOR, {"action": "recovery"}).context["codes"]
    assert set(renewed).isdisjoint(old)
    assert elsewhere.get("/cases/").status_code == 302
    elsewhere.force_login(user)
    # The password (and code) were asked at log-in, which counts as "confirm it's you" for a
    # while (tests/security/test_reauth.py).
    assert here.post(TWO_FACTOR, {"action": "remove"}).status_code == 302
    assert not TOTPDevice.objects.filter(user=user).exists()
    assert elsewhere.get("/cases/").status_code == 302
    assert here.get("/cases/").status_code == 200


def test_authenticator_app_changes_and_recovery_code_use_are_in_the_security_log() -> None:
    from locker.models import SecurityEvent

    user = UserFactory()
    here = signed_in(user)
    codes = turn_on_second_factor(here, user)
    here.post(TWO_FACTOR, {"action": "recovery"})
    client = Client(REMOTE_ADDR="198.51.100.40")
    client.post(WEB_LOGIN, {"username": user.username, "password": PASSWORD})
    client.post("/accounts/login/second-factor/", {"code": codes[0]})  # the old ones: refused
    assert here.post(TWO_FACTOR, {"action": "remove", "password": PASSWORD}).status_code == 302
    rows = SecurityEvent.objects.filter(user=user).exclude(kind__in=("login", "login_failed"))
    assert list(rows.order_by("id").values_list("kind", "detail")) == [
        ("second_factor_added", "totp"),
        ("recovery_codes_generated", ""),
        ("recovery_codes_generated", ""),
        ("second_factor_removed", "all"),
    ]
    assert not SecurityEvent.objects.filter(kind="recovery_code_used").exists()


def test_operators_can_require_a_second_factor_of_lawyers(settings) -> None:
    settings.LOCKER_REQUIRE_2FA_FOR_LAWYERS = True
    lawyer, borrower = UserFactory(), UserFactory()
    ProfessionalProfile.objects.create(user=lawyer, name="王律师")
    client = signed_in(lawyer)
    response = client.get("/shared/")
    assert response.status_code == 302 and response["Location"] == TWO_FACTOR
    token = Client().post(
        API_LOGIN,
        json.dumps({"username": lawyer.username, "password": PASSWORD}),
        content_type="application/json",
    )
    assert token.status_code == 403
    assert signed_in(borrower, "198.51.100.9").get("/cases/").status_code == 200
    turn_on_second_factor(client, lawyer)
    assert client.get("/shared/").status_code == 200


def test_sessions_that_ended_by_themselves_are_not_listed() -> None:
    user = UserFactory()
    with time_machine.travel("2026-12-01 08:00:00+00:00", tick=False) as clock:
        signed_in(user, "198.51.100.10")  # then left alone
        clock.shift(timedelta(hours=1))
        client = signed_in(user)
        page = client.get("/accounts/sessions/").content.decode()
        assert "198.51.100.10" not in page
        assert list(UserSession.objects.filter(user=user).values_list("address", flat=True)) == [
            "192.0.2.10"
        ]


def test_a_signed_in_non_staff_user_at_the_admin_is_refused_not_sent_round() -> None:
    client = signed_in(UserFactory())
    assert client.get("/admin/login/?next=/admin/").status_code == 403
