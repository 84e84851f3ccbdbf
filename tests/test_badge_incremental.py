"""The case badge after appends checks only what was appended since its last verified head
(issue 14); a row changed behind the app's back is still found: at once when it is one of
the new rows, the verified head itself, or rows cut from the end; and for older rows by the
full verification (verify_case: verify_chain, the API's verify, "Check everything now"),
after which the badge shows it too. Tampering goes through tests/tamper.py, which switches
PostgreSQL's append-only triggers off as an attacker with the database would."""

from __future__ import annotations

import json

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from locker.core import chain
from locker.models import Entry
from locker.selectors.chain import case_badge, full_check, verify_case

from .factories import add_entry, make_case
from .tamper import delete_entry, raw_sql, rewrite_body
from .ui_helpers import client_for

pytestmark = pytest.mark.django_db


def grown(count: int = 5):
    case = make_case()
    for n in range(count):
        add_entry(case, "call", {"number": f"9518{n}"})
    return case


def forge(entry: Entry, body: dict) -> None:
    """Rewrite an entry's body and its hash column to match it, as a forger would."""
    forged = {**entry.as_entry(), "body": body}
    raw_sql(
        "UPDATE locker_entry SET body = %s, hash = %s WHERE id = %s",
        [json.dumps(forged["body"]), chain.entry_hash(forged), entry.pk],
    )


def entry_rows_read(queries) -> list[str]:
    return [q["sql"] for q in queries if 'FROM "locker_entry"' in q["sql"]]


def test_a_badge_after_appends_reads_only_the_new_entries() -> None:
    case = grown()
    assert case_badge(case).report.ok  # the first badge checks the whole chain (6 entries)
    add_entry(case, "note", {"text": "又打来了"})
    add_entry(case, "note", {"text": "又打来了"})
    with CaptureQueriesContext(connection) as queries:
        report = case_badge(case).report
    assert report.ok and report.length == 8
    reads = entry_rows_read(queries)
    assert any('"seq" >= 6' in sql for sql in reads), reads
    assert all('"seq" >= 6' in sql or "LIMIT 1" in sql for sql in reads), reads


def test_a_changed_new_entry_is_caught_by_the_badge() -> None:
    case = grown()
    assert case_badge(case).report.ok
    new = add_entry(case, "note", {"text": "原文"})
    rewrite_body(new.pk, {"text": "改过了"})
    report = case_badge(case).report
    assert not report.ok and report.first_bad_seq == new.seq


def test_an_older_row_changed_is_found_by_the_full_verification_then_by_the_badge() -> None:
    case = grown()
    assert case_badge(case).report.ok
    old = Entry.objects.get(case=case, seq=3)
    rewrite_body(old.pk, {"number": "110"})
    add_entry(case, "note", {"text": "新的一条"})
    # The badge checked the new entry and its link to the verified head: it says nothing
    # of entry 3, which it verified before (docs/scale.md, "Pages").
    assert case_badge(case).report.ok
    full = verify_case(case, rehash_files=False)
    assert not full.ok and full.first_bad_seq == 3
    # The full verification made the badge forget its verified head: it sees it now.
    report = case_badge(case).report
    assert not report.ok and report.first_bad_seq == 3


