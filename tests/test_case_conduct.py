"""The case page's conduct panel (issue 15 "the case page shows flagged conduct per number",
docs/analysis.md "On the case page"): a CaseConduct row the worker keeps with the analysis
page's own computation, read with the case in the case page's one query for it. Claimed once
per head, never overwritten by an older computation, failed on the row, swept when behind,
emptied by an erasure, asked for once per burst of appends and without a statement in the
append; the panel's numbers are the analysis page's."""

from __future__ import annotations

import json
import re
import zoneinfo
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from locker import services
from locker.core import conduct
from locker.models import Case, CaseConduct, Entry
from locker.selectors.analysis import case_analysis
from locker.services import analysis as analysis_services
from locker.services import case_conduct

from . import broker_queue
from .factories import UserFactory, add_entry, make_case, run_worker_on_conduct
from .personas import Personas
from .test_conduct import MONTH
from .ui_helpers import client_for

pytestmark = pytest.mark.django_db

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


def log_month(case: Case) -> None:
    """tests/test_conduct.py's month of harassment (March 2026, hand-counted there), logged
    through the append path as the owner would."""
    for _seq, kind, at, body in MONTH:
        add_entry(case, kind, dict(body), occurred_at=at + "+08:00")


def page(client, name: str, case: Case) -> str:
    response = client.get(reverse(name, args=[case.pk]))
    assert response.status_code == 200
    return response.content.decode()


def number_rows(html: str, section_id: str) -> dict[str, list[str]]:
    """The rows of the collector numbers' table inside the element with `section_id`: the
    number, then the cells, tags stripped."""
    start = html.index(f'id="{section_id}"')
    table = html[html.index("<tbody>", start) : html.index("</tbody>", start)]
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", table, re.S):
        head = re.search(r'<th scope="row">([^<]*)', row)
        assert head is not None
        rows[head.group(1).strip()] = re.findall(r"<td>([^<]*)</td>", row)
    return rows


def test_the_panel_counts_what_the_analysis_page_counts_for_a_month() -> None:
    w = Personas()
    log_month(w.case)
    assert run_worker_on_conduct(w.case) == "ready"
    row = CaseConduct.objects.get(case=w.case)
    head = Entry.objects.filter(case=w.case).order_by("-seq").values_list("seq", "hash").first()
    assert (row.seq, row.head) == head and row.time_zone == "Asia/Shanghai"
    # The same object the analysis page renders, busiest numbers first, claims cut short.
    whole = conduct.compact(case_analysis(w.case, SHANGHAI).conduct, numbers=None, claims=None)
    assert row.figures == conduct.compact(case_analysis(w.case, SHANGHAI).conduct)
    assert row.figures["numbers"] == whole["numbers"][: conduct.PANEL_NUMBERS]
    # By hand (tests/test_conduct.py): 15 contacts, three numbers, two contacts reached.
    assert (row.figures["contacts"], row.figures["calls"], row.figures["messages"]) == (15, 12, 3)
    assert row.figures["contacts_reached"] == 2 and row.figures["numbers_total"] == 3

    owner = w.web("owner")
    panel = number_rows(page(owner, "case_detail", w.case), "conduct-panel")
    analysis = number_rows(page(owner, "case_analysis", w.case), "conduct-numbers")
    # Number: calls, messages, at night, (b)(2)(i), (b)(2)(ii); the analysis page has three
    # more columns (days, most in a day, most in 7 days) after messages.
    assert panel == {
        "13800000001": ["8", "0", "2", "0", "4"],
        "13900000002": ["4", "0", "1", "0", "4"],
        "10690000": ["0", "3", "0", "0", "0"],
    }
    assert {n: cells[:2] + cells[5:] for n, cells in analysis.items()} == panel
    case_page = page(owner, "case_detail", w.case)
    assert f"截至第 {head[0]} 条记录" in case_page and "正在更新" not in case_page
    assert reverse("case_analysis", args=[w.case.pk]) in case_page


