"""Reads of the lawyer's desk pages: their professional profile and a share addressed to
them. (The desk's list of cases is sharing.dashboard_rows.)"""

from __future__ import annotations

from typing import Any

from locker.models import ProfessionalProfile, Share


def professional_profile_of(user: Any) -> ProfessionalProfile | None:
    return ProfessionalProfile.objects.filter(user=user).first()


def share_addressed_to(user: Any, share_id: int) -> Share | None:
    """The share if it is addressed to the user (whatever its state); None for anyone else's,
    so the page cannot tell a share of someone else from one that does not exist."""
    return Share.objects.filter(pk=share_id, user=user).first()
