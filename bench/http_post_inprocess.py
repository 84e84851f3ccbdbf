"""Benchmark (not a test): one HTTP POST of an entry in process, through Django's test client and
the whole middleware stack, against the one-INSERT view of bench/bench_urls.py (issue 14).
No server and no sockets in front, so what it measures is the request's own work.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/h_post \
        .venv/bin/python bench/http_post_inprocess.py [--requests 300] [--profile project]
        [--instructions]

Makes one account with an API token and one case, then sends --requests POSTs of a note to
POST /api/cases/<id>/entries (bearer token) and as many to /bench/insert/, alternating in
blocks of 50 after a warm-up; prints RESULT lines with the median milliseconds per request
and the queries each request made. --profile project (or baseline) runs cProfile over that
side's requests instead and prints the top of the profile by cumulative time. python_cpu is
this process's CPU time per request (Python's work, without the database's, and without the
waits, so it moves little with the machine's load).
--instructions counts the instructions this process executes per request (load-independent;
this machine's VM has no hardware counters for `perf stat`, so valgrind's cachegrind counts
them): for each side it runs the script under cachegrind with 20 and with 20 + --requests
requests and divides the difference by --requests, so the set-up and the first requests'
imports cancel out. The database's own work is not in it (another process)."""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DATABASE_CONN_MAX_AGE", "60")

from django.db import connection, reset_queries  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

# The same settings, database and set-up as the server bench (importing it sets Django up).
from bench.http_post import prepare  # noqa: E402

NOTE = json.dumps({"kind": "note", "body": {"text": "催收员又打电话了"}})


def instructions_of(side: str, requests: int) -> int:
    """Instructions executed by this script under cachegrind, sending `requests` POSTs."""
    run = subprocess.run(
        [
            "valgrind",
            "--tool=cachegrind",
            "--cache-sim=no",
            "--cachegrind-out-file=/dev/null",
            sys.executable,
            __file__,
            "--only",
            side,
            "--requests",
            str(requests),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    found = re.search(r"I\s+refs:\s+([\d,]+)", run.stderr)
    assert found, run.stderr[-2000:]
    return int(found.group(1).replace(",", ""))


def count_instructions(requests: int) -> None:
    per_request = {}
    for side in ("project", "baseline"):
        few, many = instructions_of(side, 20), instructions_of(side, 20 + requests)
        per_request[side] = (many - few) / requests
        print(f"RESULT http_post_inprocess_{side}_instructions per_request={per_request[side]:.0f}")
    ratio = per_request["project"] / per_request["baseline"]
    print(f"RESULT http_post_inprocess_instructions_ratio project/baseline={ratio:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--profile", choices=("project", "baseline"))
    parser.add_argument("--only", choices=("project", "baseline"))
    parser.add_argument("--instructions", action="store_true")
    args = parser.parse_args()
    if args.instructions:
        count_instructions(args.requests)
        return
    token, (case,) = prepare(1)
    client = Client(REMOTE_ADDR="127.0.0.1")
    sides: dict[str, tuple[str, dict[str, Any]]] = {
        "project": (f"/api/cases/{case.pk}/entries", {"HTTP_AUTHORIZATION": f"Bearer {token}"}),
        "baseline": ("/bench/insert/", {}),
    }

    def post(side: str) -> tuple[float, float]:
        path, headers = sides[side]
        start, cpu = time.perf_counter(), time.process_time()
        answer = client.post(path, NOTE, content_type="application/json", **headers)
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
        assert answer.status_code == 201, (side, answer.status_code, answer.content)
        return elapsed, cpu

    if args.requests == 0:
        return
    chosen = [args.only] if args.only else list(sides)
    for side in chosen:  # warm-up: imports, the connection, caches
        for _ in range(10):
            post(side)
    for side in chosen:
        with CaptureQueriesContext(connection) as queries:
            post(side)
        print(f"{side}: {len(queries)} queries: " + "; ".join(q["sql"][:60] for q in queries))
    reset_queries()
    if args.profile:
        profiler = cProfile.Profile(time.process_time)  # CPU time: the waits left out
        profiler.enable()
        for _ in range(args.requests):
            post(args.profile)
        profiler.disable()
        stats = pstats.Stats(profiler).sort_stats("cumulative")
        stats.print_stats(int(os.environ.get("PROFILE_LINES", "60")))
        stats.sort_stats("tottime").print_stats(30)
        return
    times: dict[str, list[tuple[float, float]]] = {side: [] for side in chosen}
    done = 0
    while done < args.requests:
        block = min(50, args.requests - done)
        for side in chosen:
            times[side].extend(post(side) for _ in range(block))
        done += block
    for side, got in times.items():
        wall = sorted(elapsed for elapsed, _ in got)
        cpu = sum(cpu for _, cpu in got) / len(got)
        print(
            f"RESULT http_post_inprocess_{side}_ms median={statistics.median(wall) * 1000:.2f} "
            f"p95={wall[int(len(wall) * 0.95) - 1] * 1000:.2f} "
            f"python_cpu_mean={cpu * 1000:.2f} n={len(got)}"
        )


if __name__ == "__main__":
    main()
