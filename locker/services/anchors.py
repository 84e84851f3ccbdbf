"""Anchoring rounds (docs/chain-format.md, "Anchors"): the checkpoints signed since the last
round go into one Merkle tree, and each configured TSA time-stamps its root. Logging never
waits for this: appends only sign checkpoints; rounds run on beat's schedule
(LOCKER_ANCHOR_INTERVAL_S), before every dossier, and on `manage.py anchor_now`."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from locker.core import anchors, merkle
from locker.infra import locks, tsa
from locker.infra.tsa import TSAUnavailable
from locker.models import Anchor, AnchorLeaf, Case, Checkpoint
from locker.services.entries import issue_checkpoint_row

log = logging.getLogger(__name__)

ROUND_LOCK = "anchor-round"
# How long a caller waits for a round another process is running (a dossier waits; the
# scheduled round does not need to: the other one is doing its work).
ROUND_WAIT_S = 30.0

__all__ = ["RoundResult", "TSAUnavailable", "anchor_case_head", "anchor_pending_checkpoints"]


@dataclass(frozen=True)
class RoundResult:
    anchor: Anchor | None
    checkpoints: int = 0
    # TSAs that failed in this round while another answered (the anchor has fewer tokens).
    failures: tuple[str, ...] = field(default=())
    # Another process held the round lock for longer than we waited.
    busy: bool = False


def _pending(limit: int) -> list[Checkpoint]:
    return list(
        Checkpoint.objects.filter(anchor_leaf__isnull=True)
        .only(
            "id",
            "case_id",
            "length",
            "head",
            "signed_at",
            "legacy_document",
            "signature",
            "certificate_id",
        )
        .order_by("id")[:limit]
    )


def anchor_pending_checkpoints(*, wait_s: float = 0.0) -> RoundResult:
    """Run one round. Nothing happens (and no TSA is asked) when no TSA is configured or
    nothing was signed since the last round. Raises TSAUnavailable when every TSA failed:
    the checkpoints stay pending for the retry."""
    if not tsa.is_configured():
        return RoundResult(anchor=None)
    with locks.exclusive(ROUND_LOCK, wait_s=wait_s) as held:
        if not held:
            return RoundResult(anchor=None, busy=True)
        pending = _pending(settings.LOCKER_ANCHOR_MAX_LEAVES)
        if not pending:
            return RoundResult(anchor=None)
        leaves = [anchors.checkpoint_leaf(c.document["checkpoint"]) for c in pending]
        root, proofs = merkle.tree(leaves)
        tokens: list[tsa.Token] = []
        failures: list[str] = []
        for source in tsa.configured():
            try:
                tokens.append(tsa.request_token(source, root))
            except TSAUnavailable as exc:
                log.warning("anchoring: %s", exc)
                failures.append(str(exc))
        if not tokens:
            raise TSAUnavailable("; ".join(failures))
        anchor = _store(pending, root, proofs, tokens)
    log.info(
        "anchored %d checkpoint(s) under %s with %d token(s)",
        len(pending),
        root.hex()[:12],
        len(tokens),
    )
    return RoundResult(anchor=anchor, checkpoints=len(pending), failures=tuple(failures))


def _store(
    pending: list[Checkpoint], root: bytes, proofs: list[list[bytes]], tokens: list[tsa.Token]
) -> Anchor:
    with transaction.atomic():
        anchor = Anchor.objects.create(
            root=root.hex(),
            tree_size=len(pending),
            anchored_at=timezone.now(),
            attested_at=min(t.attested_at for t in tokens),
            tokens=[t.as_json() for t in tokens],
        )
        try:
            AnchorLeaf.objects.bulk_create(
                AnchorLeaf(
                    anchor=anchor,
                    checkpoint_id=checkpoint.id,
                    case_id=checkpoint.case_id,
                    length=checkpoint.length,
                    leaf_index=index,
                    proof=[sibling.hex() for sibling in proofs[index]],
                )
                for index, checkpoint in enumerate(pending)
            )
        except IntegrityError as exc:
            # Only if a round ran without the lock (it never should): the checkpoints are
            # anchored by that round; ours is rolled back whole.
            raise TSAUnavailable("another anchoring round took these checkpoints") from exc
    return anchor


def anchor_case_head(*, case: Case, length: int, head: str) -> Checkpoint:
    """The checkpoint for this head, anchored if a TSA can be reached now: the latest one
    already signed for it, else a new one; then a round if it is not anchored yet. Used
    before an export or a dossier, so that what they carry is vouched for by a third party
    at once instead of at the next scheduled round. Never fails for want of a TSA: the
    checkpoint is returned unanchored, and the caller says so."""
    checkpoint = (
        Checkpoint.objects.filter(case=case, length=length, head=head)
        .order_by("-signed_at", "-id")
        .first()
    )
    if checkpoint is None:
        checkpoint = issue_checkpoint_row(case=case, length=length, head=head)
    if tsa.is_configured() and not AnchorLeaf.objects.filter(checkpoint=checkpoint).exists():
        try:
            anchor_pending_checkpoints(wait_s=ROUND_WAIT_S)
        except TSAUnavailable as exc:
            log.warning("case %s: head not anchored now (%s)", case.id, exc)
    return checkpoint
