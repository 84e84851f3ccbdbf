"""The case page's figures kept up to date on append (issue 14): after every append,
correction and erasure, the running tally in the CaseStats row gives exactly what the full
computation (locker.core.stats.summarise over every entry) gives, in several zones, tags
in the same order; the row is brought forward by the append itself (no rebuild); the case
page and a rebuild read the same numbers; erased content leaves no trace in the row."""

from __future__ import annotations

import json
import re
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from locker import services
from locker.core import stats
from locker.models import CaseStats, CaseStatsCount, Entry
from locker.selectors.cases import full_summary
from locker.services import case_stats

from .factories import add_entry, make_case
from .personas import Personas

pytestmark = pytest.mark.django_db

ZONES = ("Asia/Shanghai", "America/New_York", "Asia/Kathmandu")
ERASED_NUMBER = "+86 139 0000 7777"


def full(case, key: str) -> stats.Summary:
    return full_summary(case, ZoneInfo(key))


def kept(case, key: str) -> stats.Summary:
    """The figures as the row holds them, checked to be the chain's head (not rebuilt)."""
    row = CaseStats.objects.get(case=case)
    head = Entry.objects.filter(case=case).order_by("-seq").first()
    assert (row.seq, row.head) == (head.seq, head.hash)
    # No count left at zero (or below): a count that falls to zero is deleted.
    assert not CaseStatsCount.objects.filter(case=case, count__lte=0).exists()
    return case_stats.stored_tally(case, row).summary(key)


def assert_same(case) -> None:
    for key in ZONES:
        incremental, computed = kept(case, key), full(case, key)
        assert incremental == computed, key
        assert list(incremental.tags.items()) == list(computed.tags.items()), key


def correct(case, seq: int, reason: str, **changes) -> Entry:
    return services.append_entry(
        case=case,
        author=f"user:{case.owner_id}",
        kind="correction",
        body={"corrects_seq": seq, "reason": reason, "changes": changes},
    ).entry


def erase(case, seq: int, capture) -> None:
    with capture(execute=True):
        services.erase_entry(case=case, seq=seq, user=case.owner, author=f"user:{case.owner_id}")


def test_tally_follows_appends_corrections_and_erasures(django_capture_on_commit_callbacks):
    case = make_case()
    for key in ZONES:  # the zones the case is viewed in: each kept from then on
        services_tally = case_stats.rebuild_case_stats(case=case, tz=ZoneInfo(key))
        assert key in services_tally.zones
    late = add_entry(
        case,
        "call",
        {"number": "138 0000 1111", "tags": ["threat", "night_time"]},
        occurred_at="2026-01-05T23:10:00+08:00",
    )
    add_entry(case, "call", {"number": "+8613800001111", "direction": "missed"})
    add_entry(
        case,
        "call",
        {"number": "95188", "direction": "outgoing", "tags": ["threat"]},
        occurred_at="2026-01-06T07:59:00+08:00",
    )
    message = add_entry(
        case,
        "message",
        {"channel": "sms", "text": "还钱", "tags": ["contact_list_blast"]},
        occurred_at="2026-01-06T13:45:00Z",
    )
    relative = add_entry(
        case, "call", {"number": ERASED_NUMBER, "tags": ["insult"]}, occurred_at=None
    )
    add_entry(case, "contact_report", {"contact_name": "王 阿姨", "summary": "说我欠钱"})
    add_entry(case, "contact_report", {"contact_name": "王阿姨"})
    add_entry(case, "contact_report", {"contact_name": "李华", "tags": ["threat"]})
    add_entry(case, "note", {"text": "记"})
    add_entry(case, "message", {"channel": "wechat", "text": "法院", "tags": ["impersonation"]})
    assert_same(case)

    # A corrected time moves a contact to another day and hour; a corrected number and tags.
    correct(case, late.seq, "时间记错", occurred_at="2026-01-07T09:00:00+08:00")
    assert_same(case)
    fix = correct(case, message.seq, "标签", tags=["threat"])
    assert_same(case)
    correct(case, late.seq, "号码", number="138 0000 2222", tags=["night_time"])
    assert_same(case)

    # Erasing a correction puts the corrected entry back as it was before it.
    erase(case, fix.seq, django_capture_on_commit_callbacks)
    assert_same(case)
    erase(case, relative.seq, django_capture_on_commit_callbacks)
    assert CaseStats.objects.filter(case=case).exists()
    assert_same(case)
    # The erased number is in no figure and nowhere in the row.
    row = CaseStats.objects.get(case=case)
    assert "7777" not in json.dumps(row.tally)
    keys = list(CaseStatsCount.objects.filter(case=case).values_list("key", flat=True))
    assert keys and not [key for key in keys if "7777" in key]
    # A correction of an erased entry changes nothing.
    erase(case, message.seq, django_capture_on_commit_callbacks)
    assert_same(case)
    summary = full(case, "Asia/Shanghai")
    assert (summary.calls, summary.messages, summary.contacts_reached) == (2, 1, 3)


