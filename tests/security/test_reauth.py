""" "Confirm it's you" (issue 12, found in review): someone holding the borrower's unlocked
phone, with its live session, must not be able to change the e-mail address, the password or
the second factor, and so take the account. Each of those asks for the password again (and
the second factor's code, when the account has one) unless this session confirmed, or signed
in, within LOCKER_REAUTH_S; the step is throttled like log-in, and a refused step changes
nothing. An e-mail change is a security event and is told to the address it replaced."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.conf import settings as live_settings
from django.core import mail
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from locker import services
from locker.models import ApiToken, ProfessionalProfile, SecurityEvent, UserSession
from locker.services import second_factor as factor_services
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

REAUTH = "/accounts/confirm/"
TWO_FACTOR = "/accounts/two-factor/"
PASSWORD_CHANGE = "/accounts/password_change/"
EMAIL_CHANGE = "/accounts/email/"
NEW_PASSWORD = "n3w-Passw0rd!harbour"
CODE_STEP = timedelta(seconds=30)
CONFIRM_LINK = re.compile(r"https?://\S+(/accounts/email/confirm/[^/\s]+/)")


@pytest.fixture
def clock() -> Any:
    # Waits and the confirmation's age are read from the clock: a still one, moved by hand.
    with time_machine.travel("2026-12-01 08:00:00+00:00", tick=False) as traveller:
        yield traveller


def past_the_window(clock: Any) -> None:
    clock.shift(timedelta(seconds=live_settings.LOCKER_REAUTH_S + 1))


def signed_in(user: Any, address: str = "192.0.2.20") -> Client:
    """A browser session of `user`, signed in through the log-in page (and the code step,
    when the account has a second factor)."""
    client = Client(REMOTE_ADDR=address, HTTP_ACCEPT_LANGUAGE="en")
    answer = client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    assert answer.status_code == 302
    if answer["Location"] == "/accounts/login/second-factor/":
        answer = client.post("/accounts/login/second-factor/", {"code": current_code(user)})
        assert answer.status_code == 302
    assert client.session.get("_auth_user_id") == str(user.pk)
    return client


def left_alone(user: Any, clock: Any) -> Client:
    """The phone picked up later: a live session whose log-in is older than the window."""
    client = signed_in(user)
    past_the_window(clock)
    return client


def current_code(user: Any) -> str:
    device = TOTPDevice.objects.get(user=user, confirmed=True)
    return f"{totp(device.bin_key):06d}"


def with_second_factor(clock: Any, **fields: Any) -> Any:
    """An account whose authenticator is set up (before any session of it exists)."""
    user = UserFactory(**fields)
    pending = factor_services.start_totp(user=user)
    device = TOTPDevice.objects.get(pk=pending.device_id)
    assert factor_services.confirm_totp(
        user=user, code=f"{totp(device.bin_key):06d}", keep_session_key=None
    )
    clock.shift(CODE_STEP)  # a code is taken once: the log-in needs the next one
    return user


def confirm(client: Client, user: Any, password: str = PASSWORD, code: str | None = None) -> Any:
    data = {"password": password, "next": "/accounts/preferences/"}
    if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        data["code"] = current_code(user) if code is None else code
    return client.post(REAUTH, data)


def is_sent_to_the_step(response: Any, back_to: str) -> bool:
    return response.status_code == 302 and response["Location"] == (
        REAUTH + "?next=" + back_to.replace("/", "%2F")
    )


# The sensitive actions ----------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    """One sensitive change as a page makes it: what is posted, where the step sends the
    person back, the account's state it would change, and whether it did."""

    name: str
    second_factor: bool
    post: Callable[[Client, Any], Any]
    back_to: str
    done: Callable[[Any], bool]


