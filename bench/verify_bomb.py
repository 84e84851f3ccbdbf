"""Benchmark (not a test): how long public verification takes for issue 12's ZIP bomb, for the
same bundle without the repeated central-directory records (one 256 MiB member named by 400
entries, hashed once), and for a normal small bundle, all with /verify's bounds.

    .venv/bin/python bench/verify_bomb.py

Before the bounds, the bomb held a web worker for about 30 s; it must now be refused in well
under a second, and the honest 256 MiB bundle must finish within LOCKER_VERIFY_TIME_LIMIT_S."""

from __future__ import annotations

import io
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("LOCKER_DATA_DIR", tempfile.mkdtemp(prefix="locker-bench-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

from locker.exports.verification import VerificationTooCostly, verify_bundle_zip  # noqa: E402
from tests.security import bombs  # noqa: E402


def timed(label: str, data: bytes) -> None:
    start = time.perf_counter()
    try:
        report = verify_bundle_zip(io.BytesIO(data))
        outcome = "verified" if report.ok else f"not verified: {report.problem}"
    except VerificationTooCostly as exc:
        outcome = f"refused: {exc}"
    elapsed = time.perf_counter() - start
    print(f"{label:<34} {len(data) / 1e6:7.2f} MB  {elapsed:7.3f} s  {outcome[:70]}")


def main() -> None:
    call_command("migrate", verbosity=0)
    call_command("locker_keys", verbosity=0)
    mib = bombs.MiB
    timed(
        "issue 12 bomb (400 × 256 MiB)",
        bombs.one_member_bundle(256 * mib, references=400, repeat=400),
    )
    timed("256 MiB named by 400 entries", bombs.one_member_bundle(256 * mib, references=400))
    timed("normal bundle (4 MiB, 20 entries)", bombs.one_member_bundle(4 * mib, references=20))


if __name__ == "__main__":
    main()
