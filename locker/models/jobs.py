"""What a row built by a worker under a lease holds besides its own data: how far it got, why
it failed, when it was asked for, started and finished, how often it was tried, and who holds
it until when (locker/services/leases.py claims, renews and releases it). Dossiers and
downloads of all one's data are such rows."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext


class LeasedRow(models.Model):
    """The row is the truth, not the broker: a worker claims it with a lease, and a sweep sends
    rows that waited too long, or whose worker vanished, to a worker again. Each subclass has
    its own `state` field (its own states) and the check that progress is at most 100."""

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

    class Meta:
        abstract = True

    @property
    def error_display(self) -> str:
        """The stored error (an English message id) in the reader's language."""
        return gettext(self.error) if self.error else ""
