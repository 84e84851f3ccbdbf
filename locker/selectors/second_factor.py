"""Reads of a person's second factor (django-otp's devices), and whether they must have one."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django_otp import user_has_device
from django_otp.plugins.otp_static.models import StaticToken

from locker.models import ProfessionalProfile


def has_second_factor(user: Any) -> bool:
    """A confirmed authenticator (or recovery codes) stands behind the password."""
    return bool(user_has_device(user, confirmed=True))


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
