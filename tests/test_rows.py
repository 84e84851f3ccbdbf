"""The reads every API call makes without the ORM's query building (locker/infra/rows.py):
the instance they build is the one the ORM builds, on SQLite and on PostgreSQL alike, and
they find exactly the rows the ORM's filters would."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from django.forms.models import model_to_dict
from django.utils import timezone

from locker import services
from locker.models import ApiToken, Case
from locker.selectors.accounts import live_token
from locker.selectors.cases import case_with_id
from locker.services.accounts import hash_token

from .factories import UserFactory, add_entry, make_case

pytestmark = pytest.mark.django_db


def every_column(instance: object) -> dict[str, object]:
    return {
        field.attname: getattr(instance, field.attname)
        for field in instance._meta.concrete_fields  # type: ignore[attr-defined]
    }


def test_a_case_is_read_as_the_orm_reads_it() -> None:
    case = make_case(
        borrower_name="王小明",
        principal_minor=5_000_000,
        loan_start=date(2026, 3, 1),
        loan_due=date(2026, 9, 1),
        stated_rate_bp=3_600,
    )
    add_entry(case)  # a head time, not null
    orm = Case.objects.get(pk=case.pk)
    read = case_with_id(case.pk)
    assert read is not None
    assert every_column(read) == every_column(orm)
    assert isinstance(read.pk, uuid.UUID) and isinstance(read.loan_due, date)
    assert read.head_recorded_at is not None and timezone.is_aware(read.head_recorded_at)
    assert read._state.adding is False and read._state.db == "default"
    assert case_with_id(uuid.uuid4()) is None


def test_a_token_is_read_with_its_user_as_the_orm_reads_them(django_assert_num_queries) -> None:
    user = UserFactory()
    token, raw = services.issue_token(user=user, name="手机")
    now = timezone.now()
    read = live_token(hash_token(raw), now)
    assert read is not None
    orm = ApiToken.objects.select_related("user").get(pk=token.pk)
    assert every_column(read) == every_column(orm)
    assert model_to_dict(read.user) == model_to_dict(orm.user)
    assert read.user.is_active is True and timezone.is_aware(read.expires_at)
    with django_assert_num_queries(0):  # the user came with the token
        assert read.user.username == user.username


def test_only_a_live_token_of_an_active_user_is_found() -> None:
    user = UserFactory()
    token, raw = services.issue_token(user=user)
    digest, now = hash_token(raw), timezone.now()
    assert live_token(digest, now) is not None
    assert live_token(hash_token(raw + "x"), now) is None
    assert live_token(digest, token.expires_at) is None  # expires_at > now, not >=
    assert live_token(digest, token.expires_at - timedelta(microseconds=1)) is not None
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert live_token(digest, now) is None
    user.is_active = True
    user.save(update_fields=["is_active"])
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=now)
    assert live_token(digest, now) is None
