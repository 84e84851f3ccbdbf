"""Read-only: the receipts a client kept, each checked against the case's chain as it is
stored now. Nothing here writes; uploads go through services.add_kept_receipt."""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from cryptography import x509

from locker.core import anchors, chain
from locker.infra import signing
from locker.models import Case, Checkpoint, Entry, KeptReceipt
from locker.selectors.anchors import anchored_receipt, trusted_tsa_roots

Status = Literal["holds", "removed", "rewritten"]


@dataclass(frozen=True)
class KeptReceiptStatus:
    receipt: KeptReceipt
    # "holds": the entry at the receipt's length is the one it names; "removed": there is no
    # entry at that length any more; "rewritten": there is one, but not that one.
    status: Status
    # Who signed it, as this instance sees it now: its current key, a former one, or unknown
    # (it was known at upload, or the upload was refused: the keys changed since).
    signer: signing.SignerCheck
    # For a receipt with an anchor: the earliest time a time-stamp authority trusted here
    # vouches the head existed, and which ones (their certificates' subjects). Checked again
    # on every read, like the status: a TSA root no longer trusted no longer counts.
    attested_at: datetime | None = None
    attested_by: tuple[str, ...] = ()

    @property
    def signer_trusted(self) -> bool:
        return self.signer.status != "unknown"

    @property
    def holds(self) -> bool:
        return self.status == "holds"


def _status(receipt: KeptReceipt, entry: Entry | None) -> Status:
    if receipt.length == 0:
        return "holds"  # an empty chain's receipt: there was nothing to remove
    if entry is None:
        return "removed"
    # The stored hash column alone could be left as it was while the entry beside it changed,
    # so the entry's content is hashed again too; an erased entry has no content left to
    # hash, and its hash is what the chain's links (and the next entry's prev) still check.
    if entry.hash != receipt.head:
        return "rewritten"
    if not entry.is_erased and chain.entry_hash(entry.as_entry()) != receipt.head:
        return "rewritten"
    return "holds"


def signer_of(document: Any) -> signing.SignerCheck | None:
    """Who signed a checkpoint document (a receipt), as this instance sees it now; None when
    it carries no readable certificate. The signature itself is not checked here."""
    try:
        certificate = x509.load_pem_x509_certificate(str(document["certificate"]).encode())
    except (KeyError, TypeError, ValueError):
        return None
    return signing.check_signer(certificate)


def _signer(receipt: KeptReceipt, known: dict[str, signing.SignerCheck]) -> signing.SignerCheck:
    fingerprint = receipt.signer_fingerprint
    if fingerprint not in known:
        found = signer_of(receipt.document)
        known[fingerprint] = found or signing.SignerCheck(fingerprint, "unknown")
    return known[fingerprint]


def _attested(
    receipt: KeptReceipt, roots: Callable[[], Collection[str]]
) -> tuple[datetime | None, tuple[str, ...]]:
    if not receipt.anchored:
        return None, ()
    try:
        check = anchors.check_anchored_receipt(receipt.document, trusted_roots=roots())
    except (anchors.AnchorFormatError, chain.FormatError):
        return None, ()
    if not check.ok:
        return None, ()
    return check.attested_at, check.attested_by


def _roots_once() -> Callable[[], Collection[str]]:
    """trusted_tsa_roots(), read at most once, and only if a receipt has an anchor."""
    found: list[Collection[str]] = []

    def roots() -> Collection[str]:
        if not found:
            found.append(trusted_tsa_roots())
        return found[0]

    return roots


def _row(
    receipt: KeptReceipt,
    entry: Entry | None,
    known: dict[str, signing.SignerCheck],
    roots: Callable[[], Collection[str]],
) -> KeptReceiptStatus:
    attested_at, attested_by = _attested(receipt, roots)
    return KeptReceiptStatus(
        receipt,
        _status(receipt, entry),
        _signer(receipt, known),
        attested_at=attested_at,
        attested_by=attested_by,
    )


def kept_receipts_of(case: Case) -> list[KeptReceiptStatus]:
    """The case's kept receipts, longest chain first, each with its status now. Two queries:
    the receipts, and the entries at their lengths (and the TSA roots, if one is anchored)."""
    receipts = list(KeptReceipt.objects.filter(case=case).order_by("-length", "-signed_at", "-id"))
    lengths = {r.length for r in receipts if r.length > 0}
    entries: dict[int, Entry] = {}
    if lengths:
        entries = {e.seq: e for e in Entry.objects.filter(case=case, seq__in=lengths)}
    known: dict[str, signing.SignerCheck] = {}
    roots = _roots_once()
    return [_row(r, entries.get(r.length), known, roots) for r in receipts]


def status_of(receipt: KeptReceipt) -> KeptReceiptStatus:
    """One receipt's status now (after an upload)."""
    entry = Entry.objects.filter(case_id=receipt.case_id, seq=receipt.length).first()
    return _row(receipt, entry, {}, _roots_once())


def receipt_for(entry: Entry) -> Checkpoint | None:
    """The checkpoint signed for the chain ending at this entry; the first one signed, should
    the same head have been signed again later (an export also signs the head it covers)."""
    return (
        Checkpoint.objects.filter(case=entry.case, length=entry.seq, head=entry.hash)
        .order_by("signed_at")
        .first()
    )


def receipt_file(checkpoint: Checkpoint) -> tuple[str, bytes]:
    """The receipt as a file, the same whether downloaded or mailed: its name and its bytes
    (the signed checkpoint, with its anchor member once a round has anchored it)."""
    document = anchored_receipt(checkpoint)
    name = f"receipt-{str(checkpoint.case_id)[:8]}-{checkpoint.length}.json"
    return name, json.dumps(document, ensure_ascii=False, indent=2).encode()