def test_tally_leaves_out_the_messages_the_borrower_sent(django_capture_on_commit_callbacks):
    """A message the borrower sent is no contact (stats.is_contact): the kept tally follows
    it in and out of the counts as corrections turn it around, in every zone."""
    case = make_case()
    for key in ZONES:
        case_stats.rebuild_case_stats(case=case, tz=ZoneInfo(key))
    add_entry(
        case,
        "message",
        {"channel": "sms", "sender": "10690000", "text": "还钱", "tags": ["threat"]},
        occurred_at="2026-01-05T23:10:00+08:00",
    )
    mine = add_entry(
        case,
        "message",
        {"channel": "sms", "direction": "outgoing", "text": "请停止", "tags": ["asked_to_stop"]},
        occurred_at="2026-01-06T22:30:00+08:00",
    )
    assert_same(case)
    summary = full(case, "Asia/Shanghai")
    assert (summary.messages, summary.night, summary.tags["asked_to_stop"]) == (1, 1, 1)
    correct(case, mine.seq, "其实是收到的", direction="incoming")
    assert_same(case)
    assert full(case, "Asia/Shanghai").messages == 2
    turned = correct(case, mine.seq, "是我发的", direction="outgoing")
    assert_same(case)
    assert full(case, "Asia/Shanghai").messages == 1
    erase(case, turned.seq, django_capture_on_commit_callbacks)
    assert_same(case)
    assert full(case, "Asia/Shanghai").messages == 2


def test_tags_are_listed_by_count_then_name_on_both_paths() -> None:
    case = make_case()
    zone = ZoneInfo("Asia/Shanghai")
    add_entry(case, "message", {"channel": "sms", "text": "一", "tags": ["threat", "insult"]})
    add_entry(case, "message", {"channel": "sms", "text": "二", "tags": ["threat"]})
    add_entry(case, "call", {"number": "3", "tags": ["night_time", "insult", "asked_to_stop"]})
    case_stats.rebuild_case_stats(case=case, tz=zone)
    add_entry(case, "call", {"number": "4", "tags": ["asked_to_stop"]})
    expected = [("asked_to_stop", 2), ("insult", 2), ("threat", 2), ("night_time", 1)]
    assert list(full_summary(case, zone).tags.items()) == expected
    assert list(kept(case, "Asia/Shanghai").tags.items()) == expected


def test_a_row_behind_the_head_is_rebuilt_not_trusted() -> None:
    case = make_case()
    zone = ZoneInfo("Asia/Shanghai")
    add_entry(case, "call", {"number": "1"})
    CaseStats.objects.filter(case=case).update(seq=1)  # as if an append had gone around it
    add_entry(case, "call", {"number": "2"})
    row = CaseStats.objects.get(case=case)
    assert row.seq == 1  # the append did not fold into a row that missed one
    head = Entry.objects.filter(case=case).order_by("-seq").values_list("seq", "hash").first()
    summary = case_stats.current_summary(case=case, tz=zone, head=head)
    assert summary.calls == 2 and summary == full_summary(case, zone)


