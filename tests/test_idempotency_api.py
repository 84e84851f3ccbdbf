"""The API's Idempotency-Key: a retry after a lost response gets the first answer (same seq,
same receipt) and records nothing twice; the same key with another request is a 422."""

from __future__ import annotations

import errno
import json
import os
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from config.celery import app
from locker.infra import storage
from locker.models import Case

from .personas import Personas
from .ui_helpers import png_bytes

pytestmark = pytest.mark.django_db


def post(world: Personas, path: str, data: Any, key: str | None, **extra: Any) -> Any:
    api = world.api("owner")
    headers = {**api.headers, **({"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {})}
    if isinstance(data, dict) and "files" in data:
        return api.client.post(path, data, **headers, **extra)
    return api.client.post(path, json.dumps(data), content_type="application/json", **headers)


def entries_url(world: Personas) -> str:
    return f"/api/cases/{world.case.id}/entries"


NOTE = {"kind": "note", "body": {"text": "凌晨两点又打来了"}}


def test_a_retry_with_the_same_key_gets_the_first_answer(world: Personas) -> None:
    before = world.case.entries.count()
    first = post(world, entries_url(world), NOTE, "retry-1")
    again = post(world, entries_url(world), NOTE, "retry-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()  # the same seq, hash and receipt
    assert again["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
    assert world.case.entries.count() == before + 1


def test_a_post_with_a_key_looks_its_token_up_once(world: Personas) -> None:
    with CaptureQueriesContext(connection) as queries:
        assert post(world, entries_url(world), NOTE, "once").status_code == 201
    lookups = [
        q["sql"] for q in queries if q["sql"].startswith("SELECT") and "token_hash" in q["sql"]
    ]
    assert len(lookups) == 1, lookups


def test_without_a_key_each_post_is_a_new_record(world: Personas) -> None:
    before = world.case.entries.count()
    post(world, entries_url(world), NOTE, None)
    post(world, entries_url(world), NOTE, None)
    assert world.case.entries.count() == before + 2


def test_the_same_key_with_another_body_is_422_and_records_nothing(world: Personas) -> None:
    post(world, entries_url(world), NOTE, "k")
    before = world.case.entries.count()
    other = post(world, entries_url(world), {**NOTE, "body": {"text": "另一件事"}}, "k")
    assert other.status_code == 422 and "different request" in other.json()["detail"]
    assert world.case.entries.count() == before


def test_a_multipart_retry_with_its_file_is_recorded_once(world: Personas) -> None:
    before = world.case.entries.count()

    def send() -> Any:
        upload = SimpleUploadedFile("shot.png", png_bytes(), content_type="image/png")
        return post(
            world, entries_url(world), {"entry": json.dumps(NOTE), "files": [upload]}, "m-1"
        )

    first, again = send(), send()
    assert first.status_code == again.status_code == 201 and again.json() == first.json()
    assert world.case.entries.count() == before + 1


def test_other_creating_posts_take_the_key_too(world: Personas) -> None:
    before = Case.objects.count()
    facts = {"title": "另一笔网贷", "lender": "闪电借款"}
    first = post(world, "/api/cases", facts, "case-1")
    again = post(world, "/api/cases", facts, "case-1")
    assert first.status_code == 201 and again.json()["id"] == first.json()["id"]
    assert Case.objects.count() == before + 1


def test_a_bad_key_is_400(world: Personas) -> None:
    response = post(world, entries_url(world), NOTE, "x" * 256)
    assert response.status_code == 400 and "Idempotency-Key" in response.json()["detail"]


def test_a_failure_worth_retrying_is_not_kept_for_the_key(world: Personas, monkeypatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(storage.os, "fsync", broken)
    before = world.case.entries.count()

    def send() -> Any:
        upload = SimpleUploadedFile("shot.png", png_bytes(), content_type="image/png")
        return post(
            world, entries_url(world), {"entry": json.dumps(NOTE), "files": [upload]}, "s-1"
        )

    assert send().status_code == 503
    monkeypatch.undo()
    retried = send()
    assert retried.status_code == 201 and "Idempotent-Replayed" not in retried
    assert world.case.entries.count() == before + 1


def test_every_scheduled_task_exists(settings) -> None:
    app.loader.import_default_modules()  # what a worker does at start: autodiscovery

    names = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "locker.tasks.delete_expired_idempotency_keys" in names
    assert names <= set(app.tasks)
