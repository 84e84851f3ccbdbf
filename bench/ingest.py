"""Benchmark (not a test): ingesting a 10 MB JPEG with EXIF (issue 14's target: at most
1.5 times the bare read + SHA-256 + Pillow check of the same bytes; pictures made by the
worker with draft(); the web process's RSS flat).

    .venv/bin/python bench/ingest.py [--runs 5] [--megabytes 10]

In one run, on a throw-away data directory (SQLite, file-system evidence store, sealed):

- project: services.append_entry with the photo, as a page's upload does it: spooled, hashed,
  its content checked (content.py parses and decodes it), stored sealed and read back,
  the entry linked and its head signed, the worker's task sent (file-system broker);
- baseline: the same bytes read from a file, SHA-256, and the same picture check done bare:
  Image.open + verify(), then the decode at an eighth of the size (draft) that content.py does.
  The decode is part of "verify" here because the project must do it (issue 12: a valid
  header over garbage is refused, and only decoding every entropy-coded byte finds that);
  Pillow's verify() alone reads a JPEG's markers and nothing of its scan, so a baseline
  without the decode would compare a check against no check;
- the worker: the real make_derived task in a separate process (as the Celery worker runs it),
  its time and peak RSS;
- the web process's RSS (VmRSS, this process) before the ingests and after them plus
  serving each entry's page and its two pictures (made by the worker; the web decodes none).

Prints a summary line `RESULT ingest project=<x>s baseline=<y>s ratio=<r>` (medians)."""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LOCKER_DATA_DIR", tempfile.mkdtemp(prefix="locker-bench-ingest-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("SECRET_KEY", "bench-only")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from PIL import Image  # noqa: E402


def rss_mb() -> float:
    """This process's resident memory now (not its peak)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def photo(megabytes: float, variant: int) -> bytes:
    """A camera-like JPEG of about `megabytes` MB with EXIF (maker, orientation, GPS)."""
    side = int(1000 * (megabytes / 3.4) ** 0.5 * 2.2)
    picture = Image.effect_noise((side, side * 3 // 4), 60).convert("RGB")
    exif = Image.Exif()
    exif[0x010F] = f"BenchCamera {variant}"  # Make: a different file, a different hash
    exif[0x0112] = 6  # Orientation
    exif[0x8825] = {1: "N", 2: (31.0, 14.0, 0.0)}  # GPS
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=95, exif=exif.tobytes())
    return out.getvalue()


def baseline(path: Path) -> float:
    started = time.perf_counter()
    data = path.read_bytes()
    hashlib.sha256(data).hexdigest()
    with Image.open(io.BytesIO(data)) as image:
        image.verify()
    with Image.open(io.BytesIO(data)) as image:
        image.draft(image.mode, (1, 1))
        image.load()
    return time.perf_counter() - started


def worker(ids: list[int]) -> None:
    """Run in a process of its own: the make_derived task on each row, as the worker does."""
    import resource

    from locker.tasks import make_derived

    started = time.perf_counter()
    outcomes = [make_derived.apply(args=[str(pk)]).get() for pk in ids]
    took = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{took:.3f} {peak:.0f} {','.join(outcomes)}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--megabytes", type=float, default=10.0)
    parser.add_argument("--worker-for", default="")
    args = parser.parse_args()
    if args.worker_for:
        worker([int(pk) for pk in args.worker_for.split(",")])
        return

    from django.test import Client

    from locker import services
    from locker.models import EvidenceFile
    from tests.factories import UserFactory, make_case

    call_command("migrate", verbosity=0)
    call_command("locker_keys", verbosity=0)
    owner = UserFactory(username="bench")
    case = make_case(owner=owner)
    photos = [photo(args.megabytes, variant) for variant in range(args.runs + 1)]
    scratch = Path(os.environ["LOCKER_DATA_DIR"]) / "bench-photo.jpg"

    # One ingest first, not timed: imports, first connections, the parsers' first use.
    services.append_entry(
        case=case, author=f"user:{owner.pk}", kind="note", body={"text": "warm-up"},
        uploads=[services.Upload(name="warm.jpg", stream=io.BytesIO(photos[0]))],
    )  # fmt: skip
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(owner)
    # The web side warmed up too: a page and a picture (its placeholder) served once.
    assert client.get(f"/cases/{case.pk}/entries/1/").status_code == 200
    warm = EvidenceFile.objects.get(case=case).sha256
    assert client.get(f"/cases/{case.pk}/files/{warm}/thumb.jpg").status_code == 200
    rss_before = rss_mb()
    project, bare, entries = [], [], []
    for data in photos[1:]:
        scratch.write_bytes(data)
        bare.append(baseline(scratch))
        started = time.perf_counter()
        with scratch.open("rb") as upload:
            result = services.append_entry(
                case=case, author=f"user:{owner.pk}", kind="note", body={"text": "照片"},
                uploads=[services.Upload(name="IMG_0001.JPG", stream=upload)],
            )  # fmt: skip
        project.append(time.perf_counter() - started)
        entries.append(result.entry)
    rss_after_ingest = rss_mb()

    ids = list(
        EvidenceFile.objects.filter(derived=EvidenceFile.Derived.PENDING).values_list(
            "pk", flat=True
        )
    )
    done = subprocess.run(
        [sys.executable, __file__, "--worker-for", ",".join(map(str, ids))],
        capture_output=True, text=True, check=True, env=os.environ.copy(),
    )  # fmt: skip
    worker_s, worker_peak, outcomes = done.stdout.strip().splitlines()[-1].split(" ")

    served = 0
    for entry in entries:
        page = client.get(f"/cases/{case.pk}/entries/{entry.seq}/")
        assert page.status_code == 200, page.status_code
        sha = entry.evidence[0]["sha256"]
        for size in ("thumb", "view"):
            picture = client.get(f"/cases/{case.pk}/files/{sha}/{size}.jpg")
            assert picture["Content-Type"] == "image/jpeg", picture["Content-Type"]
            served += len(b"".join(picture.streaming_content))
    rss_after_pages = rss_mb()

    project_s = statistics.median(project)
    baseline_s = statistics.median(bare)
    print(f"photo                 {len(photos[1]) / 1e6:.1f} MB JPEG with EXIF, {args.runs} runs")
    each = ", ".join(f"{t:.3f}" for t in project)
    print(f"project (append)      {project_s:.3f} s median ({each})")
    each = ", ".join(f"{t:.3f}" for t in bare)
    print(f"baseline              {baseline_s:.3f} s median ({each})")
    print(f"ratio                 {project_s / baseline_s:.2f}")
    print(f"worker (separate)     {float(worker_s):.3f} s for {len(ids)} photos' pictures "
          f"({outcomes}), peak RSS {worker_peak} MB")  # fmt: skip
    print(f"web RSS               {rss_before:.0f} MB before, {rss_after_ingest:.0f} MB after "
          f"the ingests, {rss_after_pages:.0f} MB after serving {len(entries)} pages and "
          f"{2 * len(entries)} pictures ({served / 1e3:.0f} kB)")  # fmt: skip
    print(f"web RSS growth        {rss_after_pages - rss_before:+.1f} MB")
    print(
        f"RESULT ingest project={project_s:.3f}s baseline={baseline_s:.3f}s "
        f"ratio={project_s / baseline_s:.2f}"
    )


if __name__ == "__main__":
    main()
