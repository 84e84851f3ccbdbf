"""The first view of a long case (issue 14; docs/scale.md, "Pages"): with no verified head in
the cache, or no figures row, a case longer than LOCKER_INLINE_VERIFY_MAX_ENTRIES is not
verified or tallied while the page answers. The worker is asked (once for many views), the
badge says the check is under way (neither green nor red) and the figures say they are being
prepared; after the worker's task the page shows what it found. The threshold is set low
(5) so that a case of 10 entries stands for a long one."""

from __future__ import annotations

import ast

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from locker import tasks
from locker.infra import queue
from locker.models import Case, CaseStats, Entry
from locker.selectors.chain import case_badge

from . import broker_queue
from .factories import UserFactory, add_entry, make_case, share_with
from .personas import api_as
from .tamper import rewrite_body
from .ui_helpers import client_for

pytestmark = [pytest.mark.django_db]

LOW = override_settings(LOCKER_INLINE_VERIFY_MAX_ENTRIES=5, CELERY_TASK_ALWAYS_EAGER=False)


def long_case() -> Case:
    case = make_case()
    for n in range(9):
        add_entry(case, "call", {"number": f"1380000000{n}"})
    assert Entry.objects.filter(case=case).count() == 10
    return case


def messages_for(task_name: str, case: Case) -> list[broker_queue.Waiting]:
    """The messages waiting in the broker that send `task_name` for `case`."""
    return broker_queue.messages_for(task_name, str(case.pk))


@pytest.fixture
def clean_broker():
    made: list[Case] = []
    yield made
    for case in made:
        for name in (queue.CHECK_CASE_CHAIN, queue.REBUILD_CASE_STATS):
            for message in messages_for(name, case):
                message.remove()


def whole_chain_reads(queries) -> list[str]:
    """The statements that read every entry row (no LIMIT: not the head, not the recent rows,
    not a timeline page)."""
    return [
        q["sql"] for q in queries if 'FROM "locker_entry"' in q["sql"] and "LIMIT" not in q["sql"]
    ]


@LOW
def test_the_first_view_of_a_long_case_asks_the_worker_and_says_checking(
    clean_broker, django_capture_on_commit_callbacks
) -> None:
    case = long_case()
    clean_broker.append(case)
    cache.clear()
    client = client_for(case.owner)
    for page in ("case_detail", "timeline"):
        with (
            CaptureQueriesContext(connection) as queries,
            django_capture_on_commit_callbacks(execute=True),
        ):
            body = client.get(reverse(page, args=[case.pk])).content.decode()
        assert 'class="badge checking"' in body
        assert 'class="badge ok"' not in body and 'class="badge bad"' not in body
        # No verification: no statement reads the chain's rows (only its head).
        assert not whole_chain_reads(queries)
    for _ in range(5):
        with django_capture_on_commit_callbacks(execute=True):
            assert case_badge(case).checking
    assert len(messages_for(queue.CHECK_CASE_CHAIN, case)) == 1
    # The worker's check: the badge is green, read from the cache.
    assert tasks.check_case_chain.apply(args=(str(case.pk),)).get() == "verified"
    badge = case_badge(case)
    assert badge.report.ok and not badge.checking and badge.report.length == 10
    body = client.get(reverse("case_detail", args=[case.pk])).content.decode()
    assert 'class="badge ok"' in body and 'class="badge checking"' not in body


@LOW
def test_a_changed_row_is_red_after_the_workers_check(
    clean_broker, django_capture_on_commit_callbacks
) -> None:
    case = long_case()
    clean_broker.append(case)
    rewrite_body(Entry.objects.get(case=case, seq=4).pk, {"number": "110"})
    cache.clear()
    with django_capture_on_commit_callbacks(execute=True):
        badge = case_badge(case)
    assert badge.checking and badge.report.first_bad_seq is None
    assert tasks.check_case_chain.apply(args=(str(case.pk),)).get() == "broken"
    badge = case_badge(case)
    assert not badge.checking and not badge.report.ok and badge.report.first_bad_seq == 4
    body = client_for(case.owner).get(reverse("case_detail", args=[case.pk])).content.decode()
    assert 'class="badge bad"' in body


@LOW
def test_a_short_case_is_still_verified_inline() -> None:
    case = make_case()
    for n in range(3):
        add_entry(case, "call", {"number": f"1380000000{n}"})
    cache.clear()
    badge = case_badge(case)
    assert badge.report.ok and not badge.checking


@LOW
def test_a_long_cases_missing_figures_are_rebuilt_by_the_worker(
    clean_broker, django_capture_on_commit_callbacks
) -> None:
    case = long_case()
    clean_broker.append(case)
    CaseStats.objects.filter(case=case).delete()
    client = client_for(case.owner)
    url = reverse("case_detail", args=[case.pk])
    for _ in range(3):
        with (
            CaptureQueriesContext(connection) as queries,
            django_capture_on_commit_callbacks(execute=True),
        ):
            body = client.get(url).content.decode()
        assert 'class="charts pending"' in body
        # No tally: no statement reads the entries' bodies.
        assert not whole_chain_reads(queries)
    assert not CaseStats.objects.filter(case=case).exists()
    assert len(messages_for(queue.REBUILD_CASE_STATS, case)) == 1
    (message,) = messages_for(queue.REBUILD_CASE_STATS, case)
    args = ast.literal_eval(message.headers["argsrepr"])
    assert args == (str(case.pk), settings.TIME_ZONE)  # the viewer's zone
    assert tasks.rebuild_case_stats.apply(args=args).get() == "rebuilt"
    assert tasks.rebuild_case_stats.apply(args=args).get() == "current"  # idempotent
    body = client.get(url).content.decode()
    assert 'class="charts pending"' not in body
    assert '<div class="figure"><strong>9</strong>' in body


def test_the_checking_badge_and_pending_figures_are_translated() -> None:
    from django.template.loader import render_to_string
    from django.utils import translation

    from locker.core import chain
    from locker.selectors.chain import Badge

    badge = Badge(chain.ChainReport(False, 10, "0" * 64), None, checking=True)
    with translation.override("zh-hans"):
        html = render_to_string("locker/_badge.html", {"badge": badge})
    assert "正在核验记录链…共 10 条记录" in html and "被破坏" not in html


@LOW
def test_the_desk_and_the_api_say_checking_not_broken(
    clean_broker, django_capture_on_commit_callbacks
) -> None:
    case = long_case()
    clean_broker.append(case)
    lawyer = UserFactory()
    share_with(case, lawyer, "reviewer")
    cache.clear()
    with django_capture_on_commit_callbacks(execute=True):
        (row,) = api_as(lawyer).get("/api/shared-cases").json()
    assert row["chain_checking"] is True and row["chain_ok"] is False
    assert row["first_bad_seq"] is None and row["chain_length"] == 10
    tasks.check_case_chain.apply(args=(str(case.pk),)).get()
    (row,) = api_as(lawyer).get("/api/shared-cases").json()
    assert row["chain_checking"] is False and row["chain_ok"] is True
