"""Choosing what the app is called on one's screen (locker/core/looks.py)."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction
from django.utils.translation import gettext as _

from locker.core import looks
from locker.models import Profile
from locker.services.entries import InputError


@transaction.atomic
def set_look(*, user: User, look: str, own_name: str = "") -> Profile:
    """Store the account's look: a preset id of looks.LOOKS, and a name of its own instead of
    the preset's (empty: the preset's name). Raises InputError for an unknown preset, a
    name looks.clean_name refuses, or a name of its own beside the real icon."""
    if look not in looks.LOOKS:
        raise InputError(_("Choose one of the names offered."))
    try:
        name = looks.clean_name(own_name)
    except ValueError as exc:
        raise InputError(str(exc)) from exc
    if name and not looks.LOOKS[look].discreet:
        # The cookie that keeps signed-out pages discreet holds a preset, never the name: a
        # name of one's own goes with a neutral icon, which signed-out pages show.
        raise InputError(_("A name of your own goes with one of the neutral icons."))
    profile, _created = Profile.objects.select_for_update().get_or_create(user=user)
    if (profile.look, profile.look_name) != (look, name):
        profile.look, profile.look_name = look, name
        profile.save(update_fields=["look", "look_name"])
    return profile
