"""What only PostgreSQL can show: row locks under real concurrency, and the trigger."""

from __future__ import annotations

import json
import threading

import pytest
from django.db import DatabaseError, connection, connections, transaction

from locker import services
from locker.core import chain
from locker.models import Case
from locker.selectors.chain import verify_case

from .conftest import is_postgres, needs
from .factories import add_entry, make_case

ON_POSTGRES = needs(
    is_postgres(),
    "row locks and triggers exist only on PostgreSQL (set DATABASE_URL; CI does)",
)


@ON_POSTGRES
@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_form_one_contiguous_valid_chain() -> None:
    case = make_case()
    threads_count, per_thread = 6, 8
    statuses: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(threads_count)
    raw_tokens = [services.issue_token(user=case.owner)[1] for _ in range(threads_count)]

    def worker(raw: str) -> None:
        from .personas import ApiClient

        api = ApiClient(raw)
        try:
            start.wait()
            for n in range(per_thread):
                response = api.post_json(
                    f"/api/cases/{case.id}/entries",
                    {"kind": "call", "body": {"number": "10086", "summary": f"第{n}次"}},
                )
                statuses.append(response.status_code)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(raw,)) for raw in raw_tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    assert statuses == [201] * (threads_count * per_thread)
    seqs = list(case.entries.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, threads_count * per_thread + 2))
    report = verify_case(case)
    assert report.ok and report.length == threads_count * per_thread + 1


@ON_POSTGRES
@pytest.mark.django_db
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE locker_entry SET body = %s WHERE id = %s",
        "DELETE FROM locker_entry WHERE id = %s",
    ],
)
def test_trigger_refuses_update_and_delete(sql: str) -> None:
    entry = add_entry(make_case())
    params = [json.dumps({"text": "forged"}), entry.pk] if sql.startswith("UPDATE") else [entry.pk]
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql, params)
    entry.refresh_from_db()
    assert entry.body == {"text": "催收员又打电话了"}
    assert chain.entry_hash(entry.as_entry()) == entry.hash


@ON_POSTGRES
@pytest.mark.django_db
def test_database_refuses_a_fork() -> None:
    from django.db import IntegrityError

    from locker.models import Entry

    case = make_case()
    first = case.entries.get()
    fork = Entry(
        case=case,
        seq=2,
        prev=first.prev,
        hash="f" * 64,
        kind="note",
        recorded_at=first.recorded_at,
        author="x",
        body={},
        evidence=[],
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        fork.save()
    assert Case.objects.get(pk=case.pk).entries.count() == 1
