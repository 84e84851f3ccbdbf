"""What the app is called on an account's screen (locker/core/looks.py)."""

from __future__ import annotations

from typing import Any

from locker.core import looks
from locker.models import Profile
from locker.selectors.accounts import preferences_of


def look_of_profile(profile: Profile | None) -> looks.Shown:
    """The look a profile chose; the real name for none (an account that never saved one)."""
    if profile is None:
        return looks.shown(looks.REAL)
    return looks.shown(profile.look, profile.look_name)


def look_of(user: Any) -> looks.Shown:
    """The look `user` (an account or its id) chose."""
    return look_of_profile(preferences_of(user))
