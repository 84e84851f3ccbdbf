"""Reading anchors: the anchored receipt of a checkpoint, a case's anchors.json, the TSA
roots this instance trusts, and how fresh a case's third-party time is. Writes are
locker/services/anchors.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import Max, OuterRef, QuerySet, Subquery

from locker.core import anchors, chain
from locker.infra import tsa
from locker.models import Anchor, AnchorLeaf, Case, Checkpoint

# Trust is learnt from this many of the newest rounds (besides LOCKER_TSA_CA_FILE).
ROUNDS_FOR_TRUST = 50


def anchor_member(leaf: AnchorLeaf) -> dict[str, Any]:
    """The `anchor` member of the leaf's checkpoint's receipt (docs/chain-format.md)."""
    anchor = leaf.anchor
    return {
        "v": anchors.ANCHOR_VERSION,
        "root": anchor.root,
        "tree_size": anchor.tree_size,
        "leaf_index": leaf.leaf_index,
        "proof": list(leaf.proof),
        "anchored_at": chain.format_timestamp(anchor.anchored_at),
        "tokens": [
            {"tsa": t["tsa"], "token": t["token"], "certificates": list(t["certificates"])}
            for t in anchor.tokens
        ],
    }


def anchored_receipt(checkpoint: Checkpoint) -> dict[str, Any]:
    """The receipt for a checkpoint: the signed checkpoint (spec section 4) and, once a
    round has anchored it, its `anchor` member. Before that it is a plain v1 checkpoint."""
    receipt = dict(checkpoint.document)
    leaf = AnchorLeaf.objects.select_related("anchor").filter(checkpoint=checkpoint).first()
    if leaf is not None:
        receipt["anchor"] = anchor_member(leaf)
    return receipt


def checkpoint_anchor(checkpoint: Checkpoint) -> Anchor | None:
    """The round that anchored this checkpoint, if one has."""
    leaf = AnchorLeaf.objects.select_related("anchor").filter(checkpoint=checkpoint).first()
    return leaf.anchor if leaf is not None else None


def tsa_configured() -> bool:
    return tsa.is_configured()


def _receipt(leaf: AnchorLeaf) -> dict[str, Any]:
    return {**leaf.checkpoint.document, "anchor": anchor_member(leaf)}


def anchors_document(case: Case, *, up_to_length: int, checkpoint: Checkpoint | None) -> dict:
    """anchors.json for a bundle of `case` ending at `up_to_length`: per anchoring round
    that covered the case, its longest anchored checkpoint within the bundle, and the
    bundle's own checkpoint when it is anchored. In increasing length."""
    longest = (
        AnchorLeaf.objects.filter(case=case, length__lte=up_to_length)
        .values("anchor_id")
        .annotate(longest=Max("length"))
    )
    wanted: dict[int, int] = {row["anchor_id"]: row["longest"] for row in longest}
    leaves: dict[int, AnchorLeaf] = {}
    if wanted:
        candidates = AnchorLeaf.objects.select_related("anchor", "checkpoint").filter(
            case=case, anchor_id__in=list(wanted), length__in=set(wanted.values())
        )
        for leaf in candidates.order_by("id"):
            if wanted.get(leaf.anchor_id) == leaf.length:
                leaves.setdefault(leaf.anchor_id, leaf)
    chosen = list(leaves.values())
    if checkpoint is not None:
        own = (
            AnchorLeaf.objects.select_related("anchor", "checkpoint")
            .filter(checkpoint=checkpoint)
            .first()
        )
        if own is not None and all(leaf.id != own.id for leaf in chosen):
            chosen.append(own)
    chosen.sort(key=lambda leaf: (leaf.length, leaf.anchor.anchored_at, leaf.id))
    return {
        "v": anchors.ANCHOR_VERSION,
        "case": str(case.id),
        "checkpoints": [_receipt(leaf) for leaf in chosen],
    }


def trusted_tsa_roots() -> frozenset[str]:
    """Fingerprints of the TSA roots whose tokens count here: those in LOCKER_TSA_CA_FILE,
    and the roots of the tokens this instance's own recent rounds received from the TSAs it
    is configured with (trust on first use, for operators who set no CA file)."""
    roots = {
        anchors.certificate_fingerprint(c) for c in tsa.ca_certificates() if c.self_signed != "no"
    }
    for anchor in Anchor.objects.order_by("-anchored_at")[:ROUNDS_FOR_TRUST]:
        for token in anchor.tokens:
            roots.update(anchors.token_root_fingerprints(token))
    return frozenset(roots)


@dataclass(frozen=True)
class AnchorStatus:
    configured: bool
    # The newest third-party time that covers this case, how far it reaches, and whether
    # the case's head has it yet.
    newest_attested_at: datetime | None
    attested_length: int
    head_anchored: bool
    interval_minutes: int


def with_newest_anchor(cases: QuerySet[Case]) -> QuerySet[Case]:
    """`cases`, each read with the length and time of the newest third-party time that
    covers it (what anchor_status reads), in the same statement: a query less for the case
    page. Two lookups of the same index row."""
    newest = AnchorLeaf.objects.filter(case=OuterRef("pk")).order_by("-length", "-id")
    return cases.annotate(
        newest_anchor_length=Subquery(newest.values("length")[:1]),
        newest_anchor_attested_at=Subquery(newest.values("anchor__attested_at")[:1]),
    )


def anchor_status(case: Case, *, length: int) -> AnchorStatus:
    if "newest_anchor_length" in case.__dict__:  # read with the case (with_newest_anchor)
        attested_length = case.__dict__["newest_anchor_length"]
        attested_at = case.__dict__["newest_anchor_attested_at"]
    else:
        newest = (
            AnchorLeaf.objects.filter(case=case)
            .order_by("-length", "-id")
            .select_related("anchor")
            .only("length", "anchor__attested_at")
            .first()
        )
        attested_length = newest.length if newest else None
        attested_at = newest.anchor.attested_at if newest else None
    return AnchorStatus(
        configured=tsa.is_configured(),
        newest_attested_at=attested_at,
        attested_length=attested_length or 0,
        head_anchored=attested_length is not None and attested_length >= length,
        interval_minutes=max(1, round(settings.LOCKER_ANCHOR_INTERVAL_S / 60)),
    )
