"""Reads of the security log: an account's own events, newest first."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from locker.models import SecurityEvent

# Events a page of the security log shows.
PAGE_SIZE = 50


def security_events_of(user: Any) -> QuerySet[SecurityEvent]:
    """The account's own security events, newest first; nobody else's."""
    return SecurityEvent.objects.filter(user=user).order_by("-at", "-id")
