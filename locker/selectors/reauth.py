"""Reads of the "confirm it's you" state (locker/services/reauth.py writes it): whether a
signed-in session's holder proved, recently enough, that they are its owner."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from locker.models import UserSession


def confirmed_until(*, user: Any, session_key: str | None) -> datetime | None:
    """Until when this session of `user` counts as confirmed (LOCKER_REAUTH_S after its last
    confirmation), or None when it never was, or its row is gone."""
    if not session_key:
        return None
    confirmed_at = (
        UserSession.objects.filter(user=user, session_key=session_key)
        .values_list("confirmed_at", flat=True)
        .first()
    )
    if confirmed_at is None:
        return None
    return confirmed_at + timedelta(seconds=settings.LOCKER_REAUTH_S)


def recently_confirmed(*, user: Any, session_key: str | None) -> bool:
    """Whether a sensitive account change may go ahead in this session now."""
    until = confirmed_until(user=user, session_key=session_key)
    return until is not None and timezone.now() < until
