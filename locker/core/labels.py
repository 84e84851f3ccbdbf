"""Human names for the chain's machine words (kinds, tags, channels, directions, body
members and case facts): the one list the pages, the forms and the PDF dossiers all word
them from, so one word reads the same everywhere.

The names are lazy: each is put into words when it is shown, in the language active then
(the request's on a page, the dossier's own under translation.override in the dossier
pipeline)."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

KIND_LABELS: dict[str, Promise] = {
    "call": _("Call"),
    "message": _("Message"),
    "contact_report": _("A contact was harassed"),
    "note": _("Note"),
    "correction": _("Correction"),
    "case_update": _("Case facts"),
    "redaction": _("Record erased"),
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

DIRECTION_LABELS: dict[str, Promise] = {
    "incoming": _("Incoming"),
    "outgoing": _("Outgoing"),
    "missed": _("Missed"),
}

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
    "currency": _("Currency"),
    "principal_minor": _("Principal"),
    "received_minor": _("Amount actually received"),
    "demanded_minor": _("Amount demanded"),
    "loan_start": _("Loan start date"),
    "loan_due": _("Loan due date"),
    "collector_agency": _("Collection agency"),
}


def label(table: dict[str, Promise], value: object) -> str:
    """The label of a value, or the value itself when it has none (e.g. future kinds)."""
    found = table.get(str(value))
    return str(found) if found is not None else str(value)


def kind_label(kind: object) -> str:
    return label(KIND_LABELS, kind)


def tag_label(tag: object) -> str:
    return label(TAG_LABELS, tag)


def field_label(name: object) -> str:
    return label(FIELD_LABELS, name)
