"""Concurrent retries with one Idempotency-Key against the real stack (gunicorn with several
workers, PostgreSQL): a client whose first answer seems lost fires the same request again
and again at once. One entry is recorded; every answer is that entry's 201, first or
replayed; the same key with another request meanwhile is a 422, and records nothing."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests

from .conftest import SLOW_S, api_case, needs_postgres_server, postgres_app_env
from .processes import Gunicorn, PostgresCluster, manage

pytestmark = [pytest.mark.faults, needs_postgres_server]

SAME = 8  # concurrent copies of one request with one key
OTHER = 2  # concurrent other requests with that key


def test_concurrent_retries_with_one_key_record_one_entry(
    postgres: PostgresCluster, migrated: Path, tmp_path: Path
) -> None:
    env = postgres_app_env(postgres, migrated, tmp_path)
    web = Gunicorn(tmp_path, env, workers=4)
    web.start().wait_ready(60)
    try:
        auth, case_id = api_case(web.base_url, "重试")
        url = f"{web.base_url}/api/cases/{case_id}/entries"
        headers = {**auth, "Idempotency-Key": str(uuid.uuid4())}
        same: dict[str, Any] = {"kind": "note", "body": {"text": "一次"}}
        other: dict[str, Any] = {"kind": "note", "body": {"text": "另一次"}}

        start = threading.Barrier(SAME + OTHER)
        answers: list[tuple[str, requests.Response | BaseException]] = []

        def send(which: str, entry: dict[str, Any]) -> None:
            with requests.Session() as session:
                start.wait(timeout=10)
                try:
                    response = session.post(url, json=entry, headers=headers, timeout=10)
                    answers.append((which, response))
                except requests.RequestException as exc:
                    answers.append((which, exc))

        threads = [threading.Thread(target=send, args=("same", same)) for _ in range(SAME)]
        threads += [threading.Thread(target=send, args=("other", other)) for _ in range(OTHER)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert len(answers) == SAME + OTHER, answers

        responses = [(which, a) for which, a in answers if isinstance(a, requests.Response)]
        assert len(responses) == len(answers), [a for _, a in answers]
        assert all(r.elapsed.total_seconds() < SLOW_S for _, r in responses)
        statuses = sorted((which, r.status_code) for which, r in responses)
        print(
            "answers:",
            statuses,
            "replayed:",
            sum(r.headers.get("Idempotent-Replayed") == "true" for _, r in responses),
        )
        # Whichever of the two requests came first is recorded; every other answer to it
        # is its replay, and every answer to the other is a 422.
        first = next(r for _, r in responses if r.status_code == 201)
        winner = next(which for which, r in responses if r is first)
        for which, response in responses:
            if which == winner:
                assert response.status_code == 201, response.text
                assert response.content == first.content
            else:
                assert response.status_code == 422, response.text
        replayed = [r for _, r in responses if r.headers.get("Idempotent-Replayed") == "true"]
        assert len(replayed) == (SAME if winner == "same" else OTHER) - 1

        with psycopg.connect(env["DATABASE_URL"], connect_timeout=10) as connection:
            notes = connection.execute(
                "SELECT seq, body->>'text' FROM locker_entry WHERE case_id = %s AND kind = 'note'",
                (uuid.UUID(case_id),),
            ).fetchall()
        text = (same if winner == "same" else other)["body"]["text"]
        assert notes == [(first.json()["seq"], text)]
        verified = manage(env, "verify_chain")
        assert verified.returncode == 0, verified.stdout + verified.stderr
    finally:
        web.stop()
