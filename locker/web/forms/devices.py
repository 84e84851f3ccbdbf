"""The owner's form that makes a capture device (docs/capture.md)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class DeviceForm(forms.Form):
    name = forms.CharField(
        label=_("Which phone or app is it (only you see this)"),
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. my Android phone, SmsForwarder")}),
    )
