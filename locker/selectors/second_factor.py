"""Reads of a person's second factor (django-otp's devices and their passkeys), and whether
they must have one."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django_otp import user_has_device
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from locker.models import Passkey, ProfessionalProfile


def has_second_factor(user: Any, *, recovery_codes: bool = True) -> bool:
    """A confirmed authenticator, a passkey (or recovery codes, unless `recovery_codes` is
    False) stands behind the password."""
    if recovery_codes and user_has_device(user, confirmed=True):
        return True
    return has_totp(user) or Passkey.objects.filter(user=user).exists()


def has_totp(user: Any) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def passkeys_of(user: Any) -> QuerySet[Passkey]:
    return Passkey.objects.filter(user=user)


def recovery_codes_left(user: Any) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def second_factor_required(user: Any) -> bool:
    """Operators may require one of lawyers (LOCKER_REQUIRE_2FA_FOR_LAWYERS): the accounts
    with a professional profile, which can see other people's cases."""
    return bool(settings.LOCKER_REQUIRE_2FA_FOR_LAWYERS) and (
        ProfessionalProfile.objects.filter(user=user).exists()
    )


def missing_required_second_factor(user: Any) -> bool:
    return second_factor_required(user) and not has_second_factor(user)
