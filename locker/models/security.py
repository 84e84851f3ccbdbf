"""The security log of each account: log-ins, failed log-ins, API tokens made, revoked or used
from a new address, password, e-mail and second-factor changes, admin actions. The account's owner
reads it (locker/selectors/security.py); rows are written once and never changed."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from locker.models.append_only import AppendOnlyModel


class SecurityEvent(AppendOnlyModel):
    """One thing that happened to an account's security. It keeps only what the owner needs
    to recognise it: when, what, from which address and browser, and a short technical detail
    written by the app (never a password, a token's value or anything of the evidence)."""

    APPEND_ONLY_MESSAGE = "the security log is append-only"

    class Kind(models.TextChoices):
        # The one list of event kinds: record_security_event refuses any other.
        LOGIN = "login", _("Signed in")
        LOGIN_FAILED = "login_failed", _("Failed sign-in")
        ADMIN_LOGIN = "admin_login", _("Signed in to the admin pages")
        PASSWORD_CHANGED = "password_changed", _("Password changed")
        EMAIL_CHANGED = "email_changed", _("Email address changed")
        TOKEN_CREATED = "token_created", _("API token created")
        TOKEN_REVOKED = "token_revoked", _("API token revoked")
        TOKEN_NEW_ADDRESS = "token_new_address", _("API token used from a new address")
        SECOND_FACTOR_ADDED = "second_factor_added", _("Second factor added")
        SECOND_FACTOR_REMOVED = "second_factor_removed", _("Second factor removed")
        RECOVERY_CODES_GENERATED = "recovery_codes_generated", _("New recovery codes made")
        RECOVERY_CODE_USED = "recovery_code_used", _("Recovery code used to sign in")
        ADMIN_ACTION = "admin_action", _("Change made on the admin pages")
        CHANGED_BY_ADMIN = "changed_by_admin", _("Account changed by an administrator")
        DATA_EXPORT_REQUESTED = "data_export_requested", _("Download of all your data asked for")
        DATA_EXPORT_DOWNLOADED = "data_export_downloaded", _("Download of all your data fetched")
        CASE_DELETED = "case_deleted", _("Case deleted")
        DELETION_REFUSED = "deletion_refused", _("Deletion refused: wrong password or code")
        RECORD_ERASED = "record_erased", _("A record's content erased")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="security_events"
    )
    kind = models.CharField(max_length=32, choices=Kind.choices)
    at = models.DateTimeField()
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    # The API token an event is about, by id only (the token row may be gone later).
    token_ref = models.PositiveBigIntegerField(null=True, blank=True)
    detail = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ("-at", "-id")
        indexes = [
            models.Index(fields=("user", "at")),
            models.Index(fields=("token_ref", "ip")),
        ]

    def __str__(self) -> str:
        return f"{self.kind} on {self.user_id} at {self.at}"
