"""Reads of a user's display preferences (their Profile: time zone and language)."""

from __future__ import annotations

from typing import Any

from locker.models import Profile


def preferences_of(user: Any) -> Profile | None:
    """The user's profile (given the user or their id), or None if they never saved one."""
    return Profile.objects.filter(user=user).first()
