"""Sharing a case with lawyers: shares and invitations, reviewers' annotations, the access
log, professional profiles and "unread since my last visit"."""

from __future__ import annotations

import logging
import secrets
import smtplib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.text import format_lazy
from django.utils.translation import gettext, gettext_lazy

from locker.models import (
    AccessLog,
    Annotation,
    Case,
    CaseVisit,
    Entry,
    Invitation,
    ProfessionalProfile,
    Share,
)
from locker.selectors import sharing
from locker.services.accounts import hash_token
from locker.services.entries import InputError

_share_log = logging.getLogger("locker.selectors.sharing")


class ShareConflict(InputError):
    """The case already has an open share for this person."""


@dataclass(frozen=True)
class ShareResult:
    share: Share
    email_sent: bool


def _find_grantee(identifier: str) -> Any:
    """The account a username names, or None. An email address never names an account here:
    addresses are not proven at sign-up, so matching one would hand the case to whoever typed
    it first. Email shares always go to the address as an invitation, and the person who can
    read that mail accepts it (signed in to whichever account they like)."""
    if "@" in identifier:
        return None
    user_model = get_user_model()
    return user_model.objects.filter(
        **{user_model.USERNAME_FIELD: identifier}, is_active=True
    ).first()


def _send_share_email(*, to: str, subject: str, lines: Sequence[str]) -> bool:
    """Send one plain-text email; a mail server failure is logged and reported, never a lost
    share (the owner sees the share as pending and can share again)."""
    try:
        send_mail(subject, "\n".join(lines), None, [to], fail_silently=False)
    except (OSError, smtplib.SMTPException) as exc:
        _share_log.warning("share email not sent: %s", exc.__class__.__name__)
        return False
    return True


def _share_email(*, sharer: str, role: str, link: str) -> tuple[str, list[str]]:
    # The recipient's language is unknown: both of ours, Chinese first. The case's title and
    # facts stay out of the email, since an address can be mistyped.
    subject_parts, lines = [], []
    for language in ("zh-hans", "en"):
        with translation.override(language):
            subject_parts.append(gettext("A case was shared with you on Evidence Locker"))
            role_name = gettext("reviewer") if role == Share.REVIEWER else gettext("viewer")
            lines.append(
                gettext("%(sharer)s shared a case with you as %(role)s.")
                % {"sharer": sharer, "role": role_name}
            )
            lines.append(
                gettext(
                    "Open this link, sign in (or create an account) and accept; then you "
                    "see the case. It works once and expires in %(days)s days:"
                )
                % {"days": settings.LOCKER_INVITATION_DAYS}
            )
            lines.extend([link, ""])
    return " / ".join(subject_parts), lines


