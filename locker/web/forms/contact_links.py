"""Contact-link forms: the owner's form that makes a link, and the statement a contact files
through one (without an account)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from locker.web.forms.entries import ContactReportForm


class StatementForm(ContactReportForm):
    """What a contact fills in through a statement link: about themselves, no account."""

    file_accept = "image/*"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["contact_name"].label = _("Your name")
        self.fields["relation"].label = _("Who you are to the borrower (mother, colleague…)")
        self.fields["channel"].label = _("How the collectors reached you")
        self.fields["summary"].label = _("What they said or sent")
        self.fields["occurred_at"].label = _("When (roughly is fine)")
        self.fields["files"].label = _("Screenshots (optional)")


class ContactLinkForm(forms.Form):
    label = forms.CharField(
        label=_("Who is it for? (only you see this)"), max_length=100, required=False
    )
    days = forms.IntegerField(
        label=_("Works for (days)"),
        min_value=1,
        max_value=30,
        initial=7,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
