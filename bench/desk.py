"""Benchmark (not a test): a lawyer's desk with many long shared cases.

    .venv/bin/python bench/desk.py [--cases 20] [--entries 500]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench .venv/bin/python bench/desk.py

Creates the cases (each shared with one lawyer as reviewer), then times the desk's rows with
an empty cache (every chain checked) and again warm, the /shared/ page and
GET /api/shared-cases, and a review page with a text search. Prints the figures."""

from __future__ import annotations

import argparse
import os
import resource
import secrets
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("LOCKER_DATA_DIR", tempfile.mkdtemp(prefix="locker-bench-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from locker import services  # noqa: E402
from locker.selectors import sharing  # noqa: E402

PASSWORD = secrets.token_urlsafe(16)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=20)
    parser.add_argument("--entries", type=int, default=500)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    stamp = time.time_ns()
    lawyer = User.objects.create_user(f"lawyer{stamp}", password=PASSWORD)
    services.upsert_profile(user=lawyer, name="王律师", organisation="明理律师事务所")
    start = time.perf_counter()
    cases = []
    for c in range(args.cases):
        owner = User.objects.create_user(f"client{stamp}-{c}")
        case = services.create_case(
            owner=owner, author=f"user:{owner.pk}", title=f"案件 {c}", lender="闪电借款"
        )
        for n in range(args.entries):
            kind, body = (
                ("call", {"number": f"9518{n % 10}", "tags": ["night_time"]})
                if n % 3 == 0
                else ("message", {"channel": "sms", "text": f"第{n}条：不还钱就爆你通讯录"})
            )
            services.append_entry(case=case, author=f"user:{owner.pk}", kind=kind, body=body)
        share = services.share_case(
            case=case, by=owner, grantee=lawyer.username, role="reviewer", site_url="http://x"
        ).share
        services.accept_share(share=share, user=lawyer)
        cases.append(case)
    built = time.perf_counter() - start

    cache.clear()
    start = time.perf_counter()
    rows = sharing.dashboard_rows(lawyer)
    cold = time.perf_counter() - start
    assert len(rows) == args.cases and all(row.chain_ok for row in rows)
    start = time.perf_counter()
    sharing.dashboard_rows(lawyer)
    warm = time.perf_counter() - start

    client = Client()
    assert client.login(username=lawyer.username, password=PASSWORD)
    client.get("/accounts/preferences/")  # the first request imports the URL conf
    start = time.perf_counter()
    page = client.get("/shared/")
    page_time = time.perf_counter() - start
    assert page.status_code == 200
    token = services.issue_token(user=lawyer, name="bench")[1]
    start = time.perf_counter()
    api = Client().get("/api/shared-cases", HTTP_AUTHORIZATION=f"Bearer {token}")
    api_time = time.perf_counter() - start
    assert api.status_code == 200 and len(api.json()) == args.cases
    start = time.perf_counter()
    review = client.get(f"/cases/{cases[0].pk}/review/?q=通讯录")
    review_time = time.perf_counter() - start
    assert review.status_code == 200
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print(f"database                  {connection.vendor}")
    print(f"cases x entries           {args.cases} x {args.entries} (+1 opening each)")
    print(f"set-up                    {built:.1f} s")
    print(f"desk rows, cold cache     {cold:.3f} s")
    print(f"desk rows, warm cache     {warm:.3f} s")
    print(f"GET /shared/ (warm)       {page_time:.3f} s, {len(page.content) / 1024:.1f} KB")
    print(f"GET /api/shared-cases     {api_time:.3f} s")
    print(f"review page, text search  {review_time:.3f} s")
    print(f"peak RSS                  {peak:.0f} MB")


if __name__ == "__main__":
    main()
