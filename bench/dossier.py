"""Benchmark (not a test): render and sign a dossier of 1,000 entries with 100 phone
screenshots (1080x2400 noisy PNGs), and print wall time and peak memory.

    .venv/bin/python bench/dossier.py [--entries 1000] [--screenshots 100] [--template court]
        [--runs 3]

Everything lives in a temporary data dir (its own SQLite database, keys and media), so the
run touches nothing of yours. The case is built first (not timed), and the worker's upload
task (make_derived: the page pictures and the print copy of each screenshot) is run on each
file as after a real upload, its time printed (the print copies' cost moved there); then a
fresh process runs the worker's pipeline (claim, gather, images, layout, embed, sign, store)
with the print copies stored ("warm") and reports its wall time, its CPU time (with its image
processes') and its peak resident memory (VmHWM, which includes Django itself; the image
processes report theirs); then the same without print copies ("cold", the old path: they are
removed first, and the dossier stores them again).
Then, in the same run, a bare reportlab script (another fresh process, no Django) lays out
the same screenshots, decoded from the same PNGs, scaled alike and embedded as JPEG two to
a page, after the 1,000 entries as lines of text in the same font (about the same page
count); the ratio of the two wall times is the figure to compare, since the machine's load
varies; both ratios are printed. `--runs N` times N such triples on the one case (a new
dossier each). Targets on the
2-core reference machine: <= 12 s, <= 1.2x the bare script, and
<= 300 MB."""

from __future__ import annotations

import argparse
import io
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _django(data_dir: str) -> None:
    os.environ["LOCKER_DATA_DIR"] = data_dir
    os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def screenshot(rng: random.Random) -> bytes:
    """A phone-screenshot-like PNG: bands of colour, text-like bars and sensor-like noise,
    about 1.3 MB like the real ones that made this benchmark necessary."""
    from PIL import Image, ImageDraw

    width, height = 1080, 2400
    base = Image.new("RGB", (width, height), (245, 245, 245))
    draw = ImageDraw.Draw(base)
    draw.rectangle((0, 0, width, 160), fill=(rng.randrange(256), 120, 200))
    y = 220
    while y < height - 200:
        bubble = rng.randrange(300, 900)
        x = 40 if rng.random() < 0.5 else width - 40 - bubble
        draw.rounded_rectangle((x, y, x + bubble, y + 140), 24, fill=(149, 236, 105))
        for line in range(3):
            draw.rectangle(
                (x + 24, y + 24 + line * 36, x + bubble - 40, y + 44 + line * 36), fill=(40, 40, 40)
            )
        y += 180
    noise = Image.effect_noise((width, height), 16).convert("RGB")
    mixed = Image.blend(base, noise, 0.06)
    out = io.BytesIO()
    mixed.save(out, "PNG")
    return out.getvalue()


