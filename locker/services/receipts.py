"""Receipts the client kept: the owner uploads a signed checkpoint they downloaded when an
entry was added, so that the case's reviewers can see whether the chain still holds it."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy

from locker.core import chain
from locker.infra import signing
from locker.models import Case, KeptReceipt
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
    try:
        chain.check_checkpoint_shape(document)
    except chain.FormatError as exc:
        raise InputError(
            gettext_lazy(
                "this file is not a receipt: a receipt is the signed checkpoint "
                "(checkpoint, signature, certificate) you downloaded after saving an entry"
            )
        ) from exc
    try:
        certificate = chain.verify_checkpoint(document)
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
    # A new signing key does not make old receipts untrusted (signing.is_trusted accepts any
    # certificate the instance CA issued); only a new CA would, and then this server could no
    # longer tell its old receipts from forgeries either.
    if not signing.is_trusted(certificate):
        raise InputError(
            gettext_lazy(
                "this receipt was not signed by this server, so it cannot be checked "
                "against this record"
            )
        )
    body = document["checkpoint"]
    if body["case"] != str(case.pk):
        raise InputError(gettext_lazy("this receipt is for another case"))
    key = {
        "case": case,
        "length": body["length"],
        "head": body["head"],
        "signer_fingerprint": signing.fingerprint(certificate),
    }
    existing = KeptReceipt.objects.filter(**key).first()
    if existing is not None:
        return KeptReceiptResult(existing, created=False)
    try:
        with transaction.atomic():
            receipt = KeptReceipt.objects.create(
                **key,
                uploaded_by=user,
                document=document,
                signed_at=chain.parse_timestamp(body["signed_at"]),
            )
    except IntegrityError:
        # The same receipt uploaded twice at once: the other upload kept it.
        return KeptReceiptResult(KeptReceipt.objects.get(**key), created=False)
    return KeptReceiptResult(receipt, created=True)
