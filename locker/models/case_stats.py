"""The case page's figures, kept up to date as entries are appended (docs/scale.md, "Pages"):
a locker.core.stats.Tally per case, in one row (the part whose size does not grow, and the
chain head it was brought up to) and one small row per count that grows with the case (a
caller number, a contact, a tag, a day), so that an append rewrites a few small rows, not
a document as large as the case's history. Derived data, never evidence: it can be deleted
at any time and is rebuilt from the entries."""

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
    # Tally.head_part(): totals, and each kept zone's hours and night count.
    tally = models.JSONField()

    def __str__(self) -> str:
        return f"stats of {self.case_id} @{self.seq}"


class CaseStatsCount(models.Model):
    """One of a case's growing counts (Tally.counts()): key number:<n>, name:<contact>,
    tag:<tag> or day:<zone>:<date>:calls|messages. Written only under the case's lock, with
    its CaseStats row; a count that falls to zero is deleted (an erased number leaves no
    row)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="stats_counts")
    key = models.TextField()
    count = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["case", "key"], name="casestatscount_case_key")
        ]

    def __str__(self) -> str:
        return f"{self.key}={self.count} in {self.case_id}"
