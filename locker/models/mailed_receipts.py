"""Daily receipts mailed to the people who follow a case (its owner, the lawyers it is shared
with), so that copies of its anchored heads exist in mailboxes this server does not control.
One row per person, case and head: what was (or is about to be) mailed, and when."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from locker.models.cases import Case, Checkpoint


class MailedReceipt(models.Model):
    """A receipt planned for one recipient, claimed by a worker for a while (a lease), and
    sent. A row is planned once per (user, case, length, head), so an idle case is not mailed
    again and a second run never plans the same head twice; the lease keeps two workers from
    sending it at once, and a row whose worker died stays unsent until a later run takes it.
    Not append-only like the evidence tables: the lease and the sent time change by design."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="mailed_receipts"
    )
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="mailed_receipts")
    # The anchored checkpoint the mail attaches (its receipt with the `anchor` member).
    checkpoint = models.ForeignKey(Checkpoint, on_delete=models.PROTECT, related_name="+")
    length = models.PositiveIntegerField()
    head = models.CharField(max_length=64)
    planned_at = models.DateTimeField()
    # A worker holding the row until then; a new claim is a new token.
    claimed_until = models.DateTimeField(null=True, blank=True)
    claim_token = models.CharField(max_length=32, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)
    # Not sent, and never will be: a newer head was planned before it went out, or the
    # recipient no longer follows the case (a share ended, the preference was switched off).
    dropped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-planned_at", "-id")
        constraints = [
            models.UniqueConstraint(
                fields=("user", "case", "length", "head"), name="mailed_receipt_once_per_head"
            ),
        ]
        indexes = [
            models.Index(fields=("user", "case", "planned_at")),
            models.Index(fields=("sent_at", "dropped_at")),
        ]

    def __str__(self) -> str:
        return f"receipt of {self.case_id} @{self.length} for {self.user_id}"
