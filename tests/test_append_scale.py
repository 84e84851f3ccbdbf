"""Appends at scale (issue 14): the head kept on the case row, compact checkpoints that still
read (and verify) as the documents that were signed, old full-document rows beside them, and
verification of stored rows that spares the second walk of their values but still refuses
what the canonical form cannot carry. Runs on SQLite and, with DATABASE_URL, on PostgreSQL
(where the append's writes are one statement)."""

from __future__ import annotations

import io
import json
import re
import zipfile

import pytest
from django.db import connection

from locker import services
from locker.core import chain
from locker.exports import bundle
from locker.infra import signing
from locker.models import Case, CaseStats, Checkpoint, Entry, SigningCertificate
from locker.selectors.chain import verify_case
from locker.services import entries as entry_services
from tests.factories import make_case
from tests.tamper import raw_sql, rewrite_body

pytestmark = pytest.mark.django_db


def add_entry(case: Case, *, text: str) -> services.AppendResult:
    return services.append_entry(
        case=case, author=f"user:{case.owner_id}", kind="note", body={"text": text}
    )


def test_the_head_on_the_case_row_moves_with_each_append() -> None:
    case = make_case()
    for n in range(3):
        add_entry(case, text=f"message {n}")
    fresh = Case.objects.get(pk=case.pk)
    last = Entry.objects.filter(case=case).order_by("-seq").first()
    assert (fresh.head_seq, fresh.head_hash) == (4, last.hash)
    assert fresh.head_recorded_at == last.recorded_at
    assert fresh.head_seq == Entry.objects.filter(case=case).count()


def test_a_case_saved_from_a_stale_copy_keeps_its_head() -> None:
    case = make_case()
    stale = Case.objects.get(pk=case.pk)
    add_entry(case, text="after the copy was read")
    stale.collector_agency = "某某催收公司"
    stale.save()
    fresh = Case.objects.get(pk=case.pk)
    assert fresh.head_seq == 2 and fresh.collector_agency == "某某催收公司"
    result = add_entry(case, text="next")
    assert result.entry.seq == 3 and verify_case(fresh).ok


def test_a_clock_stepped_back_keeps_recorded_at_monotone(monkeypatch) -> None:
    case = make_case()
    first = add_entry(case, text="first").entry
    from datetime import timedelta

    from django.utils import timezone

    earlier = first.recorded_at - timedelta(hours=1)
    monkeypatch.setattr(timezone, "now", lambda: earlier)
    second = add_entry(case, text="second").entry
    assert second.recorded_at == first.recorded_at
    assert verify_case(case).ok


def test_a_new_checkpoint_is_stored_compactly_and_reads_as_the_signed_document() -> None:
    case = make_case()
    result = add_entry(case, text="hello")
    row = Checkpoint.objects.get(case=case, length=result.entry.seq)
    assert row.legacy_document is None and row.signature and row.certificate_id
    assert row.document == result.receipt
    certificate = chain.verify_checkpoint(row.document)
    assert signing.fingerprint(certificate) == row.certificate_id
    assert SigningCertificate.objects.get(pk=row.certificate_id).pem == row.document["certificate"]
    # One certificate row for every checkpoint it signed, not a copy on each.
    assert SigningCertificate.objects.count() == 1


def test_rows_stored_with_their_whole_document_still_read_verify_and_export() -> None:
    case = make_case()
    head = add_entry(case, text="hello").entry
    document = signing.sign_checkpoint(
        case_id=str(case.pk), length=head.seq, head=head.hash, signed_at=head.recorded_at
    )
    Checkpoint.objects.create(
        case=case,
        length=head.seq,
        head=head.hash,
        signed_at=head.recorded_at,
        legacy_document=document,
    )
    old = Checkpoint.objects.get(case=case, legacy_document__isnull=False)
    assert old.document == document
    chain.verify_checkpoint(old.document)
    assert verify_case(case).ok
    out = io.BytesIO()
    bundle.write_bundle(case, out)
    with zipfile.ZipFile(out) as archive:
        exported = json.loads(archive.read("checkpoint.json"))
    chain.verify_checkpoint(exported)
    assert (exported["checkpoint"]["length"], exported["checkpoint"]["head"]) == (2, head.hash)


