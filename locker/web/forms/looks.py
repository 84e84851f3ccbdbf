"""The look: what the app is called on this screen (locker/core/looks.py)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from locker.core import looks


def look_choices() -> list[tuple[str, Any]]:
    return [(look.id, look.name) for look in looks.LOOKS.values()]


def look_field(**kwargs: Any) -> forms.ChoiceField:
    return forms.ChoiceField(
        label=_("What this app is called on your screen"),
        choices=look_choices,
        widget=forms.RadioSelect,
        help_text=_(
            "The name and icon in the page's title, at the top of each page and on your home "
            "screen. An ordinary one tells nobody who looks at your phone what this app is."
        ),
        **kwargs,
    )


class LookForm(forms.Form):
    look = look_field()
    look_name = forms.CharField(
        label=_("Or a name of your own"),
        required=False,
        max_length=looks.NAME_MAX_CHARS,
        help_text=_(
            "Shown with the icon chosen above (not with the real one). Leave empty for the "
            "icon's own name."
        ),
    )

    def clean_look_name(self) -> str:
        try:
            return looks.clean_name(self.cleaned_data.get("look_name", ""))
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from exc
