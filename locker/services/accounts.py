"""Accounts: API tokens, display preferences, and the email address used for password
resets (which counts only once its owner confirms it)."""

from __future__ import annotations

import hashlib
import logging
import secrets
import smtplib
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core import signing as django_signing
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy

from locker.models import ApiToken, Case, Profile
from locker.selectors.accounts import live_token
from locker.services import case_conduct, security
from locker.services.entries import InputError


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def issue_token(
    *, user: User, name: str = "", request: HttpRequest | None = None
) -> tuple[ApiToken, str]:
    """A new API token; the raw value is returned once and only its hash is kept. The
    account's security log records it, with the address of `request` when there is one."""
    raw = "elk_" + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user, name=name[:100], token_hash=hash_token(raw), prefix=raw[:12]
        )
        security.record_security_event(
            user=user,
            kind=security.Kind.TOKEN_CREATED,
            request=request,
            detail=security.token_detail(token),
            token_ref=token.pk,
        )
    return token, raw


def find_token(raw: str) -> ApiToken | None:
    """The live token with this value: not revoked, not expired, its user active."""
    now = timezone.now()
    token = live_token(hash_token(raw), now)
    if token is not None and (
        token.last_used_at is None or now - token.last_used_at > timedelta(minutes=5)
    ):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    return token


def token_has_expired(raw: str) -> bool:
    """Whether this value is a token that would work but for its age, so that its holder can
    be told to get a new one rather than only "unauthorized"."""
    return ApiToken.objects.filter(
        token_hash=hash_token(raw), revoked_at__isnull=True, expires_at__lte=timezone.now()
    ).exists()


def revoke_token(*, token: ApiToken, request: HttpRequest | None = None) -> None:
    """Revoke the token (once; a second revocation changes and records nothing)."""
    with transaction.atomic():
        revoked = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        if revoked:
            security.record_security_event(
                user=token.user,
                kind=security.Kind.TOKEN_REVOKED,
                request=request,
                detail=security.token_detail(token),
                token_ref=token.pk,
            )


def set_preferences(
    *,
    user: User,
    time_zone: str | None = None,
    language: str | None = None,
    mail_daily_receipt: bool | None = None,
    mail_case_titles: bool | None = None,
    offline_drafts: bool | None = None,
) -> Profile:
    """Store the user's time zone, language, receipt-mail and offline-draft choices (None
    leaves a value as it is)."""
    profile, _ = Profile.objects.get_or_create(user=user)
    wanted = {
        "time_zone": time_zone,
        "language": language,
        "mail_daily_receipt": mail_daily_receipt,
        "mail_case_titles": mail_case_titles,
        "offline_drafts": offline_drafts,
    }
    changed = []
    for name, value in wanted.items():
        if value is not None and value != getattr(profile, name):
            setattr(profile, name, value)
            changed.append(name)
    if changed:
        profile.save(update_fields=changed)
    if "time_zone" in changed:
        # The conduct panels of their cases count days and nights in the owner's zone.
        for case_id in Case.objects.filter(owner=user).values_list("pk", flat=True):
            case_conduct.enqueue_on_commit(case_id)
    return profile


EMAIL_CONFIRM_SALT = "locker.email-confirm"
EMAIL_CONFIRM_PATH = "/accounts/email/confirm/{token}/"


def _email_fingerprint(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:16]


def request_email_confirmation(*, user: User, email: str, site_url: str) -> bool:
    """Mail a link that makes `email` the user's address once they open it signed in. Nothing
    is stored until then, and the answer never depends on whether another account uses the
    address, so the form cannot be used to find out who has an account. Returns whether the
    mail went out."""
    address = email.strip() if isinstance(email, str) else ""
    try:
        validate_email(address)
    except ValidationError as exc:
        raise InputError(gettext_lazy("this is not a valid email address")) from exc
    if len(address) > 254:
        raise InputError(gettext_lazy("this is not a valid email address"))
    # The token names the address it was asked for and the one in place then, so a link from
    # before a later change cannot put an old address back.
    token = django_signing.dumps(
        {"u": user.pk, "e": address, "was": _email_fingerprint(user.email)},
        salt=EMAIL_CONFIRM_SALT,
        compress=True,
    )
    link = site_url.rstrip("/") + EMAIL_CONFIRM_PATH.format(token=token)
    return _mail_in_both_languages(
        to=address,
        subject=gettext_lazy("Confirm your email address for Evidence Locker"),
        text=gettext_lazy(
            "Someone (we hope you) asked to use this address for password resets on "
            "the account “%(username)s”. Open this link while signed in to that account "
            "to confirm. It expires in %(days)s days. If it was not you, ignore this "
            "mail; nothing changes."
        ),
        values={"username": user.get_username(), "days": settings.LOCKER_EMAIL_CONFIRM_DAYS},
        link=link,
        what="confirmation",
    )