def test_the_one_statement_append_names_every_column() -> None:
    """_APPEND_SQL is written out (PostgreSQL): a column added to a model must be added to it."""
    sql = entry_services._APPEND_SQL
    for model, table in ((Entry, "locker_entry"), (Checkpoint, "locker_checkpoint")):
        start = sql.index(f"INSERT INTO {table} (") + len(f"INSERT INTO {table} (")
        named = {name.strip() for name in sql[start : sql.index(")", start)].split(",")}
        columns = {f.column for f in model._meta.concrete_fields if f.column != "id"}
        assert named == columns, (table, columns ^ named)
    assert {f.column for f in SigningCertificate._meta.concrete_fields} == {
        "fingerprint",
        "pem",
        "created_at",
    }
    assert set(Case.HEAD_FIELDS) <= {f.name for f in Case._meta.concrete_fields}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"text": "x", "amount": 1.5}', "floating-point"),
        ('{"text": "x", "amount": 9007199254740993}', "beyond 2^53"),
        ('{"Text": "x"}', "snake_case"),
    ],
)
def test_verification_still_refuses_what_the_canonical_form_cannot_carry(text, problem) -> None:
    case = make_case()
    target = add_entry(case, text="to be rewritten").entry
    add_entry(case, text="after it")
    raw_sql("UPDATE locker_entry SET body = %s WHERE id = %s", [text, target.pk])
    report = verify_case(case, rehash_files=False)
    assert not report.ok and report.first_bad_seq == target.seq
    assert problem in report.problem


def test_a_rewritten_body_is_found_by_its_hash_and_a_removed_tail_by_its_checkpoint() -> None:
    case = make_case()
    target = add_entry(case, text="original").entry
    last = add_entry(case, text="last").entry
    rewrite_body(target.pk, {"text": "rewritten"})
    report = verify_case(case, rehash_files=False)
    assert not report.ok and report.first_bad_seq == target.seq
    assert "does not match" in report.problem
    rewrite_body(target.pk, target.body)
    assert verify_case(case).ok
    covering = Checkpoint.objects.get(case=case, length=3).pk
    raw_sql("DELETE FROM locker_checkpoint WHERE id = %s", [covering])
    raw_sql("DELETE FROM locker_entry WHERE id = %s", [last.pk])
    report = verify_case(case)
    assert report.ok  # no checkpoint covers the removed entry any more
    services.issue_checkpoint(case=case, length=3, head=last.hash)
    report = verify_case(case)
    assert not report.ok and "removed from the end" in report.problem


def test_the_append_is_one_statement_on_postgresql() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the one-statement append is PostgreSQL's")
    from django.test.utils import CaptureQueriesContext

    case = make_case()
    add_entry(case, text="the figures row is made by the first entry")
    with CaptureQueriesContext(connection) as queries:
        counted = add_entry(case, text="counted").entry
    statements = [q["sql"] for q in queries.captured_queries if q["sql"] not in ("BEGIN",)]
    writes = [s for s in statements if re.search(r"\blocker_(entry|case)\b", s)]
    assert len(writes) == 2, writes  # the lock with the head read, and the writes
    # The case page's figures (CaseStats) are kept in the same transaction, read with the
    # lock and written with the entry: no statement of their own.
    others = [s for s in statements if s != "COMMIT" and "SAVEPOINT" not in s]
    assert others == writes, statements
    assert all("locker_casestats" in s for s in writes), writes
    figures_row = CaseStats.objects.get(case=case)
    assert (figures_row.seq, figures_row.head) == (counted.seq, counted.hash)