def test_the_owners_full_check_shows_an_older_change_on_the_case_page() -> None:
    case = grown()
    owner = client_for(case.owner)
    page = reverse("case_detail", args=[case.pk])
    assert "Record verified" in owner.get(page, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    rewrite_body(Entry.objects.get(case=case, seq=2).pk, {"number": "110"})
    assert not full_check(case).report.ok
    html = owner.get(page, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Record broken at entry 2" in html


def test_a_rewritten_verified_head_makes_the_badge_check_everything() -> None:
    case = grown()
    assert case_badge(case).report.ok
    head = Entry.objects.filter(case=case).order_by("-seq").first()
    forge(head, {"number": "110"})
    report = case_badge(case).report
    # Its signed checkpoint names the old hash.
    assert not report.ok and report.first_bad_seq == head.seq


def test_entries_cut_from_the_end_below_the_verified_head_are_caught() -> None:
    case = grown()
    assert case_badge(case).report.ok
    for seq in (6, 5):
        delete_entry(Entry.objects.get(case=case, seq=seq).pk)
    report = case_badge(case).report
    assert not report.ok and "removed from the end" in (report.problem or "")


def test_new_entries_cut_from_the_end_beyond_the_verified_head_are_caught() -> None:
    """The verified head stands and the rows after it link up; only the signed checkpoint
    of a newer row, read in the badge's one query, shows that rows were cut."""
    case = grown()
    assert case_badge(case).report.ok  # verified head: entry 6
    add_entry(case, "note", {"text": "第七条"})
    eighth = add_entry(case, "note", {"text": "第八条"})
    delete_entry(eighth.pk)
    with CaptureQueriesContext(connection) as queries:
        report = case_badge(case).report
    assert not report.ok and report.first_bad_seq == 8, report
    assert "removed from the end" in (report.problem or "")
    checkpoint_reads = [q["sql"] for q in queries if "locker_checkpoint" in q["sql"]]
    assert len(checkpoint_reads) == 1 and '"seq" >= 6' in checkpoint_reads[0], checkpoint_reads


def test_a_new_entry_rewritten_with_a_matching_hash_is_caught_by_its_checkpoint() -> None:
    case = grown()
    assert case_badge(case).report.ok
    add_entry(case, "note", {"text": "原文"})
    add_entry(case, "note", {"text": "下一条"})
    last = Entry.objects.filter(case=case).order_by("-seq").first()
    forge(last, {"text": "改过了"})
    report = case_badge(case).report
    assert not report.ok and report.first_bad_seq == last.seq, report


def test_with_the_cache_cleared_the_badge_checks_the_whole_chain_again() -> None:
    case = grown()
    assert case_badge(case).report.ok
    rewrite_body(Entry.objects.get(case=case, seq=4).pk, {"number": "110"})
    cache.clear()
    report = case_badge(case).report
    assert not report.ok and report.first_bad_seq == 4


def test_the_pages_after_an_append_read_the_head_and_figures_with_the_case() -> None:
    """The case page reads the chain's head, its figures row, the kept receipts' count, the
    newest third-party time and the viewer's shares in the case's own query, the timeline
    the head and the shares: no statement of their own; the badge reads its new rows and
    checkpoints in one (docs/scale.md, "Pages")."""
    case = grown()
    owner = client_for(case.owner)
    pages = [reverse("case_detail", args=[case.pk]), reverse("timeline", args=[case.pk])]
    for page in pages:
        owner.get(page)  # the first view: figures rebuilt, whole chain verified
    for page in pages:
        add_entry(case, "call", {"number": "95188"})
        with CaptureQueriesContext(connection) as queries:
            html = owner.get(page, HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert "Record verified" in html
        statements = [q["sql"] for q in queries]
        assert not [s for s in statements if s.startswith('SELECT "locker_casestats"')]
        case_reads = [s for s in statements if s.startswith('SELECT "locker_case"."id"')]
        assert len(case_reads) == 1 and "stored_head_seq" in case_reads[0], case_reads
        head_reads = [s for s in statements if s.startswith('SELECT "locker_entry"."seq" AS "seq"')]
        assert not head_reads, head_reads
        for table in ("locker_keptreceipt", "locker_anchorleaf", "locker_share"):
            alone = [s for s in statements if table in s and "stored_head_seq" not in s]
            assert not alone, (page, alone)
        checkpoint_reads = [s for s in statements if "locker_checkpoint" in s]
        assert len(checkpoint_reads) == 1 and "locker_entry" in checkpoint_reads[0]


def test_a_badge_checked_at_this_head_stands_without_a_query() -> None:
    case = grown()
    assert case_badge(case).report.ok
    add_entry(case, "note", {"text": "又打来了"})
    head = (7, Entry.objects.get(case=case, seq=7).hash)
    assert case_badge(case, head=head).report.ok
    with CaptureQueriesContext(connection) as queries:
        report = case_badge(case, head=head).report
    assert report.ok and report.length == 7 and not queries.captured_queries


def test_entries_cut_from_the_end_show_on_the_case_page_at_once() -> None:
    """The page's head is the stored entries' (read with the case), not the head kept on the
    case row: a cut tail is a new head, so the badge's cached result for the old one is not
    shown."""
    case = grown()
    owner = client_for(case.owner)
    page = reverse("case_detail", args=[case.pk])
    assert "Record verified" in owner.get(page, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    delete_entry(Entry.objects.get(case=case, seq=6).pk)
    html = owner.get(page, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Record verified" not in html
