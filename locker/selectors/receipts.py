"""Read-only: the receipts a client kept, each checked against the case's chain as it is
stored now. Nothing here writes; uploads go through services.add_kept_receipt."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from cryptography import x509

from locker.core import chain
from locker.infra import signing
from locker.models import Case, Checkpoint, Entry, KeptReceipt

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
    # so the entry's content is hashed again too.
    if entry.hash != receipt.head or chain.entry_hash(entry.as_entry()) != receipt.head:
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


def kept_receipts_of(case: Case) -> list[KeptReceiptStatus]:
    """The case's kept receipts, longest chain first, each with its status now. Two queries:
    the receipts, and the entries at their lengths."""
    receipts = list(KeptReceipt.objects.filter(case=case).order_by("-length", "-signed_at", "-id"))
    lengths = {r.length for r in receipts if r.length > 0}
    entries: dict[int, Entry] = {}
    if lengths:
        entries = {e.seq: e for e in Entry.objects.filter(case=case, seq__in=lengths)}
    known: dict[str, signing.SignerCheck] = {}
    return [
        KeptReceiptStatus(r, _status(r, entries.get(r.length)), _signer(r, known)) for r in receipts
    ]


def status_of(receipt: KeptReceipt) -> KeptReceiptStatus:
    """One receipt's status now (after an upload)."""
    entry = Entry.objects.filter(case_id=receipt.case_id, seq=receipt.length).first()
    return KeptReceiptStatus(receipt, _status(receipt, entry), _signer(receipt, {}))


def receipt_for(entry: Entry) -> Checkpoint | None:
    """The checkpoint signed for the chain ending at this entry; the first one signed, should
    the same head have been signed again later (an export also signs the head it covers)."""
    return (
        Checkpoint.objects.filter(case=entry.case, length=entry.seq, head=entry.hash)
        .order_by("signed_at")
        .first()
    )