def peak_rss_mb() -> float:
    """This process's peak resident memory. Linux's VmHWM is of this program alone;
    ru_maxrss also keeps the high-water mark of the process that started it (it survives
    exec), so both children would report the parent's ~230 MB case-building peak."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build_case(entries: int, screenshots: int, template: str) -> str:
    from django.core.management import call_command
    from django.db import transaction

    from locker import services
    from tests.factories import UserFactory

    call_command("migrate", verbosity=0)
    rng = random.Random(4)
    user = UserFactory()
    case = services.create_case(
        owner=user,
        author=f"user:{user.pk}",
        title="网贷催收骚扰（基准测试）",
        lender="闪电借款",
        lending_app="闪电借",
        borrower_name="张三",
        principal_minor=500000,
        received_minor=350000,
        demanded_minor=900000,
    )
    from tests.dossier_helpers import distinct_png  # a PNG's bytes made distinct, still valid

    images = [screenshot(rng) for _ in range(min(screenshots, 10))]
    print(f"screenshot PNG size ~{sum(map(len, images)) // len(images) // 1024} KB")
    start = datetime.now(UTC) - timedelta(days=60)
    every = max(1, (entries - 1) // max(1, screenshots))
    tags = [
        "threat",
        "insult",
        "night_time",
        "contact_list_blast",
        "third_party_contact",
        "excessive_frequency",
        "fake_legal_document",
    ]
    for number in range(entries - 1):
        when = start + timedelta(minutes=number * 80 + rng.randrange(60))
        uploads = []
        if number % every == 0 and number // every < screenshots:
            # Distinct bytes per screenshot: content-addressed storage would dedupe copies.
            data = distinct_png(images[(number // every) % len(images)], number)
            uploads = [services.Upload(f"Screenshot_{number}.png", io.BytesIO(data))]
        kind = ("call", "message", "contact_report", "note")[number % 4]
        body = {
            "call": {
                "number": f"170{rng.randrange(10**8):08d}",
                "direction": "incoming",
                "caller_claims": "自称法务部",
                "summary": "威胁上门、爆通讯录",
                "tags": rng.sample(tags, 2),
                "duration_s": rng.randrange(200),
            },
            "message": {
                "channel": "sms",
                "sender": f"10690{rng.randrange(10**6):06d}",
                "text": "你已逾期，再不还款将通知你的家人和单位。" * 3,
                "tags": rng.sample(tags, 2),
            },
            "contact_report": {
                "contact_name": f"联系人{number}",
                "relation": "同事",
                "summary": "被催收员打电话辱骂",
                "tags": ["contact_list_blast"],
            },
            "note": {"text": "今天又接到很多电话，很害怕。"},
        }[kind]
        with transaction.atomic():
            services.append_entry(
                case=case,
                author=f"user:{user.pk}",
                kind=kind,
                body=body,
                occurred_at=when,
                uploads=uploads,
            )
    upload_copies(case)
    # The bare script's input: the same PNGs as plain files (written here, not timed).
    bare = Path(os.environ["LOCKER_DATA_DIR"]) / "bare"
    bare.mkdir(exist_ok=True)
    from locker.infra.storage import evidence_storage
    from locker.models import EvidenceFile

    for number, name in enumerate(
        EvidenceFile.objects.filter(case=case).values_list("storage_name", flat=True)
    ):
        with evidence_storage().open(name, "rb") as handle:
            (bare / f"{number:04d}.png").write_bytes(handle.read())
    return str(case.pk)


def upload_copies(case: Any) -> None:
    """What the worker does after each upload commits: the real make_derived task for each
    file (the page pictures and the print copy, locker/infra/thumbs.py make_pictures), timed,
    since that is where the print copies' cost went. Then, to show that cost alone, the same
    function is run twice more: with the print copies removed (the page pictures exist: it
    reads, decodes and makes the print copy only, what a cold dossier pays per picture), and
    with the page pictures removed (the print copies exist: what the task cost before print
    copies; the difference from the first figure is what they add to the upload task)."""
    from locker.infra import print_copies, thumbs
    from locker.infra.storage import evidence_storage
    from locker.models import EvidenceFile
    from locker.tasks import make_derived

    waiting = list(
        EvidenceFile.objects.filter(case=case, derived=EvidenceFile.Derived.PENDING).values_list(
            "pk", flat=True
        )
    )
    started, cpu = time.perf_counter(), time.process_time()
    outcomes = [make_derived.apply(args=[str(pk)]).get() for pk in waiting]
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(
        f"upload tasks (make_derived: thumb, view and print copy) for {len(waiting)} files "
        f"({outcomes.count('ready')} ready): {wall:.2f} s wall, CPU {cpu:.2f} s"
    )
    rows = list(EvidenceFile.objects.filter(case=case))

    def made_again(what: str, names: Callable[[EvidenceFile], list[str]]) -> None:
        for row in rows:
            for name in names(row):
                evidence_storage().delete(name)
        started, cpu = time.perf_counter(), time.process_time()
        for row in rows:
            thumbs.make_pictures(row)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        print(f"{what} for {len(rows)} files: {wall:.2f} s wall, CPU {cpu:.2f} s")

    made_again(
        "print copies alone (read, decode, scale, encode, store)",
        lambda row: [print_copies.print_copy_name(row.case_id, row.sha256)],
    )
    made_again(
        "page pictures alone (thumb and view, as before print copies)",
        lambda row: [thumbs.derived_name(row, size) for size in thumbs.SIZES],
    )


def remove_print_copies(case_id: str) -> int:
    """The cold case: no stored print copies, as for pictures uploaded before they existed
    (the dossier then makes the pictures and stores the copies again)."""
    from locker.infra import print_copies
    from locker.infra.storage import evidence_storage
    from locker.models import EvidenceFile

    storage = evidence_storage()
    removed = 0
    for sha256 in EvidenceFile.objects.filter(case_id=case_id).values_list("sha256", flat=True):
        name = print_copies.print_copy_name(case_id, sha256)
        if storage.exists(name):
            storage.delete(name)
            removed += 1
    return removed


def request(case_id: str, template: str) -> str:
    """A new dossier of the case, waiting for the benchmark (one per timed run)."""
    from django.db import transaction

    from locker.models import Case, Dossier
    from locker.services import dossiers as dossier_services

    case = Case.objects.get(pk=case_id)
    with transaction.atomic():
        dossier = dossier_services.request_dossier(
            case=case,
            user=case.owner,
            template=template,
            language="zh-hans",
            verify_url="http://127.0.0.1:8000/verify",
        )
    # The benchmark runs the pipeline itself; the row must not be taken by a worker.
    Dossier.objects.filter(pk=dossier.pk).update(enqueued_at=datetime.now(UTC))
    return str(dossier.pk)


def cpu_seconds() -> float:
    """CPU time of this process and of the children it has waited for (image processes):
    steadier than wall time on a shared machine, and it shows work moved to another core."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def render(dossier_id: str) -> None:
    import logging

    from locker.dossier.build import build_dossier
    from locker.models import Dossier
    from locker.services import dossiers as dossier_services

    # The image processes' own peak memory (not in this process's VmHWM), from their log line.
    said: list[str] = []
    handler = logging.Handler(logging.INFO)
    handler.emit = lambda record: said.append(record.getMessage())  # type: ignore[method-assign]
    logging.getLogger("locker.dossier.images").addHandler(handler)
    logging.getLogger("locker.dossier.images").setLevel(logging.INFO)
    started, cpu = time.perf_counter(), cpu_seconds()
    claim = dossier_services.claim_dossier(dossier_id=dossier_id)
    assert claim is not None
    build_dossier(claim)
    wall = time.perf_counter() - started
    cpu = cpu_seconds() - cpu
    peak_mb = peak_rss_mb()
    dossier = Dossier.objects.get(pk=dossier_id)
    print(
        f"state {dossier.state}; {dossier.pages} pages; {dossier.size / 1e6:.1f} MB PDF; "
        f"chain length {dossier.chain_length}"
    )
    print(f"render+sign wall time: {wall:.2f} s   (target <= 12 s); CPU {cpu:.2f} s")
    print(f"peak memory (VmHWM, whole process): {peak_mb:.0f} MB   (target <= 300 MB)")
    print("".join(line for line in said if "pictures prepared" in line))
    print(f"PROJECT_WALL {wall:.4f} PROJECT_CPU {cpu:.4f}")


