"""Benchmark (not a test): append rate, verification and export time for one case.

    .venv/bin/python bench/chain.py [--entries 2000] [--files 50]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench .venv/bin/python bench/chain.py

Runs against a throw-away data dir (SQLite) or the DATABASE_URL given (its tables are created
by migrate in a database named by the URL; use a scratch one). Prints the figures."""

from __future__ import annotations

import argparse
import io
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("LOCKER_DATA_DIR", tempfile.mkdtemp(prefix="locker-bench-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from PIL import Image  # noqa: E402

from locker import services  # noqa: E402
from locker.exports import bundle  # noqa: E402
from locker.exports.verification import UNBOUNDED, verify_bundle_zip  # noqa: E402
from locker.selectors.chain import verify_case  # noqa: E402


def screenshot(seed: int) -> bytes:
    rng = random.Random(seed)
    image = Image.new("RGB", (1080, 2400), (rng.randrange(256), 255, 255))
    image.putpixel((rng.randrange(1080), rng.randrange(2400)), (0, 0, 0))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=2000)
    parser.add_argument("--files", type=int, default=50)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    from django.db import connection

    user = User.objects.create_user(f"bench{time.time_ns()}")
    case = services.create_case(owner=user, author=f"user:{user.pk}", title="bench")
    every = max(1, args.entries // max(1, args.files)) if args.files else 0
    start = time.perf_counter()
    for n in range(args.entries):
        uploads = []
        if every and n % every == 0 and n // every < args.files:
            uploads = [services.Upload(f"s{n}.png", io.BytesIO(screenshot(n)))]
        services.append_entry(
            case=case,
            author=f"user:{user.pk}",
            kind="message",
            body={"channel": "sms", "text": f"第{n}条：不还钱就爆你通讯录", "tags": ["threat"]},
            uploads=uploads,
        )
    appended = time.perf_counter() - start
    start = time.perf_counter()
    report = verify_case(case, rehash_files=False)
    verify_chain_only = time.perf_counter() - start
    start = time.perf_counter()
    report = verify_case(case)
    verify_full = time.perf_counter() - start
    assert report.ok, report
    target = Path(tempfile.mkdtemp()) / "case.zip"
    start = time.perf_counter()
    with target.open("wb") as out:
        bundle.write_bundle(case, out)
    exported = time.perf_counter() - start
    start = time.perf_counter()
    checked = verify_bundle_zip(str(target), limits=UNBOUNDED)  # all of it, not /verify's share
    verified_zip = time.perf_counter() - start
    assert checked.ok, checked
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"database              {connection.vendor}")
    print(f"entries               {args.entries} (+1 opening), files {args.files}")
    print(f"append                {appended:.2f} s, {args.entries / appended:.0f} entries/s")
    print(f"verify chain only     {verify_chain_only:.2f} s")
    print(f"verify with files     {verify_full:.2f} s")
    print(f"export ZIP            {exported:.2f} s, {target.stat().st_size / 1e6:.1f} MB")
    print(f"verify ZIP            {verified_zip:.2f} s")
    print(f"peak RSS              {peak:.0f} MB")


if __name__ == "__main__":
    main()