def test_a_second_run_claims_nothing_and_an_append_makes_it_stale() -> None:
    case = make_case()
    add_entry(case, "call", {"number": "13800000001"})
    assert run_worker_on_conduct(case) == "ready"
    assert run_worker_on_conduct(case) == "not claimed"  # a duplicate delivery
    add_entry(case, "call", {"number": "13800000001"})
    html = page(client_for(case.owner), "case_detail", case)
    assert "正在更新" in html and "截至第 2 条记录" in html
    assert run_worker_on_conduct(case) == "ready"
    row = CaseConduct.objects.get(case=case)
    assert row.seq == 3 and row.figures["numbers"][0]["calls"] == 2


def test_an_older_computation_never_overwrites_a_newer_one() -> None:
    case = make_case()
    add_entry(case, "call", {"number": "13800000001"})
    older = case_conduct.claim(case.pk)
    assert older is not None
    assert case_conduct.claim(case.pk) is None  # held: one worker at a time
    add_entry(case, "message", {"channel": "sms", "sender": "10690000", "text": "还钱"})
    # The first worker's lease ran out (it died, or took too long); another takes over.
    CaseConduct.objects.filter(case=case).update(lease_until=timezone.now() - timedelta(1))
    newer = case_conduct.claim(case.pk)
    assert newer is not None and newer.seq == older.seq + 1
    assert case_conduct.finish(newer, case_conduct.compute(newer))
    assert not case_conduct.finish(older, case_conduct.compute(older))
    row = CaseConduct.objects.get(case=case)
    assert row.seq == newer.seq and row.figures["messages"] == 1
    # Of two computations of one head, the one begun later is kept, whichever ends last.
    CaseConduct.objects.filter(case=case).update(seq=0)
    begun = timezone.now()
    with time_machine.travel(begun, tick=False):
        first = case_conduct.claim(case.pk)
    with time_machine.travel(begun + timedelta(hours=1), tick=False):
        second = case_conduct.claim(case.pk)  # the first one's lease ran out
    assert first is not None and second is not None and first.seq == second.seq
    CaseConduct.objects.filter(case=case).update(started_at=None)
    assert case_conduct.finish(second, {"v": conduct.COMPACT_VERSION, "mark": "second"})
    assert not case_conduct.finish(first, {"v": conduct.COMPACT_VERSION, "mark": "first"})
    assert CaseConduct.objects.get(case=case).figures["mark"] == "second"


