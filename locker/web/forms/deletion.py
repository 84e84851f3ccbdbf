"""The form that confirms a deletion: the account's password, and the second factor's code
when the account has one. Checking them is the service's (locker/services/deletion.py)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _


class ConfirmDeletionForm(forms.Form):
    password = forms.CharField(
        label=_("Your password"),
        strip=False,
        max_length=4096,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    code = forms.CharField(
        label=_("Code from your authenticator app (or a recovery code)"),
        required=False,
        max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    def __init__(self, *args: Any, second_factor: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if second_factor:
            self.fields["code"].required = True
        else:
            del self.fields["code"]
