"""Benchmark (not a test): the case page and the timeline of a case with 100k entries, against
a bare timeline view, in one run (issue 14; docs/scale.md, "Pages").

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/scratch .venv/bin/python bench/pages.py
    [--entries 100000] [--rounds 30]

Builds the case fast: the opening entry through the service, then the entries bulk-inserted
with a correct chain computed here (every hash the spec's) and one signed checkpoint at the
head. Then, through Django's test client with a signed-in owner (the whole middleware
stack, no network), times: the first case page and timeline with the cache cleared and no
figures row (a 100k case is above LOCKER_INLINE_VERIFY_MAX_ENTRIES: the pages ask the worker
and say "checking" / "being prepared"), then what the worker does (the figures rebuilt from
every entry, the whole chain verified: once per case, run here, timed); the case page warm;
the case page right after an append (the running tally and the badge's check of the new
entry only); the timeline's first page; a deep timeline page (a cursor 99% down); and the
bare view (bench/bench_urls.py), the same number of rows from a plain query with no sign-in
chrome, interleaved with the others.
Each line: RESULT <name> project=<median ms> baseline=<bare median ms> ratio=<project/bare>;
then QUERIES <page> <n>: the statements each page makes, warm and right after an append.

The cache is the app's own: the file cache under LOCKER_DATA_DIR unless REDIS_URL is set.
Production runs with Redis (compose.yaml), where the badge's cache read and write are a
round trip each, not a file each, so the figures in docs/scale.md are taken with Redis:

    REDIS_URL=redis://127.0.0.1:6379/11 DATABASE_URL=postgres://postgres@127.0.0.1:5432/h_pages \
    .venv/bin/python bench/pages.py --rounds 20

The bench clears the cache before it starts (the first view then verifies the whole chain):
give it a Redis database of its own, as that clears all of it."""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("LOCKER_DATA_DIR", tempfile.mkdtemp(prefix="locker-bench-"))
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.bench_settings"
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
from bench import pg  # noqa: E402

# DATABASE_URL if given, else the scratch database locker_bench, made if missing (as every
# PostgreSQL benchmark of `make bench`).
os.environ["DATABASE_URL"] = pg.database_url()

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from locker import services  # noqa: E402
from locker.core import chain  # noqa: E402
from locker.models import Case, Entry  # noqa: E402
from locker.selectors import chain as stored_chain  # noqa: E402
from locker.selectors import entries as entry_reads  # noqa: E402
from locker.selectors.entries import Filters  # noqa: E402
from locker.services import case_stats as stats_services  # noqa: E402

TAGS = ["threat", "insult", "night_time", "contact_list_blast", "impersonation"]


def bulk_case(owner: User, count: int, seed: int = 14) -> Case:
    """A case with `count` entries after its opening one: calls, messages, contact reports
    and notes over half a year, linked exactly as append_entry links them."""
    rng = random.Random(seed)
    case = services.create_case(owner=owner, author=f"user:{owner.pk}", title="十万条记录")
    head = Entry.objects.get(case=case, seq=1)
    prev, recorded = head.hash, head.recorded_at
    now = datetime.now(UTC)
    numbers = [f"1{rng.randrange(3, 9)}{rng.randrange(10**8, 10**9)}" for _ in range(400)]
    batch: list[Entry] = []
    for seq in range(2, count + 2):
        recorded = recorded + timedelta(microseconds=1)
        occurred = now - timedelta(seconds=rng.randrange(1, 180 * 86400))
        pick = rng.random()
        tags = [rng.choice(TAGS)] if rng.random() < 0.3 else []
        if pick < 0.6:
            kind = "call"
            body = {"number": rng.choice(numbers), "direction": "incoming", "tags": tags}
        elif pick < 0.9:
            kind = "message"
            body = {"channel": "sms", "sender": rng.choice(numbers), "text": f"第{seq}条：还钱"}
            body["tags"] = tags
        elif pick < 0.95:
            kind = "contact_report"
            body = {"contact_name": f"联系人{rng.randrange(60)}", "summary": "催收打到我这里"}
        else:
            kind = "note"
            body = {"text": f"记录 {seq}"}
        document = {
            "v": chain.VERSION,
            "case": str(case.id),
            "seq": seq,
            "prev": prev,
            "kind": kind,
            "recorded_at": chain.format_timestamp(recorded),
            "occurred_at": chain.format_timestamp(occurred),
            "author": f"user:{owner.pk}",
            "body": body,
            "evidence": [],
        }
        prev = chain.entry_hash(document)
        batch.append(
            Entry(
                case=case,
                seq=seq,
                prev=document["prev"],
                hash=prev,
                kind=kind,
                recorded_at=recorded,
                occurred_at=chain.parse_timestamp(document["occurred_at"]),
                author=document["author"],
                body=body,
                evidence=[],
            )
        )
        if len(batch) == 5000:
            Entry.objects.bulk_create(batch)
            batch = []
    Entry.objects.bulk_create(batch)
    # The head kept on the case row, as an append moves it (appends read it from there).
    Case.objects.filter(pk=case.pk).update(
        head_seq=count + 1, head_hash=prev, head_recorded_at=recorded
    )
    services.issue_checkpoint(case=case, length=count + 1, head=prev)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE locker_entry")
    return case


