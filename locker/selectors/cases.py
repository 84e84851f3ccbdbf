"""Reads of cases: the cases a person owns, and where a case's chain ends now."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from locker.core import chain
from locker.models import Case, Entry


def cases_owned_by(user: Any) -> QuerySet[Case]:
    return Case.objects.filter(owner=user)


def chain_head(case: Case) -> tuple[int, str]:
    """(length, head hash) of the case's chain; (0, the genesis prev) while it is empty."""
    head = Entry.objects.filter(case=case).order_by("-seq").values_list("seq", "hash").first()
    return head if head else (0, chain.GENESIS_PREV)
