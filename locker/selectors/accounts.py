"""Reads of what belongs to an account: its API tokens, its display preferences (Profile) and
its professional profile."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from locker.models import ApiToken, ProfessionalProfile, Profile


def tokens_of(user: Any) -> QuerySet[ApiToken]:
    """Every token the user was issued, revoked ones included."""
    return ApiToken.objects.filter(user=user)


def token_of(user: Any, token_id: int) -> ApiToken | None:
    """The user's token with this id; None for another person's token, as for none."""
    return ApiToken.objects.filter(pk=token_id, user=user).first()


def professional_profile_of(user: Any) -> ProfessionalProfile | None:
    return ProfessionalProfile.objects.filter(user=user).first()


def preferences_of(user: Any) -> Profile | None:
    """The user's profile (given the user or their id), or None if they never saved one."""
    return Profile.objects.filter(user=user).first()
