"""Browser forms. They turn what a person types on a phone into the exact values the
services take: money typed as yuan becomes integer fen (through Decimal, never float),
times typed in the user's zone become aware datetimes, several files become Uploads."""

from __future__ import annotations

import re
import uuid
import zoneinfo
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm
from django.core.files.uploadedfile import UploadedFile
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from locker.core import kinds, labels
from locker.models import Case
from locker.services import MAX_FILES_PER_ENTRY, Upload

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
MONEY_RE = re.compile(r"^\d{1,13}(\.\d{1,2})?$")


def time_zone_choices(current: str = "") -> list[tuple[str, str]]:
    zones = list(COMMON_TIME_ZONES)
    if current and current not in zones:
        zones.insert(0, current)
    return [(z, z.replace("_", " ")) for z in zones]


class TimeZoneField(forms.CharField):
    """Any IANA zone name; the select offers common ones and the browser may add its own."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", _("Time zone"))
        kwargs.setdefault("max_length", 64)
        super().__init__(widget=forms.Select(choices=time_zone_choices()), **kwargs)

    def clean(self, value: Any) -> str:
        value = super().clean(value)
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise forms.ValidationError(_("Unknown time zone.")) from exc
        return str(value)


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

    class Meta(UserCreationForm.Meta):  # type: ignore[name-defined,misc]
        model = get_user_model()
        fields = ("username",)

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


class UnlockForm(forms.Form):
    password = forms.CharField(
        label=_("Password"), strip=False, widget=forms.PasswordInput(attrs={"autofocus": True})
    )


class MoneyField(forms.CharField):
    """An amount typed in major units ("5000", "3,500.50") stored as integer minor units."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault(
            "widget", forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"})
        )
        super().__init__(**kwargs)

    def clean(self, value: Any) -> int | None:
        text = str(super().clean(value) or "")
        text = re.sub(r"[\s,，¥￥$]", "", text).replace("。", ".")
        if not text:
            return None
        if not MONEY_RE.match(text):
            raise forms.ValidationError(
                _("Enter an amount like 5000 or 3500.50 (at most two decimals).")
            )
        try:
            minor = (Decimal(text) * 100).to_integral_exact()
        except InvalidOperation as exc:
            raise forms.ValidationError(_("Enter an amount like 5000 or 3500.50.")) from exc
        return int(minor)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            return format_minor(value, grouping=False)
        return value


def format_minor(value: int, *, grouping: bool = True) -> str:
    major, minor = divmod(value, 100)
    whole = f"{major:,}" if grouping else str(major)
    return f"{whole}.{minor:02d}"


DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class CaseForm(forms.Form):
    title = forms.CharField(
        label=_("Name for this case"),
        max_length=200,
        help_text=_("Only you see it. Page titles never show it."),
    )
    lender = forms.CharField(label=_("Lender or platform"), max_length=200, required=False)
    lending_app = forms.CharField(label=_("Lending app"), max_length=200, required=False)
    borrower_name = forms.CharField(
        label=_("Borrower's name as shown in documents"), max_length=200, required=False
    )
    currency = forms.ChoiceField(
        label=_("Currency"),
        choices=[
            ("CNY", "CNY ¥"),
            ("HKD", "HKD"),
            ("TWD", "TWD"),
            ("USD", "USD $"),
            ("EUR", "EUR"),
            ("GBP", "GBP"),
        ],
        initial="CNY",
    )
    principal_minor = MoneyField(label=_("Loan amount on the contract"))
    received_minor = MoneyField(
        label=_("Amount actually received"),
        help_text=_("After fees taken up front (砍头息), if any."),
    )
    demanded_minor = MoneyField(label=_("Amount the collectors demand"))
    loan_start = forms.DateField(label=_("Loan start date"), required=False, widget=DATE_WIDGET)
    loan_due = forms.DateField(label=_("Loan due date"), required=False, widget=DATE_WIDGET)
    collector_agency = forms.CharField(
        label=_("Collection agency, if known"), max_length=200, required=False
    )

    @classmethod
    def for_case(cls, case: Case, data: Any = None) -> CaseForm:
        return cls(data=data, initial={name: getattr(case, name) for name in Case.FACT_FIELDS})

    def facts(self) -> dict[str, Any]:
        return {name: self.cleaned_data.get(name) for name in Case.FACT_FIELDS}


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(d, initial) for d in data if d]
        return [single(data, initial)] if data else []


