"""Reads of dossier rows: what a client is told of a dossier's progress."""

from __future__ import annotations

from typing import Any

from locker.models import Dossier


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
    }
