"""Reads for the daily receipt mail: who asked for it, which cases each of them follows, which
anchored checkpoint of a case to mail, and the record of what was mailed to whom. Writes (and
the mail itself) are locker/services/mailed_receipts.py."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Q

from locker.models import AnchorLeaf, Case, Checkpoint, Entry, MailedReceipt
from locker.selectors.sharing import display_name

# Anchored checkpoints of a case looked at, longest first, before giving up on finding one
# whose head the chain still holds (only a rewritten chain gets that far).
CANDIDATES = 20
# Mailed receipts listed on a case's receipts page.
SHOWN = 30


def _wanting() -> Any:
    # An address is stored on the account only once its owner confirmed it
    # (locker/services/accounts.py), so a non-empty one is a confirmed one.
    return get_user_model().objects.filter(
        is_active=True, locker_profile__mail_daily_receipt=True, email__gt=""
    )


def recipients() -> Iterator[Any]:
    """Active users who asked for the daily receipt and have a confirmed address."""
    return iter(_wanting().select_related("locker_profile").order_by("pk"))


def still_wanted(user: Any) -> bool:
    """Whether the user still asks for the mail and still has a confirmed address (read
    fresh before each mail)."""
    return bool(_wanting().filter(pk=user.pk).exists())


def _following(user: Any) -> Q:
    return Q(owner=user) | Q(
        shares__user=user, shares__accepted_at__isnull=False, shares__ended_at__isnull=True
    )


def followed_cases(user: Any) -> list[Case]:
    """The cases whose receipts go to this user: their own, and those shared with them
    through an accepted share that has not ended."""
    return list(Case.objects.filter(_following(user)).distinct().order_by("created_at", "pk"))


def follows(user: Any, case_id: Any) -> bool:
    """Whether the user still gets this case's receipts (read fresh before each mail: a share
    ended since the receipt was planned stops it)."""
    return bool(Case.objects.filter(_following(user), pk=case_id).exists())


def receipt_to_mail(case: Case) -> Checkpoint | None:
    """The anchored checkpoint to mail for this case: one at the chain's current head if a
    round has anchored one, else the longest anchored one whose head the chain still holds;
    None while nothing of the case is anchored. Among anchored checkpoints of the same length
    the earliest attested is chosen: it bounds "existed no later than" most tightly."""
    leaves = (
        AnchorLeaf.objects.filter(case=case)
        .select_related("anchor", "checkpoint")
        .order_by("-length", "anchor__attested_at", "id")[:CANDIDATES]
    )
    hashes: dict[int, str] = {}
    for leaf in leaves:
        checkpoint = leaf.checkpoint
        if checkpoint.length not in hashes:
            found = (
                Entry.objects.filter(case=case, seq=checkpoint.length)
                .values_list("hash", flat=True)
                .first()
            )
            hashes[checkpoint.length] = found or ""
        if hashes[checkpoint.length] == checkpoint.head:
            return checkpoint
    return None


def last_planned_at(user: Any) -> datetime | None:
    """When a receipt was last planned for this user, for any case."""
    row = MailedReceipt.objects.filter(user=user).order_by("-planned_at").first()
    return row.planned_at if row else None


def users_with_receipts_due() -> list[int]:
    """Ids of the users with a planned receipt not sent yet (and not dropped)."""
    return list(
        MailedReceipt.objects.filter(sent_at__isnull=True, dropped_at__isnull=True)
        .values_list("user_id", flat=True)
        .distinct()
        .order_by("user_id")
    )


@dataclass(frozen=True)
class MailedLine:
    sent_at: datetime
    length: int
    # "" when the receipt went to the person looking (the page says "you").
    recipient: str


def mailed_receipts_of(case: Case, viewer: Any, *, role: str) -> list[MailedLine]:
    """The receipts of this case that were mailed, newest first: to everyone for the owner
    (who should know where copies of their record go), only their own for a lawyer."""
    rows = MailedReceipt.objects.filter(case=case, sent_at__isnull=False).select_related("user")
    if role != "owner":
        rows = rows.filter(user=viewer)
    names: dict[int, str] = {}
    lines = []
    for row in rows.order_by("-sent_at", "-id")[:SHOWN]:
        if row.user_id == viewer.pk:
            recipient = ""
        else:
            if row.user_id not in names:
                names[row.user_id] = display_name(row.user)
            recipient = names[row.user_id]
        sent_at = row.sent_at or row.planned_at  # always sent_at: the query asks for it
        lines.append(MailedLine(sent_at=sent_at, length=row.length, recipient=recipient))
    return lines