def share_case(*, case: Case, by: User, grantee: str, role: str, site_url: str) -> ShareResult:
    """Share a case (by its owner) with a username or an email address, as viewer or reviewer.
    The share gives access once accepted: a username's share from their "shared with me"
    page, an email address's through the single-use invitation token mailed to it.
    `site_url` is the public address the email's link starts with.

    The answer must not tell the owner (or whoever holds the owner's session or token)
    whether a username has an account: a collector with the borrower's phone could otherwise
    test the names of the borrower's relatives and lawyers. So a username that names no
    (active) account is recorded like one that does, as a pending share under the name typed,
    that simply never resolves; the owner's list shows both as pending, a second share of
    either is the same conflict, and neither sends an email (a mail, or its failure, would
    tell them apart, and so would the time it takes)."""

    if case.owner_id != by.pk:
        raise PermissionError("only the case's owner can share it")
    if role not in Share.ROLES:
        raise InputError(
            format_lazy(gettext_lazy("role must be one of {roles}"), roles=", ".join(Share.ROLES))
        )
    identifier = grantee.strip() if isinstance(grantee, str) else ""
    if not identifier or len(identifier) > 254:
        raise InputError(gettext_lazy("name the person by their username or email address"))
    by_email = "@" in identifier
    user = _find_grantee(identifier)
    email = ""
    if by_email:
        try:
            validate_email(identifier)
        except ValidationError as exc:
            raise InputError(gettext_lazy("this is not a valid email address")) from exc
        email = identifier.lower()
    elif identifier == by.get_username():
        raise InputError(gettext_lazy("this is your own case"))
    raw_token = ""
    with transaction.atomic():
        Case.objects.select_for_update().get(pk=case.pk)  # one share at a time per case
        open_shares = Share.objects.filter(case=case, ended_at__isnull=True)
        if user is not None:
            taken = open_shares.filter(user=user)
        elif email:
            taken = open_shares.filter(user__isnull=True, email=email)
        else:
            taken = open_shares.filter(user__isnull=True, email="", invited_as=identifier)
        if taken.exists():
            raise ShareConflict(
                gettext_lazy("this case is already shared with this person; end that first")
            )
        share = Share.objects.create(
            case=case,
            user=user,
            email=email,
            invited_as=identifier,
            role=role,
            invited_by=by,
        )
        if by_email:
            raw_token = secrets.token_urlsafe(32)
            Invitation.objects.create(
                share=share,
                token_hash=hash_token(raw_token),
                expires_at=timezone.now() + timedelta(days=settings.LOCKER_INVITATION_DAYS),
            )
    if not raw_token:
        return ShareResult(share=share, email_sent=False)
    link = site_url.rstrip("/") + sharing.INVITATION_PATH.format(token=raw_token)
    subject, lines = _share_email(sharer=sharing.display_name(by), role=role, link=link)
    return ShareResult(
        share=share, email_sent=_send_share_email(to=email, subject=subject, lines=lines)
    )


def accept_share(*, share: Share, user: User) -> Share:
    """The grantee named on a share accepts it; from now on they can open the case."""
    with transaction.atomic():
        locked = Share.objects.select_for_update().get(pk=share.pk)
        if locked.user_id != user.pk:
            raise PermissionError("this share is not addressed to this user")
        if locked.ended_at is not None:
            raise InputError(gettext_lazy("this share has ended"))
        if locked.accepted_at is None:
            locked.accepted_at = timezone.now()
            locked.save(update_fields=["accepted_at"])
    return locked


def accept_invitation(*, token: str, user: User) -> Share:
    """Whoever holds an emailed invitation's token (signed in, typically just signed up)
    becomes the share's grantee. A token works once, before it expires, while the share is
    open."""
    if not isinstance(token, str) or not token or len(token) > 200:
        raise InputError(gettext_lazy("this invitation link is not valid"))
    with transaction.atomic():
        invitation = (
            Invitation.objects.select_for_update()
            .select_related("share")
            .filter(token_hash=hash_token(token))
            .first()
        )
        if invitation is None or invitation.used_at is not None:
            raise InputError(gettext_lazy("this invitation link is not valid or was already used"))
        if invitation.expires_at <= timezone.now():
            raise InputError(gettext_lazy("this invitation has expired; ask for a new one"))
        share = Share.objects.select_for_update().get(pk=invitation.share_id)
        if share.ended_at is not None:
            raise InputError(gettext_lazy("this share has ended"))
        if share.case.owner_id == user.pk:
            raise InputError(gettext_lazy("this is your own case"))
        if Share.objects.filter(case=share.case, user=user, ended_at__isnull=True).exists():
            raise ShareConflict(gettext_lazy("you already have a share of this case"))
        now = timezone.now()
        share.user = user
        share.accepted_at = now
        try:
            with transaction.atomic():
                share.save(update_fields=["user", "accepted_at"])
        except IntegrityError as exc:  # a concurrent acceptance gave this user a share first
            raise ShareConflict(gettext_lazy("you already have a share of this case")) from exc
        invitation.used_at = now
        invitation.save(update_fields=["used_at"])
    return share


def end_share(*, share: Share, by: User) -> Share:
    """The case's owner or the grantee ends a share. Access stops on the next request."""
    with transaction.atomic():
        locked = Share.objects.select_for_update().select_related("case").get(pk=share.pk)
        if by.pk not in (locked.case.owner_id, locked.user_id):
            raise PermissionError("only the owner or the grantee can end a share")
        if locked.ended_at is None:
            locked.ended_at = timezone.now()
            locked.ended_by = by
            locked.save(update_fields=["ended_at", "ended_by"])
            Invitation.objects.filter(share=locked, used_at__isnull=True).update(
                expires_at=locked.ended_at
            )
    return locked


