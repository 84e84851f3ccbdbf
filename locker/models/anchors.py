"""Third-party time for checkpoints (docs/chain-format.md, "Anchors"): one Anchor per
anchoring round (a Merkle root and the RFC 3161 tokens over it), one AnchorLeaf per
checkpoint the round covered (its place in the tree and its inclusion proof). Both are
evidence of when a chain head existed: append-only like checkpoints (model layer, and a
trigger on PostgreSQL)."""

from __future__ import annotations

from django.db import models

from locker.models.append_only import AppendOnlyModel
from locker.models.cases import Case, Checkpoint


class Anchor(AppendOnlyModel):
    APPEND_ONLY_MESSAGE = "anchors are append-only"

    root = models.CharField(max_length=64, unique=True)
    tree_size = models.PositiveIntegerField()
    # When this instance ran the round (its own clock; informative).
    anchored_at = models.DateTimeField()
    # The earliest time a TSA wrote into one of the tokens: what the case page reports.
    attested_at = models.DateTimeField()
    # [{"tsa": url without credentials, "token": base64 DER, "certificates": [PEM, ...]}]
    tokens = models.JSONField()

    class Meta:
        ordering = ("-anchored_at",)
        indexes = [models.Index(fields=("attested_at",))]

    def __str__(self) -> str:
        return f"anchor {self.root[:12]} ({self.tree_size} checkpoints)"


class AnchorLeaf(AppendOnlyModel):
    APPEND_ONLY_MESSAGE = "anchor leaves are append-only"

    anchor = models.ForeignKey(Anchor, on_delete=models.PROTECT, related_name="leaves")
    # One round per checkpoint: the unique key is what stops two rounds running at once from
    # both claiming it.
    checkpoint = models.OneToOneField(
        Checkpoint, on_delete=models.PROTECT, related_name="anchor_leaf"
    )
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="+")
    length = models.PositiveIntegerField()
    leaf_index = models.PositiveIntegerField()
    proof = models.JSONField()

    class Meta:
        ordering = ("case", "length")
        indexes = [models.Index(fields=("case", "length"))]

    def __str__(self) -> str:
        return f"{self.case_id} @{self.length} in {self.anchor_id}"
