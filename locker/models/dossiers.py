"""Signed PDF dossiers rendered by a worker."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from locker.models.cases import Case
from locker.models.jobs import LeasedRow


class Dossier(LeasedRow):
    """A signed PDF dossier of a case, rendered by a worker under a lease (LeasedRow)."""

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
    # Also an attachment pack (dossier/pack.py): a ZIP of signed parts of at most 2 MB each,
    # for channels that cap an attachment's size (NIFA).
    attachment_pack = models.BooleanField(_("attachment pack of 2 MB parts"), default=False)
    # Where the QR code on the verification page points (the /verify page of this instance).
    verify_url = models.CharField(max_length=500, blank=True)

    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)

    file_name = models.CharField(max_length=500, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    size = models.BigIntegerField(null=True, blank=True)
    pages = models.PositiveIntegerField(null=True, blank=True)
    chain_length = models.PositiveIntegerField(null=True, blank=True)
    chain_head = models.CharField(max_length=64, blank=True)
    pack_file_name = models.CharField(max_length=500, blank=True)
    pack_sha256 = models.CharField(max_length=64, blank=True)
    pack_size = models.BigIntegerField(null=True, blank=True)
    pack_parts = models.PositiveSmallIntegerField(null=True, blank=True)

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
