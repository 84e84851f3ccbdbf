"""Single-use links through which a contact the collectors reached files a statement."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from locker.models import Case, ContactLink
from locker.services.accounts import hash_token
from locker.services.entries import AppendResult, Upload, append_entry


class LinkUnavailable(Exception):
    """The contact link is unknown, expired, revoked or already used."""


def create_contact_link(
    *, case: Case, user: User, label: str = "", days: int | None = None
) -> tuple[ContactLink, str]:
    """A new single-use contact statement link; the raw token is returned once (≥128 bits:
    32 random bytes) and only its hash is stored."""
    raw = secrets.token_urlsafe(32)
    lifetime = timedelta(days=days if days is not None else settings.LOCKER_CONTACT_LINK_DAYS)
    link = ContactLink.objects.create(
        case=case,
        created_by=user,
        label=label.strip()[:100],
        token_hash=hash_token(raw),
        expires_at=timezone.now() + lifetime,
    )
    return link, raw


def revoke_contact_link(*, link: ContactLink) -> None:
    ContactLink.objects.filter(pk=link.pk, revoked_at__isnull=True, used_at__isnull=True).update(
        revoked_at=timezone.now()
    )


def _open_links() -> Any:
    return ContactLink.objects.filter(
        used_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
    )


def open_contact_link(*, raw: str = "", link_id: int | None = None) -> ContactLink:
    """The link a contact holds (by raw token, or by the id kept in their session), if it
    can still take a statement; otherwise LinkUnavailable, whatever the reason."""
    links = _open_links().select_related("case")
    link = (
        links.filter(pk=link_id).first()
        if link_id is not None
        else links.filter(token_hash=hash_token(raw)).first()
        if raw
        else None
    )
    if link is None:
        raise LinkUnavailable
    return link


def submit_contact_report(
    *,
    link: ContactLink,
    body: dict[str, Any],
    occurred_at: str | datetime | None = None,
    uploads: Sequence[Upload] = (),
) -> AppendResult:
    """Append the contact's statement to the case's chain and use up the link, both or
    neither. Of two simultaneous submissions exactly one claims the link: the conditional
    UPDATE below waits for the other's row lock and then finds used_at set."""
    with transaction.atomic():
        claimed = _open_links().filter(pk=link.pk).update(used_at=timezone.now())
        if claimed != 1:
            raise LinkUnavailable
        result = append_entry(
            case=link.case,
            author=link.author,
            kind="contact_report",
            body=body,
            occurred_at=occurred_at,
            uploads=uploads,
            allow_kinds=("contact_report",),
        )
        ContactLink.objects.filter(pk=link.pk).update(entry=result.entry)
    return result
