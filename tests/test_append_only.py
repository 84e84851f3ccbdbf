"""Checkpoints are append-only like entries, kept receipts and the access log: in the model
layer everywhere, and by trigger on PostgreSQL."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from locker.models import Checkpoint

from .conftest import is_postgres, needs
from .factories import add_entry, make_case

pytestmark = pytest.mark.django_db


def a_checkpoint() -> Checkpoint:
    case = make_case()
    add_entry(case)  # its receipt is a checkpoint of length 2
    checkpoint = Checkpoint.objects.filter(case=case, length=2).first()
    assert checkpoint is not None
    return checkpoint


def test_checkpoints_refuse_changes_in_the_model_layer() -> None:
    checkpoint = a_checkpoint()
    head = checkpoint.head
    checkpoint.head = "0" * 64
    for change in (
        checkpoint.save,
        checkpoint.delete,
        lambda: Checkpoint.objects.filter(pk=checkpoint.pk).update(head="0" * 64),
        lambda: Checkpoint.objects.all().delete(),
    ):
        with pytest.raises(PermissionError, match="checkpoints are append-only"):
            change()
    assert Checkpoint.objects.get(pk=checkpoint.pk).head == head


@needs(is_postgres(), "triggers exist only on PostgreSQL (set DATABASE_URL; CI does)")
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE locker_checkpoint SET head = repeat('0', 64) WHERE id = %s",
        "DELETE FROM locker_checkpoint WHERE id = %s",
    ],
)
def test_postgresql_trigger_refuses_update_and_delete_of_checkpoints(sql) -> None:
    checkpoint = a_checkpoint()
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql, [checkpoint.pk])
    assert Checkpoint.objects.get(pk=checkpoint.pk).head == checkpoint.head