def bare(data_dir: str, font_path: str, entries: int, size: tuple[int, int], quality: int) -> None:
    """The baseline: plain reportlab, the same pictures as JPEG (scaled to fit `size` and
    encoded at `quality`, the project's print size and quality), the entries as text."""
    from PIL import Image
    from reportlab import rl_config
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen.canvas import Canvas

    # As the project writes its PDFs (locker/dossier/render.py): binary streams, not ASCII85.
    rl_config.useA85 = 0
    started, cpu = time.perf_counter(), cpu_seconds()
    pdfmetrics.registerFont(TTFont("CJK", font_path))
    out = Path(data_dir) / "bare.pdf"
    canvas = Canvas(str(out), pagesize=A4)
    width, height = A4
    line = 0
    for number in range(entries):
        if line == 0:
            canvas.setFont("CJK", 8)
        canvas.drawString(
            40,
            height - 50 - line * 26,
            f"#{number} 2026-01-01 23:10 来电 17012345678 威胁上门、爆通讯录",
        )
        line += 1
        if line == 28:
            canvas.showPage()
            line = 0
    canvas.showPage()
    scratch = Path(tempfile.mkdtemp(prefix="bare-", dir=data_dir))
    for index, path in enumerate(sorted((Path(data_dir) / "bare").glob("*.png"))):
        with Image.open(path) as source:
            source.draft("RGB", size)
            picture = source.convert("RGB")
            picture.thumbnail(size, Image.Resampling.BILINEAR)
            # A file per picture, drawn by name as the project does: reportlab copies a
            # JPEG file's bytes as they are. (An ImageReader would be decoded again to
            # name it by its pixels, and the bench's repeated pictures then embedded once.)
            jpeg = scratch / f"{index:04d}.jpg"
            picture.save(jpeg, "JPEG", quality=quality)
        x = 40 if index % 2 == 0 else width / 2 + 5
        canvas.drawImage(str(jpeg), x, 80, width / 2 - 45, height - 160, preserveAspectRatio=True)
        if index % 2 == 1:
            canvas.showPage()
    canvas.save()
    wall = time.perf_counter() - started
    cpu = cpu_seconds() - cpu
    peak_mb = peak_rss_mb()
    print(f"bare reportlab: {canvas.getPageNumber()} pages; {out.stat().st_size / 1e6:.1f} MB PDF")
    print(f"bare wall time: {wall:.2f} s; CPU {cpu:.2f} s; peak memory {peak_mb:.0f} MB")
    print(f"BARE_WALL {wall:.4f} BARE_CPU {cpu:.4f}")


