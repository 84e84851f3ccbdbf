"""Receipts the client kept: the owner uploads a signed checkpoint they downloaded when an
entry was added (or was mailed), so that the case's reviewers can see whether the chain still
holds it. A receipt with an `anchor` member (third-party time, docs/chain-format.md "Anchors")
is kept only if its anchor holds too."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy

from locker.core import anchors, chain
from locker.infra import signing
from locker.models import Case, KeptReceipt
from locker.selectors.anchors import trusted_tsa_roots
from locker.services.entries import InputError, TooLarge

# A receipt is about 1 KiB (most of it the certificate); anything much bigger is not one.
MAX_RECEIPT_BYTES = 64 * 1024


@dataclass(frozen=True)
class KeptReceiptResult:
    receipt: KeptReceipt
    created: bool  # False: the same receipt was already kept, nothing was added


def add_kept_receipt(*, case: Case, user: User, data: bytes) -> KeptReceiptResult:
    """Keep a receipt the owner uploads (the JSON document as bytes). Raises InputError,
    storing nothing, unless it is a checkpoint of this case signed by this instance."""
    if case.owner_id != user.pk:
        raise PermissionError("only the case's owner can add receipts to it")
    if len(data) > MAX_RECEIPT_BYTES:
        raise TooLarge(
            format_lazy(
                gettext_lazy("the receipt is larger than the limit of {size} KiB"),
                size=MAX_RECEIPT_BYTES // 1024,
            )
        )
    try:
        document = chain.parse_json(data, "receipt")
    except chain.FormatError as exc:
        raise InputError(gettext_lazy("the receipt is not a JSON file")) from exc
    anchored = isinstance(document, dict) and "anchor" in document
    # The signed checkpoint is the receipt without its anchor: checked exactly as before.
    signed = (
        {name: value for name, value in document.items() if name != "anchor"}
        if anchored
        else document
    )
    try:
        chain.check_checkpoint_shape(signed)
    except chain.FormatError as exc:
        raise InputError(
            gettext_lazy(
                "this file is not a receipt: a receipt is the signed checkpoint "
                "(checkpoint, signature, certificate) you downloaded after saving an entry"
            )
        ) from exc
    try:
        certificate = chain.verify_checkpoint(signed)
    except chain.FormatError as exc:
        raise InputError(
            gettext_lazy(
                "the receipt's signature does not verify: "
                "the receipt was changed after it was signed"
            )
        ) from exc
    # Refused rather than kept with a flag: a receipt proves something only because this
    # server signed it, so one signed by any other key says nothing about this record, and
    # showing it as "rewritten" would let anyone cast doubt on it with a key of their own.
    # A rotated signing key does not make old receipts untrusted (signing.is_trusted accepts
    # the former keys listed at /keys); only a new key directory (a new CA) would, and then
    # this server could no longer tell its old receipts from forgeries either.
    if not signing.is_trusted(certificate):
        raise InputError(
            gettext_lazy(
                "this receipt was not signed by this server, so it cannot be checked "
                "against this record"
            )
        )
    body = signed["checkpoint"]
    if body["case"] != str(case.pk):
        raise InputError(gettext_lazy("this receipt is for another case"))
    if anchored:
        _check_anchor(document)
    key = {
        "case": case,
        "length": body["length"],
        "head": body["head"],
        "signer_fingerprint": signing.fingerprint(certificate),
    }
    # A plain copy of a head already kept (plain or anchored) adds nothing; an anchored copy
    # adds a third-party time to a head kept only plain, so it is kept beside it (kept rows
    # are never changed), and any later anchored copy of that head adds nothing again.
    same = KeptReceipt.objects.filter(**key)
    existing = (same.filter(anchored=True) if anchored else same.order_by("anchored")).first()
    if existing is not None:
        return KeptReceiptResult(existing, created=False)
    try:
        with transaction.atomic():
            receipt = KeptReceipt.objects.create(
                **key,
                anchored=anchored,
                uploaded_by=user,
                document=document,
                signed_at=chain.parse_timestamp(body["signed_at"]),
            )
    except IntegrityError:
        # The same receipt uploaded twice at once: the other upload kept it.
        return KeptReceiptResult(KeptReceipt.objects.get(**key, anchored=anchored), created=False)
    return KeptReceiptResult(receipt, created=True)


def _check_anchor(document: dict[str, object]) -> None:
    """Refuse a receipt whose anchor does not hold: a receipt that claims a third-party time
    it does not have would show reviewers a time nobody vouched for."""
    try:
        check = anchors.check_anchored_receipt(document, trusted_roots=trusted_tsa_roots())
    except (anchors.AnchorFormatError, chain.FormatError) as exc:
        raise InputError(
            gettext_lazy(
                "the receipt's time stamp (its anchor member) is not in the form this server "
                "writes: the receipt was changed"
            )
        ) from exc
    if not check.proof_ok:
        raise InputError(
            gettext_lazy(
                "the receipt's time stamp is not over this receipt: the receipt was changed "
                "after it was time-stamped"
            )
        )
    if not check.ok:
        raise InputError(
            gettext_lazy(
                "none of the receipt's time stamps holds: they were changed, or come from a "
                "time-stamp authority this server does not trust"
            )
        )
