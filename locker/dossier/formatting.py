"""How the dossier's templates put values into words: the names of kinds, tags and case
facts, times, amounts of money, and what stands for a value not given. In the active
language (call under translation.override)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils.translation import gettext as _

KIND_LABELS = {
    "call": lambda: _("call"),
    "message": lambda: _("message"),
    "contact_report": lambda: _("contact report"),
    "note": lambda: _("note"),
    "correction": lambda: _("correction"),
    "case_update": lambda: _("case facts"),
}

TAG_LABELS = {
    "threat": lambda: _("threat"),
    "insult": lambda: _("insult"),
    "impersonation": lambda: _("impersonation"),
    "fake_legal_document": lambda: _("fake legal document"),
    "third_party_contact": lambda: _("contact with third parties"),
    "contact_list_blast": lambda: _("contact list blasted"),
    "night_time": lambda: _("night-time contact"),
    "excessive_frequency": lambda: _("excessive frequency"),
    "public_shaming": lambda: _("public shaming"),
    "workplace_contact": lambda: _("contact at work"),
    "other": lambda: _("other"),
}

FACT_LABELS = {
    "title": lambda: _("Case"),
    "borrower_name": lambda: _("Borrower"),
    "lender": lambda: _("Lender or platform"),
    "lending_app": lambda: _("Lending app"),
    "collector_agency": lambda: _("Collection agency"),
    "principal_minor": lambda: _("Principal"),
    "received_minor": lambda: _("Amount actually received"),
    "demanded_minor": lambda: _("Amount demanded"),
    "loan_start": lambda: _("Loan start date"),
    "loan_due": lambda: _("Loan due date"),
}


def kind_label(kind: str) -> str:
    label = KIND_LABELS.get(kind)
    return label() if label else kind


def tag_label(tag: str) -> str:
    label = TAG_LABELS.get(tag)
    return label() if label else tag


def fmt_time(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "—"


def fmt_money(minor: Any, currency: str) -> str:
    if minor is None or minor == "":
        return "—"
    return f"{int(minor) // 100:,}.{int(minor) % 100:02d} {currency}"


def unknown() -> str:
    return _("not stated")
