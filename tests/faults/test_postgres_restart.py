"""PostgreSQL restarted (a fast stop, then an immediate one: a crash and recovery) under 8
concurrent API writers: every answer is a 201 or a 503 with Retry-After and a JSON detail,
none slower than 5 s; every acknowledged entry is in the chain, no Idempotency-Key gives two
entries, and the chain verifies. Run with short-lived and with persistent connections: a
persistent one is broken by the restart under a worker that does not know it yet."""

from __future__ import annotations

import functools
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
import requests

from .conftest import SLOW_S, api_case, needs_postgres_server, postgres_app_env
from .processes import Gunicorn, PostgresCluster, manage, wait_until

pytestmark = [pytest.mark.faults, needs_postgres_server]

WRITERS = 8
MAX_ENTRIES_PER_WRITER = 60  # bounds the run whatever happens
MAX_TRIES_PER_KEY = 80  # a keyed writer retries a 503 or a lost answer, this many times at most


@dataclass
class Answer:
    writer: int
    key: str | None
    status: int  # 0: no answer (connection refused, reset or timed out)
    seconds: float
    problem: str = ""  # what is wrong with it, if anything


@dataclass
class Writer:
    """One client with its own HTTP connection, appending notes until told to stop. Odd
    writers send an Idempotency-Key and retry a 503 or a lost answer with it; even ones do
    not retry, as a client without keys must not."""

    number: int
    session: requests.Session
    url: str
    stop: threading.Event
    answers: list[Answer] = field(default_factory=list)
    acknowledged: dict[str, int] = field(default_factory=dict)  # note text -> seq
    keys: dict[str, str] = field(default_factory=dict)  # note text -> its key

    @property
    def keyed(self) -> bool:
        return self.number % 2 == 1

    def run(self) -> None:
        for n in range(MAX_ENTRIES_PER_WRITER):
            if self.stop.is_set():
                return
            text = f"writer {self.number} note {n} 催收电话"
            if self.keyed:
                key = f"w{self.number}-{n}-{uuid.uuid4().hex}"
                self.keys[text] = key
                for _ in range(MAX_TRIES_PER_KEY):
                    if self.send(text, key) == 201:
                        break
                    time.sleep(0.05)
            else:
                self.send(text, None)

    def send(self, text: str, key: str | None) -> int:
        headers = {"Idempotency-Key": key} if key else {}
        started = time.monotonic()
        try:
            response = self.session.post(
                self.url,
                json={"kind": "note", "body": {"text": text}},
                headers=headers,
                timeout=10,
            )
        except requests.RequestException as exc:
            self.answers.append(Answer(self.number, key, 0, time.monotonic() - started, repr(exc)))
            return 0
        answer = Answer(self.number, key, response.status_code, time.monotonic() - started)
        if response.status_code == 201:
            self.acknowledged[text] = int(response.json()["seq"])
        else:
            answer.problem = refusal_problem(response)
        self.answers.append(answer)
        return response.status_code


def refusal_problem(response: requests.Response) -> str:
    """What is wrong with a refusal ('' when it is a proper 503 with Retry-After and a JSON
    detail)."""
    if response.status_code != 503:
        return f"status {response.status_code}: {response.text[:300]}"
    if not response.headers.get("Retry-After", "").isdigit():
        return f"503 without Retry-After: {dict(response.headers)}"
    if not response.headers.get("Content-Type", "").startswith("application/json"):
        return f"503 not JSON: {response.text[:300]}"
    detail = response.json().get("detail")
    if not isinstance(detail, str) or not detail:
        return f"503 without a detail: {response.text[:300]}"
    return ""


def chain(url: str, case_id: str) -> list[tuple[int, str, str]]:
    """The case's entries: (seq, kind, the note's text or '')."""
    with psycopg.connect(url, connect_timeout=10) as connection:
        rows = connection.execute(
            "SELECT seq, kind, coalesce(body->>'text', '') FROM locker_entry "
            "WHERE case_id = %s ORDER BY seq",
            (uuid.UUID(case_id),),
        ).fetchall()
    return [(int(seq), str(kind), str(text)) for seq, kind, text in rows]


