"""Quick-log forms, the correction form and the timeline's filter form. They turn what a
person types on a phone into the exact values the services take: times typed in the user's
zone become aware datetimes, several files become Uploads."""

from __future__ import annotations

import re
import unicodedata
import uuid
from typing import Any

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from locker.core import kinds, labels
from locker.services import MAX_FILES_PER_ENTRY, Upload
from locker.web.forms.fields import DATE_WIDGET, MultipleFileField

TOO_LONG = _(
    "This text has %(show_value)d characters; a record holds at most %(limit_value)d. Nothing "
    "was saved and nothing was cut: split it into two records."
)


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
        for field in self.fields.values():
            if isinstance(field.widget, forms.Textarea):
                # A browser cuts pasted text at `maxlength` without a word: a long SMS would be
                # stored short. The server refuses it whole instead, and says so.
                field.widget.attrs.pop("maxlength", None)
                field.error_messages["max_length"] = TOO_LONG
        self.fields["occurred_at"].initial = _now_local
        self.fields["submission"].initial = uuid.uuid4
        self.numbers_seen: list[str] = []
        if not self.has_tags:
            del self.fields["tags"]

    def offer_numbers(self, numbers: list[str]) -> None:
        """Suggest numbers already logged in the case (a <datalist>: no script needed)."""
        self.numbers_seen = numbers
        for name in ("number", "sender"):
            if numbers and name in self.fields:
                self.fields[name].widget.attrs["list"] = "numbers-seen"

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


# What a dialled or shown number holds, after full-width forms are read as ASCII.
CALL_NUMBER_RE = re.compile(r"[0-9+()*#\- ]*")
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
    number = forms.CharField(
        label=_("Their number"),
        max_length=40,
        required=False,
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
        max_length=kinds.LONG_TEXT_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def clean_number(self) -> str:
        """Chinese keyboards and numbers pasted from WeChat give full-width characters
        (＋８６ １３８－…) and ideographic spaces: read them as their ASCII forms, then allow
        only what a dialled number holds."""
        number = unicodedata.normalize("NFKC", self.cleaned_data.get("number") or "").strip()
        if not CALL_NUMBER_RE.fullmatch(number):
            raise forms.ValidationError(_("Only digits, spaces and + ( ) - * # please."))
        return number

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        try:
            data["duration_s"] = parse_duration(data.get("duration") or "")
        except forms.ValidationError as exc:
            self.add_error("duration", exc)
        return data


class MessageForm(EntryForm):
    kind = "message"
    body_fields = ("direction", "channel", "sender", "text")

    # Received by default: what people log is what the collectors sent them. "I sent this"
    # (their own request to stop, say) keeps it out of every count of contacts. Not
    # required: a draft kept by a page cached before the choice existed is received.
    direction = forms.ChoiceField(
        label=_("This message"),
        choices=list(labels.MESSAGE_DIRECTION_LABELS.items()),
        initial="incoming",
        required=False,
        widget=forms.RadioSelect,
    )
    channel = forms.ChoiceField(
        label=_("Where"),
        choices=[
            (c, labels.CHANNEL_LABELS[c]) for c in ("sms", "wechat", "qq", "app", "email", "other")
        ],
        initial="sms",
        widget=forms.RadioSelect,
    )
    # A message's `sender` is the other end, whichever way it went (docs/chain-format.md,
    # "A message's direction"), as a call's `number` is.
    sender = forms.CharField(
        label=_("Their number or name"),
        help_text=_("Who sent it; for a message you sent, whom you sent it to."),
        max_length=200,
        required=False,
    )
    text = forms.CharField(
        label=_("Message text (optional if you attach screenshots)"),
        max_length=kinds.LONG_TEXT_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def clean_sender(self) -> str:
        # Full-width digits and ideographic spaces as ASCII (a name is unchanged by this).
        return unicodedata.normalize("NFKC", self.cleaned_data.get("sender") or "").strip()


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
        max_length=kinds.LONG_TEXT_MAX,
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
        label=_("Note"), max_length=kinds.LONG_TEXT_MAX, widget=forms.Textarea(attrs={"rows": 5})
    )


QUICK_LOG_FORMS: dict[str, type[EntryForm]] = {
    "call": CallForm,
    "message": MessageForm,
    "contact": ContactReportForm,
    "note": NoteForm,
}


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
        # What a member an entry lacks reads as: a message written before messages had a
        # direction was received, and shows (and stays, unless changed) so.
        self.member_defaults: dict[str, Any] = {
            name: members[name].default
            for name in self.corrected
            if name in members and isinstance(members[name].default, str)
        }
        initial = {**self.member_defaults, **target.body}
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
            if value != body.get(name, self.member_defaults.get(name)):
                changes[name] = value
        return changes


class UseReadTextForm(forms.Form):
    """The machine-read text of a message's picture, as the owner checked it, to add as the
    message's text by a correction (and the number found in it as its sender)."""

    text = forms.CharField(max_length=kinds.LONG_TEXT_MAX, strip=False)
    sender = forms.CharField(max_length=200, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["text"].error_messages["max_length"] = TOO_LONG

    def clean_text(self) -> str:
        text = str(self.cleaned_data["text"]).strip()
        if not text:
            raise forms.ValidationError(_("The text is empty."))
        return text

    def changes(self) -> dict[str, Any]:
        changes: dict[str, Any] = {"text": self.cleaned_data["text"]}
        sender = unicodedata.normalize("NFKC", self.cleaned_data.get("sender") or "").strip()
        if sender:
            changes["sender"] = sender
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
    # Words each entry must hold, in its text or in the text read from its pictures
    # (locker/selectors/evidence_text.py search).
    q = forms.CharField(
        label=_("Words (also in the text read from pictures)"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"type": "search"}),
    )
