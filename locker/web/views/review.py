"""The wide-screen review page a lawyer works on (the owner may open it too): the timeline with
filters and text search beside an evidence viewer, the chain's status, the client's receipts,
and, for reviewers, their private notes. Also the browser download of the spec's ZIP bundle."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from locker import services
from locker.exports import bundle
from locker.permissions import Role, case_access_or_404
from locker.selectors import chain as stored_chain
from locker.selectors import entries as entry_reads
from locker.selectors import review as review_reads
from locker.selectors import sharing
from locker.selectors.receipts import kept_receipts_of
from locker.web.forms.sharing import AnnotationForm, ReviewFilterForm
from locker.web.views.common import AuthedRequest, query_without

PAGE_SIZE = 40
RECENT_RECEIPTS = 5


@login_required
def review(request: AuthedRequest, case_id: UUID) -> HttpResponse:
    form = ReviewFilterForm(request.GET or None)
    chosen = form.cleaned_data.get("seq") if form.is_valid() else None
    case, role = case_access_or_404(
        request,
        case_id,
        detail=f"GET {request.path}" + (f" entry {chosen}" if chosen else ""),
    )
    tz = timezone.get_current_timezone()
    found = sharing.search_entries(case, **form.search(tz))
    page = Paginator(found, PAGE_SIZE).get_page(request.GET.get("page"))
    entries = list(page.object_list)
    selected = None
    if chosen:
        selected = entry_reads.entry_at(case, chosen)
        if selected is None:
            raise Http404("No such entry")
    elif entries:
        selected = entries[0]

    last_visited = review_reads.last_visited(case, request.user)
    unread = sharing.unread_count(case, request.user)
    services.mark_visited(user=request.user, case=case)

    notes = review_reads.notes_with_authors(case) if role == "reviewer" else []
    receipts = review_reads.signed_receipts(case, latest=RECENT_RECEIPTS)
    return render(
        request,
        "locker/review.html",
        {
            "case": case,
            "role": role,
            "client": sharing.client_name(case),
            "form": form,
            "searching": form.active(),
            "page": page,
            "entries": entries,
            "total": page.paginator.count,
            "selected": selected,
            "facts": entry_reads.entry_facts(selected) if selected is not None else None,
            "row_query": query_without(request, "seq"),
            "last_visited": last_visited,
            "unread": unread if last_visited is not None else None,
            "badge": stored_chain.case_badge(case),
            "receipts": receipts.latest,
            "receipt_count": receipts.count,
            "kept": kept_receipts_of(case),
            "notes": notes,
            "noted_seqs": {note.entry_seq for note, _author in notes if note.entry_seq},
            "note_form": AnnotationForm(initial={"entry_seq": selected.seq if selected else None}),
        },
    )


def _reviewers_only(role: Role) -> None:
    """Notes are private to the case's reviewers: the owner, who passes every access check,
    and viewers get the same 404 as strangers."""
    if role != "reviewer":
        raise Http404("No such case")


@login_required
@require_POST
def annotation_add(request: AuthedRequest, case_id: UUID) -> HttpResponse:
    form = AnnotationForm(request.POST)
    seq = form.cleaned_data.get("entry_seq") if form.is_valid() else None
    case, role = case_access_or_404(
        request,
        case_id,
        need="annotate",
        action="annotate",
        detail=f"entry {seq}" if seq else "case",
    )
    _reviewers_only(role)
    target = reverse("review", args=[case.pk]) + (f"?seq={seq}" if seq else "")
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
        return redirect(target + "#notes")
    try:
        services.add_annotation(
            case=case, author=request.user, text=form.cleaned_data["text"], entry_seq=seq
        )
    except services.InputError as exc:
        messages.error(request, str(exc))
    return redirect(target + "#notes")


@login_required
def annotation_export(request: AuthedRequest, case_id: UUID, fmt: str) -> HttpResponse:
    if fmt not in ("csv", "json"):
        raise Http404("No such format")
    case, role = case_access_or_404(
        request, case_id, need="annotate", action="export", detail=f"notes.{fmt}"
    )
    _reviewers_only(role)
    notes = sharing.annotations_for(case)
    if fmt == "csv":
        # A byte-order mark, so spreadsheet programs read the Chinese as UTF-8.
        content = "\ufeff" + sharing.annotations_csv(notes)
        content_type = "text/csv; charset=utf-8"
    else:
        content = sharing.annotations_json(case, notes)
        content_type = "application/json; charset=utf-8"
    response = HttpResponse(content.encode(), content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="notes-{str(case.pk)[:8]}.{fmt}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
def export_zip(request: AuthedRequest, case_id: UUID) -> StreamingHttpResponse:
    """The spec's ZIP bundle (entries, checkpoint, every original file) for the browser: the
    owner and anyone with an open share; each download by a lawyer is logged."""
    case = case_access_or_404(request, case_id, action="export", detail="bundle").case
    response = StreamingHttpResponse(bundle.stream_bundle(case), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="case-{case.pk}.zip"'
    response["X-Content-Type-Options"] = "nosniff"
    return response
