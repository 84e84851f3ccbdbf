"""Writing the complainant's details (docs/complainant-details.md): the account's identity
and contact details, a case's complaint details, and the agent's written authorisation.
Every value is checked first (a DetailRefused names the field and says what is wrong, in
the user's language; nothing is stored) and stored sealed. None of it is a chain entry."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from typing import IO, Any

from django.db import transaction
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from locker.core import identity
from locker.infra import sealed_values
from locker.infra.storage import UploadError, evidence_storage, spool_upload, write_verified
from locker.models import CaptureDevice, Case, CaseComplaint, ComplainantDetails, EvidenceText
from locker.services.entries import InputError

# Every row with a `sealed` value (locker/infra/sealed_values.py) that rotate_master_key
# re-wraps: the complainant's details, capture devices' secrets (locker/models/devices.py)
# and the text read from pictures (EvidenceText, locker/models/cases.py).
SEALED_ROW_MODELS: tuple[type[Any], ...] = (
    ComplainantDetails,
    CaseComplaint,
    CaptureDevice,
    EvidenceText,
)

MAX_RECEIVING_NUMBERS = 5
AUTHORISATION_ROOT = "authorisations"
_LIMITS = {
    "legal_name": 100,
    "id_type_other": 60,
    "address": 300,
    "agent_name": 100,
    "agent_relationship": 200,
}


class DetailRefused(InputError):
    """A detail the user can fix; `field` names it (the form field, the API member)."""

    def __init__(self, field: str, message: str | Promise) -> None:
        super().__init__(message)
        self.field = field


def _text(field: str, value: Any) -> str:
    text = unicodedata.normalize("NFC", str(value or "")).strip()
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in text):
        raise DetailRefused(field, _("This must not contain control characters."))
    limit = _LIMITS.get(field, 200)
    if len(text) > limit:
        raise DetailRefused(
            field, format_lazy(_("At most {count} characters, please."), count=limit)
        )
    return text


def _checked(field: str, check: Callable[[str], str], value: str) -> str:
    try:
        return check(value)
    except identity.DetailError as exc:
        raise DetailRefused(field, exc.args[0]) from exc


def clean_complainant(values: dict[str, Any]) -> identity.Complainant:
    """The details as stored, or DetailRefused. Any may be left empty (the dossier then says
    it is missing), but what is given must be right."""
    unknown = set(values) - set(identity.COMPLAINANT_FIELDS)
    if unknown:
        raise DetailRefused(sorted(unknown)[0], _("unknown field"))
    text = {name: _text(name, values.get(name)) for name in identity.COMPLAINANT_FIELDS}
    id_type = text["id_type"]
    if id_type and id_type not in identity.ID_TYPES:
        raise DetailRefused("id_type", _("Choose the kind of ID document."))
    if text["id_number"] and not id_type:
        raise DetailRefused("id_type", _("Choose the kind of ID document for this number."))
    if id_type == "other" and not text["id_type_other"]:
        raise DetailRefused("id_type_other", _("Name the document (e.g. 军官证)."))
    if id_type != "other":
        text["id_type_other"] = ""
    if text["id_number"]:
        text["id_number"] = _checked(
            "id_number", lambda v: identity.clean_id_number(id_type, v), text["id_number"]
        )
    if text["phone"]:
        text["phone"] = _checked("phone", identity.clean_phone, text["phone"])
    if text["email"]:
        text["email"] = _checked("email", identity.clean_email, text["email"])
    return identity.Complainant(**text)


def _agent_contact(value: str) -> str:
    try:
        return identity.clean_phone(value)
    except identity.DetailError:
        pass
    try:
        return identity.clean_email(value)
    except identity.DetailError:
        raise identity.DetailError(_("Enter the agent's phone number or e-mail address.")) from None


def clean_complaint(
    *,
    receiving_numbers: Sequence[str],
    typed_signature: bool,
    agent_name: str,
    agent_relationship: str,
    agent_contact: str,
) -> identity.Complaint:
    numbers: list[str] = []
    for raw in receiving_numbers:
        if not str(raw or "").strip():
            continue
        number = _checked("receiving_numbers", identity.clean_phone, str(raw))
        if number not in numbers:
            numbers.append(number)
    if len(numbers) > MAX_RECEIVING_NUMBERS:
        raise DetailRefused(
            "receiving_numbers",
            format_lazy(_("At most {count} numbers, please."), count=MAX_RECEIVING_NUMBERS),
        )
    name = _text("agent_name", agent_name)
    relationship = _text("agent_relationship", agent_relationship)
    contact = _text("agent_contact", agent_contact)
    if (relationship or contact) and not name:
        raise DetailRefused("agent_name", _("Enter the agent's name, or leave the agent out."))
    if name and not relationship:
        raise DetailRefused(
            "agent_relationship", _("Say who the agent is to you: a relative, or their law firm.")
        )
    if name and not contact:
        raise DetailRefused("agent_contact", _("Enter the agent's phone number or e-mail."))
    if contact:
        contact = _checked("agent_contact", _agent_contact, contact)
    return identity.Complaint(
        receiving_numbers=tuple(numbers),
        typed_signature=bool(typed_signature),
        agent_name=name,
        agent_relationship=relationship,
        agent_contact=contact,
    )


@transaction.atomic
def save_complainant_details(*, user: Any, **values: Any) -> identity.Complainant:
    """Replace the account's details with `values` (the COMPLAINANT_FIELDS)."""
    details = clean_complainant(values)
    row, _created = ComplainantDetails.objects.select_for_update().get_or_create(
        user=user, defaults={"sealed": b""}
    )
    row.sealed = sealed_values.seal_json(
        {name: getattr(details, name) for name in identity.COMPLAINANT_FIELDS},
        purpose=row.purpose,
    )
    row.save()
    return details


