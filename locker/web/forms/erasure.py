"""The confirmation form for erasing one record's content: an optional reason, as a category
(never free text, which could repeat what is being erased)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from locker.core import labels


class EraseEntryForm(forms.Form):
    reason = forms.ChoiceField(
        label=_("Why (optional; only this category is recorded)"),
        choices=list(labels.REDACTION_REASON_LABELS.items()),
        widget=forms.RadioSelect,
        required=False,
    )
