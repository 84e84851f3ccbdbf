"""The access log in words: what a logged row says to the case's owner. The owner's "who has
seen this case" page and the court dossier's access-log section both read rows through
here, so that the page and the PDF never describe the same access differently. Every
function answers in the active language."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from typing import Any

from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from locker.models import AccessLog, Case, Dossier, EvidenceFile

ACTION_LABELS: dict[str, Promise] = {
    "view": gettext_lazy("looked at"),
    "list": gettext_lazy("saw it listed"),
    "view_file": gettext_lazy("looked at a picture of a file"),
    "download": gettext_lazy("downloaded an original file"),
    "export": gettext_lazy("exported"),
    "annotate": gettext_lazy("wrote a private note"),
    "verify": gettext_lazy("checked the record"),
    "dossier": gettext_lazy("made a report"),
}

# What a logged request path was, in words: (pattern after /cases/<id>/, label).
PAGE_LABELS: list[tuple[re.Pattern[str], Promise]] = [
    (re.compile(r"^$"), gettext_lazy("the case overview")),
    (re.compile(r"^review/(?: entry (?P<seq>\d+))?$"), gettext_lazy("the review page")),
    (re.compile(r"^timeline/$"), gettext_lazy("the timeline")),
    (re.compile(r"^entries/(?P<seq>\d+)/$"), gettext_lazy("an entry's page")),
    (re.compile(r"^entries/(?P<seq>\d+)/receipt(?:/|\.json)$"), gettext_lazy("a receipt")),
    (re.compile(r"^dossiers/$"), gettext_lazy("the dossiers page")),
    (re.compile(r"^receipts/$"), gettext_lazy("the receipts the client kept")),
]
DETAIL_LABELS: dict[str, Promise] = {
    "bundle": gettext_lazy("the evidence bundle (ZIP)"),
    "notes.csv": gettext_lazy("their notes (CSV)"),
    "notes.json": gettext_lazy("their notes (JSON)"),
    "case": gettext_lazy("the whole case"),
    "dossier": gettext_lazy("a new signed PDF dossier"),
}
DOSSIER_PREFIX = "dossier:"
CASE_PATH = re.compile(r"^(?P<method>[A-Z]+) /(?P<api>api/)?cases/[0-9a-f-]{36}/(?P<rest>.*)$")
LISTING = re.compile(r"^GET /(?:api/)?shared(?:/|-cases)$")
ENTRY_DETAIL = re.compile(r"^entry (?P<seq>\d+)$")

# Actions whose detail is the SHA-256 of an evidence file.
FILE_ACTIONS = ("download", "view_file")


def action_label(action: str) -> str:
    # Rows from before API reads were logged as plain views said "api:case", "api:entries".
    if action.startswith("api:"):
        action = "verify" if action == "api:verify" else "view"
    label = ACTION_LABELS.get(action)
    return str(label) if label is not None else action


def via_label(via: str) -> str:
    return _("through the API") if via == "api" else _("in the browser")


def describe(detail: str, file_names: dict[str, str]) -> str:
    """A log row's detail as the owner can read it: the file's name, the page, the entry."""
    if detail in file_names:
        return file_names[detail]
    if detail in DETAIL_LABELS:
        return str(DETAIL_LABELS[detail])
    if match := ENTRY_DETAIL.match(detail):
        return _("entry %(seq)s") % {"seq": match["seq"]}
    if LISTING.match(detail):
        return str(_("the list of cases shared with them"))
    match = CASE_PATH.match(detail)
    if match is None:
        return detail
    if match["api"]:
        return _("through the API: %(path)s") % {"path": match["rest"] or "/"}
    for pattern, label in PAGE_LABELS:
        page = pattern.match(match["rest"])
        if page is not None:
            seq = page.groupdict().get("seq")
            return f"{label} · {_('entry %(seq)s') % {'seq': seq}}" if seq else str(label)
    return detail


def dossier_detail(dossier_id: Any) -> str:
    """How a row names a dossier; `file_names` turns it into words."""
    return f"{DOSSIER_PREFIX}{dossier_id}"


def file_names(case: Case, rows: Iterable[Any]) -> dict[str, str]:
    """Words for the details that name a stored thing: original file names for the evidence
    hashes of download and view_file rows, and "the dossier …" for dossier rows."""
    rows = list(rows)
    hashes = {row.detail for row in rows if row.action in FILE_ACTIONS and len(row.detail) == 64}
    names: dict[str, str] = {}
    if hashes:
        names.update(
            EvidenceFile.objects.filter(case=case, sha256__in=hashes).values_list(
                "sha256", "original_name"
            )
        )
    dossier_ids = set()
    for row in rows:
        if row.detail.startswith(DOSSIER_PREFIX):
            try:
                dossier_ids.add(uuid.UUID(row.detail[len(DOSSIER_PREFIX) :]))
            except ValueError:
                continue
    for dossier in Dossier.objects.filter(case=case, pk__in=dossier_ids):
        names[dossier_detail(dossier.pk)] = _("the dossier “%(template)s” requested %(when)s") % {
            "template": dossier.get_template_display(),
            "when": f"{timezone.localtime(dossier.created_at):%Y-%m-%d %H:%M}",
        }
    return names


def what(row: AccessLog, names: dict[str, str]) -> str:
    """The action and what it was done to, in one line: "downloaded an original file: a.png"."""
    action = action_label(row.action)
    detail = describe(row.detail, names) if row.detail else ""
    return f"{action}: {detail}" if detail else action