def _mail_in_both_languages(
    *,
    to: str,
    subject: Promise,
    text: Promise,
    values: dict[str, object],
    link: str = "",
    what: str,
) -> bool:
    """One mail in Chinese and English (the recipient may read either, and we do not know
    which they chose when the mail is about an address). Returns whether it went out; a
    failure is logged by `what` it was, never with the address or the link."""
    lines: list[str] = []
    subjects = []
    for language in ("zh-hans", "en"):
        with translation.override(language):
            subjects.append(str(subject))
            lines.append(str(text) % values)
            if link:
                lines.append(link)
            lines.append("")
    try:
        send_mail(" / ".join(subjects), "\n".join(lines), None, [to], fail_silently=False)
    except (OSError, smtplib.SMTPException) as exc:
        logging.getLogger("locker.accounts").warning(
            "%s email not sent: %s", what, exc.__class__.__name__
        )
        return False
    return True


def _notify_old_address(*, user: User, old: str, removed: bool) -> None:
    """After the address changed (once the change is committed): tell the address it replaced,
    so that an owner whose account was changed by someone else hears of it where they read."""
    if not old:
        return
    text = (
        gettext_lazy(
            "The email address for password resets on the account “%(username)s” of Evidence "
            "Locker was removed. If it was not you, sign in, change your password and end the "
            "other sessions (Settings → Where you are signed in)."
        )
        if removed
        else gettext_lazy(
            "The email address for password resets on the account “%(username)s” of Evidence "
            "Locker was changed from this address to another one. If it was not you, sign in, "
            "change your password and end the other sessions (Settings → Where you are signed "
            "in)."
        )
    )
    values: dict[str, object] = {"username": user.get_username()}
    transaction.on_commit(
        lambda: _mail_in_both_languages(
            to=old,
            subject=gettext_lazy("Your email address for Evidence Locker was changed"),
            text=text,
            values=values,
            what="address change notice",
        )
    )


def confirm_email(*, user: User, token: str, request: HttpRequest | None = None) -> str:
    """Make the address a confirmation token names the user's own; returns it. Only the
    account that asked can confirm, while the token is fresh and the address unchanged since.
    The change is an event of the account's security log, and the address it replaced is
    told."""
    invalid = InputError(gettext_lazy("this confirmation link is not valid or has expired"))
    if not isinstance(token, str) or not token or len(token) > 2000:
        raise invalid
    try:
        payload = django_signing.loads(
            token,
            salt=EMAIL_CONFIRM_SALT,
            max_age=timedelta(days=settings.LOCKER_EMAIL_CONFIRM_DAYS),
        )
    except django_signing.BadSignature as exc:
        raise invalid from exc
    if not isinstance(payload, dict) or payload.get("u") != user.pk:
        raise invalid
    address = payload.get("e")
    if not isinstance(address, str) or not address:
        raise invalid
    user_model = get_user_model()
    with transaction.atomic():
        locked = user_model.objects.select_for_update().get(pk=user.pk)
        if locked.email.lower() == address.lower():
            return str(locked.email)
        if payload.get("was") != _email_fingerprint(locked.email):
            raise invalid
        # The person proved they read this mailbox, so telling them is no leak.
        if (
            user_model.objects.filter(email__iexact=address, is_active=True)
            .exclude(pk=user.pk)
            .exists()
        ):
            raise InputError(
                gettext_lazy(
                    "another account already uses this address; reset that account's password "
                    "if it is yours"
                )
            )
        old = str(locked.email)
        locked.email = address
        locked.save(update_fields=["email"])
        security.record_security_event(
            user=locked, kind=security.Kind.EMAIL_CHANGED, request=request, detail=address
        )
        _notify_old_address(user=locked, old=old, removed=False)
    user.email = address
    return address


@transaction.atomic
def remove_email(*, user: User, request: HttpRequest | None = None) -> None:
    """Forget the user's email address: password resets are then impossible. Like a change,
    an event of the security log, and told to the address removed."""
    locked = get_user_model().objects.select_for_update().get(pk=user.pk)
    old = str(locked.email)
    user.email = ""
    if not old:
        return
    locked.email = ""
    locked.save(update_fields=["email"])
    security.record_security_event(
        user=locked, kind=security.Kind.EMAIL_CHANGED, request=request, detail="removed"
    )
    _notify_old_address(user=locked, old=old, removed=True)
