"""The browser's dossier request form and the public verify form."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from locker.core import labels
from locker.models import Dossier


class DossierForm(forms.Form):
    template = forms.ChoiceField(
        label=_("Where the dossier goes"),
        choices=Dossier.Template.choices,
        widget=forms.RadioSelect,
        initial=Dossier.Template.CN_REGULATOR,
    )
    language = forms.ChoiceField(
        label=_("Language of the dossier"),
        choices=Dossier.Language.choices,
        widget=forms.RadioSelect,
    )
    date_from = forms.DateField(
        label=_("From (optional)"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("To (optional)"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    kinds = forms.MultipleChoiceField(
        label=_("Only these kinds of record (optional; all when none is ticked)"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        choices=[],
    )
    attachment_pack = forms.BooleanField(
        label=_("Also make an attachment pack of parts of at most 2 MB each"),
        required=False,
        help_text=_(
            "For complaint channels that accept only small attachments, such as the Internet "
            "Finance Association's (NIFA): a ZIP of signed PDF parts, each at most 2 MB. Part "
            "1 has the dossier and the chain; the others the pictures, reduced where needed."
        ),
        widget=forms.CheckboxInput(attrs={"aria-describedby": "attachment-pack-help"}),
    )
    include_access_log = forms.BooleanField(
        label=_("Include who has seen this case (access log)"),
        required=False,
        help_text=_(
            "Only for the court exhibit bundle. Adds every view, download and export by the "
            "people you shared the case with, up to now: when, who, what, and from which "
            "address. The log is kept by the server and is not part of the hash chain."
        ),
        widget=forms.CheckboxInput(attrs={"aria-describedby": "access-log-help"}),
    )

    def __init__(self, *args: Any, owner: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        kinds = self.fields["kinds"]
        assert isinstance(kinds, forms.MultipleChoiceField)
        kinds.choices = list(labels.KIND_LABELS.items())
        # The access log is the owner's record of the people they shared the case with;
        # those people are not offered it at all.
        if not owner:
            del self.fields["include_access_log"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            raise forms.ValidationError(_("The start date is after the end date."))
        if data.get("include_access_log") and data.get("template") != Dossier.Template.COURT:
            self.add_error(
                "include_access_log",
                _(
                    "The access log can only go into the court exhibit bundle. Choose "
                    "“Court exhibit bundle” above, or untick the access log."
                ),
            )
        return data


class VerifyForm(forms.Form):
    file = forms.FileField(
        label=_("Dossier PDF or export bundle (ZIP)"),
        widget=forms.ClearableFileInput(
            attrs={"accept": ".pdf,.zip,application/pdf,application/zip"}
        ),
    )
    receipt = forms.FileField(
        label=_("Receipt (optional, a .json file you kept)"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ".json,application/json"}),
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > settings.LOCKER_VERIFY_MAX_BYTES:
            raise forms.ValidationError(_("The file is too large to verify here."))
        return upload
