"""The second factor (django-otp): an authenticator app's time-based codes (TOTP, RFC 6238)
and ten single-use recovery codes (django-otp's static device) for when the phone is gone.
Never SMS: a collector who has the borrower's phone, or their SIM, would get the codes.

Passkeys (WebAuthn) are the other second factor, in services/passkeys.py; the recovery codes
here serve both.

A change of second factor (one set up, new recovery codes, one removed) ends every other
session and every API token, as a password change does (services/sessions.py), and is
recorded in the account's security log."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.http import HttpRequest
from django_otp import devices_for_user, match_token
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from locker.infra import ratelimit
from locker.models import Passkey
from locker.services import security
from locker.services.sessions import end_other_access

RECOVERY_CODES = 10
# Guesses at one account's codes, whatever the address (django-otp also slows each device
# down after each failure).
CODE_GUESSES = 10
CODE_GUESS_WINDOW_S = 900
TOTP_NAME = "authenticator"
RECOVERY_NAME = "recovery"


@dataclass(frozen=True)
class PendingTotp:
    """An authenticator being set up: what the person scans or types, until they confirm it
    with a code."""

    device_id: int
    config_url: str
    secret_base32: str


@transaction.atomic
def start_totp(*, user: User) -> PendingTotp:
    """A new, unconfirmed authenticator device (one at a time: an older unconfirmed one goes).
    A confirmed one stays in use until the new one is confirmed."""
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    device = TOTPDevice.objects.create(user=user, name=TOTP_NAME, confirmed=False)
    return _pending(device)


def pending_totp(*, user: User) -> PendingTotp | None:
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    return _pending(device) if device is not None else None


def _pending(device: TOTPDevice) -> PendingTotp:
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    return PendingTotp(device_id=device.pk, config_url=device.config_url, secret_base32=secret)


def code_guess_admitted(user: Any) -> bool:
    return ratelimit.hit("otp", str(user.pk), limit=CODE_GUESSES, window_s=CODE_GUESS_WINDOW_S)


@transaction.atomic
def confirm_totp(
    *,
    user: User,
    code: str,
    keep_session_key: str | None,
    request: HttpRequest | None = None,
) -> list[str] | None:
    """Confirm the pending authenticator with a code it shows; it replaces any earlier one,
    and new recovery codes are made (returned, shown once). None when the code is wrong."""
    device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).first()
    if device is None or not device.verify_token(_digits(code)):
        return None
    TOTPDevice.objects.filter(user=user, confirmed=True).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = new_recovery_codes(user)
    second_factor_changed(
        user=user,
        kinds=(security.Kind.SECOND_FACTOR_ADDED, security.Kind.RECOVERY_CODES_GENERATED),
        detail="totp",
        keep_session_key=keep_session_key,
        request=request,
    )
    return codes


@transaction.atomic
def renew_recovery_codes(
    *, user: User, keep_session_key: str | None, request: HttpRequest | None = None
) -> list[str]:
    """Ten new recovery codes; the old ones stop working."""
    codes = new_recovery_codes(user)
    second_factor_changed(
        user=user,
        kinds=(security.Kind.RECOVERY_CODES_GENERATED,),
        keep_session_key=keep_session_key,
        request=request,
    )
    return codes


def second_factor_changed(
    *,
    user: User,
    kinds: tuple[str, ...],
    keep_session_key: str | None,
    request: HttpRequest | None,
    detail: str = "",
) -> None:
    """What every change of second factor does after the change itself: every other session
    and every API token ends, and each of `kinds` goes into the security log (`detail`
    with the first: which factor)."""
    end_other_access(user=user, keep_session_key=keep_session_key)
    for number, kind in enumerate(kinds):
        security.record_security_event(
            user=user, kind=kind, request=request, detail=detail if number == 0 else ""
        )


def discard_recovery_codes(user: User) -> None:
    StaticDevice.objects.filter(user=user).delete()


def new_recovery_codes(user: User) -> list[str]:
    """Ten new recovery codes in place of any earlier ones (the caller ends other access)."""
    discard_recovery_codes(user)
    device = StaticDevice.objects.create(user=user, name=RECOVERY_NAME, confirmed=True)
    # 10 characters of a 32-letter alphabet without look-alikes: 50 bits each.
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    codes = ["".join(secrets.choice(alphabet) for _ in range(10)) for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes


@transaction.atomic
def remove_second_factor(
    *, user: User, keep_session_key: str | None, request: HttpRequest | None = None
) -> None:
    """Turn the second factor off: the authenticator app, every passkey, the recovery codes."""
    for device in devices_for_user(user, confirmed=None):
        device.delete()
    Passkey.objects.filter(user=user).delete()
    second_factor_changed(
        user=user,
        kinds=(security.Kind.SECOND_FACTOR_REMOVED,),
        detail="all",
        keep_session_key=keep_session_key,
        request=request,
    )


def _digits(code: str) -> str:
    return "".join(code.split()) if isinstance(code, str) else ""


def verify_code(*, user: Any, code: str, request: HttpRequest | None = None) -> bool:
    """Whether `code` is the user's current authenticator code or one of their unused
    recovery codes (used up by this, and recorded). The caller limits guesses
    (code_guess_admitted)."""
    cleaned = _digits(code).lower()
    if not cleaned or len(cleaned) > 16:
        return False
    device = match_token(user, cleaned)
    if isinstance(device, StaticDevice):
        security.record_security_event(
            user=user, kind=security.Kind.RECOVERY_CODE_USED, request=request
        )
    return device is not None
