"""Phone numbers as people type them and as caller ID shows them, in one place: the call and
message forms, the statistics (how many numbers called), the complaint channels' printing
(locker/core/identity.py) and the suggestions of numbers already logged all read a number
through normalise_phone.

What people type: full-width digits from a Chinese keyboard (１３８), ideographic spaces,
dashes, brackets, a +86, 0086 or 86 in front. What caller ID shows besides numbers: short
service codes (95588, 12321, 10086), SMS sender codes (106 9…), masked numbers (138****8000)
and labels (未知号码). Those are kept as they are: they are not numbers anyone can dial from
abroad, so they have no E.164 form.

Pure code: no Django models, no storage."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Spaces (ideographic ones too, after NFKC), dashes of every width, brackets, dots.
_SEPARATORS = re.compile(r"[\s\-‐‑–—()（）.·]")
_MAINLAND_MOBILE = re.compile(r"1[3-9]\d{9}")
# A landline with its trunk 0 and area code (010 12345678, 0755 1234567).
_MAINLAND_LANDLINE = re.compile(r"0[1-9]\d{8,10}")
# The same without its trunk 0, as written after +86 (+86 10 1234 5678).
_LANDLINE_AFTER_CC = re.compile(r"[2-9]\d{8,10}|10\d{8}")
_INTERNATIONAL = re.compile(r"\+[1-9]\d{6,14}")
_DIALLED = re.compile(r"[0-9+*#]+")


@dataclass(frozen=True)
class NormalisedPhone:
    """One number three ways.

    - `typed`: what was typed, only trimmed (what the body's `number` keeps);
    - `display`: how the reporting channels print it: ASCII digits, no separators, +86 dropped
      from a mainland number (13800138000, 01012345678), other countries with their +; a
      short code, an SMS sender code or a masked number as it is, without separators; a
      label (未知号码) as typed;
    - `e164`: +8613800138000, or None when the number has no E.164 form (short codes,
      sender codes, masked numbers, labels, too few digits)."""

    e164: str | None
    display: str
    typed: str

    @property
    def key(self) -> str:
        """What tells numbers apart (the same number typed two ways is one): the E.164 form,
        else the display form when it holds a digit, else "" (a label is no number)."""
        if self.e164:
            return self.e164
        return self.display if any(c.isdigit() for c in self.display) else ""


def plain(text: str) -> str:
    """Full-width letters and digits as ASCII (NFKC), separators out."""
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", text or ""))


def normalise_phone(text: str | None) -> NormalisedPhone:
    typed = (text or "").strip()
    value = plain(typed)
    if not value or not value.isascii() or not _DIALLED.fullmatch(value):
        # A label ("未知号码", "Private"), or digits of another script: kept as typed.
        label = " ".join(unicodedata.normalize("NFKC", typed).split())
        return NormalisedPhone(e164=None, display=label, typed=typed)
    if "*" in value or "#" in value:
        return NormalisedPhone(e164=None, display=value, typed=typed)  # masked, or a code
    with_code = False
    if value.startswith("00"):
        value = "+" + value[2:]
    if value.startswith("+86"):
        value, with_code = value[3:], True
    elif len(value) == 13 and value.startswith("86") and _MAINLAND_MOBILE.fullmatch(value[2:]):
        value, with_code = value[2:], True
    if _MAINLAND_MOBILE.fullmatch(value):
        return NormalisedPhone(e164="+86" + value, display=value, typed=typed)
    if _MAINLAND_LANDLINE.fullmatch(value):
        return NormalisedPhone(e164="+86" + value[1:], display=value, typed=typed)
    if with_code and _LANDLINE_AFTER_CC.fullmatch(value):
        return NormalisedPhone(e164="+86" + value, display="0" + value, typed=typed)
    if with_code:
        # +86 before a short code: the code itself is what the channels name.
        return NormalisedPhone(e164=None, display=value, typed=typed)
    if _INTERNATIONAL.fullmatch(value):
        return NormalisedPhone(e164=value, display=value, typed=typed)
    # A short service code (95588), an SMS sender code (1069…), or too few digits.
    return NormalisedPhone(e164=None, display=value, typed=typed)


# Runs of what a number looks like in text read from a screenshot: digits with the
# separators people print between groups (138 0013 8000, 138-0013-8000, +86 …).
_NUMBER_IN_TEXT = re.compile(r"(?:\+|＋)?[0-9０-９][0-9０-９ \-－()（）]{3,22}[0-9０-９]")


def numbers_in_text(text: str) -> list[NormalisedPhone]:
    """The dialable numbers (with an E.164 form) and the SMS sender codes (106…, 95…) that
    appear in free text, in the order they appear, each once."""
    found: dict[str, NormalisedPhone] = {}
    for match in _NUMBER_IN_TEXT.finditer(text or ""):
        phone = normalise_phone(match.group(0))
        if phone.e164 or re.fullmatch(r"(?:106\d{2,18}|95\d{3,4}|1[0-2]\d{3})", phone.display):
            found.setdefault(phone.key, phone)
    return list(found.values())
