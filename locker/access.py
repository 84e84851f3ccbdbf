"""The one way views and the API get a case: it is returned only to someone allowed to see
it, and everyone else gets a 404 (never a 403 that would confirm the case exists)."""

from __future__ import annotations

import uuid
from typing import Any

from django.http import Http404

from .models import Case


def get_case_or_404(user: Any, case_id: Any, *, write: bool = False) -> Case:
    if user is None or not getattr(user, "is_authenticated", False):
        raise Http404("No such case")
    try:
        key = uuid.UUID(str(case_id))
    except ValueError:
        raise Http404("No such case") from None
    case = Case.objects.filter(pk=key, owner=user).first()
    if case is None:
        raise Http404("No such case")
    return case
