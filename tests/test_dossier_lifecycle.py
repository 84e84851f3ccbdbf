"""The dossier row's life without a worker process: request, the exclusive lease, progress,
finish and failure, the sweep, the task's retry policy, the broker being down, and the
summary figures the templates are made of."""

from __future__ import annotations

import time
import zoneinfo
from datetime import timedelta
from typing import Any

import pytest
from django.db import OperationalError
from django.utils import timezone, translation

from locker import tasks
from locker.core import stats
from locker.dossier.cfpb_form import form_choices
from locker.dossier.data import build_rows, summarise
from locker.dossier.us_cfpb import CFPB_NARRATIVE_LIMIT, cfpb_narrative, regf_findings
from locker.exports.bundle import bundle_lines
from locker.infra import queue
from locker.models import Dossier
from locker.services import InputError
from locker.services import dossiers as ds

from .dossier_helpers import small_case
from .factories import add_entry, make_case

pytestmark = pytest.mark.django_db


def queued(**options: Any) -> Dossier:
    case = options.pop("case", None) or make_case()
    return ds.request_dossier(
        case=case, user=case.owner, template="court", language="en", **options
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"template": "tabloid"}, "template"),
        ({"language": "fr"}, "language"),
        ({"date_from": "2026-02-01", "date_to": "2026-01-01"}, "after"),
        ({"date_from": "yesterday"}, "not a date"),
        ({"kinds": ["gossip"]}, "unknown kinds"),
        ({"time_zone": "Mars/Olympus"}, "time zone"),
    ],
)
def test_request_refuses_bad_choices(options: dict[str, Any], message: str) -> None:
    case = make_case()
    params = {"template": "court", "language": "en", **options}
    with pytest.raises(InputError, match=message):
        ds.request_dossier(case=case, user=case.owner, **params)
    assert not Dossier.objects.exists()