def state(user: Any) -> tuple[Any, ...]:
    user.refresh_from_db()
    return (
        user.email,
        user.password,
        sorted(TOTPDevice.objects.filter(user=user).values_list("pk", "confirmed")),
        sorted(StaticToken.objects.filter(device__user=user).values_list("token", flat=True)),
        ApiToken.objects.filter(user=user, revoked_at__isnull=True).count(),
        UserSession.objects.filter(user=user).count(),
    )


def _has_mail_to(address: str) -> bool:
    return any(address in message.to for message in mail.outbox)


ACTIONS = [
    Action(
        "change the e-mail address",
        False,
        lambda client, user: client.post(EMAIL_CHANGE, {"email": "collector@example.net"}),
        "/accounts/preferences/",
        lambda user: _has_mail_to("collector@example.net"),
    ),
    Action(
        "remove the e-mail address",
        False,
        lambda client, user: client.post(EMAIL_CHANGE, {"email": ""}),
        "/accounts/preferences/",
        lambda user: type(user).objects.get(pk=user.pk).email == "",
    ),
    Action(
        "change the password",
        False,
        lambda client, user: client.post(
            PASSWORD_CHANGE, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
        ),
        PASSWORD_CHANGE,
        lambda user: type(user).objects.get(pk=user.pk).check_password(NEW_PASSWORD),
    ),
    Action(
        "set up a second factor",
        False,
        lambda client, user: client.post(TWO_FACTOR, {"action": "start"}),
        TWO_FACTOR,
        lambda user: TOTPDevice.objects.filter(user=user, confirmed=False).exists(),
    ),
    Action(
        "move to another authenticator",
        True,
        lambda client, user: client.post(TWO_FACTOR, {"action": "start"}),
        TWO_FACTOR,
        lambda user: TOTPDevice.objects.filter(user=user, confirmed=False).exists(),
    ),
    Action(
        "make new recovery codes",
        True,
        lambda client, user: client.post(TWO_FACTOR, {"action": "recovery"}),
        TWO_FACTOR,
        # Setting the authenticator up made the first codes; new ones are a second event.
        lambda user: (
            SecurityEvent.objects.filter(
                user=user, kind=SecurityEvent.Kind.RECOVERY_CODES_GENERATED
            ).count()
            > 1
        ),
    ),
    Action(
        "remove the second factor",
        True,
        lambda client, user: client.post(TWO_FACTOR, {"action": "remove"}),
        TWO_FACTOR,
        lambda user: not TOTPDevice.objects.filter(user=user).exists(),
    ),
]


def account_for(action: Action, clock: Any) -> Any:
    fields = {"email": "owner@example.org"}
    return with_second_factor(clock, **fields) if action.second_factor else UserFactory(**fields)


