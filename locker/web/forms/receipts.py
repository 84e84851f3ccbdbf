"""The form on which the owner uploads a receipt they kept."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class KeptReceiptForm(forms.Form):
    receipt = forms.FileField(
        label=_("Upload a receipt you kept (.json)"),
        help_text=_(
            "The file you downloaded after saving an entry. Whoever reviews your case will see "
            "whether the record still holds the entry it names."
        ),
        widget=forms.FileInput(attrs={"accept": ".json,application/json"}),
    )
