"""Contact-link forms: the owner's form that makes a link, and the statement a contact files
through one (without an account)."""

from __future__ import annotations

import zoneinfo
from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from locker.web.forms.entries import ContactReportForm


def statement_zone(name: str | None) -> zoneinfo.ZoneInfo:
    """The zone a contact's times are read in: the one their own browser reports (the page's
    script fills in `time_zone`), else the instance's default. Never the borrower's: the page
    says which zone it uses, and it must say nothing about the borrower."""
    try:
        return zoneinfo.ZoneInfo((name or "")[:64] or settings.TIME_ZONE)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo(settings.TIME_ZONE)


class StatementForm(ContactReportForm):
    """What a contact fills in through a statement link: about themselves, no account."""

    file_accept = "image/*"

    # Read by the view (statement_zone) before the times are; the script puts the browser's
    # zone here, and the zone the page was drawn in stays when there is no script.
    time_zone = forms.CharField(
        required=False, max_length=64, widget=forms.HiddenInput(attrs={"data-browser-tz": ""})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].initial = settings.TIME_ZONE
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