def test_a_failure_is_marked_on_the_row_and_not_tried_again_at_that_head(
    settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = make_case()
    add_entry(case, "call", {"number": "13800000001"})
    assert run_worker_on_conduct(case) == "ready"
    add_entry(case, "call", {"number": "13800000001"})

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug, with a secret 13800000001 in its message")

    # A bug in the computation (the analysis reads any stored body without failing).
    monkeypatch.setattr(case_conduct, "case_conduct", broken)
    assert run_worker_on_conduct(case) == "failed"
    row = CaseConduct.objects.get(case=case)
    assert row.error == case_conduct.INTERNAL_ERROR and row.failed_seq == 3
    assert "secret" not in row.error
    assert row.seq == 2 and row.figures is not None  # the last good figures stay
    assert row.lease_token == "" and row.lease_until is None
    assert run_worker_on_conduct(case) == "not claimed"  # a bug fails the same way again
    settings.CELERY_TASK_ALWAYS_EAGER = True
    assert case_conduct.sweep() == 0
    html = page(client_for(case.owner), "case_detail", case)
    assert "这份摘要未能更新" in html and "截至第 2 条记录" in html
    # A longer chain is tried again.
    monkeypatch.undo()
    add_entry(case, "call", {"number": "13800000001"})
    assert case_conduct.sweep() == 1
    row = CaseConduct.objects.get(case=case)
    assert (row.seq, row.error, row.failed_seq) == (4, "", None)


def test_the_sweep_asks_for_the_cases_behind_their_head(settings) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = True  # the sweep's requests computed here and now
    current, behind, missing, held = (make_case() for _ in range(4))
    opened = make_case()  # its one entry opens it (case_update): its panel says so
    for case in (current, behind, missing, held):
        add_entry(case, "call", {"number": "13800000001"})
    for case in (current, behind, held):
        assert run_worker_on_conduct(case) == "ready"
    for case in (behind, held):
        add_entry(case, "call", {"number": "13800000001"})
    CaseConduct.objects.filter(case=held).update(
        lease_token="x", lease_until=timezone.now() + timedelta(minutes=5)
    )
    assert case_conduct.sweep() == 3
    seqs = dict(CaseConduct.objects.values_list("case_id", "seq"))
    assert seqs == {current.pk: 2, behind.pk: 3, missing.pk: 2, held.pk: 2, opened.pk: 1}
    assert case_conduct.sweep() == 0


def test_an_erasure_empties_the_panel_at_once_and_an_older_computation_stays_out() -> None:
    w = Personas()
    owner = w.owner
    add_entry(w.case, "call", {"number": "13800000001"})
    secret = add_entry(w.case, "call", {"number": "17099998888", "caller_claims": "法院"})
    assert run_worker_on_conduct(w.case) == "ready"
    assert "17099998888" in page(w.web("owner"), "case_detail", w.case)
    CaseConduct.objects.filter(case=w.case).update(seq=0)
    before = case_conduct.claim(w.case.pk)  # begun before the erasure: reads the record
    assert before is not None
    figures = case_conduct.compute(before)
    services.erase_entry(case=w.case, seq=secret.seq, user=owner, author=f"user:{owner.pk}")
    row = CaseConduct.objects.get(case=w.case)
    assert row.figures is None and row.floor_seq == secret.seq + 1
    html = page(w.web("owner"), "case_detail", w.case)
    assert "17099998888" not in html and "分析正在准备中" in html
    assert not case_conduct.finish(before, figures)
    assert CaseConduct.objects.get(case=w.case).figures is None
    assert run_worker_on_conduct(w.case) == "ready"
    row = CaseConduct.objects.get(case=w.case)
    assert "17099998888" not in json.dumps(row.figures) and "法院" not in json.dumps(row.figures)
    assert [n["number"] for n in row.figures["numbers"]] == ["13800000001"]


def test_confirmed_tags_reach_the_panel_after_the_next_computation() -> None:
    w = Personas()
    message = add_entry(
        w.case, "message", {"channel": "sms", "sender": "10690000", "text": "起诉你"}
    )
    run_worker_on_conduct(w.case)
    row = CaseConduct.objects.get(case=w.case)
    assert row.figures["suggestions"] >= 1 and row.figures["tags"] == []
    analysis_services.confirm_suggested_tags(
        case=w.case, author=f"user:{w.owner.pk}", seq=message.seq, tags=["fake_legal_document"]
    )
    assert "正在更新" in page(w.web("owner"), "case_detail", w.case)
    run_worker_on_conduct(w.case)
    row = CaseConduct.objects.get(case=w.case)
    assert row.figures["tags"] == [["fake_legal_document", 1]]
    assert row.figures["numbers"][0]["tags"] == [["fake_legal_document", 1]]
    assert "伪造法律文书 1" in page(w.web("owner"), "case_detail", w.case)


def test_readers_of_the_case_page_see_the_panel_and_nobody_else_does() -> None:
    w = Personas().everyone()
    add_entry(w.case, "call", {"number": "13800000001", "caller_claims": "律师"})
    url = reverse("case_detail", args=[w.case.pk])
    assert 'id="conduct-panel"' in w.web("owner").get(url).content.decode()
    assert "分析正在准备中" in w.web("owner").get(url).content.decode()
    run_worker_on_conduct(w.case)
    for persona in ("owner", "viewer", "reviewer"):
        html = w.web(persona).get(url).content.decode()
        assert 'id="conduct-panel"' in html and "13800000001" in html and "律师" in html, persona
    for persona in ("revoked", "stranger"):
        response = w.web(persona).get(url)
        assert response.status_code == 404 and "13800000001" not in response.content.decode()
    assert w.web("anonymous").get(url).status_code == 302


def test_the_panel_costs_the_case_page_no_query() -> None:
    w = Personas()
    log_month(w.case)
    client = w.web("owner")
    url = reverse("case_detail", args=[w.case.pk])
    client.get(url)  # the figures row and the badge's verified head, made once
    with CaptureQueriesContext(connection) as without_panel:
        assert "分析正在准备中" in client.get(url).content.decode()
    run_worker_on_conduct(w.case)
    with CaptureQueriesContext(connection) as with_panel:
        assert "13800000001" in client.get(url).content.decode()
    assert len(with_panel) == len(without_panel)
    reads = [q["sql"] for q in with_panel if "locker_caseconduct" in q["sql"]]
    assert len(reads) == 1 and '"locker_case"."title"' in reads[0]  # the case's own query


def broker_messages(case: Case) -> list[broker_queue.Waiting]:
    """The messages waiting in the broker that ask for `case`'s panel."""
    return broker_queue.messages_for(None, str(case.pk))


def test_an_append_asks_without_a_statement_and_a_burst_asks_once(
    django_capture_on_commit_callbacks,
) -> None:
    case = make_case()
    add_entry(case, "note")
    try:
        with (
            CaptureQueriesContext(connection) as queries,
            django_capture_on_commit_callbacks(execute=True),
        ):
            add_entry(case, "call", {"number": "13800000001"})
        assert not [q["sql"] for q in queries if "caseconduct" in q["sql"].lower()]
        assert len(broker_messages(case)) == 1
        # A burst: each further append finds the case's key in the cache, and sends nothing.
        for _ in range(100):
            with django_capture_on_commit_callbacks(execute=True):
                add_entry(case, "call", {"number": "13800000001"})
        assert len(broker_messages(case)) == 1
        # The worker takes the key when it starts: the next append asks again.
        assert run_worker_on_conduct(case) == "ready"
        with django_capture_on_commit_callbacks(execute=True):
            add_entry(case, "call", {"number": "13800000001"})
        assert len(broker_messages(case)) == 2
    finally:
        for message in broker_messages(case):
            message.remove()


def test_with_eager_celery_the_panel_is_there_after_the_append(
    settings, django_capture_on_commit_callbacks
) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = True
    w = Personas()
    with django_capture_on_commit_callbacks(execute=True):
        add_entry(w.case, "call", {"number": "13800000001"}, occurred_at="2026-03-02T23:00+08:00")
    html = page(w.web("owner"), "case_detail", w.case)
    assert "13800000001" in html and "正在更新" not in html


def test_the_owners_zone_counts_the_nights_and_a_change_of_zone_counts_again(
    settings, django_capture_on_commit_callbacks
) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = True
    owner = UserFactory()
    services.set_preferences(user=owner, time_zone="America/New_York")
    case = make_case(owner=owner)
    # 23:00 in Shanghai is 10:00 (or 11:00) in New York: night in one, day in the other.
    add_entry(case, "call", {"number": "13800000001"}, occurred_at="2026-03-02T23:00+08:00")
    run_worker_on_conduct(case)
    row = CaseConduct.objects.get(case=case)
    assert row.time_zone == "America/New_York" and row.figures["night"] == 0
    with django_capture_on_commit_callbacks(execute=True):
        services.set_preferences(user=owner, time_zone="Asia/Shanghai")
    row = CaseConduct.objects.get(case=case)
    assert row.time_zone == "Asia/Shanghai" and row.figures["night"] == 1


def test_the_beat_schedule_sweeps_the_panels() -> None:
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "locker.tasks.sweep_case_conduct" in tasks


def test_each_wording_of_the_panel_has_one_home() -> None:
    """The panel and the analysis page render the numbers and the overall counts with the
    same fragments; neither page spells those words itself."""
    templates = Path(__file__).resolve().parent.parent / "templates" / "locker"
    for name in ("case_detail.html", "analysis.html", "_conduct_panel.html"):
        text = (templates / name).read_text(encoding="utf-8")
        for words in ("More than 7 calls in 7 days", "Contacts of yours reached", "At night"):
            assert words not in text, (name, words)
