"""The "confirm it's you" step before a sensitive account change (changing the e-mail address
or the password, setting up, renewing or removing the second factor): the holder of a signed-in
session proves again that they are its owner, and for LOCKER_REAUTH_S that session may make
such changes. Someone holding the borrower's unlocked phone, with its live session, is then
stopped at the password (and the second factor, if the account has one).

The state is one time on the session's UserSession row (locker/selectors/reauth.py reads it),
so it belongs to that session alone, and goes when the session is ended or its key changes.
A log-in is a confirmation too: the person has just given the password (and code).

The password goes through django.contrib.auth.authenticate, so the log-in limits of
locker/infra/login_throttle.py apply here as at the log-in: a wrong password is a failure of
the account, and the same waits refuse guesses made here. A failed step changes nothing.

The second factor's part may be a code (the authenticator's, or a recovery code) or, for an
account with passkeys, a passkey's assertion made for a challenge this session was given
(locker/services/passkeys.py checks it): a person whose only factor is a passkey confirms
with it instead of spending a recovery code."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from django.contrib.auth import authenticate
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from locker.infra import login_throttle
from locker.models import UserSession
from locker.selectors.second_factor import has_second_factor
from locker.services import passkeys as passkey_services
from locker.services import second_factor as factor_services
from locker.services.security import REAUTH_PURPOSE


@dataclass(frozen=True)
class ReauthOutcome:
    """What a try at the step came to: confirmed, or which proof was wrong, or how long the
    account (or address) must wait before the next guess (neither: the session was ended
    meanwhile)."""

    confirmed: bool
    wrong: Literal["", "password", "code", "passkey"] = ""
    retry_after_s: int | None = None
    # Why a passkey's answer was refused, in the user's language (with wrong="passkey").
    passkey_problem: str = ""


@transaction.atomic
def mark_confirmed(*, user: Any, session_key: str | None) -> bool:
    """This session of `user` is confirmed from now on; False when it has no row (it was
    ended meanwhile), and nothing is confirmed then."""
    if not session_key:
        return False
    return (
        UserSession.objects.filter(user=user, session_key=session_key).update(
            confirmed_at=timezone.now()
        )
        > 0
    )


@transaction.atomic
def forget_confirmation(*, session_key: str | None) -> None:
    """The session must confirm again before its next sensitive change (after the quick
    exit's lock, say, whose unlock asks for the password only)."""
    if session_key:
        UserSession.objects.filter(session_key=session_key).update(confirmed_at=None)


@transaction.atomic
def confirm_with_password(
    *,
    user: Any,
    session_key: str | None,
    password: str,
    code: str = "",
    assertion: passkey_services.Assertion | None = None,
    request: HttpRequest,
) -> ReauthOutcome:
    """Check `password` (through the log-in limits) and, when the account has a second factor,
    `code` (its authenticator's current code or a recovery code, which is used up) or, given
    instead, a passkey's `assertion`; confirm the session when both hold. Neither the code
    nor the assertion is looked at after a wrong password."""
    checked = authenticate(
        request, username=user.get_username(), password=password, purpose=REAUTH_PURPOSE
    )
    if checked is None or checked.pk != user.pk:
        refused = login_throttle.refusal_of(request)
        if refused is not None:
            return ReauthOutcome(False, retry_after_s=refused.retry_after_s)
        return ReauthOutcome(False, wrong="password")
    if assertion is not None:
        try:
            passkey_services.verify_passkey(
                user=user,
                credential=assertion.credential,
                challenge=assertion.challenge,
                relying_party=assertion.relying_party,
                request=request,
            )
        except passkey_services.PasskeyRefused as refused:
            return ReauthOutcome(False, wrong="passkey", passkey_problem=str(refused.message))
    elif has_second_factor(user):
        if not factor_services.code_guess_admitted(user):
            return ReauthOutcome(False, retry_after_s=factor_services.CODE_GUESS_WINDOW_S)
        if not factor_services.verify_code(user=user, code=code, request=request):
            return ReauthOutcome(False, wrong="code")
    # False only when the session's row went meanwhile, which is when the session was ended.
    return ReauthOutcome(mark_confirmed(user=user, session_key=session_key))
