"""Human names for the chain's machine words (kinds, tags, channels, directions, body
members and case facts): the one list the pages, the forms and the PDF dossiers all word
them from, so one word reads the same everywhere.

The names are lazy: each is put into words when it is shown, in the language active then
(the request's on a page, the dossier's own under translation.override in the dossier
pipeline)."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from babel.dates import get_timezone_location
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from locker.core import loan_cost
from locker.core.money import format_minor

KIND_LABELS: dict[str, Promise] = {
    "call": _("Call"),
    "message": _("Message"),
    "contact_report": _("A contact was harassed"),
    "note": _("Note"),
    "correction": _("Correction"),
    "case_update": _("Case facts"),
    "redaction": _("Record erased"),
    "loan_payment": _("Loan payment"),
}

TAG_LABELS: dict[str, Promise] = {
    "threat": _("Threat"),
    "insult": _("Insult"),
    "impersonation": _("Impersonation"),
    "fake_legal_document": _("Fake legal document"),
    "third_party_contact": _("Contacted others"),
    "contact_list_blast": _("Contact list blasted"),
    "night_time": _("At night"),
    "excessive_frequency": _("Too often"),
    "public_shaming": _("Public shaming"),
    "workplace_contact": _("At work"),
    "asked_to_stop": _("I asked them to stop"),
    "pay_unrelated_party": _("Pay someone unrelated"),
    "other": _("Other"),
}

CHANNEL_LABELS: dict[str, Promise] = {
    "sms": _("SMS"),
    "wechat": _("WeChat"),
    "qq": _("QQ"),
    "app": _("App message"),
    "email": _("Email"),
    "call": _("Phone call"),
    "in_person": _("In person"),
    "other": _("Other"),
}

# What a loan_payment is for, and whether it was paid (core.kinds.LoanPaymentBody).
PAYMENT_LABELS: dict[str, Promise] = {
    "repayment": _("Repayment"),
    "fee": _("Fee"),
    "penalty": _("Penalty"),
    "extension_fee": _("Extension fee (展期费)"),
    "other": _("Other"),
    "received": _("Money received"),
}
PAYMENT_STATUS_LABELS: dict[str, Promise] = {
    "paid": _("Paid"),
    "demanded": _("Demanded"),
}

DIRECTION_LABELS: dict[str, Promise] = {
    "incoming": _("Incoming"),
    "outgoing": _("Outgoing"),
    "missed": _("Missed"),
}
# A message's direction (core.kinds.MessageBody) in the borrower's words: a call's
# "incoming" reads 来电 in Chinese, which a message is not.
MESSAGE_DIRECTION_LABELS: dict[str, Promise] = {
    "incoming": _("I received this"),
    "outgoing": _("I sent this"),
}


def direction_labels(kind: str) -> dict[str, Promise]:
    """The names of a call's or a message's directions."""
    return MESSAGE_DIRECTION_LABELS if kind == "message" else DIRECTION_LABELS


# Why a record's content was erased (core.kinds.RedactionReason).
REDACTION_REASON_LABELS: dict[str, Promise] = {
    "third_party_data": _("Someone else's personal details"),
    "contact_asked": _("The person it is about asked for it"),
    "recorded_by_mistake": _("Recorded by mistake"),
    "other": _("Other"),
}

FIELD_LABELS: dict[str, Promise] = {
    "direction": _("Direction"),
    "number": _("Phone number"),
    "duration_s": _("Duration (seconds)"),
    "caller_claims": _("Caller said they were"),
    "summary": _("What was said"),
    "tags": _("Tags"),
    "channel": _("Channel"),
    "sender": _("Sender"),
    "text": _("Text"),
    "contact_name": _("Contact's name"),
    "relation": _("Relation to the borrower"),
    "corrects_seq": _("Corrects entry"),
    "reason": _("Reason"),
    "changes": _("Changes"),
    "previous": _("Before"),
    "erased_seq": _("Erased entry"),
    "occurred_at": _("When it happened"),
    "title": _("Case"),
    "borrower_name": _("Borrower"),
    "lender": _("Lender or platform"),
    "lending_app": _("Lending app"),
    "funding_institution": _("Funding institution"),
    "staff_involved": _("Staff involved"),
    "currency": _("Currency"),
    "principal_minor": _("Principal"),
    "received_minor": _("Amount actually received"),
    "demanded_minor": _("Amount demanded"),
    "loan_start": _("Loan start date"),
    "loan_due": _("Loan due date"),
    "stated_rate_bp": _("Annual rate on the contract"),
    "collector_agency": _("Collection agency"),
    "amount_minor": _("Amount"),
    "date": _("Date"),
    "what": _("What for"),
    "status": _("Paid or demanded"),
    "note": _("Note"),
    "origin": _("Origin"),
}


def label(table: dict[str, Promise], value: object) -> str:
    """The label of a value, or the value itself when it has none (e.g. future kinds)."""
    found = table.get(str(value))
    return str(found) if found is not None else str(value)


def join_list(items: Iterable[object], *, strong: bool = False) -> str:
    """Items as the active language lists them: "a, b" in English and "a、b" in Chinese; with
    `strong`, for items that may hold commas themselves (a reason and its changes, several
    sentences), "a; b" and "a；b". The one place text is joined into a list."""
    separator = gettext("; ") if strong else gettext(", ")
    return separator.join(str(item) for item in items)


def kind_label(kind: object) -> str:
    return label(KIND_LABELS, kind)


def tag_label(tag: object) -> str:
    return label(TAG_LABELS, tag)


# A member's name where it differs by kind: a message's direction is no "call type".
KIND_FIELD_LABELS: dict[tuple[str, str], Promise] = {
    ("message", "direction"): _("Received or sent"),
}


def field_label(name: object, kind: object = "") -> str:
    """A body member's or case fact's name; `kind`, the entry's kind, where that matters."""
    found = KIND_FIELD_LABELS.get((str(kind), str(name)))
    return str(found) if found is not None else label(FIELD_LABELS, name)