def _complaint_row(case: Case) -> CaseComplaint:
    row, _created = CaseComplaint.objects.select_for_update().get_or_create(
        case=case, defaults={"sealed": b""}
    )
    return row


@transaction.atomic
def save_case_complaint(
    *,
    case: Case,
    receiving_numbers: Sequence[str],
    typed_signature: bool = False,
    agent_name: str = "",
    agent_relationship: str = "",
    agent_contact: str = "",
) -> identity.Complaint:
    """Replace the case's complaint details (the authorisation file is kept)."""
    complaint = clean_complaint(
        receiving_numbers=receiving_numbers,
        typed_signature=typed_signature,
        agent_name=agent_name,
        agent_relationship=agent_relationship,
        agent_contact=agent_contact,
    )
    row = _complaint_row(case)
    row.sealed = sealed_values.seal_json(
        {
            "receiving_numbers": list(complaint.receiving_numbers),
            "typed_signature": complaint.typed_signature,
            "agent_name": complaint.agent_name,
            "agent_relationship": complaint.agent_relationship,
            "agent_contact": complaint.agent_contact,
        },
        purpose=row.purpose,
    )
    row.save()
    return complaint


def _forget_file_on_commit(name: str) -> None:
    if name:
        transaction.on_commit(lambda: evidence_storage().delete(name))


def store_authorisation(*, case: Case, upload: IO[bytes]) -> identity.Authorisation:
    """Store the agent's written authorisation (a photo or scan) sealed, replacing the one
    before. Refused whole (InputError) unless it parses as a picture. Raises StorageFull /
    StorageUnavailable with nothing stored."""
    try:
        spooled = spool_upload(upload)
    except UploadError as exc:
        raise DetailRefused("authorisation", exc.args[0]) from exc
    with spooled:
        if not spooled.media_type.startswith("image/"):
            raise DetailRefused(
                "authorisation",
                _("Upload a photo or scan of the signed authorisation (JPEG, PNG, WebP or HEIC)."),
            )
        name = f"{AUTHORISATION_ROOT}/{case.pk}/{spooled.sha256}"
        write_verified(name, spooled.spool, sha256=spooled.sha256, size=spooled.size)
        with transaction.atomic():
            row = _complaint_row(case)
            if row.authorisation_storage_name != name:
                _forget_file_on_commit(row.authorisation_storage_name)
            row.authorisation_storage_name = name
            row.authorisation_sha256 = spooled.sha256
            row.authorisation_size = spooled.size
            row.authorisation_media_type = spooled.media_type
            row.authorisation_uploaded_at = timezone.now()
            row.save()
    return identity.Authorisation(name, spooled.sha256, spooled.size, spooled.media_type)


@transaction.atomic
def remove_authorisation(*, case: Case) -> None:
    row = CaseComplaint.objects.select_for_update().filter(case=case).first()
    if row is None or not row.authorisation_storage_name:
        return
    _forget_file_on_commit(row.authorisation_storage_name)
    row.authorisation_storage_name = row.authorisation_sha256 = ""
    row.authorisation_media_type = ""
    row.authorisation_size = row.authorisation_uploaded_at = None
    row.save()


def rewrap_sealed_details() -> tuple[int, list[str]]:
    """Re-wrap every sealed detail (and capture device secret) under the current master key
    (rotate_master_key): how many were re-wrapped, and the rows that could not be (under a
    key not configured)."""
    rewrapped, failed = 0, []
    for model in SEALED_ROW_MODELS:
        for pk in model.objects.exclude(sealed=b"").values_list("pk", flat=True):
            with transaction.atomic():
                # Gone meanwhile (an erased picture's text, a deleted case): nothing to do.
                row = model.objects.select_for_update().filter(pk=pk).first()
                if row is None or not row.sealed:
                    continue
                try:
                    sealed = sealed_values.rewrapped(row.sealed)
                except sealed_values.SealedValueUnreadable:
                    failed.append(f"{model._meta.model_name} {pk}")
                    continue
                if sealed is not None:
                    row.sealed = sealed
                    row.save(update_fields=["sealed"])
                    rewrapped += 1
    return rewrapped, failed


def every_detail_under(key_id: bytes) -> bool:
    return all(
        sealed_values.key_id_of(sealed) in (None, key_id)
        for model in SEALED_ROW_MODELS
        for sealed in model.objects.values_list("sealed", flat=True)
    )
