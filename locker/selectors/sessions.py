"""Reads of a person's ways in: their signed-in sessions (their API tokens are in
selectors/accounts.py)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import QuerySet

from locker.models import UserSession


def sessions_of(user: Any) -> QuerySet[UserSession]:
    """The user's sessions, the most recently used first."""
    return UserSession.objects.filter(user=user)


def active_user(user_id: Any) -> Any:
    """The active account with this id, or None."""
    if not isinstance(user_id, int):
        return None
    return get_user_model().objects.filter(pk=user_id, is_active=True).first()
