from __future__ import annotations

import uuid
from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from . import chain


class Case(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="cases"
    )
    title = models.CharField(_("title"), max_length=200)
    borrower_name = models.CharField(_("borrower's name as shown"), max_length=200, blank=True)
    lender = models.CharField(_("lender or platform"), max_length=200, blank=True)
    lending_app = models.CharField(_("lending app"), max_length=200, blank=True)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    principal_minor = models.BigIntegerField(_("principal (minor units)"), null=True, blank=True)
    received_minor = models.BigIntegerField(
        _("amount actually received (minor units)"), null=True, blank=True
    )
    demanded_minor = models.BigIntegerField(
        _("amount demanded (minor units)"), null=True, blank=True
    )
    loan_start = models.DateField(_("loan start date"), null=True, blank=True)
    loan_due = models.DateField(_("loan due date"), null=True, blank=True)
    collector_agency = models.CharField(_("collection agency"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    # Case facts a case_update entry may carry, in display order.
    FACT_FIELDS: ClassVar[tuple[str, ...]] = (
        "title",
        "borrower_name",
        "lender",
        "lending_app",
        "currency",
        "principal_minor",
        "received_minor",
        "demanded_minor",
        "loan_start",
        "loan_due",
        "collector_agency",
    )

    class Meta:
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return f"Case {self.id}"

    def facts(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name in self.FACT_FIELDS:
            value = getattr(self, name)
            values[name] = value.isoformat() if hasattr(value, "isoformat") else value
        return values


class EntryQuerySet(models.QuerySet["Entry"]):
    def update(self, **kwargs: Any) -> int:
        raise PermissionError("chain entries are append-only")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError("chain entries are append-only")


class Entry(models.Model):
    """One link of a case's chain (docs/chain-format.md). Never updated or deleted."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="entries")
    seq = models.PositiveIntegerField()
    prev = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=32)
    recorded_at = models.DateTimeField()
    occurred_at = models.DateTimeField(null=True, blank=True)
    author = models.CharField(max_length=64)
    body = models.JSONField()
    evidence = models.JSONField(default=list)

    objects = EntryQuerySet.as_manager()

    class Meta:
        ordering = ("case", "seq")
        constraints = [
            models.UniqueConstraint(fields=("case", "seq"), name="entry_unique_case_seq"),
            models.UniqueConstraint(fields=("case", "prev"), name="entry_unique_case_prev"),
            models.CheckConstraint(condition=models.Q(seq__gte=1), name="entry_seq_positive"),
        ]
        verbose_name_plural = "entries"

    def __str__(self) -> str:
        return f"{self.case_id} #{self.seq} {self.kind}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise PermissionError("chain entries are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise PermissionError("chain entries are append-only")

    def as_entry(self) -> dict[str, Any]:
        """The spec's entry object, rebuilt from the stored columns."""
        return {
            "v": chain.VERSION,
            "case": str(self.case_id),
            "seq": self.seq,
            "prev": self.prev,
            "kind": self.kind,
            "recorded_at": chain.format_timestamp(self.recorded_at),
            "occurred_at": (chain.format_timestamp(self.occurred_at) if self.occurred_at else None),
            "author": self.author,
            "body": self.body,
            "evidence": self.evidence,
        }

    def as_line(self) -> dict[str, Any]:
        return {"entry": self.as_entry(), "hash": self.hash}

    def as_omitted_line(self) -> dict[str, Any]:
        return {"omitted": {"seq": self.seq, "prev": self.prev, "hash": self.hash}}

    @property
    def tags(self) -> list[str]:
        tags = self.body.get("tags") if isinstance(self.body, dict) else None
        return list(tags) if isinstance(tags, list) else []


class EvidenceFile(models.Model):
    """An uploaded file, stored once per case under its SHA-256; never overwritten or deleted."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="evidence_files")
    sha256 = models.CharField(max_length=64)
    size = models.BigIntegerField()
    media_type = models.CharField(max_length=100)
    original_name = models.CharField(max_length=255)
    storage_name = models.CharField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=("case", "sha256"), name="evidence_unique_case_sha256")
        ]

    def __str__(self) -> str:
        return f"{self.sha256[:12]} ({self.original_name})"


class Checkpoint(models.Model):
    """A signed chain head this instance issued (a receipt, or the head a dossier covers)."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="checkpoints")
    length = models.PositiveIntegerField()
    head = models.CharField(max_length=64)
    signed_at = models.DateTimeField()
    document = models.JSONField()

    class Meta:
        ordering = ("case", "length", "signed_at")
        indexes = [models.Index(fields=("case", "length"))]

    def __str__(self) -> str:
        return f"{self.case_id} @{self.length} {self.head[:12]}"


class KeptReceiptQuerySet(models.QuerySet["KeptReceipt"]):
    def update(self, **kwargs: Any) -> int:
        raise PermissionError("kept receipts are append-only")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError("kept receipts are append-only")


class KeptReceipt(models.Model):
    """A receipt (a signed checkpoint) the client kept and uploaded, so that whoever reviews
    the case can see whether the chain still holds the head it names. It is the client's
    evidence against the server: never updated or deleted (model layer here, a trigger on
    PostgreSQL)."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="kept_receipts")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)
    document = models.JSONField()
    length = models.PositiveIntegerField()
    head = models.CharField(max_length=64)
    signed_at = models.DateTimeField()
    signer_fingerprint = models.CharField(max_length=64)
    # Whether this instance trusted the signer at upload (services refuse those it does not);
    # whether it still does is asked when the receipt is shown.
    signer_trusted = models.BooleanField()

    objects = KeptReceiptQuerySet.as_manager()

    class Meta:
        ordering = ("case", "-length", "id")
        constraints = [
            # The same head vouched for by the same signer is one receipt, whenever it was
            # signed: uploading it again (or another copy of it) adds nothing.
            models.UniqueConstraint(
                fields=("case", "length", "head", "signer_fingerprint"),
                name="kept_receipt_unique_head_signer",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} kept @{self.length} {self.head[:12]}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise PermissionError("kept receipts are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise PermissionError("kept receipts are append-only")


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


class AccessLogQuerySet(models.QuerySet["AccessLog"]):
    def update(self, **kwargs: Any) -> int:
        raise PermissionError("the access log is append-only")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError("the access log is append-only")


class AccessLog(models.Model):
    """One access to a case by someone other than its owner. The client's record of who saw
    what: never updated or deleted (model layer here, a trigger on PostgreSQL)."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="access_log")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="case_accesses"
    )
    # The name shown at the time, kept even if the account is later renamed.
    actor = models.CharField(max_length=200)
    # What was done ("view", "list", "download", "export", "annotate", or an API route such as
    # "api:entries") and, in detail, on what (a file name, a template, the request path).
    action = models.CharField(max_length=32)
    detail = models.CharField(max_length=500, blank=True)
    via = models.CharField(max_length=8)  # "web" or "api"
    ip = models.GenericIPAddressField(null=True, blank=True)
    at = models.DateTimeField()

    objects = AccessLogQuerySet.as_manager()

    class Meta:
        ordering = ("-at", "-id")
        indexes = [models.Index(fields=("case", "at"))]

    def __str__(self) -> str:
        return f"{self.case_id} {self.action} by {self.actor} at {self.at}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise PermissionError("the access log is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise PermissionError("the access log is append-only")


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


class Profile(models.Model):
    """A user's display preferences: the time zone their times are shown and entered in, and
    the language they chose (blank: follow the browser)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="locker_profile"
    )
    time_zone = models.CharField(_("time zone"), max_length=64, default="Asia/Shanghai")
    language = models.CharField(_("language"), max_length=10, blank=True)

    def __str__(self) -> str:
        return f"profile of {self.user_id}"


class ContactLink(models.Model):
    """A single-use link a case owner sends to a contact the collectors reached, so that the
    contact can file a statement (a contact_report entry) without an account. Only the
    SHA-256 of the token is kept; the link never lets its holder read the case."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="contact_links")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    label = models.CharField(_("who it is for (only you see this)"), max_length=100, blank=True)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    used_at = models.DateTimeField(null=True, blank=True)
    entry = models.ForeignKey(
        Entry, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return f"contact link {self.pk} of {self.case_id}"

    @property
    def author(self) -> str:
        return f"contact-link:{self.pk}"

    def state(self, now: Any = None) -> str:
        """One of "used", "revoked", "expired", "open"."""
        from django.utils import timezone

        if self.used_at is not None:
            return "used"
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at <= (now or timezone.now()):
            return "expired"
        return "open"


class Dossier(models.Model):
    """A signed PDF dossier of a case, rendered by a worker. The row, not the broker, is the
    source of truth: a worker claims it with a lease, and a sweep re-enqueues rows that wait
    too long or whose worker vanished."""

    class State(models.TextChoices):
        QUEUED = "queued", _("waiting for the worker")
        RENDERING = "rendering", _("rendering")
        SIGNING = "signing", _("signing")
        READY = "ready", _("ready")
        FAILED = "failed", _("failed")

    class Template(models.TextChoices):
        CN_REGULATOR = "cn_regulator", _("China: complaint to the financial regulator (12378)")
        CN_12321 = "cn_12321", _("China: report of harassing calls and SMS (12321)")
        US_CFPB = "us_cfpb", _("US: CFPB debt-collection complaint")
        COURT = "court", _("Court exhibit bundle")

    class Language(models.TextChoices):
        ZH_HANS = "zh-hans", "简体中文"
        EN = "en", "English"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="dossiers")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="dossiers"
    )
    template = models.CharField(_("template"), max_length=20, choices=Template.choices)
    language = models.CharField(_("language"), max_length=8, choices=Language.choices)
    time_zone = models.CharField(_("time zone"), max_length=64, default="Asia/Shanghai")
    date_from = models.DateField(_("from"), null=True, blank=True)
    date_to = models.DateField(_("to"), null=True, blank=True)
    kinds = models.JSONField(_("kinds"), default=list, blank=True)
    # The owner's choice (court template only) to add the case's access log as it stood when
    # the dossier was requested.
    include_access_log = models.BooleanField(_("access log included"), default=False)
    # Where the QR code on the verification page points (the /verify page of this instance).
    verify_url = models.CharField(max_length=500, blank=True)

    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # Who holds the row and until when; a worker that stops renewing it loses the claim.
    lease_token = models.CharField(max_length=32, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)

    file_name = models.CharField(max_length=500, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    size = models.BigIntegerField(null=True, blank=True)
    pages = models.PositiveIntegerField(null=True, blank=True)
    chain_length = models.PositiveIntegerField(null=True, blank=True)
    chain_head = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ("-created_at",)
        indexes = [models.Index(fields=("state", "enqueued_at"), name="dossier_state_enqueued")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(progress__lte=100), name="dossier_progress_max_100"
            ),
        ]

    def __str__(self) -> str:
        return f"Dossier {self.id} ({self.template}, {self.state})"

    @property
    def is_finished(self) -> bool:
        return self.state in (self.State.READY, self.State.FAILED)

    @property
    def error_display(self) -> str:
        """The stored error (an English message id) in the reader's language."""
        return gettext(self.error) if self.error else ""
