"""The PostgreSQL trigger on chain entries (locker/infra/entry_erasure.py) against raw SQL from
the app's own database role: it allows exactly one transition, erasing the content of an
entry not erased yet as a redaction entry of the same case records it, and refuses every
other UPDATE, a second erasure, un-erasing and every DELETE. (SQLite has no such trigger; the
model layer's refusals are tested on every database in test_erasure.py.)"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction

from locker import services
from locker.models import Entry

from ..conftest import is_postgres, needs
from ..factories import add_entry, make_case

pytestmark = [
    pytest.mark.django_db,
    needs(is_postgres(), "triggers exist only on PostgreSQL (set DATABASE_URL; CI does)"),
]

ERASE_SQL = (
    "UPDATE locker_entry SET body = '{}'::jsonb, evidence = '[]'::jsonb, occurred_at = NULL, "
    "erased_at = %(at)s, erased_by_id = %(by)s WHERE id = %(id)s"
)

NULLED = "occurred_at = NULL"


def execute(sql: str, params: Any) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def refused(sql: str, params: Any) -> None:
    with pytest.raises(DatabaseError, match="locker_entry is append-only"):
        execute(sql, params)


def a_redaction(case: Any, seq: int) -> Entry:
    """A redaction entry naming `seq`, appended without erasing anything (as a forger who
    wants a trace to point at would)."""
    return services.append_entry(
        case=case,
        author=f"user:{case.owner_id}",
        kind="redaction",
        body={"erased_seq": seq},
        allow_kinds=("redaction",),
    ).entry


def snapshot(entry: Entry) -> tuple[Any, ...]:
    row = Entry.objects.get(pk=entry.pk)
    return (row.body, row.evidence, row.occurred_at, row.erased_at, row.erased_by_id, row.hash)


def erase_params(target: Entry, redaction: Entry) -> dict[str, Any]:
    return {"at": redaction.recorded_at, "by": redaction.pk, "id": target.pk}


def test_the_exact_erasure_is_allowed_once_in_raw_sql() -> None:
    case = make_case()
    target = add_entry(case, "note", {"text": "13912345678"})
    redaction = a_redaction(case, target.seq)
    execute(ERASE_SQL, erase_params(target, redaction))
    erased = Entry.objects.get(pk=target.pk)
    assert erased.is_erased and erased.hash == target.hash and erased.body == {}
    # Again, even with a second genuine redaction naming the same entry: refused.
    second = a_redaction(case, target.seq)
    refused(ERASE_SQL, erase_params(target, second))


@pytest.mark.parametrize(
    "sql",
    [
        'UPDATE locker_entry SET body = \'{"text": "改写"}\'::jsonb WHERE id = %(id)s',
        "UPDATE locker_entry SET hash = repeat('0', 64) WHERE id = %(id)s",
        "UPDATE locker_entry SET evidence = '[]'::jsonb WHERE id = %(id)s",
        "UPDATE locker_entry SET erased_at = now() WHERE id = %(id)s",
        "DELETE FROM locker_entry WHERE id = %(id)s",
    ],
)
def test_any_other_change_of_an_entry_is_refused(sql: str) -> None:
    case = make_case()
    target = add_entry(case, "note", {"text": "原文"})
    before = snapshot(target)
    refused(sql, {"id": target.pk})
    assert snapshot(target) == before


@pytest.mark.parametrize(
    ("forgery", "sql"),
    [
        # the content left in place, or something beside it changed too
        ("keeps the body", ERASE_SQL.replace("body = '{}'::jsonb", "body = body")),
        ("rewrites the hash", ERASE_SQL.replace(NULLED, NULLED + ", hash = repeat('0', 64)")),
        ("moves recorded_at", ERASE_SQL.replace(NULLED, NULLED + ", recorded_at = now()")),
        ("changes the kind", ERASE_SQL.replace(NULLED, NULLED + ", kind = 'note_x'")),
        ("keeps the time", ERASE_SQL.replace(NULLED, "occurred_at = occurred_at")),
        ("no redaction", ERASE_SQL.replace("erased_by_id = %(by)s", "erased_by_id = NULL")),
        ("another time", ERASE_SQL.replace("erased_at = %(at)s", "erased_at = now()")),
    ],
)
def test_an_erasure_that_is_not_exactly_the_transition_is_refused(forgery: str, sql: str) -> None:
    case = make_case()
    target = add_entry(case, "note", {"text": "原文"}, occurred_at="2026-01-05T10:00:00+08:00")
    redaction = a_redaction(case, target.seq)
    before = snapshot(target)
    refused(sql, erase_params(target, redaction))
    assert snapshot(target) == before, forgery


def test_the_redaction_must_be_this_cases_and_name_this_entry() -> None:
    case, other_case = make_case(), make_case()
    target = add_entry(case, "note", {"text": "原文"})
    other = add_entry(case, "note", {"text": "另一条"})
    names_other = a_redaction(case, other.seq)  # names another seq
    elsewhere = a_redaction(other_case, target.seq)  # another case's
    plain_note = add_entry(case, "note", {"text": "不是擦除记录"})  # not a redaction at all
    before = snapshot(target)
    for fake in (names_other, elsewhere, plain_note):
        refused(ERASE_SQL, erase_params(target, fake))
    assert snapshot(target) == before


def test_a_redaction_cannot_be_erased_and_an_erasure_cannot_be_undone() -> None:
    case = make_case()
    target = add_entry(case, "note", {"text": "原文"})
    result = services.erase_entry(
        case=case, seq=target.seq, user=case.owner, author=f"user:{case.owner_id}"
    )
    redaction = result.redaction
    later = a_redaction(case, redaction.seq)
    refused(ERASE_SQL, erase_params(redaction, later))  # the trace itself
    erased_before = snapshot(target)
    for sql in (
        "UPDATE locker_entry SET erased_at = NULL, erased_by_id = NULL WHERE id = %(id)s",
        'UPDATE locker_entry SET body = \'{"text": "原文"}\'::jsonb WHERE id = %(id)s',
        "UPDATE locker_entry SET erased_by_id = %(by)s WHERE id = %(id)s",
        "DELETE FROM locker_entry WHERE id = %(id)s",
    ):
        refused(sql, {"id": target.pk, "by": later.pk})
    assert snapshot(target) == erased_before
