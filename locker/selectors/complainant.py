"""Reading the complainant's details (locker/models/complainant.py): opened from their
sealed form for the owner's own pages, the API and the two dossiers that carry them, and
which elements a dossier template still lacks. Nothing here writes to the access log: the
values are never shown to anyone but the owner, except inside a dossier."""

from __future__ import annotations

from typing import Any

from locker.core import identity
from locker.infra import sealed_values
from locker.models import Case, CaseComplaint, ComplainantDetails


def complainant_of(user: Any) -> identity.Complainant:
    """The account's details (empty ones when none were saved). Raises
    SealedValueUnreadable when the master key they were sealed under is not configured."""
    row = ComplainantDetails.objects.filter(user=user).first()
    if row is None:
        return identity.Complainant()
    values = sealed_values.open_json(row.sealed, purpose=row.purpose)
    return identity.Complainant(
        **{name: str(values.get(name) or "") for name in identity.COMPLAINANT_FIELDS}
    )


def complaint_of(case: Case) -> identity.Complaint:
    row = CaseComplaint.objects.filter(case=case).first()
    if row is None:
        return identity.Complaint()
    values = sealed_values.open_json(row.sealed, purpose=row.purpose)
    authorisation = (
        identity.Authorisation(
            row.authorisation_storage_name,
            row.authorisation_sha256,
            row.authorisation_size or 0,
            row.authorisation_media_type,
        )
        if row.authorisation_storage_name
        else None
    )
    numbers = values.get("receiving_numbers")
    return identity.Complaint(
        receiving_numbers=tuple(str(n) for n in numbers) if isinstance(numbers, list) else (),
        typed_signature=bool(values.get("typed_signature")),
        agent_name=str(values.get("agent_name") or ""),
        agent_relationship=str(values.get("agent_relationship") or ""),
        agent_contact=str(values.get("agent_contact") or ""),
        authorisation=authorisation,
    )


def missing_for_dossiers(case: Case) -> dict[str, list[str]]:
    """Per template that carries complainant details, the labels of what it still lacks (in
    the active language): the dossier form warns with them before a dossier is made. Only
    labels, never values, so a reviewer may see them."""
    person = complainant_of(case.owner)
    complaint = complaint_of(case)
    facts = case.facts()
    return {
        template: [
            str(identity.ELEMENT_LABELS[name])
            for name in identity.missing_elements(template, person, complaint, facts)
        ]
        for template in identity.TEMPLATE_ELEMENTS
    }