MAX_ANNOTATION_CHARS = 10000


def add_annotation(
    *, case: Case, author: User, text: str, entry_seq: int | None = None
) -> Annotation:
    """A reviewer's private note on a case, optionally about one entry. Never in the chain."""

    if not sharing.is_reviewer(case, author):
        raise PermissionError("only the case's reviewers can annotate it")
    if not isinstance(text, str) or not text.strip():
        raise InputError(gettext_lazy("the annotation is empty"))
    if len(text) > MAX_ANNOTATION_CHARS:
        raise InputError(
            format_lazy(
                gettext_lazy("an annotation is at most {count} characters"),
                count=MAX_ANNOTATION_CHARS,
            )
        )
    if entry_seq is not None:
        if isinstance(entry_seq, bool) or not isinstance(entry_seq, int):
            raise InputError(gettext_lazy("entry_seq must be an integer"))
        if not Entry.objects.filter(case=case, seq=entry_seq).exists():
            raise InputError(
                format_lazy(gettext_lazy("the case has no entry with seq {seq}"), seq=entry_seq)
            )
    return Annotation.objects.create(case=case, author=author, text=text, entry_seq=entry_seq)


def record_access(
    *,
    case: Case,
    user: User,
    action: str,
    detail: str = "",
    via: str = "web",
    ip: str | None = None,
) -> AccessLog:
    """Append one row to the case's access log. The same access repeated by the same person
    within LOCKER_ACCESS_LOG_REPEAT_SECONDS (a progress page polling, a reload) is one row."""
    action = (action or "view")[:32]
    detail = (detail or "")[:500]
    window = timedelta(seconds=settings.LOCKER_ACCESS_LOG_REPEAT_SECONDS)
    latest = AccessLog.objects.filter(case=case, user=user).order_by("-at", "-pk").first()
    if (
        latest is not None
        and timezone.now() - latest.at < window
        and (latest.action, latest.detail, latest.via, latest.ip) == (action, detail, via[:8], ip)
    ):
        return latest
    return AccessLog.objects.create(
        case=case,
        user=user,
        actor=sharing.display_name(user)[:200],
        action=action,
        detail=detail,
        via=via[:8],
        ip=ip,
        at=timezone.now(),
    )


def record_listing(
    *, case_ids: Sequence[Any], user: User, detail: str, via: str, ip: str | None
) -> None:
    """A "list" access on every case a listing showed, in one transaction: one commit for
    the whole desk instead of one per case."""
    with transaction.atomic():
        for case_id in case_ids:
            record_access(
                case=Case(pk=case_id), user=user, action="list", detail=detail, via=via, ip=ip
            )


def upsert_profile(
    *, user: User, name: str, organisation: str = "", jurisdiction: str = ""
) -> ProfessionalProfile:
    """Create or change the user's professional profile."""
    values = {"name": name, "organisation": organisation, "jurisdiction": jurisdiction}
    clean = {}
    for key, value in values.items():
        if not isinstance(value, str):
            raise InputError(format_lazy(gettext_lazy("{name} must be a string"), name=key))
        value = value.strip()
        if len(value) > 200:
            raise InputError(
                format_lazy(
                    gettext_lazy("{name} is longer than {count} characters"), name=key, count=200
                )
            )
        clean[key] = value
    if not clean["name"]:
        raise InputError(gettext_lazy("name must not be empty"))
    profile, _ = ProfessionalProfile.objects.update_or_create(user=user, defaults=clean)
    return profile


def mark_visited(*, user: User, case: Case) -> CaseVisit:
    """Remember that the user just looked at the case (for "unread since last visit")."""
    visit, _ = CaseVisit.objects.update_or_create(
        user=user, case=case, defaults={"last_visited": timezone.now()}
    )
    return visit
