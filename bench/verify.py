"""Benchmark (not a test): verifying a stored case of 100,000 entries on PostgreSQL, the
project's verify_case against a bare read and re-hash, in the same run.

    .venv/bin/python bench/verify.py [--entries 100000] [--rounds 2]

Needs PostgreSQL: DATABASE_URL if set (a scratch database), else a database locker_bench on
postgres://postgres@127.0.0.1:5432/, created if missing (bench/pg.py). (Verifying an uploaded
bundle, as /verify does, is bench/verify_bundle.py.)

The case is written first, not timed, straight with COPY: a valid chain of text messages and
one signed checkpoint per entry, as appends leave it. Then each side runs in a fresh process
(so that its memory is its own), alternately, --rounds times:
- project: locker.selectors.chain.verify_case(case), the full check (chain, evidence,
  checkpoints);
- baseline: plain psycopg, a server-side cursor over the entry rows in seq order, each
  rebuilt as the spec's entry, its canonical JSON hashed and compared with the stored hash,
  and prev and seq compared with the previous row. Nothing else.
Prints entries/s of each and `RESULT verify_<n>_entries_per_s ...`, and the memory each
process grew by while verifying (peak minus what it held before)."""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import time
import uuid
from datetime import UTC, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import pg  # noqa: E402


def memory_kb(name: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1])
    return 0


def build(entries: int) -> str:
    """A case of `entries` entries (and as many checkpoints) written with COPY; its id."""
    pg.setup_django()
    import psycopg
    from django.contrib.auth.models import User
    from django.db import connection

    from locker import services
    from locker.core import chain
    from locker.infra import signing

    user = User.objects.create_user(f"bench-verify-{uuid.uuid4().hex[:12]}")
    author = f"user:{user.pk}"
    case = services.create_case(owner=user, author=author, title="bench verify")
    head = case.entries.get()
    connection.close()
    case_id = str(case.pk)
    prev, start = head.hash, head.recorded_at
    signer = signing.load_signer()
    signing.sign_checkpoint_parts(case_id=case_id, length=1, head=prev, signed_at=start)
    fingerprint = signer.certificate_fingerprint
    with psycopg.connect(pg.database_url()) as conn, conn.cursor() as cur:
        with cur.copy(
            "COPY locker_entry (case_id, seq, prev, hash, kind, recorded_at, occurred_at,"
            " author, body, evidence) FROM STDIN"
        ) as copy:
            checkpoints = []
            for seq in range(2, entries + 1):
                moment = start + timedelta(milliseconds=seq)
                body = {
                    "channel": "sms",
                    "sender": "10690000",
                    "text": f"第{seq}条：再不还钱就爆你通讯录，通知你全家和单位领导。",
                    "tags": ["threat", "contact_list_blast"],
                }
                entry = {
                    "v": 1,
                    "case": case_id,
                    "seq": seq,
                    "prev": prev,
                    "kind": "message",
                    "recorded_at": chain.format_timestamp(moment),
                    "occurred_at": None,
                    "author": author,
                    "body": body,
                    "evidence": [],
                }
                digest = chain.entry_hash(entry)
                copy.write_row(
                    (
                        case_id,
                        seq,
                        prev,
                        digest,
                        "message",
                        moment,
                        None,
                        author,
                        json.dumps(body, ensure_ascii=False),
                        "[]",
                    )
                )
                signed = signing.sign_checkpoint_parts(
                    case_id=case_id, length=seq, head=digest, signed_at=moment
                )
                checkpoints.append((case_id, seq, digest, moment, signed.signature, fingerprint))
                prev = digest
        with cur.copy(
            "COPY locker_checkpoint (case_id, length, head, signed_at, signature,"
            " certificate_id) FROM STDIN"
        ) as copy:
            for row in checkpoints:
                copy.write_row(row)
        cur.execute(
            "UPDATE locker_case SET head_seq = %s, head_hash = %s, head_recorded_at = %s"
            " WHERE id = %s",
            [entries, prev, start + timedelta(milliseconds=entries), case_id],
        )
    # Statistics as autovacuum would have gathered them while the case grew (COPY leaves
    # none until it runs): the planner picks the checkpoint comparison's plan by them.
    with psycopg.connect(pg.database_url(), autocommit=True) as conn:
        conn.execute("ANALYZE locker_entry")
        conn.execute("ANALYZE locker_checkpoint")
    return case_id


def project(case_id: str) -> None:
    pg.setup_django()
    from locker.models import Case
    from locker.selectors.chain import verify_case

    case = Case.objects.get(pk=case_id)
    before = memory_kb("VmRSS")
    started = time.perf_counter()
    report = verify_case(case)
    wall = time.perf_counter() - started
    assert report.ok, report
    print(f"TIMED {wall:.4f} {report.length} {memory_kb('VmHWM') - before}")


def baseline(case_id: str) -> None:
    import psycopg

    url = pg.database_url()
    with psycopg.connect(url) as conn:
        before = memory_kb("VmRSS")
        started = time.perf_counter()
        with conn.cursor(name="verify") as cur:
            cur.itersize = 2000
            cur.execute(
                "SELECT seq, prev, hash, kind, recorded_at, occurred_at, author, body,"
                " evidence FROM locker_entry WHERE case_id = %s ORDER BY seq",
                [case_id],
            )
            expected, last = 1, "0" * 64
            for seq, prev, digest, kind, recorded_at, occurred_at, author, body, evidence in cur:
                entry = {
                    "v": 1,
                    "case": case_id,
                    "seq": seq,
                    "prev": prev,
                    "kind": kind,
                    "recorded_at": recorded_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                    "occurred_at": (
                        occurred_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
                        if occurred_at
                        else None
                    ),
                    "author": author,
                    "body": body,
                    "evidence": evidence,
                }
                data = json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
                actual = hashlib.sha256(data.encode()).hexdigest()
                assert seq == expected and prev == last and actual == digest, seq
                expected, last = seq + 1, actual
        wall = time.perf_counter() - started
    print(f"TIMED {wall:.4f} {expected - 1} {memory_kb('VmHWM') - before}")


def timed(mode: str, case_id: str) -> tuple[float, int, int]:
    done = subprocess.run(
        [sys.executable, __file__, f"--{mode}", case_id],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    wall, length, grown = done.split("TIMED ")[1].split()
    return float(wall), int(length), int(grown)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--project", metavar="CASE", help=argparse.SUPPRESS)
    parser.add_argument("--baseline", metavar="CASE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.project:
        project(args.project)
        return
    if args.baseline:
        baseline(args.baseline)
        return
    started = time.perf_counter()
    case_id = build(args.entries)
    print(f"case of {args.entries} entries written in {time.perf_counter() - started:.0f} s")
    walls: dict[str, float] = {"project": 0.0, "baseline": 0.0}
    grown: dict[str, int] = {"project": 0, "baseline": 0}
    for _round in range(args.rounds):
        for mode in ("project", "baseline"):
            wall, length, kb = timed(mode, case_id)
            assert length == args.entries, (mode, length)
            walls[mode] += wall
            grown[mode] = max(grown[mode], kb)
    ours = args.entries * args.rounds / walls["project"]
    theirs = args.entries * args.rounds / walls["baseline"]
    print(
        f"memory grown while verifying: project {grown['project'] / 1024:.1f} MB, "
        f"baseline {grown['baseline'] / 1024:.1f} MB"
    )
    print(
        f"RESULT verify_{args.entries // 1000}k_entries_per_s project={ours:.0f} "
        f"baseline={theirs:.0f} ratio={ours / theirs:.2f}",
        flush=True,
    )


if __name__ == "__main__":
    main()
