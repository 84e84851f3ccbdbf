"""Benchmark (not a test): what the case page's conduct panel costs on a case of 100k entries
(issue 15 and 14; docs/scale.md, "Pages", "The conduct panel").

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/h_conduct_bench .venv/bin/python \
        bench/conduct.py [--entries 100000] [--rounds 20]

Builds the case as bench/pages.py does (bulk insert, a correct chain), then times, in one run:
the worker's computation of the panel (refresh_case_conduct's body: claim, the analysis over
every entry, the write), once and again after one append; the size of the row's JSON; and
the case page through Django's test client, signed in, without the row and with it,
interleaved, with the queries each makes. Each line: RESULT <name> <value>."""

# ruff: noqa: I001  (bench.pages sets Django up: it is imported before the Django imports)
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.pages import bulk_case, timed  # noqa: E402  (sets Django up, bench settings)

from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402

from locker import services  # noqa: E402
from locker.models import CaseConduct  # noqa: E402
from locker.services import case_conduct  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    call_command("locker_keys", verbosity=0)
    owner = User.objects.create_user(f"bench{time.time_ns()}")
    start = time.perf_counter()
    case = bulk_case(owner, args.entries)
    print(f"built {args.entries + 1} entries in {time.perf_counter() - start:.1f} s", flush=True)

    def refresh() -> float:
        began = time.perf_counter()
        assert case_conduct.refresh(case.pk) == "ready"
        return (time.perf_counter() - began) * 1000

    print(f"RESULT panel_computation_first_ms {refresh():.0f}", flush=True)
    services.append_entry(case=case, author=f"user:{owner.pk}", kind="call", body={"number": "1"})
    print(f"RESULT panel_computation_after_append_ms {refresh():.0f}", flush=True)
    row = CaseConduct.objects.get(case=case)
    print(f"RESULT panel_json_bytes {len(json.dumps(row.figures, ensure_ascii=False).encode())}")

    client = Client()
    client.force_login(owner)
    detail = reverse("case_detail", args=[case.pk])
    timed(client, detail)  # the figures row rebuilt and the chain verified: once per case
    figures = row.figures
    without: list[float] = []
    with_panel: list[float] = []
    counts = {}
    for _ in range(args.rounds):
        CaseConduct.objects.filter(case=case).update(figures=None)
        without.append(timed(client, detail))
        CaseConduct.objects.filter(case=case).update(figures=figures)
        with_panel.append(timed(client, detail))
    for name, value in (("without", None), ("with", figures)):
        CaseConduct.objects.filter(case=case).update(figures=value)
        with CaptureQueriesContext(connection) as queries:
            client.get(detail)
        counts[name] = len(queries)
    print(f"RESULT case_page_without_panel_ms {statistics.median(without):.1f}")
    print(f"RESULT case_page_with_panel_ms {statistics.median(with_panel):.1f}")
    print(f"RESULT case_page_queries without={counts['without']} with={counts['with']}")


if __name__ == "__main__":
    main()