@pytest.mark.parametrize("conn_max_age", ["0", "60"])
def test_postgres_restarted_under_concurrent_writers(
    postgres: PostgresCluster, migrated: Path, tmp_path: Path, conn_max_age: str
) -> None:
    env = postgres_app_env(postgres, migrated, tmp_path, DATABASE_CONN_MAX_AGE=conn_max_age)
    database_url = env["DATABASE_URL"]
    web = Gunicorn(tmp_path, env, workers=2)
    web.start().wait_ready(60)
    try:
        run_writers_through_restarts(postgres, web, env, database_url)
    finally:
        web.stop()


def run_writers_through_restarts(
    cluster: PostgresCluster, web: Gunicorn, env: dict[str, str], database_url: str
) -> None:
    auth, case_id = api_case(web.base_url, "重启")

    stop = threading.Event()
    writers = []
    for number in range(WRITERS):
        session = requests.Session()
        session.headers.update(auth)
        url = f"{web.base_url}/api/cases/{case_id}/entries"
        writers.append(Writer(number, session, url, stop))
    threads = [threading.Thread(target=w.run, name=f"writer-{w.number}") for w in writers]

    def acknowledged() -> int:
        return sum(len(w.acknowledged) for w in writers)

    def more_acknowledged(than: int) -> bool:
        return acknowledged() >= than + 2 * WRITERS

    def logs() -> str:
        return web.output() + "\n" + cluster.output()

    started = time.monotonic()
    for thread in threads:
        thread.start()
    restarts: list[tuple[str, float]] = []
    try:
        for mode in ("fast", "immediate"):
            # Writing goes on before each restart, and again after it.
            wait_until(lambda: more_acknowledged(0), 30, "writes before the restart", logs)
            before = acknowledged()
            down = time.monotonic()
            cluster.stop(mode)
            time.sleep(0.3)  # writers meet the server away, not only its shutdown
            cluster.start()
            restarts.append((mode, time.monotonic() - down))
            wait_until(
                functools.partial(more_acknowledged, before),
                30,
                "writes after the restart",
                logs,
            )
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    elapsed = time.monotonic() - started
    assert not any(thread.is_alive() for thread in threads), "a writer did not finish"

    answers = [answer for writer in writers for answer in writer.answers]
    refused = [answer for answer in answers if answer.status == 503]
    unanswered = [answer for answer in answers if answer.status == 0]
    slowest = max(answer.seconds for answer in answers)
    print(
        f"conn_max_age {env['DATABASE_CONN_MAX_AGE']}: {len(answers)} requests in "
        f"{elapsed:.1f} s, {acknowledged()} acknowledged, {len(refused)} answered 503, "
        f"{len(unanswered)} without an answer, slowest {slowest:.2f} s; restarts "
        + ", ".join(f"{mode} {seconds:.1f} s" for mode, seconds in restarts)
    )
    problems = [answer for answer in answers if answer.problem]
    assert problems == [], f"{problems[:10]}\n{logs()}"
    assert refused, "no request met the restart: the test proved nothing"
    assert slowest < SLOW_S, sorted(answers, key=lambda answer: -answer.seconds)[:5]

    entries = chain(database_url, case_id)
    assert [seq for seq, _, _ in entries] == list(range(1, len(entries) + 1))
    notes = [(seq, text) for seq, kind, text in entries if kind == "note"]
    texts = [text for _, text in notes]
    seq_of = {text: seq for seq, text in notes}
    for writer in writers:
        for text, seq in writer.acknowledged.items():
            assert seq_of.get(text) == seq, f"acknowledged {text!r} as seq {seq}, not in chain"
        if writer.keyed:
            # A keyed writer retried until acknowledged: each of its notes is there, once.
            for text in writer.keys:
                assert texts.count(text) == 1, (text, texts.count(text))
    # An unkeyed writer's 503 may come after its commit (the answer lost on the way out);
    # such an entry is in the chain though the client was told to try again. Counted only.
    print(f"notes stored though answered 503: {len(notes) - acknowledged()}")

    verified = manage(env, "verify_chain")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert f"ok   {case_id}" in verified.stdout
