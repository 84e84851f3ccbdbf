"""Run every benchmark in BENCHES and write bench/results.md (`make bench`).

    .venv/bin/python bench/run_all.py [--only append.py ...]

Each benchmark prints lines `RESULT <name> project=<x> baseline=<y> ratio=<r>`, the
project's figure and a baseline measured in the same run (the machine's load varies, so
the ratio is the figure to compare). This collects them, sets each against its target in
TARGETS, and writes a table with the load average and the date. A script in BENCHES that is
not there (yet) is reported "not present", one that fails "failed", and the others still
run.

The benchmarks that need PostgreSQL use DATABASE_URL if it is set (a scratch database:
they add rows to it); otherwise they make and use a database locker_bench on
postgres://postgres@127.0.0.1:5432/ (bench/pg.py)."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

# Every benchmark that prints RESULT lines; add yours here.
BENCHES = (
    "append.py",
    "verify.py",
    "dossier.py",
    "ingest.py",
    "pages.py",
    "http_post.py",
    "append_cost.py",
)

# Targets for the ratio project / baseline, by RESULT name. ">=": the project's figure is a
# rate (more is better); "<=": it is a time (less is better).
TARGETS: dict[str, tuple[str, float]] = {
    "append_8w_1case_per_s": (">=", 0.6),
    "append_32w_32case_per_s": (">=", 0.6),
    "verify_100k_entries_per_s": (">=", 0.8),
    # The dossier with the print copies the upload task stored, and without (the cold path,
    # e.g. pictures uploaded before print copies existed): issue 13's 1.2x is set on both.
    "dossier_wall_s": ("<=", 1.2),
    "dossier_cold_wall_s": ("<=", 1.2),
    "ingest": ("<=", 1.5),
    # Pages of a 100k-entry case against a bare timeline view (issue 14: within 3x).
    "case_page_100k_ms": ("<=", 3.0),
    "timeline_first_page_100k_ms": ("<=", 3.0),
    "timeline_deep_page_100k_ms": ("<=", 3.0),
    "case_page_after_append_100k_ms": ("<=", 3.0),
    "timeline_after_append_100k_ms": ("<=", 3.0),
    # HTTP POST of an entry, 50 connections, against a minimal Django view's one INSERT.
    "http_post_50c_conn_max_age_60_req_per_s": (">=", 0.7),
    "http_post_50c_conn_max_age_60_p95_ms": ("<=", 1.5),
}

RESULT = re.compile(
    r"^RESULT (?P<name>\S+) project=(?P<project>\S+) baseline=(?P<baseline>\S+) "
    r"ratio=(?P<ratio>\S+)"
)


def run(script: str) -> tuple[str, list[dict[str, str]], float]:
    """(status, the RESULT lines as dicts, seconds) of one benchmark."""
    path = HERE / script
    if not path.exists():
        return "not present", [], 0.0
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(path)], cwd=ROOT, capture_output=True, text=True, check=False
    )
    took = time.perf_counter() - started
    sys.stdout.write(done.stdout)
    results = [m.groupdict() for line in done.stdout.splitlines() if (m := RESULT.match(line))]
    if done.returncode != 0:
        sys.stdout.write(done.stderr[-3000:])
        return f"failed (exit code {done.returncode})", results, took
    return ("ok" if results else "printed no RESULT line"), results, took


def verdict(name: str, ratio: str) -> tuple[str, str]:
    if name not in TARGETS:
        return "", ""
    sense, bound = TARGETS[name]
    try:
        value = float(ratio)
    except ValueError:
        return f"{sense} {bound}", "?"
    met = value >= bound if sense == ">=" else value <= bound
    return f"{sense} {bound}", "yes" if met else "no"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="run only these scripts of BENCHES")
    parser.add_argument("--out", default=str(HERE / "results.md"))
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL"):
        print(
            "DATABASE_URL is not set: the PostgreSQL benchmarks use (and create) the scratch "
            "database locker_bench on postgres://postgres@127.0.0.1:5432/"
        )
    started_at = datetime.now(UTC)
    load_before = os.getloadavg()
    rows, statuses = [], []
    for script in BENCHES:
        if args.only and script not in args.only:
            continue
        print(f"== {script}", flush=True)
        status, results, took = run(script)
        statuses.append((script, status, took))
        for result in results:
            target, met = verdict(result["name"], result["ratio"])
            rows.append((script, result, target, met))
    load_after = os.getloadavg()
    lines = [
        "# Benchmark results (`make bench`)",
        "",
        f"Run {started_at:%Y-%m-%d %H:%M} UTC; load average (1, 5, 15 min) "
        f"{', '.join(f'{x:.2f}' for x in load_before)} at the start, "
        f"{', '.join(f'{x:.2f}' for x in load_after)} at the end, on {os.cpu_count()} CPUs. "
        "Each ratio is project / baseline from the same run; see each script's docstring "
        "for what its baseline is.",
        "",
        "| work | script | project | baseline | ratio | target | met? |",
        "|---|---|---|---|---|---|---|",
    ]
    for script, result, target, met in rows:
        lines.append(
            f"| {result['name']} | {script} | {result['project']} | {result['baseline']} | "
            f"{result['ratio']} | {target} | {met} |"
        )
    lines += ["", "| script | status | seconds |", "|---|---|---|"]
    lines += [f"| {script} | {status} | {took:.0f} |" for script, status, took in statuses]
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
