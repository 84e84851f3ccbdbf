"""Benchmark (not a test): HTTP POST of an entry through gunicorn, against a minimal Django view
doing one INSERT in the same gunicorn configuration, 50 connections (issue 14).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/scratch \
        .venv/bin/python bench/http_post.py
    [--connections 50] [--seconds 15] [--workers 2] [--threads 1] [--conn-max-age 60]

Needs wrk (Debian: apt-get install wrk). Makes one account with an API token and one case per
connection (each connection appends to its own case, as phones of different people would),
starts gunicorn with config/gunicorn.py and bench/bench_settings.py (the app's routes plus
/bench/insert/), with DATABASE_CONN_MAX_AGE as given and DATABASE_CONN_HEALTH_CHECKS=1 (and
GUNICORN_THREADS=--threads: more than 1 runs gthread workers, which keep wrk's connections
alive; sync workers close each after one answer), then
runs wrk against POST /api/cases/<id>/entries (a note, bearer token) and against
/bench/insert/, each twice, alternating, after a short warm-up; the better of each pair.
Prints RESULT lines (requests per second, p95 latency in ms) and checks that every case's
chain still verifies."""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LOCKER_DATA_DIR", tempfile.mkdtemp(prefix="locker-bench-"))
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.bench_settings"
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,testserver")
from bench import pg  # noqa: E402

# DATABASE_URL if given, else the scratch database locker_bench, made if missing (as every
# PostgreSQL benchmark of `make bench`).
os.environ["DATABASE_URL"] = pg.database_url()

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from locker import services  # noqa: E402
from locker.models import Case, Entry  # noqa: E402
from locker.selectors.chain import verify_case  # noqa: E402

LUA = """
paths = {%(paths)s}
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("POST", paths[(counter %% #paths) + 1], {
    ["Content-Type"] = "application/json",%(auth)s
  }, '%(body)s')
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("STATS %%d %%d %%d %%d %%d\\n", summary.requests, summary.duration,
    math.floor(latency:percentile(95)), e.status, e.connect + e.read + e.write + e.timeout))
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def lua_script(path: Path, paths: list[str], token: str | None, body: dict) -> Path:
    auth = f'\n    ["Authorization"] = "Bearer {token}",' if token else ""
    # UTF-8 text: a Lua string is bytes, and JSON's backslash-u escapes are not Lua's.
    path.write_text(
        LUA
        % {
            "paths": ", ".join(f'"{p}"' for p in paths),
            "auth": auth,
            "body": json.dumps(body, ensure_ascii=False),
        },
        encoding="utf-8",
    )
    return path


def drained(base: str) -> None:
    """Wait until the requests wrk left queued when it stopped (sync workers still answer
    every connection they accepted) are done: the next run must start on an idle server."""
    for _ in range(120):
        start = time.perf_counter()
        urllib.request.urlopen(base + "/healthz", timeout=60)  # noqa: S310
        if time.perf_counter() - start < 0.5:
            return
        time.sleep(0.5)


def run_wrk(url: str, script: Path, connections: int, seconds: int) -> dict[str, float]:
    drained(url)
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    found = re.search(r"STATS (\d+) (\d+) (\d+) (\d+) (\d+)", out.stdout)
    assert found, out.stdout + out.stderr
    requests, duration_us, p95_us, bad_status, socket_errors = map(int, found.groups())
    return {
        "rps": requests / (duration_us / 1e6),
        "p95_ms": p95_us / 1000,
        "requests": requests,
        "bad": bad_status,
        "socket_errors": socket_errors,
    }


def prepare(case_count: int) -> tuple[str, list[Case]]:
    """The schema, the signing keys, the baseline's table, and one account's bearer token
    with `case_count` cases of its own (bench/http_post_inprocess.py uses it too)."""
    call_command("migrate", verbosity=0)
    call_command("locker_keys", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS bench_ping (id bigserial PRIMARY KEY, body text)"
        )
    owner = User.objects.create_user(f"poster{time.time_ns()}")
    _, token = services.issue_token(user=owner, name="bench")
    cases = [
        services.create_case(owner=owner, author=f"user:{owner.pk}", title=f"案件 {n}")
        for n in range(case_count)
    ]
    return token, cases


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--conn-max-age", type=int, default=60)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")
    token, cases = prepare(args.connections)
    connection.close()

    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_CONN_MAX_AGE": str(args.conn_max_age),
        "DATABASE_CONN_HEALTH_CHECKS": "1",
        "GUNICORN_THREADS": str(args.threads),
    }
    server = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "-c",
            "config/gunicorn.py",
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(args.workers),
            "--access-logfile",
            "/dev/null",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=2)  # noqa: S310
                break
            except OSError:
                time.sleep(0.3)
        work = Path(tempfile.mkdtemp(prefix="wrk-"))
        note = {"kind": "note", "body": {"text": "催收员又打电话了"}}
        project = lua_script(
            work / "project.lua",
            [f"/api/cases/{case.pk}/entries" for case in cases],
            token,
            note,
        )
        baseline = lua_script(work / "baseline.lua", ["/bench/insert/"], None, note)
        for path, headers in (
            ("/bench/insert/", {}),
            (f"/api/cases/{cases[0].pk}/entries", {"Authorization": f"Bearer {token}"}),
        ):
            request = urllib.request.Request(  # noqa: S310
                base + path,
                data=json.dumps(note).encode(),
                headers={"Content-Type": "application/json", **headers},
                method="POST",
            )
            with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
                assert answer.status == 201, (path, answer.status)
        for script in (baseline, project):  # warm-up: workers, connections, caches
            run_wrk(base, script, args.connections, 3)
        runs: dict[str, list[dict[str, float]]] = {"project": [], "baseline": []}
        for _ in range(2):
            runs["baseline"].append(run_wrk(base, baseline, args.connections, args.seconds))
            runs["project"].append(run_wrk(base, project, args.connections, args.seconds))
    finally:
        server.terminate()
        server.wait(timeout=30)
    for name, got in runs.items():
        for run in got:
            print(
                f"{name}: {run['rps']:.1f} req/s, p95 {run['p95_ms']:.1f} ms, "
                f"{run['requests']} requests, {run['bad']} non-2xx, "
                f"{run['socket_errors']} socket errors",
                flush=True,
            )
    best = {name: max(got, key=lambda r: r["rps"]) for name, got in runs.items()}
    p, b = best["project"], best["baseline"]
    label = f"{args.connections}c_conn_max_age_{args.conn_max_age}"
    if args.threads > 1:
        label += f"_{args.workers}x{args.threads}_threads"
    print(
        f"RESULT http_post_{label}_req_per_s project={p['rps']:.1f} baseline={b['rps']:.1f} "
        f"ratio={p['rps'] / b['rps']:.2f}"
    )
    print(
        f"RESULT http_post_{label}_p95_ms project={p['p95_ms']:.1f} baseline={b['p95_ms']:.1f} "
        f"ratio={p['p95_ms'] / b['p95_ms']:.2f}"
    )
    appended = Entry.objects.filter(case__in=cases).count() - len(cases)
    broken = [str(case.pk) for case in cases if not verify_case(case, rehash_files=False).ok]
    print(f"appended {appended} entries; chains that do not verify: {broken or 'none'}")


if __name__ == "__main__":
    main()
