"""Benchmark (not a test): verifying an uploaded bundle near the size limit, as /verify does.

    .venv/bin/python bench/verify_bundle.py [--entries 60000]

Writes a bundle of synthetic but valid entries (chain format v1, signed by a throw-away
instance key) straight with the pure chain functions, then verifies it with
locker.exports.verification.verify_bundle_zip and prints the time and the peak memory it added."""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
import uuid
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("LOCKER_DATA_DIR", tempfile.mkdtemp(prefix="locker-bench-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

from locker.core import chain  # noqa: E402
from locker.exports.verification import UNBOUNDED, verify_bundle_zip  # noqa: E402
from locker.infra import signing  # noqa: E402


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_bundle(path: Path, entries: int) -> int:
    case_id = str(uuid.uuid4())
    start = datetime(2026, 1, 1, tzinfo=UTC)
    prev = chain.GENESIS_PREV
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("entries.jsonl", "w", force_zip64=True) as out:
            for seq in range(1, entries + 1):
                moment = chain.format_timestamp(start + timedelta(seconds=seq))
                entry = {
                    "v": chain.VERSION,
                    "case": case_id,
                    "seq": seq,
                    "prev": prev,
                    "kind": "message",
                    "recorded_at": moment,
                    "occurred_at": moment,
                    "author": "user:1",
                    "body": {
                        "channel": "sms",
                        "sender": "10690000",
                        "text": f"第{seq}条：再不还钱就爆你通讯录，通知你全家和单位领导。" * 8,
                        "tags": ["threat", "contact_list_blast"],
                    },
                    "evidence": [],
                }
                digest = chain.entry_hash(entry)
                out.write(chain.canonical_bytes({"entry": entry, "hash": digest}) + b"\n")
                prev = digest
        checkpoint = signing.sign_checkpoint(
            case_id=case_id, length=entries, head=prev, signed_at=datetime.now(UTC)
        )
        archive.writestr("checkpoint.json", chain.canonical_bytes(checkpoint))
    return path.stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=60000)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    call_command("locker_keys", verbosity=0)
    target = Path(tempfile.mkdtemp()) / "big.zip"
    start = time.perf_counter()
    zipped = write_bundle(target, args.entries)
    written = time.perf_counter() - start
    with zipfile.ZipFile(target) as archive:
        jsonl = archive.getinfo("entries.jsonl").file_size
    before = peak_mb()
    start = time.perf_counter()
    report = verify_bundle_zip(str(target), limits=UNBOUNDED)  # all of it, not /verify's share
    verified = time.perf_counter() - start
    assert report.ok and report.length == args.entries, report
    print(f"entries               {args.entries}")
    print(f"entries.jsonl         {jsonl / 2**20:.1f} MiB ({zipped / 2**20:.1f} MiB zipped)")
    print(f"write                 {written:.1f} s")
    print(f"verify                {verified:.1f} s, {args.entries / verified:.0f} entries/s")
    print(f"peak RSS              {peak_mb():.0f} MB (before verifying: {before:.0f} MB)")


if __name__ == "__main__":
    main()
