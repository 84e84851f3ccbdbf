"""Reads of the contact-link pages: a case's links with their state, one link of a case, and
the time zone a contact's statement is read in."""

from __future__ import annotations

from django.utils import timezone

from locker.models import Case, ContactLink
from locker.selectors.accounts import preferences_of

# The zone for an owner who never chose one: the app is Chinese-first.
DEFAULT_OWNER_ZONE = "Asia/Shanghai"


def links_of(case: Case) -> list[tuple[ContactLink, str]]:
    """Every link of the case, each with its state now (the same moment for all of them)."""
    now = timezone.now()
    return [(link, link.state(now)) for link in case.contact_links.all()]


def link_of(case: Case, link_id: int) -> ContactLink | None:
    return ContactLink.objects.filter(case=case, pk=link_id).first()


def owner_time_zone(link: ContactLink) -> str:
    """The zone of the case's owner, in which what a contact types is read (the page says so)."""
    profile = preferences_of(link.case.owner_id)
    return profile.time_zone if profile else DEFAULT_OWNER_ZONE
