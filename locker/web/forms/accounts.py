"""Account forms: sign-up, preferences (time zone, language, the daily receipt mail), the
address for password resets, the password that unlocks a session after a quick exit, and the
"confirm it's you" step before a sensitive account change."""

from __future__ import annotations

import zoneinfo
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from locker.core import labels, looks
from locker.web.forms.looks import look_field

COMMON_TIME_ZONES = (
    "Asia/Shanghai",
    "Asia/Hong_Kong",
    "Asia/Taipei",
    "Asia/Macau",
    "Asia/Singapore",
    "Asia/Kuala_Lumpur",
    "Asia/Jakarta",
    "Asia/Manila",
    "Asia/Bangkok",
    "Asia/Ho_Chi_Minh",
    "Asia/Tokyo",
    "Asia/Seoul",
    "Asia/Kolkata",
    "Asia/Dubai",
    "Europe/London",
    "Europe/Berlin",
    "Africa/Lagos",
    "Africa/Nairobi",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Mexico_City",
    "America/Sao_Paulo",
    "Australia/Sydney",
    "UTC",
)


def time_zone_choices(current: str = "") -> list[tuple[str, str]]:
    """The zones offered, named in the reader's language with today's offset (read when the
    select is drawn, so the language and the offset are the request's)."""
    zones = list(COMMON_TIME_ZONES)
    if current and current not in zones:
        zones.insert(0, current)
    now, language = timezone.now(), get_language() or settings.LANGUAGE_CODE
    return [(z, labels.time_zone_label(z, language=language, at=now)) for z in zones]


class TimeZoneField(forms.CharField):
    """Any IANA zone name; the select offers common ones and the browser may add its own."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", _("Time zone"))
        kwargs.setdefault("max_length", 64)
        # A callable (Django 5 reads it when the select is drawn; django-stubs does not know).
        super().__init__(widget=forms.Select(choices=time_zone_choices), **kwargs)  # type: ignore[arg-type]

    def clean(self, value: Any) -> str:
        value = super().clean(value)
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise forms.ValidationError(_("Unknown time zone.")) from exc
        return str(value)


USERNAME_HELP = _("Up to 150 letters, digits and . + - _ (no @).")


class SignupForm(UserCreationForm):  # type: ignore[type-arg]
    # Not a model field here: the address becomes the account's only once its owner opens
    # the confirmation link we mail to it.
    email = forms.EmailField(
        label=_("Email (optional)"),
        required=False,
        help_text=_(
            "Only used to reset your password; we mail a link to confirm it. "
            "No phone number is ever asked."
        ),
    )
    time_zone = TimeZoneField()
    # A neutral look is offered first: the person may not yet know that the app's name shows
    # on their screen.
    look = look_field(initial=looks.SIGNUP_DEFAULT, required=False)

    class Meta(UserCreationForm.Meta):  # type: ignore[name-defined,misc]
        model = get_user_model()
        fields = ("username",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Django's own help allows "@", which clean_username refuses.
        self.fields["username"].help_text = USERNAME_HELP

    def clean_look(self) -> str:
        # A form sent without it (an older page, a script) gets the neutral default too.
        return str(self.cleaned_data.get("look") or looks.SIGNUP_DEFAULT)

    def clean_username(self) -> str:
        username = str(self.cleaned_data.get("username", ""))
        # Cases are shared "by username or email": a user name that looks like an address
        # could catch a share meant for that address.
        if "@" in username:
            raise forms.ValidationError(_("A user name cannot contain @."))
        return username


class EmailForm(forms.Form):
    email = forms.EmailField(
        label=_("Email for password resets"),
        required=False,
        help_text=_(
            "We mail a link to a new address; it counts once you open it. Leave empty to remove it."
        ),
    )


class PreferencesForm(forms.Form):
    time_zone = TimeZoneField()
    language = forms.ChoiceField(
        label=_("Language"),
        choices=[("", _("Same as my browser")), *settings.LANGUAGES],
        required=False,
    )
    mail_daily_receipt = forms.BooleanField(
        label=_("E-mail me a daily receipt of my cases"),
        required=False,
        help_text=_(
            "Once a day, for each case that changed, a signed and time-stamped receipt goes to "
            "your confirmed address: a copy outside this server. It holds no content of your "
            "records; the subject is neutral."
        ),
    )
    mail_case_titles = forms.BooleanField(
        label=_("Name the cases by their titles in that e-mail"),
        required=False,
        help_text=_("Otherwise a case is named by the start of its number only."),
    )
    offline_drafts = forms.BooleanField(
        label=_("Keep a draft on the phone when there is no connection"),
        required=False,
        help_text=_(
            "Without signal, the log forms still open, and what you save is kept on the phone, "
            "encrypted, until the connection returns; then it is sent and deleted from the "
            "phone. It applies in every browser you sign in to with this account. Turning it "
            "off, logging out or the quick exit deletes drafts not yet sent."
        ),
    )


class UnlockForm(forms.Form):
    password = forms.CharField(
        label=_("Password"), strip=False, widget=forms.PasswordInput(attrs={"autofocus": True})
    )


class ReauthForm(forms.Form):
    """The "confirm it's you" step: the password, and the second factor's code when the
    account has one."""

    password = forms.CharField(
        label=_("Password"), strip=False, widget=forms.PasswordInput(attrs={"autofocus": True})
    )
    code = forms.CharField(
        label=_("The code your authenticator app shows now, or one of your recovery codes"),
        max_length=32,
        widget=forms.TextInput(
            attrs={"inputmode": "text", "autocomplete": "one-time-code", "autocapitalize": "off"}
        ),
    )

    def __init__(self, *args: Any, needs_code: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not needs_code:
            del self.fields["code"]