@pytest.mark.parametrize("action", ACTIONS, ids=[action.name for action in ACTIONS])
def test_without_a_recent_confirmation_the_action_is_sent_to_the_step_and_changes_nothing(
    action: Action, clock: Any
) -> None:
    user = account_for(action, clock)
    phone = left_alone(user, clock)
    _, raw = services.issue_token(user=user)
    before = state(user)
    mail.outbox.clear()
    answer = action.post(phone, user)
    assert is_sent_to_the_step(answer, action.back_to)
    assert state(user) == before
    assert not action.done(user)
    assert mail.outbox == []
    # The token still works: no change that ends other access happened either.
    assert Client().get("/api/cases", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200


@pytest.mark.parametrize("action", ACTIONS, ids=[action.name for action in ACTIONS])
def test_after_the_step_the_action_works(action: Action, clock: Any) -> None:
    user = account_for(action, clock)
    phone = left_alone(user, clock)
    step = phone.get(REAUTH + "?next=" + action.back_to)
    assert step.status_code == 200
    assert ('name="code"' in step.content.decode()) is action.second_factor
    answer = confirm(phone, user)
    assert answer.status_code == 302 and answer["Location"] == "/accounts/preferences/"
    action.post(phone, user)
    assert action.done(user)


def test_the_second_factor_page_itself_is_behind_the_step(clock: Any) -> None:
    # Opening it shows a pending authenticator's secret: not to whoever picked up the phone.
    user = UserFactory()
    owner = signed_in(user)
    owner.post(TWO_FACTOR, {"action": "start"})
    past_the_window(clock)
    answer = owner.get(TWO_FACTOR)
    assert is_sent_to_the_step(answer, TWO_FACTOR)
    secret = factor_services.pending_totp(user=user)
    assert secret is not None and secret.secret_base32 not in answer.content.decode()
    confirm(owner, user)
    assert secret.secret_base32 in owner.get(TWO_FACTOR).content.decode()


def test_the_step_speaks_the_users_language(clock: Any) -> None:
    user = UserFactory()
    phone = left_alone(user, clock)
    page = phone.get(REAUTH, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "确认是您本人" in page and "5 分钟内" in page
    wrong = phone.post(REAUTH, {"password": "guess"}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "密码不对。" in wrong.content.decode()


def test_a_fresh_log_in_counts_as_confirming(clock: Any) -> None:
    user = UserFactory()
    phone = signed_in(user)
    clock.shift(timedelta(seconds=live_settings.LOCKER_REAUTH_S - 1))
    assert phone.post(TWO_FACTOR, {"action": "start"}).status_code == 302
    assert TOTPDevice.objects.filter(user=user, confirmed=False).exists()


def test_a_lawyer_who_must_set_up_a_second_factor_can_reach_the_step(clock: Any, settings) -> None:
    # LOCKER_REQUIRE_2FA_FOR_LAWYERS lets such a lawyer reach the set-up page only; the step
    # in front of it must be reachable too, or the two would send each other round.
    settings.LOCKER_REQUIRE_2FA_FOR_LAWYERS = True
    lawyer = UserFactory()
    ProfessionalProfile.objects.create(user=lawyer, name="王律师")
    phone = left_alone(lawyer, clock)
    assert phone.get("/shared/")["Location"] == TWO_FACTOR
    assert is_sent_to_the_step(phone.get(TWO_FACTOR), TWO_FACTOR)
    assert phone.get(REAUTH + "?next=" + TWO_FACTOR).status_code == 200
    assert confirm(phone, lawyer).status_code == 302
    assert phone.post(TWO_FACTOR, {"action": "start"}).status_code == 302


# Wrong answers --------------------------------------------------------------------------------


def test_a_wrong_password_is_refused_and_changes_nothing(clock: Any) -> None:
    user = UserFactory(email="owner@example.org")
    phone = left_alone(user, clock)
    before = state(user)
    answer = confirm(phone, user, password="guess-1")
    assert answer.status_code == 400
    assert "That is not your password." in answer.content.decode()
    assert is_sent_to_the_step(
        phone.post(EMAIL_CHANGE, {"email": "collector@example.net"}), "/accounts/preferences/"
    )
    assert state(user) == before and mail.outbox == []
    # The owner sees it in the security log, as a failure at this step, without the guess.
    (failed,) = SecurityEvent.objects.filter(user=user, kind=SecurityEvent.Kind.LOGIN_FAILED)
    assert failed.detail == "confirm it's you" and "guess-1" not in json.dumps(failed.detail)


def test_wrong_passwords_here_are_throttled_with_the_log_in(clock: Any) -> None:
    user = UserFactory()
    phone = left_alone(user, clock)
    free = live_settings.LOCKER_LOGIN_ACCOUNT_FAILURES
    answers = [confirm(phone, user, password=f"guess-{n}").status_code for n in range(free)]
    assert answers == [400] * free
    # Now even the right password waits, and still nothing is confirmed.
    refused = confirm(phone, user)
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert is_sent_to_the_step(phone.post(TWO_FACTOR, {"action": "start"}), TWO_FACTOR)
    assert not TOTPDevice.objects.filter(user=user).exists()
    # The guesses were the account's: its log-in from elsewhere waits too (web and API).
    elsewhere = Client(REMOTE_ADDR="198.51.100.30")
    login = elsewhere.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    assert login.status_code == 429
    token = Client(REMOTE_ADDR="198.51.100.31").post(
        "/api/tokens",
        json.dumps({"username": user.username, "password": PASSWORD}),
        content_type="application/json",
    )
    assert token.status_code == 429
    # After the wait the right password works.
    clock.shift(timedelta(seconds=int(refused["Retry-After"]) + 1))
    assert confirm(phone, user).status_code == 302


def test_with_a_second_factor_the_password_alone_does_not_confirm(clock: Any) -> None:
    user = with_second_factor(clock)
    phone = left_alone(user, clock)
    before = state(user)
    without = phone.post(REAUTH, {"password": PASSWORD})
    assert without.status_code == 400
    wrong = confirm(phone, user, code="000000")
    assert wrong.status_code == 400
    assert "That code is not right." in wrong.content.decode()
    assert is_sent_to_the_step(phone.post(TWO_FACTOR, {"action": "remove"}), TWO_FACTOR)
    assert state(user) == before
    clock.shift(timedelta(seconds=5))  # django-otp's pause after a wrong code
    assert confirm(phone, user).status_code == 302
    assert phone.post(TWO_FACTOR, {"action": "remove"}).status_code == 302
    assert not TOTPDevice.objects.filter(user=user).exists()


def test_code_guesses_at_the_step_are_limited(clock: Any) -> None:
    user = with_second_factor(clock)
    phone = left_alone(user, clock)
    answers = [confirm(phone, user, code=f"{n:06d}").status_code for n in range(12)]
    assert 429 in answers and answers.index(429) <= factor_services.CODE_GUESSES
    assert is_sent_to_the_step(phone.post(TWO_FACTOR, {"action": "recovery"}), TWO_FACTOR)


# How long, and for which session ------------------------------------------------------------


def test_the_confirmation_expires(clock: Any, settings) -> None:
    settings.LOCKER_REAUTH_S = 120
    user = UserFactory(email="owner@example.org")
    phone = left_alone(user, clock)
    assert confirm(phone, user).status_code == 302
    clock.shift(timedelta(seconds=119))
    assert phone.get(PASSWORD_CHANGE).status_code == 200
    clock.shift(timedelta(seconds=2))
    assert is_sent_to_the_step(phone.get(PASSWORD_CHANGE), PASSWORD_CHANGE)
    assert is_sent_to_the_step(
        phone.post(EMAIL_CHANGE, {"email": "collector@example.net"}), "/accounts/preferences/"
    )
    assert mail.outbox == []


def test_a_confirmation_does_not_carry_to_another_session(clock: Any) -> None:
    user = UserFactory()
    laptop = signed_in(user, "192.0.2.21")
    phone = signed_in(user, "192.0.2.22")
    past_the_window(clock)
    assert confirm(laptop, user).status_code == 302
    assert laptop.get(TWO_FACTOR).status_code == 200
    assert is_sent_to_the_step(phone.post(TWO_FACTOR, {"action": "start"}), TWO_FACTOR)
    assert not TOTPDevice.objects.filter(user=user).exists()


def test_unlocking_after_the_quick_exit_does_not_restore_the_confirmation(clock: Any) -> None:
    # The unlock asks for the password only; a saved password fills it in.
    user = with_second_factor(clock)
    phone = signed_in(user)
    clock.shift(CODE_STEP)  # the log-in took this step's code
    assert confirm(phone, user).status_code == 302
    phone.get("/cases/")  # the exit is posted from one of our pages, with its CSRF token
    assert phone.post("/exit/").status_code == 302
    assert phone.post("/accounts/unlock/", {"password": PASSWORD}).status_code == 302
    assert is_sent_to_the_step(phone.post(TWO_FACTOR, {"action": "remove"}), TWO_FACTOR)
    assert TOTPDevice.objects.filter(user=user, confirmed=True).exists()


# The e-mail change: an event, and a notice to the old address ----------------------------


def _confirm_new_address(client: Client) -> Any:
    (message,) = [m for m in mail.outbox if "collector@example.net" in m.to]
    match = CONFIRM_LINK.search(message.body)
    assert match
    assert client.get(match.group(1)).status_code == 302
    return client.post("/accounts/email/confirm/")


def test_an_e_mail_change_is_a_security_event_and_told_to_the_old_address(
    clock: Any, django_capture_on_commit_callbacks: Any
) -> None:
    user = UserFactory(username="borrower", email="owner@example.org")
    phone = signed_in(user, "192.0.2.23")
    assert phone.post(EMAIL_CHANGE, {"email": "collector@example.net"}).status_code == 302
    # Asking is not changing: the old address hears of the change when it happens.
    assert not SecurityEvent.objects.filter(kind=SecurityEvent.Kind.EMAIL_CHANGED).exists()
    assert not _has_mail_to("owner@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        assert _confirm_new_address(phone).status_code == 302
    user.refresh_from_db()
    assert user.email == "collector@example.net"
    (event,) = SecurityEvent.objects.filter(user=user, kind=SecurityEvent.Kind.EMAIL_CHANGED)
    assert event.detail == "collector@example.net" and event.ip == "192.0.2.23"
    (notice,) = [m for m in mail.outbox if m.to == ["owner@example.org"]]
    assert "“borrower”" in notice.body
    assert "was changed from this address" in notice.body  # English
    assert "已从此地址改为另一个地址" in notice.body  # and Chinese, in one mail
    assert "collector@example.net" not in notice.body


def test_removing_the_address_is_an_event_and_told_to_it(
    clock: Any, django_capture_on_commit_callbacks: Any
) -> None:
    user = UserFactory(email="owner@example.org")
    phone = signed_in(user)
    with django_capture_on_commit_callbacks(execute=True):
        assert phone.post(EMAIL_CHANGE, {"email": ""}).status_code == 302
    (event,) = SecurityEvent.objects.filter(user=user, kind=SecurityEvent.Kind.EMAIL_CHANGED)
    assert event.detail == "removed"
    (notice,) = mail.outbox
    assert notice.to == ["owner@example.org"] and "was removed" in notice.body
    assert "已被删除" in notice.body


def test_a_refused_e_mail_change_records_and_mails_nothing(
    clock: Any, django_capture_on_commit_callbacks: Any
) -> None:
    UserFactory(email="collector@example.net")  # the address is another account's
    user = UserFactory(email="owner@example.org")
    phone = signed_in(user)
    phone.post(EMAIL_CHANGE, {"email": "collector@example.net"})
    with django_capture_on_commit_callbacks(execute=True):
        assert _confirm_new_address(phone).status_code == 400
    assert type(user).objects.get(pk=user.pk).email == "owner@example.org"
    assert not SecurityEvent.objects.filter(kind=SecurityEvent.Kind.EMAIL_CHANGED).exists()
    assert not _has_mail_to("owner@example.org")


# The API ----------------------------------------------------------------------------------


def test_the_api_makes_a_token_only_for_the_password_whatever_token_it_holds(
    clock: Any,
) -> None:
    # POST /api/tokens is the API's one call among the sensitive actions (it has none for
    # the e-mail address or the second factor): it always asks for the password itself.
    user = UserFactory()
    _, raw = services.issue_token(user=user)
    holder = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    before = ApiToken.objects.filter(user=user).count()
    without = holder.post(
        "/api/tokens", json.dumps({"username": user.username}), content_type="application/json"
    )
    assert without.status_code == 422
    wrong = holder.post(
        "/api/tokens",
        json.dumps({"username": user.username, "password": "guess"}),
        content_type="application/json",
    )
    assert wrong.status_code == 401 and wrong.json()["detail"] == "wrong username or password"
    assert ApiToken.objects.filter(user=user).count() == before
