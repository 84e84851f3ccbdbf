"""The complainant's details as the owner types them on a phone: the account's identity and
contact details, a case's complaint details and the agent's authorisation. The checks are
the service's (locker/services/complainant.py), so page and API refuse the same things with
the same words; the view puts a refusal under its field."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from locker.core import identity

_OFF = {"autocomplete": "off", "autocapitalize": "off", "spellcheck": "false"}


class ComplainantForm(forms.Form):
    legal_name = forms.CharField(
        label=_("Your legal name"),
        max_length=100,
        required=False,
        help_text=_("As on your ID document."),
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    id_type = forms.ChoiceField(
        label=_("ID document"),
        required=False,
        choices=[("", "—"), *identity.ID_TYPES.items()],
    )
    id_type_other = forms.CharField(
        label=_("Name of the document, if other"), max_length=60, required=False
    )
    id_number = forms.CharField(
        label=_("Document number"),
        max_length=40,
        required=False,
        widget=forms.TextInput(attrs=_OFF),
    )
    phone = forms.CharField(
        label=_("Contact phone"),
        max_length=40,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel", "type": "tel"}),
    )
    email = forms.CharField(
        label=_("Contact e-mail"),
        max_length=254,
        required=False,
        widget=forms.TextInput(
            attrs={"inputmode": "email", "autocomplete": "email", "type": "email"}
        ),
    )
    address = forms.CharField(
        label=_("Postal address"),
        max_length=300,
        required=False,
        help_text=_("Where the regulator may send its written reply."),
        widget=forms.Textarea(attrs={"rows": 2, "autocomplete": "street-address"}),
    )

    def values(self) -> dict[str, Any]:
        return {name: self.cleaned_data.get(name) or "" for name in identity.COMPLAINANT_FIELDS}


class CaseComplaintForm(forms.Form):
    receiving_numbers = forms.CharField(
        label=_("Your own phone numbers that received the calls and messages"),
        required=False,
        help_text=_("One a line. The 12321 report names them as the numbers harassed."),
        widget=forms.Textarea(attrs={"rows": 2, "inputmode": "tel", **_OFF}),
    )
    typed_signature = forms.BooleanField(
        label=_("Sign the complaint with my typed name and the date"),
        required=False,
        help_text=_("Otherwise the complaint has a line to sign by hand and date after printing."),
    )
    agent_name = forms.CharField(
        label=_("Agent's name, if someone files for you"), max_length=100, required=False
    )
    agent_relationship = forms.CharField(
        label=_("Who the agent is to you (a relative, or their law firm)"),
        max_length=200,
        required=False,
    )
    agent_contact = forms.CharField(
        label=_("Agent's phone or e-mail"),
        max_length=254,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "tel", **_OFF}),
    )

    def values(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "receiving_numbers": (data.get("receiving_numbers") or "").splitlines(),
            "typed_signature": bool(data.get("typed_signature")),
            "agent_name": data.get("agent_name") or "",
            "agent_relationship": data.get("agent_relationship") or "",
            "agent_contact": data.get("agent_contact") or "",
        }


class AuthorisationForm(forms.Form):
    authorisation = forms.FileField(
        label=_("The agent's written authorisation (a photo or scan)"),
        widget=forms.ClearableFileInput(attrs={"accept": "image/*"}),
    )
