"""Sharing a case: shares, invitations, professional profiles, the access log, reviewers'
annotations and visits."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from locker.models.append_only import AppendOnlyModel
from locker.models.cases import Case


class Share(models.Model):
    """A case shared by its owner with one person. It gives access only once accepted and
    until ended (by either side); ended shares stay as the record of who had access."""

    VIEWER = "viewer"
    REVIEWER = "reviewer"
    ROLES: ClassVar[tuple[str, ...]] = (VIEWER, REVIEWER)
    ROLE_CHOICES: ClassVar[list[tuple[str, Any]]] = [
        (VIEWER, _("viewer")),
        (REVIEWER, _("reviewer")),
    ]

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="shares")
    # The grantee: a user (known at once when shared by username or an account's email, or
    # once an invitation is accepted), or only the email an invitation was sent to.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="shares_received",
    )
    email = models.EmailField(blank=True)
    # What the owner typed, shown to the owner until the grantee accepts, so that the answer
    # does not reveal whether an email address has an account here.
    invited_as = models.CharField(max_length=254)
    role = models.CharField(max_length=16, choices=ROLE_CHOICES)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="shares_made"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ("-created_at",)
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(user__isnull=True, email=""), name="share_has_grantee"
            ),
            models.CheckConstraint(
                condition=models.Q(role__in=("viewer", "reviewer")), name="share_role_known"
            ),
            models.UniqueConstraint(
                fields=("case", "user"),
                condition=models.Q(ended_at__isnull=True, user__isnull=False),
                name="share_one_open_per_user",
            ),
            models.UniqueConstraint(
                fields=("case", "email"),
                condition=models.Q(ended_at__isnull=True, user__isnull=True),
                name="share_one_open_invitation_per_email",
            ),
        ]
        indexes = [models.Index(fields=("user", "ended_at"))]

    def __str__(self) -> str:
        return f"{self.case_id} → {self.invited_as} ({self.role})"

    @property
    def status(self) -> str:
        if self.ended_at is not None:
            return "ended"
        return "active" if self.accepted_at is not None else "pending"


class Invitation(models.Model):
    """The emailed token that lets whoever holds it accept a share, typically after signing
    up. Only its SHA-256 is stored; it expires and works once."""

    share = models.ForeignKey(Share, on_delete=models.PROTECT, related_name="invitations")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"invitation for share {self.share_id}"


class ProfessionalProfile(models.Model):
    """How a lawyer or legal-aid worker is shown to the clients who share cases with them."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="professional_profile"
    )
    name = models.CharField(_("name"), max_length=200)
    organisation = models.CharField(_("firm or organisation"), max_length=200, blank=True)
    jurisdiction = models.CharField(_("jurisdiction"), max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.name


class AccessLog(AppendOnlyModel):
    APPEND_ONLY_MESSAGE = "the access log is append-only"

    """One access to a case by someone other than its owner. The client's record of who saw
    what: never updated or deleted (model layer here, a trigger on PostgreSQL)."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="access_log")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="case_accesses"
    )
    # The name shown at the time, kept even if the account is later renamed.
    actor = models.CharField(max_length=200)
    # What was done ("view", "list", "view_file", "download", "export", "annotate", "verify";
    # `via` says whether through the API) and, in detail, on what (a file's hash, a dossier,
    # the request path). Rows written before API reads were plain views say "api:<route>".
    action = models.CharField(max_length=32)
    detail = models.CharField(max_length=500, blank=True)
    via = models.CharField(max_length=8)  # "web" or "api"
    ip = models.GenericIPAddressField(null=True, blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ("-at", "-id")
        indexes = [models.Index(fields=("case", "at"))]

    def __str__(self) -> str:
        return f"{self.case_id} {self.action} by {self.actor} at {self.at}"


class Annotation(models.Model):
    """A reviewer's private note on a case: seen only by the case's reviewers, never part of
    the client's chain."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="annotations")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="annotations"
    )
    entry_seq = models.PositiveIntegerField(null=True, blank=True)
    text = models.TextField(max_length=10000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("created_at", "id")

    def __str__(self) -> str:
        return f"annotation {self.pk} on {self.case_id}"


class CaseVisit(models.Model):
    """When a user last looked at a case, for "unread since last visit"."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="case_visits"
    )
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="visits")
    last_visited = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=("user", "case"), name="case_visit_unique_user_case")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} visited {self.case_id}"


# Phone UI: preferences and contact statement links ------------------------------------------
