"""The timeline, an entry's page, corrections, and evidence files (originals for download,
safe derived copies for display)."""

from __future__ import annotations

from uuid import UUID

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _

from locker import services
from locker.core import http_ranges
from locker.infra.derived import PLAYABLE_MEDIA_TYPE, playable_name
from locker.infra.storage import evidence_storage
from locker.infra.thumbs import IMAGE_TYPES, SIZES, derived_name
from locker.models import Case, EvidenceFile
from locker.permissions import case_access_or_404
from locker.selectors import chain as stored_chain
from locker.selectors import entries as entry_reads
from locker.selectors import sharing
from locker.selectors.entries import FORMAT_LABELS, BadCursor, Cursor, Filters
from locker.web.forms.entries import CorrectionForm, FilterForm, UseReadTextForm
from locker.web.templatetags.sharing_tags import remember_has_shares
from locker.web.views.common import AuthedRequest

PAGE_SIZE = 30


@login_required
def timeline_page(request: AuthedRequest, case_id: UUID) -> HttpResponse:
    # The chain's head (for the badge) and whether the viewer has shares are read with the
    # case, in one statement.
    cases = sharing.with_viewer_has_shares(
        stored_chain.with_chain_head(Case.objects.all()), request.user
    )
    case, role = case_access_or_404(request, case_id, cases=cases)
    remember_has_shares(request, case.viewer_has_shares)  # type: ignore[attr-defined]
    form = FilterForm(request.GET or None)
    filters = Filters()
    if form.is_valid():
        filters = Filters(**form.cleaned_data)
    try:
        older = _cursor(request.GET.get("older"))
        newer = _cursor(request.GET.get("newer"))
    except BadCursor:
        return HttpResponseBadRequest(
            _("This page link is not valid. Open the timeline again from its first page.")
        )
    page = entry_reads.timeline_page(
        case,
        filters,
        timezone.get_current_timezone(),
        size=PAGE_SIZE,
        older_than=older,
        newer_than=None if older else newer,
    )
    query = request.GET.copy()
    for name in ("older", "newer", "page"):
        query.pop(name, None)
    return render(
        request,
        "locker/timeline.html",
        {
            "case": case,
            "role": role,
            "form": form,
            "filters": filters,
            "page": page,
            "query": query.urlencode(),
            "badge": stored_chain.case_badge(case),
        },
    )


def _cursor(value: str | None) -> Cursor | None:
    return Cursor.decode(value) if value else None


@login_required
def entry_detail(request: AuthedRequest, case_id: UUID, seq: int) -> HttpResponse:
    case, role = case_access_or_404(request, case_id)
    entry = entry_reads.entry_at(case, seq)
    if entry is None:
        raise Http404("No such entry")
    return render(
        request,
        "locker/entry_detail.html",
        {"case": case, "role": role, "facts": entry_reads.entry_facts(entry)},
    )


@login_required
def correct_entry(request: AuthedRequest, case_id: UUID, seq: int) -> HttpResponse:
    """A correction is a new entry naming the one it corrects; nothing is edited in place."""
    case, role = case_access_or_404(request, case_id, need="write")
    target = entry_reads.correctable_entry(case, seq)
    if target is None:
        raise Http404("No such entry")
    form = CorrectionForm(request.POST or None, target=target)
    if request.method == "POST" and form.is_valid():
        try:
            result = services.append_entry(
                case=case,
                author=f"user:{request.user.pk}",
                kind="correction",
                body={
                    "corrects_seq": target.seq,
                    "reason": form.cleaned_data["reason"],
                    "changes": form.changes(),
                },
            )
        except services.InputError as exc:
            form.add_error(None, str(exc))
        else:
            return redirect("receipt", case_id=case.pk, seq=result.entry.seq)
    return render(
        request, "locker/correct.html", {"case": case, "role": role, "target": target, "form": form}
    )


