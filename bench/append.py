"""Benchmark (not a test): the rate of chain appends on PostgreSQL, the project's against a
bare locked insert, in the same run.

    .venv/bin/python bench/append.py [--seconds 6] [--rounds 2]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/scratch .venv/bin/python bench/append.py

Needs PostgreSQL: DATABASE_URL if set (a scratch database), else a database locker_bench on
postgres://postgres@127.0.0.1:5432/, created if missing (bench/pg.py).

Writers are processes (forked after Django is set up, one database connection each), each
appending to its case as fast as it can for --seconds, all started together.
- project: locker.services.append_entry (validation, the case row locked and its head read,
  the entry inserted, the head signed and the compact checkpoint stored, the head moved),
  a text message with no file, the case loaded once per writer;
- baseline: the least a correct chain append costs, in plain psycopg: in one transaction,
  SELECT head_seq, head_hash FROM locker_case ... FOR UPDATE, the entry's canonical JSON
  hashed, INSERT INTO locker_entry, UPDATE locker_case SET head_seq, head_hash. No checkpoint
  is signed or stored, nothing is validated.
Project and baseline alternate, --rounds times each per scenario; the rates are the appends
of all rounds over their time. Prints `RESULT <name> project=<x> baseline=<y> ratio=<r>`."""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import pg  # noqa: E402

URL = pg.setup_django()

from django.contrib.auth.models import User  # noqa: E402
from django.db import connections  # noqa: E402

from locker import services  # noqa: E402
from locker.models import Case  # noqa: E402

BODY = {"channel": "sms", "text": "第{n}条：不还钱就爆你通讯录", "tags": ["threat"]}
SCENARIOS = (("1w_1case", 1, 1), ("8w_1case", 8, 1), ("32w_32case", 32, 32))


def _body(n: int) -> dict:
    return {**BODY, "text": BODY["text"].format(n=n)}


def project_writer(case_id: str, author: str, start_at: float, seconds: float, out) -> None:
    connections.close_all()
    case = Case.objects.get(pk=case_id)
    while time.time() < start_at:
        time.sleep(0.001)
    done = 0
    stop = start_at + seconds
    while time.time() < stop:
        services.append_entry(case=case, author=author, kind="message", body=_body(done))
        done += 1
    out.put((done, time.time() - start_at))


def baseline_writer(case_id: str, author: str, start_at: float, seconds: float, out) -> None:
    import psycopg

    with psycopg.connect(URL) as conn:
        while time.time() < start_at:
            time.sleep(0.001)
        done = 0
        stop = start_at + seconds
        while time.time() < stop:
            bare_append(conn, case_id, author, done)
            done += 1
        out.put((done, time.time() - start_at))


def bare_append(conn, case_id: str, author: str, n: int) -> None:
    """The baseline's one append (a psycopg connection): lock and read the head, hash the
    entry, insert it, move the head; one transaction."""
    from psycopg.types.json import Jsonb

    with conn.transaction(), conn.cursor() as cur:
        cur.execute(
            "SELECT head_seq, head_hash FROM locker_case WHERE id = %s FOR UPDATE",
            [case_id],
        )
        seq, prev = cur.fetchone()
        now = datetime.now(UTC)
        stamp = now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        body = _body(n)
        entry = {
            "v": 1,
            "case": case_id,
            "seq": seq + 1,
            "prev": prev,
            "kind": "message",
            "recorded_at": stamp,
            "occurred_at": None,
            "author": author,
            "body": body,
            "evidence": [],
        }
        digest = hashlib.sha256(
            json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        ).hexdigest()
        cur.execute(
            "INSERT INTO locker_entry (case_id, seq, prev, hash, kind, recorded_at,"
            " occurred_at, author, body, evidence) VALUES"
            " (%s, %s, %s, %s, %s, %s, NULL, %s, %s, %s)",
            [case_id, seq + 1, prev, digest, "message", now, author, Jsonb(body), Jsonb([])],
        )
        cur.execute(
            "UPDATE locker_case SET head_seq = %s, head_hash = %s, head_recorded_at = %s"
            " WHERE id = %s",
            [seq + 1, digest, now, case_id],
        )


def new_cases(count: int) -> tuple[list[str], str]:
    user = User.objects.create_user(f"bench-append-{uuid.uuid4().hex[:12]}")
    author = f"user:{user.pk}"
    ids = [
        str(services.create_case(owner=user, author=author, title=f"bench {n}").pk)
        for n in range(count)
    ]
    return ids, author


def run(writer, writers: int, cases: list[str], author: str, seconds: float) -> tuple[int, float]:
    """All writers at once for `seconds`; (appends, the longest writer's time)."""
    connections.close_all()
    context = multiprocessing.get_context("fork")
    out = context.Queue()
    start_at = time.time() + 0.5
    processes = [
        context.Process(target=writer, args=(cases[n % len(cases)], author, start_at, seconds, out))
        for n in range(writers)
    ]
    for process in processes:
        process.start()
    results = [out.get(timeout=seconds + 120) for _ in processes]
    for process in processes:
        process.join()
        if process.exitcode:
            raise SystemExit(f"a writer failed (exit code {process.exitcode})")
    return sum(done for done, _ in results), max(elapsed for _, elapsed in results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    for name, writers, case_count in SCENARIOS:
        project_cases, author = new_cases(case_count)
        baseline_cases, _ = new_cases(case_count)
        totals = {"project": [0, 0.0], "baseline": [0, 0.0]}
        for _round in range(args.rounds):
            for label, writer, cases in (
                ("project", project_writer, project_cases),
                ("baseline", baseline_writer, baseline_cases),
            ):
                done, elapsed = run(writer, writers, cases, author, args.seconds)
                totals[label][0] += done
                totals[label][1] += elapsed
        ours = totals["project"][0] / totals["project"][1]
        theirs = totals["baseline"][0] / totals["baseline"][1]
        for case_id in project_cases:
            report = services_verify(case_id)
            assert report.ok, report
        print(
            f"RESULT append_{name}_per_s project={ours:.1f} baseline={theirs:.1f} "
            f"ratio={ours / theirs:.2f}",
            flush=True,
        )


def services_verify(case_id: str):
    """The project's chains must still verify after the run (a fast append that forks or
    breaks the chain would be no result)."""
    from locker.selectors.chain import verify_case

    connections.close_all()
    return verify_case(Case.objects.get(pk=case_id), rehash_files=False)


if __name__ == "__main__":
    main()
