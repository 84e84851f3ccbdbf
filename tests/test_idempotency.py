"""Idempotency keys (issue 10): a retry with the same key and request gets the first result
without running the action again; another request under the key is refused; failures are
not kept, so a retry can succeed; old keys are cleaned up."""

from __future__ import annotations

import io
import json
import threading
from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone, translation

from locker.models import IdempotencyKey
from locker.services.idempotency import (
    KEY_LIFETIME,
    IdempotencyKeyReused,
    InvalidIdempotencyKey,
    delete_expired_keys,
    multipart_fingerprint,
    request_fingerprint,
    run_once,
)

from .conftest import is_postgres, needs
from .factories import UserFactory, add_entry, make_case

pytestmark = pytest.mark.django_db

BODY = json.dumps({"kind": "note", "body": {"text": "催收员又打电话了"}}).encode()
PATH = "/api/cases/c/entries"


def appending_action(case, calls: list[int]):
    """An action like the API's: appends an entry and answers with its seq."""

    def action() -> tuple[int, bytes]:
        calls.append(1)
        entry = add_entry(case)
        return 201, json.dumps({"seq": entry.seq, "hash": entry.hash}).encode()

    return action


def test_the_same_key_and_request_return_the_first_result_without_running_again() -> None:
    case = make_case()
    calls: list[int] = []
    fingerprint = request_fingerprint(method="POST", path=PATH, body=BODY)
    action = appending_action(case, calls)
    first = run_once(user=case.owner, key="k-1", fingerprint=fingerprint, action=action)
    again = run_once(user=case.owner, key="k-1", fingerprint=fingerprint, action=action)
    assert first[:2] == again[:2]
    assert (first[2], again[2]) == (False, True)
    assert first[0] == 201 and json.loads(first[1])["seq"] == 2
    assert calls == [1]
    assert case.entries.count() == 2


def test_the_same_key_with_another_request_is_refused_in_the_users_language() -> None:
    case = make_case()
    calls: list[int] = []
    action = appending_action(case, calls)
    run_once(
        user=case.owner,
        key="k-1",
        fingerprint=request_fingerprint(method="POST", path=PATH, body=BODY),
        action=action,
    )
    other = request_fingerprint(method="POST", path=PATH, body=BODY + b" ")
    with pytest.raises(IdempotencyKeyReused) as refused:
        run_once(user=case.owner, key="k-1", fingerprint=other, action=action)
    assert "different request" in str(refused.value)
    with translation.override("zh-hans"):
        assert "不同的请求" in str(refused.value)
    assert calls == [1]


def test_keys_belong_to_one_user() -> None:
    case = make_case()
    other_user = UserFactory()
    fingerprint = request_fingerprint(method="POST", path=PATH, body=BODY)
    run_once(user=case.owner, key="k", fingerprint=fingerprint, action=lambda: (201, b"{}"))
    status, body, replayed = run_once(
        user=other_user, key="k", fingerprint=fingerprint, action=lambda: (201, b"[]")
    )
    assert (status, body, replayed) == (201, b"[]", False)


@pytest.mark.parametrize("status", [500, 503, 507, 429])
def test_a_failed_or_throttled_result_is_not_kept_nor_what_the_action_wrote(status: int) -> None:
    case = make_case()
    fingerprint = request_fingerprint(method="POST", path=PATH, body=BODY)

    def failing() -> tuple[int, bytes]:
        add_entry(case)  # written, then the action fails: nothing of it may stay
        return status, b'{"detail": "try again"}'

    assert run_once(user=case.owner, key="k", fingerprint=fingerprint, action=failing) == (
        status,
        b'{"detail": "try again"}',
        False,
    )
    assert not IdempotencyKey.objects.exists()
    assert case.entries.count() == 1
    calls: list[int] = []
    status_code, _body, replayed = run_once(
        user=case.owner, key="k", fingerprint=fingerprint, action=appending_action(case, calls)
    )
    assert (status_code, replayed, calls) == (201, False, [1])


def test_an_action_that_raises_keeps_nothing() -> None:
    case = make_case()
    fingerprint = request_fingerprint(method="POST", path=PATH, body=BODY)

    def broken() -> tuple[int, bytes]:
        add_entry(case)
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        run_once(user=case.owner, key="k", fingerprint=fingerprint, action=broken)
    assert not IdempotencyKey.objects.exists()
    assert case.entries.count() == 1


