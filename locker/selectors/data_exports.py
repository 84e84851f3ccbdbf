"""Reads of a person's downloads of all their data: only ever their own."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import Q, QuerySet

from locker.infra.sealed_values import SealedValueUnreadable
from locker.models import Case, ContactLink, DataExport, Dossier, Entry, KeptReceipt, Share
from locker.selectors.accounts import preferences_of, professional_profile_of, tokens_of
from locker.selectors.cases import cases_owned_by
from locker.selectors.complainant import complainant_of, complaint_of
from locker.selectors.devices import devices_of
from locker.selectors.second_factor import has_second_factor, passkeys_of
from locker.selectors.security import security_events_of
from locker.selectors.sessions import sessions_of


def data_exports_of(user: Any, limit: int = 10) -> QuerySet[DataExport]:
    return DataExport.objects.filter(user=user)[:limit]


def data_export_of(user: Any, export_id: Any) -> DataExport | None:
    """The export if it is `user`'s; None for anyone else's, none at all, or a bad id."""
    try:
        wanted = uuid.UUID(str(export_id))
    except ValueError:
        return None
    return DataExport.objects.filter(pk=wanted, user=user).first()


def data_export_status(export: DataExport) -> dict[str, Any]:
    """The row as the API and the progress page report it."""
    ready = export.state == DataExport.State.READY
    return {
        "id": str(export.id),
        "status": export.state,
        "progress": export.progress,
        "error": export.error_display or None if export.state == DataExport.State.FAILED else None,
        "created_at": export.created_at,
        "finished_at": export.finished_at,
        "expires_at": export.expires_at if ready else None,
        "cases": export.cases if ready else None,
        "size": export.size if ready else None,
        "sha256": export.sha256 if ready else None,
    }


# What a download of all one's data says about the account (beside each case's bundle) -------


def _when(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def account_records(user: Any) -> dict[str, Any]:
    """The account's own records, as JSON-ready members of the download, by file name.
    Secrets are left out (password hash, token hashes, session keys, second-factor keys):
    the download is for reading, not for signing in."""
    profile = preferences_of(user)
    professional = professional_profile_of(user)
    owned = list(cases_owned_by(user).order_by("created_at"))
    return {
        "account.json": {
            "username": user.get_username(),
            "email": user.email,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "date_joined": _when(user.date_joined),
            "last_login": _when(user.last_login),
            "second_factor": has_second_factor(user),
            # The person's own identity details, whole: the download is theirs alone (and
            # sealed in storage), and these are what they gave for their complaints.
            "complainant": _complainant(user),
            "passkeys": [
                {
                    "name": passkey.name,
                    "created_at": _when(passkey.created_at),
                    "last_used_at": _when(passkey.last_used_at),
                    "backed_up": passkey.backed_up,
                    "transports": passkey.transports,
                }
                for passkey in passkeys_of(user)
            ],
            "preferences": (
                {
                    "time_zone": profile.time_zone,
                    "language": profile.language,
                    "mail_daily_receipt": profile.mail_daily_receipt,
                    "mail_case_titles": profile.mail_case_titles,
                    "offline_drafts": profile.offline_drafts,
                    "look": profile.look,
                    "look_name": profile.look_name,
                }
                if profile
                else None
            ),
            "professional_profile": (
                {
                    "name": professional.name,
                    "organisation": professional.organisation,
                    "jurisdiction": professional.jurisdiction,
                }
                if professional
                else None
            ),
        },
        "cases.json": [_case_index(case) for case in owned],
        "security-events.json": [
            {
                "kind": event.kind,
                "at": _when(event.at),
                "ip": event.ip,
                "user_agent": event.user_agent,
                "detail": event.detail,
            }
            for event in security_events_of(user)
        ],
        "sessions.json": {
            "browsers": [
                {
                    "created_at": _when(row.created_at),
                    "last_seen_at": _when(row.last_seen_at),
                    "user_agent": row.user_agent,
                    "address": row.address,
                }
                for row in sessions_of(user)
            ],
            "api_tokens": [
                {
                    "name": token.name,
                    "prefix": token.prefix,
                    "created_at": _when(token.created_at),
                    "last_used_at": _when(token.last_used_at),
                    "expires_at": _when(token.expires_at),
                    "revoked_at": _when(token.revoked_at),
                }
                for token in tokens_of(user)
            ],
        },
        "shares.json": {
            "made": [_share(share) for share in Share.objects.filter(case__owner=user)],
            "received": [_share(share) for share in Share.objects.filter(user=user)],
        },
        "kept-receipts.json": [
            {
                "case": str(receipt.case_id),
                "uploaded_at": _when(receipt.uploaded_at),
                "document": receipt.document,
            }
            for receipt in KeptReceipt.objects.filter(
                Q(case__owner=user) | Q(uploaded_by=user)
            ).order_by("case_id", "length", "id")
        ],
    }


def _case_index(case: Case) -> dict[str, Any]:
    return {
        "id": str(case.id),
        "title": case.title,
        "created_at": _when(case.created_at),
        "bundle": case_member_name(case),
        "records": Entry.objects.filter(case=case).count(),
        "complaint": _complaint(case),
        # The phones that post into the case (docs/capture.md); never their secrets.
        "capture_devices": [
            {
                "id": device.public_id,
                "name": device.name,
                "created_at": _when(device.created_at),
                "paused_at": _when(device.paused_at),
                "revoked_at": _when(device.revoked_at),
                "last_post_at": _when(device.last_post_at),
            }
            for device in devices_of(case)
        ],
        "dossiers": [
            {
                "id": str(dossier.id),
                "template": dossier.template,
                "language": dossier.language,
                "state": dossier.state,
                "created_at": _when(dossier.created_at),
                "sha256": dossier.sha256,
            }
            for dossier in Dossier.objects.filter(case=case).order_by("created_at")
        ],
        "contact_links": [
            {
                "label": link.label,
                "created_at": _when(link.created_at),
                "expires_at": _when(link.expires_at),
                "state": link.state(),
            }
            for link in ContactLink.objects.filter(case=case).order_by("created_at")
        ],
    }


def _complainant(user: Any) -> dict[str, str] | None:
    """None when the details cannot be opened (their master key is not configured): the
    download says so rather than failing whole."""
    try:
        person = complainant_of(user)
    except SealedValueUnreadable:
        return None
    return {
        "legal_name": person.legal_name,
        "id_type": person.id_type,
        "id_type_label": person.id_type_label,
        "id_number": person.id_number,
        "phone": person.phone,
        "email": person.email,
        "address": person.address,
    }


def _complaint(case: Case) -> dict[str, Any] | None:
    try:
        complaint = complaint_of(case)
    except SealedValueUnreadable:
        return None
    stored = complaint.authorisation
    return {
        "receiving_numbers": list(complaint.receiving_numbers),
        "typed_signature": complaint.typed_signature,
        "agent_name": complaint.agent_name,
        "agent_relationship": complaint.agent_relationship,
        "agent_contact": complaint.agent_contact,
        "authorisation": (
            {
                "file": authorisation_member_name(case, stored.media_type),
                "sha256": stored.sha256,
                "size": stored.size,
                "media_type": stored.media_type,
            }
            if stored
            else None
        ),
    }


def authorisation_member_name(case: Case, media_type: str) -> str:
    """Where a case's uploaded agent authorisation is in the download."""
    extension = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp"}.get(
        media_type, ".bin"
    )
    return f"authorisations/{case.id}{extension}"


def _share(share: Share) -> dict[str, Any]:
    return {
        "case": str(share.case_id),
        "invited_as": share.invited_as,
        "role": share.role,
        "status": share.status,
        "created_at": _when(share.created_at),
        "accepted_at": _when(share.accepted_at),
        "ended_at": _when(share.ended_at),
    }


def case_member_name(case: Case) -> str:
    """Where a case's export bundle is in the download."""
    return f"cases/{case.id}.zip"