def timed(client: Client, url: str) -> float:
    start = time.perf_counter()
    response = client.get(url)
    elapsed = (time.perf_counter() - start) * 1000
    assert response.status_code == 200, (url, response.status_code)
    return elapsed


def statements(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        timed(client, url)
    return len(queries.captured_queries)


def result(name: str, project: list[float], baseline: list[float]) -> None:
    p, b = statistics.median(project), statistics.median(baseline)
    print(f"RESULT {name} project={p:.1f} baseline={b:.1f} ratio={p / b:.2f}", flush=True)


def series(rounds: int, steps: list[Callable[[], float]]) -> list[list[float]]:
    """Each step once per round, in turn, so that the machine's load falls on all alike."""
    times: list[list[float]] = [[] for _ in steps]
    for _ in range(rounds):
        for i, step in enumerate(steps):
            times[i].append(step())
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument(
        "--reuse", action="store_true", help="time the newest bench case of that size again"
    )
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        print("note: not PostgreSQL; the figures in docs/scale.md are PostgreSQL's", flush=True)
    call_command("migrate", verbosity=0)
    call_command("locker_keys", verbosity=0)
    case = None
    if args.reuse:
        case = Case.objects.filter(title="十万条记录").order_by("-created_at").first()
    if case is None:
        owner = User.objects.create_user(f"bench{time.time_ns()}")
        start = time.perf_counter()
        case = bulk_case(owner, args.entries)
        print(
            f"built {args.entries + 1} entries in {time.perf_counter() - start:.1f} s", flush=True
        )
    owner = case.owner

    client = Client()
    client.force_login(owner)
    detail = reverse("case_detail", args=[case.pk])
    timeline = reverse("timeline", args=[case.pk])
    bare = f"/bench/bare/{case.pk}/"
    rows = entry_reads.timeline(case, Filters(), UTC)
    deep_row = rows[int(args.entries * 0.99)]
    deep = f"{timeline}?older={entry_reads.Cursor.of(deep_row).encode()}"

    cache_backend = settings.CACHES["default"].get("OPTIONS", {}).get("primary", "")
    print(f"cache: {cache_backend}", flush=True)
    cache.clear()
    bare_cold = timed(client, bare)
    # Above LOCKER_INLINE_VERIFY_MAX_ENTRIES neither the figures nor the whole chain are
    # computed by the view: it asks the worker and says so (docs/scale.md, "Pages").
    first = timed(client, detail)
    result(f"case_page_first_view_{args.entries // 1000}k_ms", [first], [bare_cold])
    first_timeline = timed(client, timeline)
    result(f"timeline_first_view_{args.entries // 1000}k_ms", [first_timeline], [bare_cold])
    # What the worker then does (no worker runs here: done in this process, timed).
    zone = str(timezone.get_default_timezone())
    start = time.perf_counter()
    print("WORKER figures", stats_services.rebuild_in_worker(str(case.pk), zone), end=" ")
    print(f"{(time.perf_counter() - start) * 1000:.0f} ms", flush=True)
    start = time.perf_counter()
    print("WORKER chain check", stored_chain.check_chain_in_worker(str(case.pk)), end=" ")
    print(f"{(time.perf_counter() - start) * 1000:.0f} ms", flush=True)

    n = f"{args.entries // 1000}k"
    bare_t, case_t, first_t, deep_t = series(
        args.rounds,
        [
            lambda: timed(client, bare),
            lambda: timed(client, detail),
            lambda: timed(client, timeline),
            lambda: timed(client, deep),
        ],
    )
    result(f"case_page_{n}_ms", case_t, bare_t)
    result(f"timeline_first_page_{n}_ms", first_t, bare_t)
    result(f"timeline_deep_page_{n}_ms", deep_t, bare_t)

    def append() -> float:
        services.append_entry(
            case=case, author=f"user:{owner.pk}", kind="call", body={"number": "95188"}
        )
        return 0.0

    _, bare_a, case_a, _, time_a = series(
        args.rounds,
        [
            append,
            lambda: timed(client, bare),
            lambda: timed(client, detail),
            append,
            lambda: timed(client, timeline),
        ],
    )
    result(f"case_page_after_append_{n}_ms", case_a, bare_a)
    result(f"timeline_after_append_{n}_ms", time_a, bare_a)

    for name, url in (("bare", bare), ("case_page", detail), ("timeline", timeline)):
        timed(client, url)  # the view after the last append: what follows is warm
        warm = statements(client, url)
        append()
        print(f"QUERIES {name} warm={warm} after_append={statements(client, url)}", flush=True)


if __name__ == "__main__":
    main()