def test_a_client_error_is_kept_and_replayed() -> None:
    user = UserFactory()
    fingerprint = request_fingerprint(method="POST", path=PATH, body=BODY)
    calls: list[int] = []

    def refused() -> tuple[int, bytes]:
        calls.append(1)
        return 400, b'{"detail": "bad"}'

    run_once(user=user, key="k", fingerprint=fingerprint, action=refused)
    assert run_once(user=user, key="k", fingerprint=fingerprint, action=refused) == (
        400,
        b'{"detail": "bad"}',
        True,
    )
    assert calls == [1]


@pytest.mark.parametrize("key", ["", " x", "x ", "schlüssel", "a\nb", "x" * 256, "\x7f"])
def test_a_key_that_is_not_1_to_255_printable_ascii_is_refused(key: str) -> None:
    user = UserFactory()
    with pytest.raises(InvalidIdempotencyKey) as refused:
        run_once(user=user, key=key, fingerprint="f", action=lambda: (201, b"{}"))
    assert "printable ASCII" in str(refused.value)
    assert not IdempotencyKey.objects.exists()


@pytest.mark.parametrize("key", ["a", "x" * 255, "0f9a-uuid like key", "~!@#$%^&*()"])
def test_printable_ascii_keys_are_accepted(key: str) -> None:
    user = UserFactory()
    assert run_once(user=user, key=key, fingerprint="f", action=lambda: (201, b"{}"))[0] == 201


def test_fingerprints_tell_method_path_and_body_apart() -> None:
    prints = {
        request_fingerprint(method="POST", path=PATH, body=BODY),
        request_fingerprint(method="PUT", path=PATH, body=BODY),
        request_fingerprint(method="POST", path=PATH + "x", body=BODY),
        request_fingerprint(method="POST", path=PATH, body=b"{}"),
        # The parts are framed: moving bytes from the path into the body changes the print.
        request_fingerprint(method="POST", path=PATH[:-1], body=PATH[-1:].encode() + BODY),
    }
    assert len(prints) == 5
    assert request_fingerprint(method="post", path=PATH, body=BODY) in prints


def test_multipart_fingerprint_reads_the_files_and_rewinds_them() -> None:
    def fingerprint(content: bytes, name: str = "a.png") -> str:
        stream = io.BytesIO(content)
        stream.read(3)  # wherever the stream was left, the whole file counts
        result = multipart_fingerprint(
            method="POST",
            path=PATH,
            fields=[("entry", '{"kind": "note"}')],
            files=[("files", name, stream)],
        )
        assert stream.tell() == 0
        return result

    assert fingerprint(b"PNG bytes") == fingerprint(b"PNG bytes")
    assert fingerprint(b"PNG bytes") != fingerprint(b"PNG bytez")
    assert fingerprint(b"PNG bytes") != fingerprint(b"PNG bytes", name="b.png")


def test_keys_older_than_their_lifetime_are_cleaned_up() -> None:
    user = UserFactory()
    for key in ("old", "fresh"):
        run_once(user=user, key=key, fingerprint="f", action=lambda: (201, b"{}"))
    IdempotencyKey.objects.filter(key="old").update(
        created_at=timezone.now() - KEY_LIFETIME - timedelta(minutes=1)
    )
    IdempotencyKey.objects.filter(key="fresh").update(
        created_at=timezone.now() - KEY_LIFETIME + timedelta(minutes=5)
    )
    # Asking for less than the promised lifetime still keeps every key that long.
    assert delete_expired_keys(older_than=timedelta(hours=1)) == 1
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["fresh"]


@needs(is_postgres(), "concurrent transactions need PostgreSQL (set DATABASE_URL; CI does)")
@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_with_one_key_run_the_action_once() -> None:
    case = make_case()
    threads_count = 8
    calls: list[int] = []
    results: list[tuple[int, bytes, bool]] = []
    errors: list[BaseException] = []
    start = threading.Barrier(threads_count)
    fingerprint = request_fingerprint(method="POST", path=PATH, body=BODY)
    action = appending_action(case, calls)

    def retry() -> None:
        try:
            start.wait()
            results.append(
                run_once(user=case.owner, key="one", fingerprint=fingerprint, action=action)
            )
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=retry) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert calls == [1]
    assert len({(status, body) for status, body, _replayed in results}) == 1
    assert sorted(replayed for *_rest, replayed in results) == [False] + [True] * 7
    assert case.entries.count() == 2
    assert IdempotencyKey.objects.filter(key="one").count() == 1