@login_required
def use_read_text(request: AuthedRequest, case_id: UUID, seq: int) -> HttpResponse:
    """Add the text read from a message's picture (as the owner checked it) as the message's
    text: a correction entry, like any other; the message itself is never changed."""
    case, role = case_access_or_404(request, case_id, need="write")
    target = entry_reads.correctable_entry(case, seq)
    if target is None or target.kind != "message":
        raise Http404("No such message")
    if request.method != "POST":
        return redirect("entry_detail", case_id=case.pk, seq=target.seq)
    form = UseReadTextForm(request.POST)
    if form.is_valid():
        try:
            result = services.append_entry(
                case=case,
                author=f"user:{request.user.pk}",
                kind="correction",
                body={
                    "corrects_seq": target.seq,
                    "reason": _(
                        "The message's text, from the text read by machine from its picture "
                        "and checked by the owner."
                    ),
                    "changes": form.changes(),
                },
            )
        except services.InputError as exc:
            form.add_error(None, str(exc))
        else:
            return redirect("receipt", case_id=case.pk, seq=result.entry.seq)
    return render(
        request,
        "locker/entry_detail.html",
        {
            "case": case,
            "role": role,
            "facts": entry_reads.entry_facts(target),
            "use_text_errors": [error for errors in form.errors.values() for error in errors],
        },
        status=400,
    )


def _evidence(request: HttpRequest, case_id: UUID, sha256: str, action: str) -> EvidenceFile:
    case = case_access_or_404(request, case_id, action=action, detail=sha256).case
    evidence = entry_reads.evidence_file(case, sha256)
    if evidence is None:
        raise Http404("No such file")
    return evidence


@login_required
def evidence_original(request: AuthedRequest, case_id: UUID, sha256: str) -> HttpResponseBase:
    """The file exactly as uploaded, always as a download: the browser never renders it. A
    Range request (an audio player seeking) gets just the part asked for."""
    evidence = _evidence(request, case_id, sha256, "download")
    handle = evidence_storage().open(evidence.storage_name, "rb")
    response: HttpResponseBase
    partial = http_ranges.partial_response(request, handle, evidence.size, evidence.media_type)
    if partial is not None:
        response = partial
        response["Content-Disposition"] = content_disposition_header(
            as_attachment=True, filename=evidence.original_name
        )
    else:
        response = FileResponse(
            handle,
            as_attachment=True,
            filename=evidence.original_name,
            content_type=evidence.media_type,
        )
    response["Accept-Ranges"] = "bytes"
    # The bytes behind a hash never change.
    response["ETag"] = f'"{evidence.sha256}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def _stored_copy(name: str, content_type: str, filename: str) -> FileResponse:
    response = FileResponse(evidence_storage().open(name, "rb"), content_type=content_type)
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
def evidence_derived(
    request: AuthedRequest, case_id: UUID, sha256: str, size: str
) -> HttpResponseBase:
    """A picture of an image file, made by the worker (locker/infra/derived.py). Until it is
    there, or when none can be made, a small picture that says so (never a decode here: that
    is the worker's)."""
    if size not in SIZES:
        raise Http404("No such size")
    evidence = _evidence(request, case_id, sha256, "view_file")
    if evidence.media_type not in IMAGE_TYPES:
        raise Http404("No picture of this file")
    name = derived_name(evidence, size)
    if evidence.derived == EvidenceFile.Derived.READY and evidence_storage().exists(name):
        return _stored_copy(name, "image/jpeg", f"{sha256[:12]}-{size}.jpg")
    preparing = evidence.derived in (EvidenceFile.Derived.PENDING, EvidenceFile.Derived.MAKING)
    response = render(
        request,
        "locker/derived_placeholder.svg",
        {"preparing": preparing, "format": FORMAT_LABELS.get(evidence.media_type, "")},
        content_type="image/svg+xml",
    )
    # A placeholder is replaced by the picture as soon as there is one.
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'"
    return response


@login_required
def evidence_playable(request: AuthedRequest, case_id: UUID, sha256: str) -> HttpResponseBase:
    """The copy of a recording that browsers play (AAC in M4A), made by the worker from an
    original they cannot play (AMR). Not evidence: the original is, and stays downloadable.
    A Range request (the player seeking) gets just the part asked for."""
    evidence = _evidence(request, case_id, sha256, "view_file")
    name = playable_name(evidence)
    if evidence.derived != EvidenceFile.Derived.READY or not evidence.media_type.startswith(
        "audio/"
    ):
        raise Http404("No playable copy of this file")
    storage = evidence_storage()
    if not storage.exists(name):
        raise Http404("No playable copy of this file")
    handle = storage.open(name, "rb")
    response: HttpResponseBase
    size = storage.size(name)
    partial = http_ranges.partial_response(request, handle, size, PLAYABLE_MEDIA_TYPE)
    if partial is not None:
        response = partial
    else:
        response = FileResponse(handle, content_type=PLAYABLE_MEDIA_TYPE)
    response["Content-Disposition"] = f'inline; filename="{sha256[:12]}-playable.m4a"'
    response["Accept-Ranges"] = "bytes"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