def duration_text(seconds: Any) -> str:
    """Whole seconds as minutes and seconds ("3:05"); "" for anything else."""
    if not isinstance(seconds, int) or isinstance(seconds, bool):
        return ""
    return f"{seconds // 60}:{seconds % 60:02d}"


def value_label(
    name: str, value: Any, *, money: Callable[[int], str] | None = None, kind: str = ""
) -> str:
    """A body member's or case fact's value as a person reads it: names for machine words
    (a direction by the entry's `kind`), minutes for durations, a percentage for the stated
    rate, major units for money (`money` words an amount in minor units; the plain
    "5,000.00" by default), the list for tags, a dash for nothing."""
    if name == "direction":
        return label(direction_labels(kind), value)
    if name == "channel":
        return label(CHANNEL_LABELS, value)
    if name == "reason" and str(value) in REDACTION_REASON_LABELS:
        return label(REDACTION_REASON_LABELS, value)
    if name == "what":
        return label(PAYMENT_LABELS, value)
    if name == "status":
        return label(PAYMENT_STATUS_LABELS, value)
    if name == "origin" and value == "suggested_tags":
        return gettext("tags suggested by the analysis, confirmed by the owner")
    if name == "duration_s":
        return duration_text(value) or "—"
    if name == "tags" and isinstance(value, list):
        return join_list(tag_label(t) for t in value) if value else "—"
    if name == "stated_rate_bp" and isinstance(value, int) and not isinstance(value, bool):
        # Kept in basis points, read as the loan-cost audit prints a rate: "24.00 %".
        return loan_cost.rate_text(loan_cost.of_basis_points(value))
    if name.endswith("_minor"):
        if isinstance(value, int) and not isinstance(value, bool):
            return (money or format_minor)(value)
        return "—" if value is None or value == "" else str(value)
    if isinstance(value, dict):
        return join_list(
            (
                f"{field_label(k, kind)}: {value_label(k, v, money=money, kind=kind)}"
                for k, v in value.items()
            ),
            strong=True,
        )
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    return str(value)


# Who made a record: the prefixes of an entry's `author` (docs/chain-format.md). The borrower
# writes as their account (pages) or through one of their API tokens; a contact the owner
# sent a statement link to writes as that link; a capture device writes as itself.
AUTHOR_USER, AUTHOR_TOKEN, AUTHOR_CONTACT_LINK, AUTHOR_DEVICE = (
    "user:",
    "token:",
    "contact-link:",
    "device:",
)


def is_contact_author(author: object) -> bool:
    return str(author).startswith(AUTHOR_CONTACT_LINK)


def author_label(
    author: object,
    *,
    body: Any = None,
    owner_id: object = None,
    viewer_id: object = None,
) -> str:
    """Who made a record, in words: the one wording the pages and the dossiers use.

    `owner_id` is the case owner's user id (the borrower), `viewer_id` the reader's own on a
    page (None in a dossier, which has no "you"); `body` the record's body, for the name a
    contact gave in their statement (shown as given: nothing vouches for it)."""
    text = str(author)
    if text.startswith(AUTHOR_CONTACT_LINK):
        name = body.get("contact_name") if isinstance(body, dict) else None
        name = str(name).strip() if name else ""
        if name:
            return gettext("%(name)s (name as given), a contact, via one-time link") % {
                "name": name
            }
        return gettext("a contact, via one-time link")
    if text.startswith(AUTHOR_DEVICE):
        return gettext("automatic source: device %(id)s") % {"id": text[len(AUTHOR_DEVICE) :]}
    viewer = f"{AUTHOR_USER}{viewer_id}" if viewer_id is not None else None
    owner = f"{AUTHOR_USER}{owner_id}" if owner_id is not None else None
    if text.startswith(AUTHOR_TOKEN):
        # Only the case's owner may write to it through the API (need="write").
        if viewer_id is not None and viewer_id == owner_id:
            return gettext("you, through an app using your account (API)")
        return gettext("the borrower, through an app using their account (API)")
    if viewer is not None and text == viewer:
        return gettext("you")
    if owner is not None and text == owner:
        return gettext("the borrower")
    return text


def time_zone_label(name: str, *, language: str, at: datetime) -> str:
    """A time zone as a person reads it, with its offset at `at`: "中国（上海）时间 UTC+08:00",
    "United States (New York) Time UTC-05:00", instead of "Asia/Shanghai" (CLDR's names via
    Babel). UTC itself, and a name Babel does not know, keep a plain form."""
    zone = zoneinfo.ZoneInfo(name)
    offset = at.astimezone(zone).strftime("%z")
    utc = f"UTC{offset[:3]}:{offset[3:]}" if offset not in ("", "+0000") else "UTC"
    if name in ("UTC", "Etc/UTC"):
        return utc
    locale = "zh_Hans" if language.lower().startswith("zh") else "en"
    try:
        place = get_timezone_location(zone, locale=locale)
    except (LookupError, ValueError):
        return f"{name.replace('_', ' ')} {utc}"
    return f"{place} {utc}"
