"""Reads of the contact-link pages: a case's links with their state, and one link of a case."""

from __future__ import annotations

from django.utils import timezone

from locker.models import Case, ContactLink


def links_of(case: Case) -> list[tuple[ContactLink, str]]:
    """Every link of the case, each with its state now (the same moment for all of them)."""
    now = timezone.now()
    return [(link, link.state(now)) for link in case.contact_links.all()]


def link_of(case: Case, link_id: int) -> ContactLink | None:
    return ContactLink.objects.filter(case=case, pk=link_id).first()
