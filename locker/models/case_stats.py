"""The case page's figures, kept up to date as entries are appended (docs/scale.md, "Pages"):
one row per case holding a locker.core.stats.Tally, and the chain head it was brought up to.
Derived data, never evidence: it can be deleted at any time and is rebuilt from the entries."""

from __future__ import annotations

from django.db import models

from locker.models.cases import Case


class CaseStats(models.Model):
    case = models.OneToOneField(
        Case, on_delete=models.CASCADE, primary_key=True, related_name="stats"
    )
    # The chain head (length and hash) the tally covers: when it is not the chain's head,
    # some entry went in without record_appended, and the tally is rebuilt.
    seq = models.PositiveIntegerField()
    head = models.CharField(max_length=64)
    tally = models.JSONField()

    def __str__(self) -> str:
        return f"stats of {self.case_id} @{self.seq}"