def test_case_page_shows_the_kept_figures_and_reads_no_entry_bodies(world: Personas) -> None:
    case = world.case
    for n in range(3):
        add_entry(case, "call", {"number": f"1380000{n}"}, occurred_at="2026-01-05T23:10:00+08:00")
    add_entry(
        case, "message", {"channel": "sms", "text": "还钱"}, occurred_at="2026-01-05T12:00:00+08:00"
    )
    client = world.web("owner")
    url = reverse("case_detail", args=[case.pk])
    client.get(url)  # the first view in this zone adds the zone to the row
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        html = client.get(url).content.decode()
    figures = [int(n) for n in re.findall(r'class="figure[^"]*"><strong>(\d+)</strong>', html)]
    computed = full_summary(case, ZoneInfo("Asia/Shanghai"))
    assert figures == [
        computed.calls,
        computed.messages,
        computed.night,
        computed.distinct_numbers,
        computed.contacts_reached,
    ]
    assert figures[:3] == [3, 1, 3]
    entry_reads = [q["sql"] for q in queries if 'FROM "locker_entry"' in q["sql"]]
    # The head, the badge's new entries since its last check (none), and the latest rows.
    assert all("LIMIT" in sql for sql in entry_reads), entry_reads


def test_an_append_writes_a_few_small_counts_not_the_case_history() -> None:
    """The growing figures (numbers, days, tags) are rows of their own: the row an append
    rewrites stays the same size however many numbers and days the case has, and an append
    changes only the counts its entry is in."""
    case = make_case()
    for key in ZONES:
        case_stats.rebuild_case_stats(case=case, tz=ZoneInfo(key))
    sizes = []
    for day in range(1, 21):
        add_entry(
            case,
            "call",
            {"number": f"1390000{day:04d}", "tags": ["threat"]},
            occurred_at=f"2026-01-{day:02d}T10:00:00+08:00",
        )
        sizes.append(len(json.dumps(CaseStats.objects.get(case=case).tally)))
    assert max(sizes) - sizes[0] <= 8, sizes  # a few more digits, nothing per day or number
    before = dict(CaseStatsCount.objects.filter(case=case).values_list("key", "count"))
    assert len(before) == 20 + 1 + 20 * 3  # numbers, one tag, a day per zone
    add_entry(case, "call", {"number": "13900000001"}, occurred_at="2026-01-01T11:00:00+08:00")
    after = dict(CaseStatsCount.objects.filter(case=case).values_list("key", "count"))
    changed = {key for key in after if after[key] != before.get(key)}
    assert changed == {
        "number:13900000001",
        "day:Asia/Shanghai:2026-01-01:calls",
        "day:America/New_York:2025-12-31:calls",
        "day:Asia/Kathmandu:2026-01-01:calls",
    }
    assert_same(case)


def test_a_correction_that_moves_the_last_call_of_a_number_leaves_no_count_of_it() -> None:
    case = make_case()
    for key in ZONES:
        case_stats.rebuild_case_stats(case=case, tz=ZoneInfo(key))
    call = add_entry(
        case, "call", {"number": "13900005555"}, occurred_at="2026-01-05T10:00:00+08:00"
    )
    correct(
        case, call.seq, "号码记错", number="13900006666", occurred_at="2026-01-06T10:00:00+08:00"
    )
    keys = set(CaseStatsCount.objects.filter(case=case).values_list("key", flat=True))
    assert "number:13900006666" in keys and "day:Asia/Shanghai:2026-01-06:calls" in keys
    assert not {key for key in keys if "5555" in key or "Shanghai:2026-01-05" in key}, keys
    assert_same(case)


def test_the_migration_splits_a_kept_tally_into_its_head_part_and_counts() -> None:
    """Rows written before the counts had rows of their own (migration 0033)."""
    from importlib import import_module

    from django.apps import apps

    migration = import_module("locker.migrations.0034_case_stats_counts")
    case = make_case()
    zone = ZoneInfo("Asia/Shanghai")
    case_stats.rebuild_case_stats(case=case, tz=zone)
    add_entry(case, "call", {"number": "13900001234", "tags": ["insult"]})
    add_entry(case, "contact_report", {"contact_name": "王阿姨"})
    row = CaseStats.objects.get(case=case)
    whole = case_stats.stored_tally(case, row)
    CaseStatsCount.objects.filter(case=case).delete()
    CaseStats.objects.filter(case=case).update(tally=whole.as_json())  # the old form
    migration.split_tallies(apps, None)
    row = CaseStats.objects.get(case=case)
    assert row.tally == whole.head_part()
    assert case_stats.stored_tally(case, row).as_json() == whole.as_json()
    assert kept(case, "Asia/Shanghai") == full(case, "Asia/Shanghai")
