"""The case page's conduct panel (docs/analysis.md, "On the case page"): one row per case
holding the compact figures of the conduct analysis (locker.core.conduct.compact) at a chain
head, computed by the worker (locker/services/case_conduct.py) with the very computation the
analysis page runs. Derived data, never evidence: it can be deleted at any time and is
computed again from the entries."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext

from locker.models.cases import Case


class CaseConduct(models.Model):
    case = models.OneToOneField(
        Case, on_delete=models.CASCADE, primary_key=True, related_name="conduct"
    )
    # The chain head (length and hash) the figures cover, and the zone (the owner's) their
    # days and nights were counted in. seq 0: nothing computed yet.
    seq = models.PositiveIntegerField(default=0)
    head = models.CharField(max_length=64, blank=True)
    time_zone = models.CharField(max_length=64, blank=True)
    # core.conduct.compact's JSON; null until first computed, and from an erasure until the
    # computation after it (the erased record may be among the figures).
    figures = models.JSONField(null=True, blank=True)
    computed_at = models.DateTimeField(null=True, blank=True)
    # When the computation that wrote the row began: of two at the same head, the later
    # one's figures are kept.
    started_at = models.DateTimeField(null=True, blank=True)
    # No computation over a shorter chain may be written: an erasure sets this to its
    # redaction's seq, so that one begun before it (which may have read the erased record)
    # is dropped.
    floor_seq = models.PositiveIntegerField(default=0)
    # Why the last computation failed (an English message id) and the chain length it
    # failed at: not tried again until the chain grows.
    error = models.TextField(blank=True)
    failed_seq = models.PositiveIntegerField(null=True, blank=True)
    # Who is computing it and until when (one worker at a time per case).
    lease_token = models.CharField(max_length=32, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"conduct of {self.case_id} @{self.seq}"

    @property
    def error_display(self) -> str:
        """The stored error in the reader's language."""
        return gettext(self.error) if self.error else ""
