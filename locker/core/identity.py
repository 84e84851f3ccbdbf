"""A complainant's identity and contact details as the complaint channels want them: the
kinds of ID document, the checksum of a resident identity card number (GB 11643-1999),
phone numbers as typed on a phone (full-width digits, spaces, +86) and as the channels print
them, and the masked forms shown on screen.

Pure code: no Django models, no storage. Error messages are lazy (put into words where they
are shown)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from locker.core.phones import normalise_phone
from locker.core.phones import plain as plain

ID_TYPES: dict[str, Promise] = {
    "resident_id": _("Resident Identity Card (居民身份证)"),
    "passport": _("Passport (护照)"),
    "hk_macau_permit": _(
        "Mainland Travel Permit for Hong Kong and Macao Residents (港澳居民来往内地通行证)"
    ),
    "taiwan_permit": _("Mainland Travel Permit for Taiwan Residents (台湾居民来往大陆通行证)"),
    "foreign_permanent_resident": _("Foreign Permanent Resident ID Card (外国人永久居留身份证)"),
    "other": _("Other document"),
}

# GB 11643-1999: the weights of the first 17 characters, and the check character by the
# weighted sum modulo 11.
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


class DetailError(ValueError):
    """A detail is refused; the message is lazy."""


def resident_id_check_character(first17: str) -> str:
    total = sum(int(digit) * weight for digit, weight in zip(first17, _WEIGHTS, strict=True))
    return _CHECK[total % 11]


def _valid_birth_date(number: str) -> bool:
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    return born.year >= 1900


def _check_gb11643(number: str) -> None:
    if not re.fullmatch(r"\d{17}[\dX]", number):
        raise DetailError(
            _("A resident identity card number has 18 characters: 17 digits, then a digit or X.")
        )
    if not _valid_birth_date(number):
        raise DetailError(
            _("Characters 7 to 14 of this ID number are not a date of birth (YYYYMMDD).")
        )
    if resident_id_check_character(number[:17]) != number[17]:
        raise DetailError(
            _(
                "This ID number's last character does not match the others (GB 11643 "
                "checksum): please check it against the card."
            )
        )


def clean_id_number(id_type: str, number: str) -> str:
    """The ID number in its normal form for its document type, or DetailError."""
    if id_type not in ID_TYPES:
        raise DetailError(_("Choose the kind of ID document."))
    value = plain(number).upper()
    if not value:
        raise DetailError(_("Enter the document's number."))
    if not value.isascii():
        raise DetailError(_("A document number has only letters A-Z and digits 0-9."))
    if id_type == "resident_id":
        _check_gb11643(value)
    elif id_type == "hk_macau_permit":
        if not re.fullmatch(r"[HM]\d{8}(\d{2})?", value):
            raise DetailError(
                _("A Hong Kong / Macao permit number is H or M followed by 8 (or 10) digits.")
            )
    elif id_type == "taiwan_permit":
        if not re.fullmatch(r"\d{8}|\d{10}|[A-Z]\d{9}", value):
            raise DetailError(_("A Taiwan residents' permit number has 8 digits."))
    elif id_type == "foreign_permanent_resident":
        # The 2023 card has 18 characters with the GB 11643 checksum; the older one 3 letters
        # and 12 digits.
        if re.fullmatch(r"[A-Z]{3}\d{12}", value) is None:
            if len(value) != 18:
                raise DetailError(
                    _(
                        "A foreign permanent resident ID number has 18 characters (or 15 on "
                        "cards issued before 2023)."
                    )
                )
            _check_gb11643(value)
    elif not re.fullmatch(r"[A-Z0-9]{5,30}", value):
        raise DetailError(_("A document number has 5 to 30 letters and digits."))
    return value


def clean_phone(text: str) -> str:
    """A phone number as the complaint channels write it: digits only, +86 (0086, 86) dropped
    from a mainland number, other countries kept with their +. DetailError otherwise (a number
    with no E.164 form: a short code, a masked number). Read by phones.normalise_phone."""
    phone = normalise_phone(text)
    if phone.e164 is None:
        raise DetailError(
            _(
                "Enter a phone number like 13800138000 or +86 138 0013 8000 (a landline with "
                "its area code, e.g. 010 12345678; another country with + and its code)."
            )
        )
    return phone.display


def channel_number(text: str) -> str:
    """A number a collector used, printed the way the reporting channels take it: no spaces
    or dashes, full-width digits as ASCII, +86 dropped from a mainland number. Unlike
    clean_phone, anything is accepted (a short code, a hidden number's label)."""
    return normalise_phone(text).display


def clean_email(text: str) -> str:
    value = unicodedata.normalize("NFKC", text or "").strip()
    if not re.fullmatch(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}", value) or len(value) > 254:
        raise DetailError(_("Enter an e-mail address like name@example.com."))
    return value


# Masked forms for the screen ------------------------------------------------------------


def mask_id_number(number: str) -> str:
    """1101**********1234: the region and the last four, as a card holder recognises it."""
    if not number:
        return ""
    keep = 4 if len(number) >= 12 else 1
    return number[:keep] + "*" * (len(number) - 2 * keep) + number[-keep:]


def mask_phone(number: str) -> str:
    if len(number) < 7:
        return "*" * len(number)
    return number[:3] + "*" * (len(number) - 7) + number[-4:]


def mask_name(name: str) -> str:
    name = name.strip()
    if not name:
        return ""
    return name[0] + "*" * max(1, len(name) - 1)


def mask_email(address: str) -> str:
    local, _at, domain = address.partition("@")
    return f"{local[:1]}***@{domain}" if domain else mask_name(address)


def mask_contact(contact: str) -> str:
    """An agent's contact: a phone number or an e-mail address."""
    return mask_email(contact) if "@" in contact else mask_phone(contact)


def mask_text(text: str) -> str:
    """An address or other free text: its first few characters only."""
    text = text.strip()
    return f"{text[:4]}…" if len(text) > 4 else ("*" * len(text))


# What a complainant's details are, once opened ------------------------------------------

COMPLAINANT_FIELDS = (
    "legal_name",
    "id_type",
    "id_type_other",
    "id_number",
    "phone",
    "email",
    "address",
)
COMPLAINT_FIELDS = (
    "receiving_numbers",
    "typed_signature",
    "agent_name",
    "agent_relationship",
    "agent_contact",
)


@dataclass(frozen=True)
class Complainant:
    """One person's identity and contact details, as the channels ask for them."""

    legal_name: str = ""
    id_type: str = ""
    id_type_other: str = ""  # the document's name when id_type is "other"
    id_number: str = ""
    phone: str = ""
    email: str = ""
    address: str = ""

    @property
    def id_type_label(self) -> str:
        if self.id_type == "other":
            return self.id_type_other or str(ID_TYPES["other"])
        found = ID_TYPES.get(self.id_type)
        return str(found) if found is not None else ""

    def masked(self) -> dict[str, str]:
        """What a page shows outside the edit form."""
        return {
            "legal_name": mask_name(self.legal_name),
            "id_type": self.id_type_label,
            "id_number": mask_id_number(self.id_number),
            "phone": mask_phone(self.phone),
            "email": mask_email(self.email) if self.email else "",
            "address": mask_text(self.address),
        }


@dataclass(frozen=True)
class Authorisation:
    """The agent's written authorisation: a picture sealed in the evidence storage."""

    storage_name: str
    sha256: str
    size: int
    media_type: str


@dataclass(frozen=True)
class Complaint:
    """A case's complaint details: the complainant's receiving numbers, the signature
    choice, the agent, and the agent's authorisation."""

    receiving_numbers: tuple[str, ...] = ()
    typed_signature: bool = False
    agent_name: str = ""
    agent_relationship: str = ""  # a relative's relation, or the law firm
    agent_contact: str = ""
    authorisation: Authorisation | None = None

    @property
    def has_agent(self) -> bool:
        return bool(self.agent_name)


# What each channel needs ------------------------------------------------------------------

# The elements a dossier of a template must carry and the complainant enters (the request,
# facts and grounds come from the records); in the order the dossier form lists them.
ELEMENT_LABELS: dict[str, Promise] = {
    "legal_name": _("the complainant's legal name"),
    "id_document": _("the ID document's type and number"),
    "phone": _("a contact phone number"),
    "address": _("a postal address"),
    "institution": _("the institution complained about (lender or lending app)"),
    "funding_institution": _("the funding institution (资金方)"),
    "authorisation": _("the agent's written authorisation"),
    "receiving_numbers": _("your own number(s) that received the calls and messages"),
}
TEMPLATE_ELEMENTS: dict[str, tuple[str, ...]] = {
    "cn_regulator": (
        "legal_name",
        "id_document",
        "phone",
        "address",
        "institution",
        "funding_institution",
        "authorisation",
    ),
    "cn_12321": ("legal_name", "phone", "receiving_numbers"),
}


def missing_elements(
    template: str, person: Complainant, complaint: Complaint, facts: dict[str, object]
) -> list[str]:
    """The elements `template` needs that are not given (keys of ELEMENT_LABELS). The agent's
    authorisation is needed only when an agent is named."""
    given = {
        "legal_name": bool(person.legal_name),
        "id_document": bool(person.id_type and person.id_number),
        "phone": bool(person.phone),
        "address": bool(person.address),
        "institution": bool(facts.get("lender") or facts.get("lending_app")),
        "funding_institution": bool(facts.get("funding_institution")),
        "authorisation": not complaint.has_agent or complaint.authorisation is not None,
        "receiving_numbers": bool(complaint.receiving_numbers),
    }
    return [name for name in TEMPLATE_ELEMENTS.get(template, ()) if not given[name]]
