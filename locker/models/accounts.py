"""Per-user records: API tokens and display preferences."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


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

    class Meta:
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user_id})"


# Sharing: lawyers and legal-aid workers reviewing a client's case ---------------------------


class Profile(models.Model):
    """A user's preferences: the time zone their times are shown and entered in, the language
    they chose (blank: follow the browser), and whether a daily receipt of their cases is
    mailed to them (locker/services/mailed_receipts.py)."""

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

    def __str__(self) -> str:
        return f"profile of {self.user_id}"
