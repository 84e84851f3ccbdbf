"""What the app is called on the screen (issue 16 item 8): the name in the header, the page
title and the installed app's name and icon. A borrower's phone is looked at, and held, by
others; "Evidence Locker" on it tells a collector what the borrower is doing. So each account
picks a look: one of a few ordinary apps' names, each with its own plain icon, or the real
name, and may give its own short name instead of the preset's.

The names are lazy: put into words in the language of the page that shows them."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Look:
    id: str
    name: Promise
    short_name: Promise
    # The icon's background: the installed app's splash screen and the theme colour.
    colour: str
    # Whether the look hides what the app is (every look but the real one).
    discreet: bool


REAL = "locker"
# Offered at sign-up: neutral unless the person chooses otherwise.
SIGNUP_DEFAULT = "notes"
LOOKS: dict[str, Look] = {
    look.id: look
    for look in (
        Look("notes", _("Notes"), _("Notes"), "#f2b705", discreet=True),
        Look("calendar", _("Calendar"), _("Calendar"), "#d93025", discreet=True),
        Look("calculator", _("Calculator"), _("Calculator"), "#3c4043", discreet=True),
        Look("weather", _("Weather"), _("Weather"), "#1a73e8", discreet=True),
        Look(REAL, _("Evidence Locker"), _("Locker"), "#1f3a5f", discreet=False),
    )
}
# A name of one's own: short enough for a home-screen label and the header of a 320 px
# screen.
NAME_MAX_CHARS = 20


def look_named(look_id: str | None) -> Look:
    """The look with this id; the real one for an empty or unknown id (a cookie from an older
    version, a row never set)."""
    return LOOKS.get(look_id or "", LOOKS[REAL])


def clean_name(text: str) -> str:
    """A name of one's own, tidied: spaces at the ends and runs of spaces made one. Raises
    ValueError when it is too long or holds anything but letters, digits, punctuation and
    spaces (a line break or a control character would break the header and the manifest)."""
    name = " ".join(str(text).split())
    if not name:
        return ""
    if len(name) > NAME_MAX_CHARS:
        raise ValueError(_("At most %(n)d characters.") % {"n": NAME_MAX_CHARS})
    if any(unicodedata.category(ch)[0] in "CZ" and ch != " " for ch in name):
        raise ValueError(_("Only letters, digits, punctuation and spaces."))
    return name


@dataclass(frozen=True)
class Shown:
    """The look a page shows, and the name it shows it by."""

    look: Look
    own_name: str = ""

    @property
    def name(self) -> str:
        return self.own_name or str(self.look.name)

    @property
    def short_name(self) -> str:
        return self.own_name or str(self.look.short_name)

    @property
    def discreet(self) -> bool:
        return self.look.discreet


def shown(look_id: str | None, own_name: str = "") -> Shown:
    return Shown(look_named(look_id), own_name)
