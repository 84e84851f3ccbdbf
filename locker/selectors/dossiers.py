"""Reads of dossier rows: finding them, a case's dossiers, and what a client is told of a
dossier's progress."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import QuerySet

from locker.models import Case, Dossier


def dossier_status(dossier: Dossier) -> dict[str, Any]:
    """The row as the API and the progress page report it; the result's facts only once
    it is ready."""
    ready = dossier.state == Dossier.State.READY
    return {
        "id": str(dossier.id),
        "status": dossier.state,
        "progress": dossier.progress,
        "error": dossier.error_display or None if dossier.state == Dossier.State.FAILED else None,
        "template": dossier.template,
        "language": dossier.language,
        "include_access_log": dossier.include_access_log,
        "created_at": dossier.created_at,
        "finished_at": dossier.finished_at,
        "pages": dossier.pages if ready else None,
        "sha256": dossier.sha256 if ready else None,
        "chain_length": dossier.chain_length if ready else None,
        "chain_head": dossier.chain_head if ready else None,
        "attachment_pack": dossier.attachment_pack,
        "pack_parts": dossier.pack_parts if ready else None,
        "pack_sha256": (dossier.pack_sha256 or None) if ready else None,
    }


def dossier_by_id(dossier_id: Any) -> Dossier | None:
    """The dossier with this id; None when there is none or the id is not a UUID."""
    try:
        return Dossier.objects.filter(pk=uuid.UUID(str(dossier_id))).first()
    except ValueError:
        return None


def dossier_of(case: Case, dossier_id: Any) -> Dossier | None:
    """The dossier if it belongs to the case; None for another case's, or none at all."""
    return Dossier.objects.filter(pk=dossier_id, case=case).first()


def recent_dossiers_of(case: Case, limit: int = 50) -> QuerySet[Dossier]:
    """The case's dossiers as the export page lists them (the model's order), with who asked."""
    return Dossier.objects.filter(case=case).select_related("requested_by")[:limit]
