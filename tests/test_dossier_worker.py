"""Real Celery worker processes against real Redis and PostgreSQL (the worker must see the
rows the test commits): a worker killed with kill -9 mid-render, and a request made while
the broker was down, both end with the dossier made exactly once by the next worker."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from locker import services
from locker.dossier.build import dossier_file_name
from locker.dossier.verify import verify_dossier_pdf
from locker.infra.print_copies import print_copy_name
from locker.infra.storage import evidence_storage
from locker.models import Dossier, EvidenceFile, EvidenceText
from locker.services import dossiers as ds

from .conftest import is_postgres, needs
from .dossier_helpers import distinct_png, screenshot_png
from .factories import add_entry, make_case

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    needs(
        bool(settings.REDIS_URL) and is_postgres(),
        "a worker process needs Redis (REDIS_URL) and PostgreSQL (DATABASE_URL) to share "
        "the test's committed rows",
    ),
]


def _database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return (
        f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/"
        f"{db['NAME']}"
    )


class Worker:
    def __init__(self, tmp_path: Path, name: str) -> None:
        self.log = tmp_path / f"{name}.log"
        env = {
            **os.environ,
            "DATABASE_URL": _database_url(),
            "REDIS_URL": settings.REDIS_URL,
            "MEDIA_ROOT": str(settings.STORAGES["evidence"]["OPTIONS"]["location"]),
            "LOCKER_KEY_DIR": str(settings.LOCKER_KEY_DIR),
            # The test session's master key (tests/conftest.py): the worker reads the evidence
            # this process sealed, and seals the dossier so this process can read it back.
            "LOCKER_MASTER_KEY": settings.LOCKER_MASTER_KEY,
            "LOCKER_MASTER_KEY_FILE": "",
            "LOCKER_DATA_DIR": str(tmp_path / f"{name}-data"),
            "LOCKER_DOSSIER_LEASE_S": "4",
            "LOCKER_DOSSIER_SWEEP_S": "1",
            "LOCKER_DOSSIER_REQUEUE_S": "2",
            "CELERY_TASK_ALWAYS_EAGER": "0",
        }
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--loglevel=INFO",
                "--concurrency=1",
                "--beat",
                f"--schedule={tmp_path / name}-beat",
                f"--hostname={name}-{uuid.uuid4().hex[:6]}@%h",
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: kill -9 takes the pool child too
        )

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def wait_ready(self, timeout: float = 60) -> None:
        wait_for(lambda: " ready." in self.output(), timeout, self)

    def kill_9(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill_9()


def wait_for(
    condition: Callable[[], Any],
    timeout: float,
    worker: Worker | None = None,
    interval: float = 0.02,
) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("timed out" + (f"; worker log:\n{worker.output()}" if worker else ""))


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Callable[[str], Worker]]:
    started: list[Worker] = []

    def start(name: str) -> Worker:
        worker = Worker(tmp_path, name)
        started.append(worker)
        return worker

    yield start
    # Before the test database is flushed: the workers hold connections to it.
    for worker in started:
        worker.stop()


def dossier_files(case_id: Any) -> list[str]:
    storage = evidence_storage()
    folder = f"dossiers/{case_id}"
    return storage.listdir(folder)[1] if storage.exists(folder) else []


def state_of(dossier_id: Any) -> Dossier:
    return Dossier.objects.get(pk=dossier_id)


def test_worker_killed_mid_render_completes_exactly_once_after_restart(
    workers: Callable[[str], Worker],
) -> None:
    case = make_case()
    # Enough screenshots that rendering takes a moment (each file distinct, as stored by hash).
    png = screenshot_png(1080, 2400)
    for number in range(30):
        unique = io.BytesIO(distinct_png(png, number))
        add_entry(
            case,
            "message",
            {"channel": "sms", "sender": "106900", "text": f"截图 {number}"},
            uploads=[services.Upload(f"s{number}.png", unique)],
        )
    # As for pictures uploaded before print copies existed: the upload tasks, if delivered,
    # find nothing to do, and the dossier makes every picture (locker/dossier/images.py).
    EvidenceFile.objects.filter(case=case).update(derived=EvidenceFile.Derived.READY)
    # Nor does the reading of their text (2 s a picture here), which would keep the
    # one-process worker from the dossier past the wait below.
    EvidenceText.objects.filter(evidence__case=case).update(state=EvidenceText.State.FAILED)
    first = workers("first")
    first.wait_ready()
    dossier = ds.request_dossier(case=case, user=case.owner, template="court", language="en")

    def rendering() -> bool:
        row = state_of(dossier.pk)
        return row.state in ("rendering", "signing") and row.progress >= 5

    wait_for(rendering, 60, first, interval=0.01)
    first.kill_9()
    row = state_of(dossier.pk)
    assert row.state in ("rendering", "signing"), "the worker finished before it was killed"
    assert row.file_name == "" and row.attempts == 1
    assert not evidence_storage().exists(dossier_file_name(row))
    assert dossier_files(case.id) == []

    # The killed render stored the print copies of the pictures it had made: gone again, so
    # that the second makes them all.
    for sha256 in EvidenceFile.objects.filter(case=case).values_list("sha256", flat=True):
        evidence_storage().delete(print_copy_name(case.pk, sha256))
    second = workers("second")
    done = wait_for(lambda: state_of(dossier.pk).state in ("ready", "failed"), 90, second)
    assert done
    row = state_of(dossier.pk)
    assert row.state == "ready", row.error
    assert row.attempts == 2
    # The pictures were made by image processes started from the prefork pool's child
    # (locker/dossier/images.py), not by the threads it falls back to.
    log = second.log.read_text(errors="replace")
    assert "30 pictures prepared" in log and "0 from stored print copies" in log, second.output()
    assert "by 2 image process(es)" in log, second.output()
    assert dossier_files(case.id) == [f"{dossier.pk}.pdf"]
    with evidence_storage().open(row.file_name, "rb") as handle:
        report = verify_dossier_pdf(handle)
    assert report.ok, report.problem
    # Further sweeps and any late redelivery leave the finished row alone.
    time.sleep(3)
    again = state_of(dossier.pk)
    assert (again.finished_at, again.attempts, again.sha256) == (
        row.finished_at,
        row.attempts,
        row.sha256,
    )
    assert dossier_files(case.id) == [f"{dossier.pk}.pdf"]


def test_request_while_the_broker_is_down_is_made_by_the_sweep(
    workers: Callable[[str], Worker], monkeypatch: pytest.MonkeyPatch
) -> None:
    from config.celery import app

    case = make_case()
    add_entry(case, "call", {"number": "95000", "summary": "夜间来电"})
    monkeypatch.setattr(app.conf, "broker_url", "redis://127.0.0.1:1/0")  # nothing listens
    started = time.monotonic()
    dossier = ds.request_dossier(
        case=case, user=case.owner, template="cn_12321", language="zh-hans"
    )
    assert time.monotonic() - started < 3
    assert state_of(dossier.pk).state == "queued"
    monkeypatch.undo()

    worker = workers("sweeper")
    wait_for(lambda: state_of(dossier.pk).state in ("ready", "failed"), 90, worker)
    row = state_of(dossier.pk)
    assert row.state == "ready", row.error
    assert row.attempts == 1
    assert "sweep re-enqueued" in worker.output()