def _figure(out: str, label: str) -> float:
    return float(out.split(f"{label} ")[1].split()[0])


def _project(data_dir: str, dossier_id: str, args: argparse.Namespace) -> tuple[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--render", data_dir, dossier_id]
        + (["--profile", str(Path(args.profile).resolve())] if args.profile else []),
        check=True,
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout
    return out, _figure(out, "PROJECT_WALL")


def timed_run(data_dir: str, case_id: str, args: argparse.Namespace) -> None:
    """The project's render with the print copies stored (as after normal uploads), then
    without them (the old path: every picture decoded, scaled and encoded), then the bare
    script, each in a fresh process."""
    from locker.dossier.images import JPEG_QUALITY, MAX_HEIGHT_PX, MAX_WIDTH_PX
    from locker.infra.fonts import cjk_font_path

    print("[warm: print copies stored]")
    warm_out, warm = _project(data_dir, request(case_id, args.template), args)
    print(warm_out, end="")
    print(f"[cold: {remove_print_copies(case_id)} print copies removed first]")
    cold_out, cold = _project(data_dir, request(case_id, args.template), args)
    print(cold_out, end="")
    baseline = subprocess.run(
        [
            sys.executable,
            __file__,
            "--bare",
            data_dir,
            str(cjk_font_path()),
            str(args.entries),
            str(MAX_WIDTH_PX),
            str(MAX_HEIGHT_PX),
            str(JPEG_QUALITY),
        ],
        check=True,
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout
    print("[bare reportlab]")
    print(baseline, end="")
    theirs = _figure(baseline, "BARE_WALL")
    cpus = [_figure(warm_out, "PROJECT_CPU"), _figure(cold_out, "PROJECT_CPU")]
    bare_cpu = _figure(baseline, "BARE_CPU")
    print(
        f"ratio warm (print copies stored) / bare: {warm / theirs:.2f}x wall, "
        f"{cpus[0] / bare_cpu:.2f}x CPU   (target <= 1.2x)"
    )
    print(
        f"ratio cold (no print copies) / bare:     {cold / theirs:.2f}x wall, "
        f"{cpus[1] / bare_cpu:.2f}x CPU"
    )
    # In the format bench/run_all.py reads: the dossier as the worker makes it after normal
    # uploads (print copies stored), the cold path, and their CPU, each against the bare run.
    for name, mine, bare in (
        ("dossier_wall_s", warm, theirs),
        ("dossier_cold_wall_s", cold, theirs),
        ("dossier_cpu_s", cpus[0], bare_cpu),
        ("dossier_cold_cpu_s", cpus[1], bare_cpu),
    ):
        print(f"RESULT {name} project={mine:.2f} baseline={bare:.2f} ratio={mine / bare:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1000)
    parser.add_argument("--screenshots", type=int, default=100)
    parser.add_argument("--template", default="cn_regulator")
    parser.add_argument(
        "--render", nargs=2, metavar=("DATA_DIR", "DOSSIER_ID"), help=argparse.SUPPRESS
    )
    parser.add_argument(
        "--bare",
        nargs=6,
        metavar=("DATA_DIR", "FONT", "N", "WIDTH", "HEIGHT", "QUALITY"),
        help=argparse.SUPPRESS,
    )
    parser.add_argument("--keep", action="store_true", help="keep the data dir")
    parser.add_argument(
        "--runs", type=int, default=1, help="timed runs (project, then bare) on the one case"
    )
    parser.add_argument(
        "--profile", metavar="FILE", help="write a cProfile of the project's render to FILE"
    )
    args = parser.parse_args()
    if args.bare:
        directory, font, count, width, height, quality = args.bare
        bare(directory, font, int(count), (int(width), int(height)), int(quality))
        return
    if args.render:
        _django(args.render[0])
        if args.profile:
            import cProfile

            cProfile.runctx(
                "render(dossier_id)", globals(), {"dossier_id": args.render[1]}, args.profile
            )
        else:
            render(args.render[1])
        return
    data_dir = tempfile.mkdtemp(prefix="locker-bench-")
    _django(data_dir)
    setup = time.perf_counter()
    case_id = build_case(args.entries, args.screenshots, args.template)
    print(f"case built in {time.perf_counter() - setup:.1f} s (not timed); data dir {data_dir}")
    for run in range(1, args.runs + 1):
        print(f"--- run {run} of {args.runs}; load average {os.getloadavg()[0]:.2f}")
        timed_run(data_dir, case_id, args)
    if not args.keep:
        import shutil

        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
