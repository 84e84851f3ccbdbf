"""A case and its chain: entries, their evidence files, the checkpoints this instance signed,
the receipts a client kept, and the links through which contacts file statements."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from locker.core import chain
from locker.models.append_only import AppendOnlyModel


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
    # The annual rate the contract states, in basis points (18 % = 1800): the loan-cost
    # audit prints it beside the rate the cash flows give (locker.core.loan_cost).
    stated_rate_bp = models.BigIntegerField(
        _("annual rate the contract states (basis points)"), null=True, blank=True
    )
    collector_agency = models.CharField(_("collection agency"), max_length=200, blank=True)
    # The bank or finance company that lent the money through the app (资金方): the
    # institution a regulator's complaint names beside the platform.
    funding_institution = models.CharField(_("funding institution"), max_length=200, blank=True)
    staff_involved = models.CharField(_("staff involved, where known"), max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # The chain's head, kept on the case row so that an append reads it with the row lock it
    # takes anyway (one statement) instead of querying the entries: written only by
    # services.entries._link_entry, under that lock, in the transaction that adds the entry.
    # head_seq is the chain's length (seq runs 1, 2, 3 ...); 0 and the genesis prev while
    # the case has no entry. head_recorded_at keeps recorded_at monotone when the clock
    # steps back.
    head_seq = models.PositiveIntegerField(default=0, editable=False)
    head_hash = models.CharField(max_length=64, default=chain.GENESIS_PREV, editable=False)
    head_recorded_at = models.DateTimeField(null=True, blank=True, editable=False)

    # Only an append moves the head: a full save() of a Case loaded earlier must not write
    # back the head it read then (an append may have moved it since).
    HEAD_FIELDS: ClassVar[tuple[str, ...]] = ("head_seq", "head_hash", "head_recorded_at")

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
        "stated_rate_bp",
        "collector_agency",
        "funding_institution",
        "staff_involved",
    )

    class Meta:
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return f"Case {self.id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding and kwargs.get("update_fields") is None:
            kwargs["update_fields"] = [
                field.name
                for field in self._meta.concrete_fields
                if not field.primary_key and field.name not in self.HEAD_FIELDS
            ]
        super().save(*args, **kwargs)

    def facts(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name in self.FACT_FIELDS:
            value = getattr(self, name)
            values[name] = value.isoformat() if hasattr(value, "isoformat") else value
        return values


class Entry(AppendOnlyModel):
    APPEND_ONLY_MESSAGE = "chain entries are append-only"

    """One link of a case's chain (docs/chain-format.md). Never updated or deleted, except
    that its owner may erase its content once (mark_erased)."""

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
    # Set together, once, when the owner erases the entry's content: the redaction entry
    # that records it, and its recorded time.
    erased_at = models.DateTimeField(null=True, blank=True)
    erased_by = models.OneToOneField(
        "self", on_delete=models.RESTRICT, null=True, blank=True, related_name="erased_entry"
    )

    class Meta:
        ordering = ("case", "seq")
        constraints = [
            models.UniqueConstraint(fields=("case", "seq"), name="entry_unique_case_seq"),
            models.UniqueConstraint(fields=("case", "prev"), name="entry_unique_case_prev"),
            models.CheckConstraint(condition=models.Q(seq__gte=1), name="entry_seq_positive"),
        ]
        indexes = [
            # The timeline's order (when it happened, else when it was recorded; then seq),
            # so that a page is read from the index (docs/scale.md, "Pages").
            models.Index(
                "case",
                Coalesce("occurred_at", "recorded_at").desc(),
                models.F("seq").desc(),
                name="entry_case_when_seq",
            ),
        ]
        verbose_name_plural = "entries"

    def __str__(self) -> str:
        return f"{self.case_id} #{self.seq} {self.kind}"

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

    @property
    def is_erased(self) -> bool:
        return self.erased_at is not None

    def mark_erased(self, *, redaction: Entry) -> int:
        """The one change an entry row may undergo, once: its content (body, evidence, the
        claimed time) emptied and the row marked erased by `redaction`, at the redaction's
        recorded time. seq, prev, hash, kind, author and recorded_at stay, so the chain still
        links (the entry is exported as an omitted line). Returns the rows changed: 0 when
        the entry was erased already. This object is left as it was (refresh_from_db).
        PostgreSQL's trigger allows exactly this transition (locker/infra/entry_erasure.py);
        every other UPDATE stays refused, here and there."""
        not_erased = Entry.objects.filter(pk=self.pk, erased_at__isnull=True)
        # The plain QuerySet's update: the append-only one refuses every update but this.
        return models.QuerySet.update(
            not_erased,
            body={},
            evidence=[],
            occurred_at=None,
            erased_at=redaction.recorded_at,
            erased_by=redaction,
        )

    def as_line(self) -> dict[str, Any]:
        """The spec's line object; an erased entry is only its links (an omitted line),
        wherever the chain is exported or listed."""
        if self.is_erased:
            return self.as_omitted_line()
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

    class Derived(models.TextChoices):
        """The derived copies pages show instead of the original (pictures as small JPEGs, a
        recording browsers cannot play as AAC in M4A; locker/infra/derived.py). The worker
        makes them after the commit; the original stays the evidence, whatever this says."""

        NONE = "", _("no copy needed")  # a PDF, or a recording browsers play as it is
        PENDING = "pending", _("waiting for the worker")
        MAKING = "making", _("being made")
        READY = "ready", _("ready")
        FAILED = "failed", _("cannot be made from this file")
        NO_TOOL = "no_tool", _("the worker lacks the program that makes it")

    derived = models.CharField(max_length=10, choices=Derived.choices, blank=True, default="")
    # When the task was last sent (the sweep sends it again after a while), and until when
    # the worker that claimed the row holds it (a dead worker's claim runs out).
    derived_enqueued_at = models.DateTimeField(null=True, blank=True)
    derived_lease_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=("derived",), name="evidence_derived_state")]
        constraints = [
            models.UniqueConstraint(fields=("case", "sha256"), name="evidence_unique_case_sha256")
        ]

    def __str__(self) -> str:
        return f"{self.sha256[:12]} ({self.original_name})"


class Checkpoint(AppendOnlyModel):
    APPEND_ONLY_MESSAGE = "checkpoints are append-only"

    """A signed chain head this instance issued (a receipt, or the head a dossier covers).
    Never updated or deleted: rows removed together with their checkpoints would otherwise
    pass every check of the stored chain."""

    # No index of its own: the (case, length) index below serves every lookup by case, and a
    # second one would only be written on every append.
    case = models.ForeignKey(
        Case, on_delete=models.PROTECT, related_name="checkpoints", db_index=False
    )
    length = models.PositiveIntegerField()
    head = models.CharField(max_length=64)
    signed_at = models.DateTimeField()
    # How the signed document is kept. Since migration 0025 a row holds only what the
    # document does not repeat: the signature, and the signing certificate by its SHA-256
    # fingerprint (the PEM once, in SigningCertificate); the signed `checkpoint` object is
    # case, length, head and signed_at above, all v1. Rows written before keep the whole
    # document they were stored with (column "document"), and are read as it. Either way
    # `document` is byte for byte the document that was signed and handed out.
    legacy_document = models.JSONField(null=True, blank=True, db_column="document")
    signature = models.TextField(blank=True, default="")
    # No index: every row of a key's lifetime names the same few certificates, and nothing
    # looks checkpoints up by certificate (SigningCertificate rows are never deleted);
    # an index would only be written on every append.
    certificate = models.ForeignKey(
        "SigningCertificate",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )

    class Meta:
        ordering = ("case", "length", "signed_at")
        indexes = [models.Index(fields=("case", "length"))]

    def __str__(self) -> str:
        return f"{self.case_id} @{self.length} {self.head[:12]}"

    @property
    def document(self) -> dict[str, Any]:
        """The signed checkpoint document (spec section 4): {checkpoint, signature,
        certificate}, as it was signed and handed out."""
        if self.legacy_document is not None:
            return self.legacy_document
        if self.certificate_id is None:
            raise ValueError(f"checkpoint {self.pk} holds neither a document nor a certificate")
        return {
            "checkpoint": chain.checkpoint_body(
                str(self.case_id), self.length, self.head, self.signed_at
            ),
            "signature": self.signature,
            "certificate": SigningCertificate.pem_of(self.certificate_id),
        }


class SigningCertificate(AppendOnlyModel):
    APPEND_ONLY_MESSAGE = "signing certificates are append-only"

    """A certificate that signed checkpoints, stored once and named by its SHA-256
    fingerprint (of the DER), so that each checkpoint row refers to it instead of carrying
    its 1.5 kB PEM. Never changed: a fingerprint always names the same PEM."""

    fingerprint = models.CharField(max_length=64, primary_key=True)
    pem = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    # fingerprint -> PEM, per process: rows never change, and there are a handful (one per
    # signing key the instance ever had).
    _pems: ClassVar[dict[str, str]] = {}

    def __str__(self) -> str:
        return self.fingerprint

    @classmethod
    def pem_of(cls, fingerprint: str) -> str:
        pem = cls._pems.get(fingerprint)
        if pem is None:
            pem = cls.objects.values_list("pem", flat=True).get(pk=fingerprint)
            cls._pems[fingerprint] = pem
        return pem


class KeptReceipt(AppendOnlyModel):
    APPEND_ONLY_MESSAGE = "kept receipts are append-only"

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
    # Whether the document carries an `anchor` member (third-party time) that held when it
    # was uploaded (docs/chain-format.md, "Anchors").
    anchored = models.BooleanField(default=False)

    class Meta:
        ordering = ("case", "-length", "id")
        constraints = [
            # The same head vouched for by the same signer is one receipt, whenever it was
            # signed: uploading it again (or another copy of it) adds nothing. Its anchored
            # copy is a second row beside it: the rows are append-only, and the anchored one
            # adds what the first lacks, a time from a party other than this server.
            models.UniqueConstraint(
                fields=("case", "length", "head", "signer_fingerprint", "anchored"),
                name="kept_receipt_unique_head_signer_anchored",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} kept @{self.length} {self.head[:12]}"


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


class EvidenceText(models.Model):
    """The text the worker read from a picture (OCR, locker/infra/ocr.py): a derived
    annotation of one evidence file, never part of the chain (the picture is the evidence).
    What it says is as sensitive as the picture, so it is sealed at rest like the complainant's
    details (locker/infra/sealed_values.py); searching it opens the case's rows in Python
    (locker/selectors/evidence_text.py). Removed with its file (erasure, case deletion)."""

    class State(models.TextChoices):
        PENDING = "pending", _("waiting for the worker")
        READING = "reading", _("being read")
        READY = "ready", _("read")
        FAILED = "failed", _("cannot be read from this file")
        NO_TOOL = "no_tool", _("the worker lacks Tesseract or its language data")

    evidence = models.OneToOneField(
        EvidenceFile, on_delete=models.CASCADE, primary_key=True, related_name="text"
    )
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    # {"text": …, "numbers": [...]} sealed under the current master key, for
    # "evidence-text:<evidence id>"; empty until read.
    sealed = models.BinaryField(default=b"", blank=True)
    languages = models.CharField(max_length=50, blank=True, default="")
    engine = models.CharField(max_length=100, blank=True, default="")  # "tesseract 5.3.0"
    # The mean of Tesseract's word confidences, 0-100; None when no word was read.
    confidence = models.PositiveSmallIntegerField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=("state",), name="evidence_text_state")]

    def __str__(self) -> str:
        return f"text of evidence {self.evidence_id} ({self.state})"
