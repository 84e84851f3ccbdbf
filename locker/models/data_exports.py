"""A person's download of all their data (locker/exports/account.py builds it): one ZIP with
every case they own as its export bundle and their account's own records, made by a worker
and kept for LOCKER_DATA_EXPORT_KEEP_S before its file is deleted."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from locker.models.jobs import LeasedRow


class DataExport(LeasedRow):
    """Built by a worker under a lease (LeasedRow), like a dossier; the sweep also deletes the
    files of those past their keeping time."""

    class State(models.TextChoices):
        QUEUED = "queued", _("waiting for the worker")
        BUILDING = "building", _("being put together")
        READY = "ready", _("ready")
        FAILED = "failed", _("failed")
        EXPIRED = "expired", _("expired and deleted")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="data_exports"
    )
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    # When the file is deleted (LOCKER_DATA_EXPORT_KEEP_S after it was made).
    expires_at = models.DateTimeField(null=True, blank=True)

    file_name = models.CharField(max_length=500, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    size = models.BigIntegerField(null=True, blank=True)
    cases = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at",)
        indexes = [models.Index(fields=("state", "enqueued_at"), name="data_export_state_enqueued")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(progress__lte=100), name="data_export_progress_max_100"
            ),
        ]

    def __str__(self) -> str:
        return f"DataExport {self.id} ({self.state})"

    @property
    def is_finished(self) -> bool:
        return self.state in (self.State.READY, self.State.FAILED, self.State.EXPIRED)