def test_the_row_is_enqueued_only_after_commit(
    django_capture_on_commit_callbacks, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[Any] = []
    monkeypatch.setattr(queue, "enqueue_dossier", sent.append)
    case = make_case()  # its opening entry asks for the conduct panel: not this test's
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        dossier = queued(case=case)
        assert sent == []
    assert len(callbacks) == 1 and sent == [dossier.pk]
    assert dossier.state == Dossier.State.QUEUED and dossier.enqueued_at is not None


def test_a_claim_is_exclusive_until_its_lease_runs_out(settings) -> None:
    dossier = queued()
    first = ds.claim_dossier(dossier_id=dossier.pk)
    assert first is not None and first.attempt == 1
    assert ds.claim_dossier(dossier_id=dossier.pk) is None  # a duplicate delivery
    Dossier.objects.filter(pk=dossier.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    second = ds.claim_dossier(dossier_id=dossier.pk)
    assert second is not None and second.attempt == 2
    # The first worker, back from the dead, can neither report nor finish.
    with pytest.raises(ds.LeaseLost):
        ds.report_progress(claim=first, progress=50)
    assert not ds.finish_dossier(
        claim=first,
        file_name="x",
        sha256="0" * 64,
        size=1,
        pages=1,
        chain_length=1,
        chain_head="0" * 64,
    )
    ds.report_progress(claim=second, progress=40, state=Dossier.State.SIGNING)
    assert ds.finish_dossier(
        claim=second,
        file_name="x",
        sha256="0" * 64,
        size=1,
        pages=1,
        chain_length=1,
        chain_head="0" * 64,
    )
    dossier.refresh_from_db()
    assert (dossier.state, dossier.progress, dossier.lease_token) == ("ready", 100, "")
    assert ds.claim_dossier(dossier_id=dossier.pk) is None  # finished rows stay finished


def test_claims_stop_after_the_last_attempt(settings) -> None:
    settings.LOCKER_DOSSIER_MAX_ATTEMPTS = 2
    dossier = queued()
    for _ in range(2):
        assert ds.claim_dossier(dossier_id=dossier.pk) is not None
        Dossier.objects.filter(pk=dossier.pk).update(
            lease_until=timezone.now() - timedelta(seconds=1)
        )
    assert ds.claim_dossier(dossier_id=dossier.pk) is None
    assert ds.sweep_dossiers() == []
    dossier.refresh_from_db()
    assert dossier.state == Dossier.State.FAILED
    assert "stopped repeatedly" in dossier.error


def test_sweep_requeues_rows_that_waited_or_whose_worker_vanished(settings) -> None:
    settings.LOCKER_DOSSIER_REQUEUE_S = 60
    fresh = queued()
    old = queued()
    Dossier.objects.filter(pk=old.pk).update(enqueued_at=timezone.now() - timedelta(minutes=5))
    orphan = queued()
    assert ds.claim_dossier(dossier_id=orphan.pk)
    Dossier.objects.filter(pk=orphan.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    alive = queued()
    assert ds.claim_dossier(dossier_id=alive.pk)
    assert set(ds.sweep_dossiers()) == {old.pk, orphan.pk}
    orphan.refresh_from_db()
    assert orphan.state == Dossier.State.QUEUED and orphan.lease_token == ""
    assert ds.sweep_dossiers() == []  # enqueued_at was renewed
    fresh.refresh_from_db()
    assert fresh.state == Dossier.State.QUEUED


def test_transient_errors_are_retried_then_the_row_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    dossier = queued()
    calls: list[str] = []

    def flaky(claim: ds.Claim) -> None:
        calls.append(claim.token)
        raise OperationalError("database went away")

    monkeypatch.setattr(tasks, "build_dossier", flaky)
    monkeypatch.setattr(tasks, "retry_delay", lambda retries: 0)
    result = tasks.render_dossier.apply(args=[str(dossier.pk)], throw=False)
    assert len(calls) == tasks.MAX_RETRIES + 1
    assert result.successful() and result.result == "failed"
    dossier.refresh_from_db()
    assert dossier.state == Dossier.State.FAILED
    assert "unavailable" in dossier.error and dossier.attempts == tasks.MAX_RETRIES + 1


def test_a_bug_fails_the_row_at_once_without_details(monkeypatch: pytest.MonkeyPatch) -> None:
    dossier = queued()

    def broken(claim: ds.Claim) -> None:
        raise KeyError("/secret/path")

    monkeypatch.setattr(tasks, "build_dossier", broken)
    assert tasks.render_dossier.apply(args=[str(dossier.pk)]).result == "failed"
    dossier.refresh_from_db()
    assert dossier.state == Dossier.State.FAILED and dossier.attempts == 1
    assert "secret" not in dossier.error and "internal error" in dossier.error


def test_the_task_renders_a_real_dossier_once() -> None:
    dossier = queued(case=small_case())
    assert tasks.render_dossier.apply(args=[str(dossier.pk)]).result == "ready"
    assert tasks.render_dossier.apply(args=[str(dossier.pk)]).result == "not claimed"
    dossier.refresh_from_db()
    assert dossier.state == Dossier.State.READY and dossier.attempts == 1


def test_broker_down_at_request_time(
    django_capture_on_commit_callbacks, monkeypatch: pytest.MonkeyPatch
) -> None:
    from config.celery import app

    # Nothing listens on port 1: the connection is refused at once. The write URL first:
    # Celery derives it from broker_url while it is unset, so patched after broker_url,
    # monkeypatch would put back the dead URL as the write URL, and every later test would
    # send its tasks nowhere.
    monkeypatch.setattr(app.conf, "broker_write_url", None, raising=False)
    monkeypatch.setattr(app.conf, "broker_url", "redis://127.0.0.1:1/0")
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        dossier = queued()
    assert time.monotonic() - started < 3
    dossier.refresh_from_db()
    assert dossier.state == Dossier.State.QUEUED
    assert queue.enqueue_dossier(dossier.pk) is False


def test_summary_figures() -> None:
    case = small_case()
    for day in range(3):
        for hour in (7, 12, 22):
            add_entry(
                case,
                "call",
                {"number": "95000", "tags": ["excessive_frequency"]},
                occurred_at=f"2026-01-1{day}T{hour:02d}:30:00+08:00",
            )
    zone = zoneinfo.ZoneInfo("Asia/Shanghai")
    rows = build_rows(bundle_lines(case), zone)
    conduct = summarise(rows, zone)
    assert conduct.calls == 10
    # Calendar days (Reg F's 7 consecutive days): 01-06..01-12 holds the nine of 01-10..12.
    assert conduct.max_calls_in_7_days == 9
    assert conduct.tags["excessive_frequency"].count == 9
    assert conduct.tags["threat"].count == 1
    assert conduct.per_hour[22] == 3 and conduct.per_hour[23] == 1
    assert conduct.night_contacts == 7  # 3 at 07:30, 3 at 22:30, 1 at 23:10
    figures = stats.summarise(case.entries.all(), zone)  # what the phone pages show
    assert (figures.night, figures.distinct_numbers, figures.hours) == (
        conduct.night_contacts,
        len(conduct.collector_numbers),
        conduct.per_hour,
    )
    assert sum(sum(v) for v in conduct.per_day.values()) == figures.calls + figures.messages
    assert conduct.contact_count == 11  # calls and messages, as on the phone pages
    assert conduct.collector_numbers == ["17012345678", "95000"]
    assert conduct.contacts_reached == 1
    assert [e.label for e in rows[1].exhibits] == [f"E-{rows[1].seq}"]


def test_cfpb_narrative_fits_the_form_and_maps_the_issues() -> None:
    case = small_case()
    for day in range(2):
        for hour in range(7, 12):
            add_entry(
                case,
                "call",
                {"number": "95000", "summary": "长" * 5000},
                occurred_at=f"2026-01-1{day}T{hour:02d}:30:00+08:00",
            )
    from locker.dossier.build import gather

    dossier = Dossier.objects.create(
        case=case,
        requested_by=case.owner,
        template="us_cfpb",
        language="en",
        time_zone="America/New_York",
    )
    data = gather(dossier)
    with translation.override("en"):
        findings = regf_findings(data)
        choices = form_choices(data.conduct.events, data.conduct.regf)
        narrative = cfpb_narrative(data, choices, findings)
    found = {finding.title: finding.found for finding in findings}
    assert found["More than 7 calls within 7 consecutive days"]  # 10 calls on 01-10 and 01-11
    assert found["Contacts at inconvenient times"]
    assert found["Communications with third parties"]
    assert "False statements or representation" in {choice.issue for choice in choices}
    assert len(narrative) <= CFPB_NARRATIVE_LIMIT
    assert narrative.endswith("stop these practices.")
