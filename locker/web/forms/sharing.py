"""Forms of the sharing pages: the owner's share form, the lawyer's profile, the review page's
search and annotation forms. They check what they can themselves, in the user's language,
before the services check it again."""

from __future__ import annotations

from datetime import datetime, time, timedelta, tzinfo
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from locker.models import Share
from locker.services import MAX_ANNOTATION_CHARS
from locker.web.forms.entries import FilterForm

ROLE_HELP = {
    Share.VIEWER: _("Can read the case, see and download the evidence, and export it."),
    Share.REVIEWER: _("Everything a viewer can, and can write private notes for their own work."),
}


class ShareForm(forms.Form):
    grantee = forms.CharField(
        label=_("Their user name or email address"),
        max_length=254,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "none"}),
        help_text=_(
            "Someone without an account gets an email with a link to sign up and then see the case."
        ),
    )
    role = forms.ChoiceField(
        label=_("What they may do"),
        choices=[
            (Share.VIEWER, _("Viewer: read and export")),
            (Share.REVIEWER, _("Reviewer: read, export and make private notes")),
        ],
        initial=Share.VIEWER,
        widget=forms.RadioSelect,
    )

    def clean_grantee(self) -> str:
        return str(self.cleaned_data["grantee"]).strip()


class ProfessionalProfileForm(forms.Form):
    name = forms.CharField(label=_("Your name as clients see it"), max_length=200)
    organisation = forms.CharField(label=_("Firm or organisation"), max_length=200, required=False)
    jurisdiction = forms.CharField(
        label=_("Jurisdiction"),
        max_length=200,
        required=False,
        help_text=_("Where you are admitted or work, e.g. Shanghai, or New York."),
    )


class AnnotationForm(forms.Form):
    text = forms.CharField(
        label=_("Private note"),
        max_length=MAX_ANNOTATION_CHARS,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Only the case's reviewers see notes. They never become part of the record."),
    )
    entry_seq = forms.IntegerField(min_value=1, required=False, widget=forms.HiddenInput)

    def clean_text(self) -> str:
        text = str(self.cleaned_data["text"])
        if not text.strip():
            raise forms.ValidationError(_("The note is empty."))
        return text


class ReviewFilterForm(FilterForm):
    """The timeline's filters, its search (`q`: the entries' text and the text read from
    their pictures) included."""

    seq = forms.IntegerField(min_value=1, required=False, widget=forms.HiddenInput)

    def search(self, tz: tzinfo) -> dict[str, Any]:
        """Keyword arguments for sharing.search_entries; dates are whole days in `tz`."""
        data = self.cleaned_data if self.is_valid() else {}
        start, end = data.get("start"), data.get("end")
        return {
            "text": data.get("q") or "",
            "kinds": [data["kind"]] if data.get("kind") else [],
            "tag": data.get("tag") or "",
            "since": datetime.combine(start, time.min, tzinfo=tz) if start else None,
            "until": (
                datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz)
                - timedelta(microseconds=1)
                if end
                else None
            ),
        }

    def active(self) -> bool:
        data = self.cleaned_data if self.is_valid() else {}
        return any(data.get(name) for name in ("q", "kind", "tag", "start", "end"))
