"""Per-user records: API tokens, signed-in sessions and display preferences."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def token_expiry() -> datetime:
    """When a token issued now stops working (LOCKER_API_TOKEN_DAYS); tokens from before
    expiry existed got this too, counted from the migration."""
    return timezone.now() + timedelta(days=settings.LOCKER_API_TOKEN_DAYS)


class ApiToken(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, blank=True)
    token_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=12)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(default=token_expiry)

    class Meta:
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user_id})"


class UserSession(models.Model):
    """One signed-in browser session, so its owner can see it and end it (Django's session
    table holds only an opaque blob). The row goes when the session is ended; a session whose
    row is missing gets one again at its next request (locker/web/middleware/sessions.py)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="locker_sessions"
    )
    session_key = models.CharField(max_length=40, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    # What the browser said it is (cut short) and the address, so the owner can tell sessions
    # apart; both are the owner's own facts, shown only to them.
    user_agent = models.CharField(max_length=200, blank=True)
    address = models.CharField(max_length=45, blank=True)
    # When its holder last proved they are the owner (a log-in, or the "confirm it's you"
    # step before a sensitive account change; locker/services/reauth.py). Bound to this
    # session: a new key (log-in, password change) gets a row of its own without it.
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-last_seen_at",)

    def __str__(self) -> str:
        return f"session of {self.user_id}"


# Sharing: lawyers and legal-aid workers reviewing a client's case ---------------------------


class Profile(models.Model):
    """A user's preferences: the time zone their times are shown and entered in, the language
    they chose (blank: follow the browser), whether a daily receipt of their cases is
    mailed to them (locker/services/mailed_receipts.py), and what the app is called on their
    screen (locker/core/looks.py)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="locker_profile"
    )
    time_zone = models.CharField(_("time zone"), max_length=64, default="Asia/Shanghai")
    language = models.CharField(_("language"), max_length=10, blank=True)
    # Off unless asked for: a mailbox may be read by others, so nothing is mailed unasked.
    mail_daily_receipt = models.BooleanField(
        _("e-mail me a daily receipt of my cases"), default=False
    )
    # Off unless asked for: without it, the mail names a case by the start of its id only.
    mail_case_titles = models.BooleanField(
        _("name the cases by their titles in that e-mail"), default=False
    )
    # The header, page titles and installed app's name and icon: a preset of
    # locker.core.looks.LOOKS (the real name for accounts from before the choice existed;
    # sign-up offers a neutral one), and a name of one's own instead of the preset's.
    look = models.CharField(_("look"), max_length=16, default="locker")
    look_name = models.CharField(_("own name"), max_length=20, blank=True)
    # Off unless asked for: a draft kept on the phone is something someone holding the phone
    # could find (docs/privacy.md, "Offline drafts").
    offline_drafts = models.BooleanField(_("keep offline drafts on my phone"), default=False)

    def __str__(self) -> str:
        return f"profile of {self.user_id}"
