"""A person's ways in: their signed-in sessions and API tokens, and ending them — one, all but
the current one, or all. A password change and a second-factor change end every other
session and every token, so whoever learned the old password or held the old device is out."""

from __future__ import annotations

from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from locker.models import ApiToken, UserSession
from locker.selectors.sessions import live_since

USER_AGENT_CHARS = 200


def _session_store(session_key: str) -> Any:
    engine = import_module(settings.SESSION_ENGINE)
    return engine.SessionStore(session_key=session_key)


def record_session(*, user: User, session_key: str, user_agent: str, address: str) -> UserSession:
    """The row that lists this session on its owner's sessions page (made, or taken over
    after the key changed hands). The user's rows of sessions that ended by themselves (idle,
    too old, a closed browser's) go at the same time."""
    seen_after, created_after = live_since()
    UserSession.objects.filter(user=user).filter(
        Q(last_seen_at__lt=seen_after) | Q(created_at__lt=created_after)
    ).delete()
    row, _ = UserSession.objects.update_or_create(
        session_key=session_key,
        defaults={
            "user": user,
            "user_agent": user_agent[:USER_AGENT_CHARS],
            "address": address[:45],
            "last_seen_at": timezone.now(),
        },
    )
    return row


def touch_session(*, session_key: str) -> bool:
    """Note that the session was used now; False when it has no row (it was ended, or is
    older than the rows)."""
    return (
        UserSession.objects.filter(session_key=session_key).update(last_seen_at=timezone.now()) > 0
    )


def forget_session(*, session_key: str) -> None:
    """Drop the row of a session that ended by itself (logged out, timed out)."""
    UserSession.objects.filter(session_key=session_key).delete()


def _end(rows: Any) -> int:
    keys = list(rows.values_list("session_key", flat=True))
    for key in keys:
        # The session itself, not only its row: it stops working at once, whatever the engine.
        _session_store(key).delete(key)
    rows.delete()
    return len(keys)


@transaction.atomic
def end_session(*, user: User, session_id: int) -> bool:
    """End one of the user's sessions; False when there is no such session of theirs."""
    return _end(UserSession.objects.filter(user=user, pk=session_id)) > 0


@transaction.atomic
def end_sessions(*, user: User, keep_session_key: str | None = None) -> int:
    """End every session of the user but `keep_session_key` (None: all of them)."""
    rows = UserSession.objects.filter(user=user)
    if keep_session_key:
        rows = rows.exclude(session_key=keep_session_key)
    return _end(rows)


def revoke_tokens(*, user: Any) -> int:
    """Revoke every API token the user still has."""
    return ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )


@transaction.atomic
def end_other_access(*, user: User, keep_session_key: str | None = None) -> None:
    """After a credential changed: every API token and every session but the current one."""
    revoke_tokens(user=user)
    end_sessions(user=user, keep_session_key=keep_session_key)


class PasswordChangeEndsAccess:
    """Listed in AUTH_PASSWORD_VALIDATORS for its password_changed hook, which Django calls on
    every password change and reset, through the pages, the admin or `changepassword` (and
    not when a hash is merely upgraded at log-in). Every session and token of the user ends;
    the password-change page keeps its own session going (Django's update_session_auth_hash
    gives it a new key, which the session middleware lists again)."""

    def validate(self, password: str, user: Any = None) -> None:
        return None

    def password_changed(self, password: str, user: Any = None) -> None:
        if user is not None and user.pk is not None:
            end_other_access(user=user)

    def get_help_text(self) -> str:
        return ""
