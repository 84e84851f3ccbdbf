"""Reads of a person's ways in: their signed-in sessions (their API tokens are in
selectors/accounts.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.utils import timezone

from locker.models import UserSession


def live_since() -> tuple[datetime, datetime]:
    """(last seen, created) before which a session has certainly ended by itself: idle too
    long (its last-activity is written once a minute) or past its absolute age."""
    now = timezone.now()
    idle = timedelta(seconds=settings.LOCKER_SESSION_IDLE_S + 60)
    return now - idle, now - timedelta(seconds=settings.SESSION_COOKIE_AGE)


def sessions_of(user: Any) -> QuerySet[UserSession]:
    """The user's sessions that may still be in use, the most recently used first."""
    seen_after, created_after = live_since()
    return UserSession.objects.filter(
        user=user, last_seen_at__gte=seen_after, created_at__gte=created_after
    )


def active_user(user_id: Any) -> Any:
    """The active account with this id, or None."""
    if not isinstance(user_id, int):
        return None
    return get_user_model().objects.filter(pk=user_id, is_active=True).first()
