"""Erasing one record's content, for the case's owner: a page that says in plain words what
is removed and what is not, then the erasure on POST (locker/services/erasure.py)."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from locker import services
from locker.permissions import case_access_or_404
from locker.selectors import entries as entry_reads
from locker.web.forms.erasure import EraseEntryForm
from locker.web.views.common import AuthedRequest, found_or_404


@login_required
def erase_entry(request: AuthedRequest, case_id: UUID, seq: int) -> HttpResponse:
    case, role = case_access_or_404(request, case_id, need="write")
    target = found_or_404(entry_reads.erasable_entry(case, seq), "entry")
    form = EraseEntryForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            result = services.erase_entry(
                case=case,
                seq=target.seq,
                user=request.user,
                author=f"user:{request.user.pk}",
                reason=form.cleaned_data["reason"] or None,
                request=request,
            )
        except services.InputError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                _(
                    "The content of entry %(seq)d is erased: what it said and its files are "
                    "deleted. Entry %(redaction)d records that it was erased."
                )
                % {"seq": result.erased.seq, "redaction": result.redaction.seq},
            )
            return redirect("entry_detail", case_id=case.pk, seq=result.erased.seq)
    return render(
        request,
        "locker/erase.html",
        {
            "case": case,
            "role": role,
            "facts": entry_reads.entry_facts(target),
            "form": form,
        },
    )
