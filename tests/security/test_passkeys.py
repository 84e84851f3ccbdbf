"""Passkeys (WebAuthn) as a second factor (issue 12, item 1): registered on the second-factor
page, used at the log-in step after the password, removed; each change ends every other
session and every API token and is in the security log. Then the attacks: a replayed
assertion, another origin or relying party id, a challenge used twice or in another session,
another account's passkey, a removed one, a counter that goes back, a forged signature.

The authenticator is tests/webauthn_authenticator.py: real keys, CBOR, COSE and signatures,
checked by py_webauthn as a phone's would be."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django_otp.plugins.otp_static.models import StaticToken

from locker import services
from locker.infra.http import RelyingParty, relying_party
from locker.models import Passkey, ProfessionalProfile, SecurityEvent
from locker.services import passkeys as passkey_services
from locker.services import reauth as reauth_services
from tests.factories import PASSWORD, UserFactory
from tests.webauthn_authenticator import SoftAuthenticator, b64url, unb64url

pytestmark = pytest.mark.django_db

Kind = SecurityEvent.Kind
ORIGIN = "http://testserver"
RP_ID = "testserver"
TWO_FACTOR = "/accounts/two-factor/"
REGISTER_OPTIONS = "/accounts/two-factor/passkey-options/"
LOGIN = "/accounts/login/"
STEP = "/accounts/login/second-factor/"
LOGIN_OPTIONS = "/accounts/login/second-factor/passkey-options/"


@pytest.fixture(autouse=True)
def _still_clock() -> Any:
    with time_machine.travel("2026-12-01 08:00:00+00:00", tick=False):
        yield


def phone() -> SoftAuthenticator:
    return SoftAuthenticator(origin=ORIGIN, rp_id=RP_ID)


def signed_in(user: Any, address: str = "192.0.2.10") -> Client:
    client = Client(REMOTE_ADDR=address, HTTP_ACCEPT_LANGUAGE="en")
    response = client.post(LOGIN, {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    return client


def another_session(user: Any) -> Client:
    """A session of the user's elsewhere, once the password alone no longer signs in."""
    client = Client(REMOTE_ADDR="198.51.100.30", HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def add_passkey(client: Client, authenticator: SoftAuthenticator, name: str = "我的手机") -> Any:
    options = client.post(REGISTER_OPTIONS)
    assert options.status_code == 200 and options["Content-Type"] == "application/json"
    return client.post(
        TWO_FACTOR,
        {"action": "passkey_add", "name": name, "credential": authenticator.create(options.json())},
    )


def with_passkey(user: Any, authenticator: SoftAuthenticator | None = None) -> SoftAuthenticator:
    authenticator = authenticator or phone()
    response = add_passkey(signed_in(user, "192.0.2.99"), authenticator)
    assert response.status_code in (200, 302)
    return authenticator


def password_step(user: Any, client: Client | None = None) -> Client:
    client = client or Client(HTTP_ACCEPT_LANGUAGE="en")
    response = client.post(LOGIN, {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == STEP
    return client


def login_options(client: Client) -> dict[str, Any]:
    response = client.post(LOGIN_OPTIONS)
    assert response.status_code == 200
    return dict(response.json())


def answer(client: Client, credential: str) -> Any:
    return client.post(STEP, {"credential": credential})


def signed_in_now(client: Client) -> bool:
    return client.get("/cases/").status_code == 200


def bearer(raw: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


# Registering, logging in, removing -----------------------------------------------------------


def test_a_passkey_is_registered_and_then_signs_in_after_the_password() -> None:
    user = UserFactory()
    here, elsewhere = signed_in(user), signed_in(user, "198.51.100.20")
    _, raw = services.issue_token(user=user)
    authenticator = phone()
    added = add_passkey(here, authenticator, name="  我的  手机 ")
    # The first second factor comes with recovery codes, shown once.
    assert added.status_code == 200 and len(added.context["codes"]) == 10
    passkey = Passkey.objects.get(user=user)
    assert passkey.name == "我的 手机" and passkey.transports == ["internal"]
    assert bytes(passkey.credential_id) == authenticator.credential_id
    # A second-factor change: every other session and every token ends, this one goes on.
    assert signed_in_now(here)
    assert not signed_in_now(elsewhere)
    assert Client().get("/api/cases", **bearer(raw)).status_code == 401
    event = SecurityEvent.objects.get(user=user, kind=Kind.SECOND_FACTOR_ADDED)
    assert event.detail == "passkey: 我的 手机" and event.ip == "192.0.2.10"

    client = password_step(user)
    assert not signed_in_now(client)
    page = client.get(STEP).content.decode()
    assert 'data-passkey="log_in"' in page and "<noscript>" in page
    response = answer(client, authenticator.get(login_options(client)))
    assert response.status_code == 302 and response["Location"] == "/cases/"
    assert signed_in_now(client)
    passkey.refresh_from_db()
    assert passkey.sign_count == 1 and passkey.last_used_at is not None
    assert Kind.LOGIN in SecurityEvent.objects.filter(user=user).values_list("kind", flat=True)


def test_a_second_passkey_makes_no_new_codes_and_both_sign_in() -> None:
    user = UserFactory()
    here = signed_in(user)
    first, second = phone(), phone()
    codes = add_passkey(here, first).context["codes"]
    again = add_passkey(here, second, name="电脑")
    assert again.status_code == 302  # nothing to show: the codes stay as they were
    assert StaticToken.objects.filter(device__user=user).count() == len(codes)
    assert set(Passkey.objects.values_list("name", flat=True)) == {"我的手机", "电脑"}
    # Both passkeys carry the account's one user handle.
    assert first.user_handle == second.user_handle
    for authenticator in (first, second):
        client = password_step(user)
        assert answer(client, authenticator.get(login_options(client))).status_code == 302


def test_the_options_exclude_the_passkeys_already_registered() -> None:
    user = UserFactory()
    here = signed_in(user)
    authenticator = phone()
    add_passkey(here, authenticator)
    options = here.post(REGISTER_OPTIONS).json()
    assert [item["id"] for item in options["excludeCredentials"]] == [
        b64url(authenticator.credential_id)
    ]
    assert options["rp"] == {"id": RP_ID, "name": "Locker"}


def test_recovery_codes_still_sign_in_an_account_with_only_a_passkey() -> None:
    user = UserFactory()
    codes = add_passkey(signed_in(user), phone()).context["codes"]
    client = password_step(user)
    page = client.get(STEP).content.decode()
    assert "authenticator app shows now" not in page  # there is none to ask for
    assert client.post(STEP, {"code": codes[0]}).status_code == 302
    assert signed_in_now(client)
    assert SecurityEvent.objects.filter(user=user, kind=Kind.RECOVERY_CODE_USED).count() == 1
    # Used up.
    other = password_step(user)
    assert other.post(STEP, {"code": codes[0]}).status_code == 200


def test_the_api_takes_a_recovery_code_from_an_account_with_only_a_passkey() -> None:
    user = UserFactory()
    codes = add_passkey(signed_in(user), phone()).context["codes"]

    def ask(**extra: str) -> Any:
        body = {"username": user.username, "password": PASSWORD, **extra}
        return Client().post("/api/tokens", json.dumps(body), content_type="application/json")

    assert ask().status_code == 401
    assert ask(otp=codes[1]).status_code == 201


def test_removing_a_passkey_asks_to_confirm_it_is_you_and_ends_other_access() -> None:
    user = UserFactory()
    here = signed_in(user)
    first, second = phone(), phone()
    codes = add_passkey(here, first).context["codes"]
    add_passkey(here, second, name="电脑")
    elsewhere = another_session(user)
    _, raw = services.issue_token(user=user)
    target = Passkey.objects.get(name="电脑")
    # A phone picked up later: the session's confirmation is gone (the window passed, or
    # the quick exit locked it), so the removal is sent to the "confirm it's you" step.
    reauth_services.forget_confirmation(session_key=here.session.session_key)
    refused = here.post(TWO_FACTOR, {"action": "passkey_remove", "passkey": target.pk})
    assert refused.status_code == 302 and refused["Location"].startswith("/accounts/confirm/")
    assert Passkey.objects.filter(pk=target.pk).exists() and signed_in_now(elsewhere)
    assert (
        here.post(
            "/accounts/confirm/",
            {"password": PASSWORD, "code": codes[0], "next": TWO_FACTOR},
        ).status_code
        == 302
    )
    removed = here.post(TWO_FACTOR, {"action": "passkey_remove", "passkey": target.pk})
    assert removed.status_code == 302
    assert not Passkey.objects.filter(pk=target.pk).exists()
    assert signed_in_now(here) and not signed_in_now(elsewhere)
    assert Client().get("/api/cases", **bearer(raw)).status_code == 401
    event = SecurityEvent.objects.get(user=user, kind=Kind.SECOND_FACTOR_REMOVED)
    assert event.detail == "passkey: 电脑"
    # One passkey is left: still a second factor, codes and all.
    assert StaticToken.objects.filter(device__user=user).exists()
    password_step(user)


def test_removing_the_last_passkey_turns_the_second_factor_off() -> None:
    user = UserFactory()
    here = signed_in(user)
    add_passkey(here, phone())
    passkey = Passkey.objects.get(user=user)
    here.post(TWO_FACTOR, {"action": "passkey_remove", "passkey": passkey.pk, "password": PASSWORD})
    # As when the authenticator app is turned off: the codes go too, the password alone
    # signs in again.
    assert not StaticToken.objects.filter(device__user=user).exists()
    response = Client().post(LOGIN, {"username": user.username, "password": PASSWORD})
    assert response["Location"] == "/cases/"


def test_turning_the_second_factor_off_removes_the_passkeys_too() -> None:
    user = UserFactory()
    here = signed_in(user)
    add_passkey(here, phone())
    assert here.post(TWO_FACTOR, {"action": "remove", "password": PASSWORD}).status_code == 302
    assert not Passkey.objects.filter(user=user).exists()
    assert Kind.SECOND_FACTOR_REMOVED in SecurityEvent.objects.filter(user=user).values_list(
        "kind", flat=True
    )


def test_a_lawyer_who_must_have_a_second_factor_may_have_a_passkey(settings) -> None:
    settings.LOCKER_REQUIRE_2FA_FOR_LAWYERS = True
    lawyer = UserFactory()
    ProfessionalProfile.objects.create(user=lawyer, name="王律师")
    client = signed_in(lawyer)
    assert client.get("/shared/")["Location"] == TWO_FACTOR
    # The passkey's own options are reachable before any other page.
    add_passkey(client, phone())
    assert client.get("/shared/").status_code == 200
    token = Client().post(
        "/api/tokens",
        json.dumps({"username": lawyer.username, "password": PASSWORD}),
        content_type="application/json",
    )
    assert token.status_code == 401  # has a second factor now: asked for it, not refused
    # Removing the last one sends the lawyer back to set one up.
    passkey = Passkey.objects.get(user=lawyer)
    client.post(
        TWO_FACTOR, {"action": "passkey_remove", "passkey": passkey.pk, "password": PASSWORD}
    )
    assert client.get("/shared/")["Location"] == TWO_FACTOR


def test_the_pages_work_without_javascript_and_say_passkeys_need_it() -> None:
    user = UserFactory()
    page = signed_in(user).get(TWO_FACTOR).content.decode()
    # The passkey form is hidden until the script shows it; the app's form is not.
    assert '<form method="post" novalidate hidden data-passkey="register"' in page
    assert "<noscript>" in page and "Passkeys need JavaScript" in page
    assert 'value="start"' in page
    zh = Client(HTTP_ACCEPT_LANGUAGE="zh-CN")
    zh.force_login(user)
    assert "通行密钥需要 JavaScript" in zh.get(TWO_FACTOR).content.decode()


def test_a_name_is_given_when_none_is_typed() -> None:
    user = UserFactory()
    add_passkey(signed_in(user), phone(), name="   ")
    assert Passkey.objects.get(user=user).name == "Passkey 1"


# The relying party ---------------------------------------------------------------------------


def test_the_relying_party_comes_from_settings_or_the_request(settings, rf) -> None:
    request = rf.get("/", HTTP_HOST="localhost:8000")
    settings.LOCKER_PUBLIC_URL = ""
    settings.LOCKER_WEBAUTHN_RP_ID = settings.LOCKER_WEBAUTHN_ORIGIN = ""
    assert relying_party(request) == RelyingParty("localhost", "http://localhost:8000")
    settings.LOCKER_PUBLIC_URL = "https://locker.example.org"
    assert relying_party(request) == RelyingParty(
        "locker.example.org", "https://locker.example.org"
    )
    settings.LOCKER_WEBAUTHN_ORIGIN = "https://app.locker.example.org"
    settings.LOCKER_WEBAUTHN_RP_ID = "locker.example.org"
    assert relying_party(request) == RelyingParty(
        "locker.example.org", "https://app.locker.example.org"
    )


def test_a_passkey_made_under_the_configured_id_works_only_there(settings) -> None:
    settings.LOCKER_WEBAUTHN_RP_ID = "locker.example.org"
    settings.LOCKER_WEBAUTHN_ORIGIN = "https://locker.example.org"
    user = UserFactory()
    authenticator = SoftAuthenticator(
        origin="https://locker.example.org", rp_id="locker.example.org"
    )
    assert add_passkey(signed_in(user), authenticator).status_code == 200
    client = password_step(user)
    assert answer(client, authenticator.get(login_options(client))).status_code == 302


# Attacks -------------------------------------------------------------------------------------


def refused_at_step(client: Client, credential: str) -> str:
    """Post an assertion at the log-in step; it must be refused (the page again, with an
    error, still signed out). Returns the error shown."""
    response = answer(client, credential)
    assert response.status_code == 200, response
    assert not signed_in_now(client)
    return str(response.context["error"])


def test_a_replayed_assertion_is_refused() -> None:
    user = UserFactory()
    authenticator = with_passkey(user)
    client = password_step(user)
    assertion = authenticator.get(login_options(client))
    assert answer(client, assertion).status_code == 302
    # The same bytes again, in a new log-in from another browser that asked for its own
    # challenge: the assertion was made for the old one.
    thief = password_step(user)
    login_options(thief)
    assert refused_at_step(thief, assertion)
    # And in a log-in that asked for no challenge at all.
    lazy = password_step(user)
    assert "took too long" in refused_at_step(lazy, assertion)


def test_a_challenge_answers_once() -> None:
    user = UserFactory()
    authenticator = with_passkey(user)
    client = password_step(user)
    options = login_options(client)
    first = authenticator.get(options)
    second = authenticator.get(options)  # a second, valid signature over the same challenge
    assert refused_at_step(client, authenticator.get(options, origin="https://evil.example"))
    # The failed answer took the challenge out: the right one cannot follow it.
    assert refused_at_step(client, first)
    assert answer(client, authenticator.get(login_options(client))).status_code == 302
    client.post("/accounts/logout/")
    password_step(user, client)
    assert refused_at_step(client, second)


def test_a_challenge_from_another_session_is_refused() -> None:
    user = UserFactory()
    authenticator = with_passkey(user)
    mine, theirs = password_step(user), password_step(user)
    assertion = authenticator.get(login_options(theirs))
    login_options(mine)
    assert refused_at_step(mine, assertion)


def test_a_registration_challenge_does_not_sign_anyone_in() -> None:
    user = UserFactory()
    authenticator = with_passkey(user)
    client = password_step(user)
    register = another_session(user).post(REGISTER_OPTIONS).json()
    login_options(client)
    assert refused_at_step(client, authenticator.get(register))


def test_a_challenge_expires() -> None:
    user = UserFactory()
    authenticator = with_passkey(user)
    with time_machine.travel("2026-12-01 09:00:00+00:00", tick=False) as clock:
        client = password_step(user)
        options = login_options(client)
        clock.shift(timedelta(seconds=200))
        password_step(user, client)  # the password again: its own five minutes start anew
        clock.shift(timedelta(seconds=passkey_services.CHALLENGE_S - 199))
        assert "took too long" in refused_at_step(client, authenticator.get(options))


@pytest.mark.parametrize(
    ("origin", "rp_id", "reason"),
    [
        ("https://evil.example", None, "origin"),
        ("http://testserver:8000", None, "origin"),
        (None, "evil.example", "RP ID"),
    ],
)
def test_an_assertion_for_another_origin_or_relying_party_is_refused(origin, rp_id, reason) -> None:
    user = UserFactory()
    authenticator = with_passkey(user)
    client = password_step(user)
    assert refused_at_step(
        client, authenticator.get(login_options(client), origin=origin, rp_id=rp_id)
    )
    # The same checks, at the service, with the cause.
    ceremony = passkey_services.authentication_options(
        user=user, relying_party=RelyingParty(RP_ID, ORIGIN)
    )
    with pytest.raises(passkey_services.PasskeyRefused, match=reason):
        passkey_services.verify_passkey(
            user=user,
            credential=authenticator.get(ceremony.options_json, origin=origin, rp_id=rp_id),
            challenge=ceremony.challenge,
            relying_party=RelyingParty(RP_ID, ORIGIN),
        )


@pytest.mark.parametrize(
    ("origin", "rp_id"), [("https://evil.example", None), (None, "evil.example")]
)
def test_a_registration_for_another_origin_or_relying_party_keeps_nothing(origin, rp_id) -> None:
    user = UserFactory()
    here = signed_in(user)
    options = here.post(REGISTER_OPTIONS).json()
    credential = phone().create(options, origin=origin, rp_id=rp_id)
    response = here.post(
        TWO_FACTOR, {"action": "passkey_add", "name": "x", "credential": credential}
    )
    assert response.status_code == 400 and response.context["error"]
    assert not Passkey.objects.exists()
    assert not StaticToken.objects.exists()
    assert not SecurityEvent.objects.filter(kind=Kind.SECOND_FACTOR_ADDED).exists()


def test_another_accounts_passkey_does_not_sign_in() -> None:
    alice, bob = UserFactory(), UserFactory()
    with_passkey(alice)
    bobs = with_passkey(bob)
    client = password_step(alice)
    error = refused_at_step(client, bobs.get(login_options(client)))
    assert "not one of this account" in error
    # Bob's passkey is not even among those offered to Alice's log-in.
    options = login_options(client)
    assert b64url(bobs.credential_id) not in [c["id"] for c in options["allowCredentials"]]


def test_a_credential_registered_to_another_account_is_not_registered_again() -> None:
    alice, bob = UserFactory(), UserFactory()
    shared = with_passkey(bob)
    here = signed_in(alice)
    options = here.post(REGISTER_OPTIONS).json()
    response = here.post(
        TWO_FACTOR, {"action": "passkey_add", "name": "x", "credential": shared.create(options)}
    )
    assert response.status_code == 400
    assert Passkey.objects.filter(user=alice).count() == 0
    assert Passkey.objects.filter(user=bob).count() == 1


def test_a_removed_passkey_no_longer_signs_in() -> None:
    user = UserFactory()
    here = signed_in(user)
    kept, removed = phone(), phone()
    add_passkey(here, kept)
    add_passkey(here, removed, name="丢了的手机")
    gone = Passkey.objects.get(name="丢了的手机")
    here.post(TWO_FACTOR, {"action": "passkey_remove", "passkey": gone.pk, "password": PASSWORD})
    client = password_step(user)
    assert refused_at_step(client, removed.get(login_options(client)))
    assert answer(client, kept.get(login_options(client))).status_code == 302


def test_no_one_removes_another_persons_passkey() -> None:
    victim, attacker = UserFactory(), UserFactory()
    with_passkey(victim)
    target = Passkey.objects.get(user=victim)
    client = signed_in(attacker)
    add_passkey(client, phone())
    response = client.post(
        TWO_FACTOR, {"action": "passkey_remove", "passkey": target.pk, "password": PASSWORD}
    )
    assert response.status_code == 400 and Passkey.objects.filter(pk=target.pk).exists()


def test_a_counter_that_goes_back_is_refused_and_logged() -> None:
    user = UserFactory()
    authenticator = with_passkey(user)
    for _ in range(3):
        client = password_step(user)
        assert answer(client, authenticator.get(login_options(client))).status_code == 302
    assert Passkey.objects.get(user=user).sign_count == 3
    # A copy of the key, with the counter where it was when copied.
    for clone_count in (3, 2):
        client = password_step(user)
        error = refused_at_step(
            client, authenticator.get(login_options(client), sign_count=clone_count)
        )
        assert "copy" in error
    assert Passkey.objects.get(user=user).sign_count == 3
    warnings = SecurityEvent.objects.filter(user=user, kind=Kind.LOGIN_FAILED)
    assert warnings.count() == 2 and "counter went back" in warnings.first().detail  # type: ignore[operator,union-attr]
    # The original, counting on, still signs in.
    client = password_step(user)
    assert answer(client, authenticator.get(login_options(client))).status_code == 302


def test_an_authenticator_without_a_counter_signs_in_again_and_again() -> None:
    user = UserFactory()
    authenticator = with_passkey(
        user, SoftAuthenticator(origin=ORIGIN, rp_id=RP_ID, counter_step=0)
    )
    for _ in range(2):
        client = password_step(user)
        assert answer(client, authenticator.get(login_options(client))).status_code == 302
    assert Passkey.objects.get(user=user).sign_count == 0


def test_a_forged_signature_or_user_handle_is_refused() -> None:
    user = UserFactory()
    authenticator = with_passkey(user)
    client = password_step(user)
    forged = json.loads(authenticator.get(login_options(client)))
    signature = bytearray(unb64url(forged["response"]["signature"]))
    signature[-1] ^= 1
    forged["response"]["signature"] = b64url(bytes(signature))
    assert refused_at_step(client, json.dumps(forged))
    other = json.loads(authenticator.get(login_options(client)))
    other["response"]["userHandle"] = b64url(b"someone else")
    assert refused_at_step(client, json.dumps(other))
    # Junk of every shape is refused the same way, never a 500.
    for junk in ("{", "[]", '{"id": 1}', "x" * 70_000):
        login_options(client)
        assert refused_at_step(client, junk)


def test_a_stranger_gets_no_login_options() -> None:
    user = UserFactory()
    with_passkey(user)
    response = Client(HTTP_ACCEPT_LANGUAGE="en").post(LOGIN_OPTIONS)
    assert response.status_code == 403 and "password first" in response.json()["detail"]
    assert Client().get(LOGIN_OPTIONS).status_code == 405


def test_passkey_answers_count_as_guesses() -> None:
    user = UserFactory()
    authenticator = with_passkey(user)
    client = password_step(user)
    statuses = []
    for _ in range(12):
        login_options(client)
        statuses.append(
            answer(client, authenticator.get(login_options(client), rp_id="x")).status_code
        )
    assert 429 in statuses and statuses.index(429) <= 10


def test_an_account_has_at_most_ten_passkeys() -> None:
    user = UserFactory()
    here = signed_in(user)
    for _ in range(passkey_services.MAX_PASSKEYS):
        add_passkey(here, phone())
    assert 'data-passkey="register"' not in here.get(TWO_FACTOR).content.decode()
    response = add_passkey(here, phone())
    assert response.status_code == 400
    assert Passkey.objects.filter(user=user).count() == passkey_services.MAX_PASSKEYS