def _now_local() -> str:
    return timezone.localtime().strftime("%Y-%m-%dT%H:%M")


class EntryForm(forms.Form):
    """Fields every quick-log form shares: when, tags, files, and a submission id that makes
    a retried upload idempotent."""

    kind = ""
    body_fields: tuple[str, ...] = ()
    has_tags = True
    file_accept = "image/*,audio/*"

    occurred_at = forms.DateTimeField(
        label=_("When"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    tags = forms.MultipleChoiceField(
        label=_("What happened"),
        choices=[(t.value, labels.TAG_LABELS[t.value]) for t in kinds.Tag],
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    files = MultipleFileField(label=_("Screenshots or recordings"))  # type: ignore[assignment]
    photo = forms.FileField(label=_("Take a photo"), required=False)
    submission = forms.UUIDField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["occurred_at"].initial = _now_local
        self.fields["submission"].initial = uuid.uuid4
        if not self.has_tags:
            del self.fields["tags"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        files = list(data.get("files") or [])
        if data.get("photo"):
            files.append(data["photo"])
        if len(files) > MAX_FILES_PER_ENTRY:
            raise forms.ValidationError(
                _("At most %(count)d files at once.") % {"count": MAX_FILES_PER_ENTRY}
            )
        limit = settings.LOCKER_MAX_UPLOAD_BYTES
        for upload in files:
            if upload.size and upload.size > limit:
                raise forms.ValidationError(
                    _("%(name)s is larger than %(mb)d MB.")
                    % {"name": upload.name, "mb": limit // (1024 * 1024)}
                )
        data["all_files"] = files
        return data

    def uploads(self) -> list[Upload]:
        return [Upload(name=f.name or "file", stream=f) for f in self.cleaned_data["all_files"]]

    def body(self) -> dict[str, Any]:
        body = {name: self.cleaned_data[name] for name in self.body_fields}
        if self.has_tags:
            body["tags"] = list(self.cleaned_data.get("tags") or [])
        return {k: v for k, v in body.items() if v not in (None, "")}


DURATION_RE = re.compile(r"^(\d{1,4})(?:[:：分'](\d{1,2}))?[秒\"]?$")


def parse_duration(text: str) -> int | None:
    """ "3" is three minutes, "3:20" three minutes twenty seconds; returns seconds."""
    text = text.strip().replace(" ", "")
    if not text:
        return None
    match = DURATION_RE.match(text)
    if not match:
        raise forms.ValidationError(_("Enter minutes, or minutes:seconds like 3:20."))
    minutes = int(match.group(1))
    seconds = int(match.group(2) or 0)
    if seconds >= 60:
        raise forms.ValidationError(_("Seconds must be below 60."))
    total = minutes * 60 + seconds
    if total > 86400:
        raise forms.ValidationError(_("A call cannot last more than a day."))
    return total


class CallForm(EntryForm):
    kind = "call"
    body_fields = ("direction", "number", "duration_s", "caller_claims", "summary")

    direction = forms.ChoiceField(
        label=_("Call"),
        choices=list(labels.DIRECTION_LABELS.items()),
        initial="incoming",
        widget=forms.RadioSelect,
    )
    number = forms.RegexField(
        label=_("Their number"),
        regex=r"^[0-9+()*#\- ]*$",
        max_length=40,
        required=False,
        error_messages={"invalid": _("Only digits, spaces and + ( ) - * # please.")},
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )
    duration = forms.CharField(
        label=_("How long (minutes, or min:sec)"),
        required=False,
        max_length=10,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    caller_claims = forms.CharField(
        label=_("Who they said they were"), max_length=200, required=False
    )
    summary = forms.CharField(
        label=_("What they said"),
        max_length=20000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        try:
            data["duration_s"] = parse_duration(data.get("duration") or "")
        except forms.ValidationError as exc:
            self.add_error("duration", exc)
        return data


class MessageForm(EntryForm):
    kind = "message"
    body_fields = ("channel", "sender", "text")

    channel = forms.ChoiceField(
        label=_("Where"),
        choices=[
            (c, labels.CHANNEL_LABELS[c]) for c in ("sms", "wechat", "qq", "app", "email", "other")
        ],
        initial="sms",
        widget=forms.RadioSelect,
    )
    sender = forms.CharField(label=_("From (number or name)"), max_length=200, required=False)
    text = forms.CharField(
        label=_("Message text (optional if you attach screenshots)"),
        max_length=20000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


CONTACT_CHANNELS = ("call", "sms", "wechat", "qq", "app", "email", "in_person", "other")


class ContactReportForm(EntryForm):
    kind = "contact_report"
    body_fields = ("contact_name", "relation", "channel", "summary")

    contact_name = forms.CharField(label=_("Who was contacted"), max_length=200)
    relation = forms.CharField(
        label=_("Who they are to you (mother, colleague…)"), max_length=200, required=False
    )
    channel = forms.ChoiceField(
        label=_("How"),
        choices=[(c, labels.CHANNEL_LABELS[c]) for c in CONTACT_CHANNELS],
        initial="call",
        widget=forms.RadioSelect,
    )
    summary = forms.CharField(
        label=_("What the collectors told them"),
        max_length=20000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["tags"].initial = ["third_party_contact"]


class NoteForm(EntryForm):
    kind = "note"
    body_fields = ("text",)
    has_tags = False

    text = forms.CharField(
        label=_("Note"), max_length=20000, widget=forms.Textarea(attrs={"rows": 5})
    )


QUICK_LOG_FORMS: dict[str, type[EntryForm]] = {
    "call": CallForm,
    "message": MessageForm,
    "contact": ContactReportForm,
    "note": NoteForm,
}


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


class CorrectionForm(forms.Form):
    """A correction names the entry, says why, and carries only the fields that change. An
    emptied field removes the value where the kind allows it, else leaves it unchanged."""

    reason = forms.CharField(
        label=_("Why this correction"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, target: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.target = target
        source = QUICK_LOG_FORMS["contact" if target.kind == "contact_report" else target.kind]
        template = source()
        self.corrected: list[str] = []
        # What an emptied field records, per member; members missing here keep their value.
        self.cleared: dict[str, Any] = {}
        members = kinds.BODY_MODELS[target.kind].model_fields
        for name in (*source.body_fields, "tags", "occurred_at"):
            if name == "tags" and not source.has_tags:
                continue
            field_name = "duration" if name == "duration_s" else name
            field = template.fields[field_name]
            # A member the kind lets go without a value (a call's duration, a message's sender)
            # is cleared to what an entry logged without it carries: null for the duration, ""
            # for text. One the entry must have (a note's text, who was contacted, when) cannot
            # be emptied by a correction, so an empty field leaves it as it was.
            if name == "tags" or isinstance(field.widget, forms.RadioSelect):
                pass  # chips and radio buttons are never left empty
            elif name in members and not field.required and not members[name].is_required():
                self.cleared[name] = members[name].get_default(call_default_factory=True)
                field.help_text = _("Leave empty to remove it.")
            else:
                field.help_text = _("Leave empty to keep it as it is.")
            field.required = False
            self.fields[field_name] = field
            self.corrected.append(name)
        initial = dict(target.body)
        if "duration_s" in initial:
            seconds = int(initial["duration_s"])
            initial["duration"] = f"{seconds // 60}:{seconds % 60:02d}"
        if target.occurred_at:
            initial["occurred_at"] = timezone.localtime(target.occurred_at)
        else:
            initial["occurred_at"] = None
        self.initial = initial

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if "duration" in self.fields:
            try:
                data["duration_s"] = parse_duration(data.get("duration") or "")
            except forms.ValidationError as exc:
                self.add_error("duration", exc)
        return data

    def changes(self) -> dict[str, Any]:
        changes: dict[str, Any] = {}
        body = self.target.body
        for name in self.corrected:
            value = self.cleaned_data.get(name)
            if name == "occurred_at":
                before = self.target.occurred_at
                if value and (before is None or abs((value - before).total_seconds()) >= 60):
                    changes["occurred_at"] = value.isoformat()
                continue
            if name == "tags":
                value = list(value or [])
                if sorted(value) != sorted(body.get("tags", [])):
                    changes["tags"] = value
                continue
            if value in (None, ""):
                if name not in self.cleared or body.get(name) in (None, ""):
                    continue
                value = self.cleared[name]
            if value != body.get(name):
                changes[name] = value
        return changes


class FilterForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=[("", _("All kinds")), *labels.KIND_LABELS.items()],
        required=False,
    )
    tag = forms.ChoiceField(
        label=_("Tag"),
        choices=[("", _("All tags")), *labels.TAG_LABELS.items()],
        required=False,
    )
    start = forms.DateField(label=_("From"), required=False, widget=DATE_WIDGET)
    end = forms.DateField(label=_("To"), required=False, widget=DATE_WIDGET)


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
