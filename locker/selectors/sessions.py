"""Reads of a person's ways in: their signed-in sessions (their API tokens are in
selectors/accounts.py)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from locker.models import UserSession


def sessions_of(user: Any) -> QuerySet[UserSession]:
    """The user's sessions, the most recently used first."""
    return UserSession.objects.filter(user=user)
