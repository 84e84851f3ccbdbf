"""Benchmark (not a test): what one append costs in CPU, the project's against the bare locked
insert of bench/append.py, one writer, in process, on PostgreSQL.

    .venv/bin/python bench/append_cost.py [--appends 1000] [--profile 25]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/scratch .venv/bin/python bench/append_cost.py

Needs PostgreSQL on this machine (bench/pg.py picks the database): the server's share is
read from /proc/<backend pid>/stat, the CPU time of this connection's server process.
Per append it prints the Python time (this process's CPU time), the PostgreSQL time (the
backend's CPU time) and the wall time; CPU times do not depend much on the machine's load,
unlike rates. With --profile N, the N costliest functions of the project's appends
(cProfile, cumulative), profiled in a second pass. Prints
`RESULT append_cost_<what>_ms project=<x> baseline=<y> ratio=<r>`."""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from django.db import connection, connections  # noqa: E402

from bench import append as bench_append  # noqa: E402  (sets Django up, bench/pg.py)
from locker import services  # noqa: E402
from locker.models import Case  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def backend_cpu_s(pid: int) -> float:
    """User plus system CPU seconds of a process (the server process of a connection)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def measure(run: Callable[[int], None], backend: int, appends: int) -> tuple[float, float, float]:
    """(Python, PostgreSQL, wall) milliseconds per append over `appends` calls of run(n)."""
    cpu, server, wall = time.process_time(), backend_cpu_s(backend), time.perf_counter()
    for n in range(appends):
        run(n)
    return (
        (time.process_time() - cpu) * 1000 / appends,
        (backend_cpu_s(backend) - server) * 1000 / appends,
        (time.perf_counter() - wall) * 1000 / appends,
    )


def project(appends: int, profile: int) -> tuple[float, float, float]:
    connections.close_all()
    case_ids, author = bench_append.new_cases(1)
    case = Case.objects.get(pk=case_ids[0])
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (backend,) = cursor.fetchone()

    def one(n: int) -> None:
        services.append_entry(case=case, author=author, kind="message", body=bench_append._body(n))

    for n in range(50):  # warm: caches, the signer, the first certificate row
        one(n)
    figures = measure(one, backend, appends)
    if profile:
        # CPU time, not wall time: what the CPU-bound many-case rate pays.
        profiler = cProfile.Profile(time.process_time)
        profiler.runcall(lambda: [one(n) for n in range(appends)])
        for order in ("cumulative", "tottime"):
            pstats.Stats(profiler).sort_stats(order).print_stats(profile)
    return figures


def baseline(appends: int) -> tuple[float, float, float]:
    """bench/append.py's bare locked insert, `appends` times on a fresh case."""
    import psycopg

    case_ids, author = bench_append.new_cases(1)
    with psycopg.connect(bench_append.URL) as conn:
        (backend,) = conn.execute("SELECT pg_backend_pid()").fetchone()
        conn.commit()

        def one(n: int) -> None:
            bench_append.bare_append(conn, case_ids[0], author, n)

        for n in range(50):
            one(n)
        return measure(one, backend, appends)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appends", type=int, default=1000)
    parser.add_argument("--profile", type=int, default=0, metavar="N")
    args = parser.parse_args()
    ours = project(args.appends, args.profile)
    theirs = baseline(args.appends)
    for name, mine, bare in zip(("python", "postgresql", "wall"), ours, theirs, strict=True):
        print(
            f"RESULT append_cost_{name}_ms project={mine:.3f} baseline={bare:.3f} "
            f"ratio={mine / bare:.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
