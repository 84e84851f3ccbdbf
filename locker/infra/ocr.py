"""Reading the text in a picture (a screenshot of an SMS, a WeChat chat) with Tesseract, in the
worker, after the commit (locker/services/evidence_text.py, task locker.tasks.read_text).

What is read is a derived annotation, never evidence: the chain names the picture's hash, the
picture is what is exported and verified, and the text may be wrong. Pages and dossiers say
it is machine-read.

Tesseract is called as a program, like ffmpeg in locker/infra/derived.py, rather than through
a wrapper library: a fixed argument list, a minimal environment, one thread, a time limit, and
its TSV output parsed here (pytesseract runs the same program the same way and would add a
dependency for no more than that). It reads a private temporary PNG that Pillow decoded from
the unsealed original (never the stored, sealed file, and never a format Tesseract would
guess): the same decoding and pixel limit as the derived pictures.

Debian's packages: tesseract-ocr, tesseract-ocr-chi-sim, tesseract-ocr-eng. Without the
program or one of the two languages, the feature is off: the row waits as `no_tool` and the
sweep reads it once they are installed."""

from __future__ import annotations

import csv
import io
import logging
import os
import shutil
import subprocess
import tempfile
import time
import warnings
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from django.conf import settings
from PIL import Image, ImageOps, UnidentifiedImageError

from locker.infra.content import PILLOW_FORMATS, max_image_pixels
from locker.infra.storage import evidence_storage
from locker.infra.thumbs import IMAGE_TYPES
from locker.models import EvidenceFile

log = logging.getLogger(__name__)

LANGUAGES = ("chi_sim", "eng")
# The most text kept of one picture (a long scrolling screenshot); beyond it is cut and said.
MAX_TEXT = 100_000
# Tesseract reads best at a text height of 20-40 px: small pictures are enlarged, huge ones
# reduced to this many pixels (a scrolling screenshot of 1080 x 20000 is 21.6 MP).
MIN_WIDTH = 1000
MAX_PIXELS = 24_000_000
# How long the answer of "is Tesseract here, with its languages?" is kept (pages ask it).
PROBE_TTL_S = 60.0
_PILLOW_FORMAT = {**PILLOW_FORMATS, "image/bmp": "BMP"}


class Outcome(StrEnum):
    READY = "ready"
    FAILED = "failed"
    NO_TOOL = "no_tool"


@dataclass(frozen=True)
class Engine:
    program: str
    version: str  # "tesseract 5.3.0"
    languages: str  # "chi_sim+eng"


@dataclass(frozen=True)
class Probe:
    engine: Engine | None
    missing: str  # what is missing, for the log and the notice ("" when nothing is)


@dataclass(frozen=True)
class Reading:
    outcome: Outcome
    text: str = ""
    confidence: int | None = None
    engine: Engine | None = None


_probe_cache: tuple[float, Probe] | None = None


def _run(command: list[str], timeout: float) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(  # noqa: S603 - a fixed program and argument list
        command,
        capture_output=True,
        timeout=timeout,
        check=False,
        env={
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LC_ALL": "C",
            # One thread: the worker shares the machine; OpenMP would take every core.
            "OMP_THREAD_LIMIT": "1",
        },
    )


def probe(*, fresh: bool = False) -> Probe:
    """Whether Tesseract and the languages are installed where this process runs."""
    global _probe_cache
    now = time.monotonic()
    if not fresh and _probe_cache is not None and now - _probe_cache[0] < PROBE_TTL_S:
        return _probe_cache[1]
    result = _probe()
    _probe_cache = (now, result)
    return result


def _probe() -> Probe:
    program = shutil.which(settings.LOCKER_TESSERACT)
    if program is None:
        return Probe(None, "the tesseract program")
    try:
        version = _run([program, "--version"], 10)
        listed = _run([program, "--list-langs"], 10)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Probe(None, f"a working tesseract program ({exc.__class__.__name__})")
    lines = (version.stdout + version.stderr).decode(errors="replace").splitlines()
    name = lines[0].strip() if lines else "tesseract"
    have = {line.strip() for line in listed.stdout.decode(errors="replace").splitlines()[1:]}
    missing = [language for language in LANGUAGES if language not in have]
    if missing:
        return Probe(None, "Tesseract's language data " + ", ".join(missing))
    return Probe(Engine(program, name[:100], "+".join(LANGUAGES)), "")


def wants_text(media_type: str) -> bool:
    return media_type in IMAGE_TYPES


def read_text(evidence: EvidenceFile) -> Reading:
    """Read the picture's text. Raises StorageFull / StorageUnavailable (worth retrying)."""
    engine = probe().engine
    if engine is None:
        engine = probe(fresh=True).engine  # installed since the last look?
    if engine is None:
        log.warning("no text read from evidence %s: Tesseract is missing", evidence.pk)
        return Reading(Outcome.NO_TOOL)
    with tempfile.TemporaryDirectory(prefix="locker-ocr-") as scratch:
        picture = Path(scratch) / "page.png"
        if not _decode(evidence, picture):
            return Reading(Outcome.FAILED, engine=engine)
        command = [
            engine.program,
            str(picture),
            "stdout",
            "-l",
            engine.languages,
            "--psm",
            "3",
            "tsv",
        ]
        try:
            result = _run(command, settings.LOCKER_MEDIA_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            log.warning("Tesseract took too long on evidence %s", evidence.pk)
            return Reading(Outcome.FAILED, engine=engine)
    if result.returncode != 0:
        log.warning(
            "Tesseract could not read evidence %s: %s",
            evidence.pk,
            result.stderr.decode(errors="replace")[-500:],
        )
        return Reading(Outcome.FAILED, engine=engine)
    text, confidence = text_of_tsv(result.stdout.decode("utf-8", errors="replace"))
    return Reading(Outcome.READY, text[:MAX_TEXT], confidence, engine)


def _decode(evidence: EvidenceFile, target: Path) -> bool:
    """The picture as a grey PNG Tesseract reads well; False when Pillow cannot decode it."""
    try:
        with (
            evidence_storage().open(evidence.storage_name, "rb") as handle,
            warnings.catch_warnings(),
        ):
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image: Image.Image = Image.open(handle, formats=[_PILLOW_FORMAT[evidence.media_type]])
            if image.width * image.height > max_image_pixels():
                return False
            image.seek(0)
            image = ImageOps.exif_transpose(image)
            if image.mode in ("RGBA", "LA", "P"):
                background = Image.new("RGB", image.size, "white")
                rgba = image.convert("RGBA")
                background.paste(rgba, mask=rgba.getchannel("A"))
                image = background
            image = image.convert("L")
            if image.width < MIN_WIDTH:
                scale = MIN_WIDTH / image.width
                image = image.resize(
                    (MIN_WIDTH, max(1, round(image.height * scale))), Image.Resampling.LANCZOS
                )
            if image.width * image.height > MAX_PIXELS:
                scale = (MAX_PIXELS / (image.width * image.height)) ** 0.5
                image = image.resize(
                    (max(1, int(image.width * scale)), max(1, int(image.height * scale))),
                    Image.Resampling.LANCZOS,
                )
            image.save(target, "PNG")
    except (
        OSError,
        UnidentifiedImageError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
        ValueError,
        KeyError,
    ) as exc:
        log.info("no text read from evidence %s: %s", evidence.pk, exc.__class__.__name__)
        return False
    return True


def _joins_with_space(left: str, right: str) -> bool:
    # Chinese is written without spaces; Tesseract gives each character as a word of its
    # own. A space goes only between two words of a spaced script (Latin letters, digits).
    return bool(left and right) and left[-1].isascii() and right[0].isascii()


def text_of_tsv(tsv: str) -> tuple[str, int | None]:
    """The text of Tesseract's TSV (its words, in reading order: lines by newlines,
    paragraphs by a blank line) and the mean confidence of its words (0-100)."""
    lines: dict[tuple[str, str, str], list[str]] = {}
    confidences: list[float] = []
    reader = csv.DictReader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE)
    for row in reader:
        word = (row.get("text") or "").strip()
        if row.get("level") != "5" or not word:
            continue
        try:
            confidence = float(row.get("conf") or -1)
        except ValueError:
            confidence = -1
        if confidence < 0:
            continue
        confidences.append(confidence)
        key = (row.get("block_num", ""), row.get("par_num", ""), row.get("line_num", ""))
        lines.setdefault(key, []).append(word)
    out: list[str] = []
    previous_paragraph: tuple[str, str] | None = None
    for (block, paragraph, _line), words in lines.items():
        if previous_paragraph is not None and previous_paragraph != (block, paragraph):
            out.append("")
        previous_paragraph = (block, paragraph)
        text = words[0]
        for word in words[1:]:
            text += (" " if _joins_with_space(text, word) else "") + word
        out.append(text)
    mean = round(sum(confidences) / len(confidences)) if confidences else None
    return "\n".join(out).strip(), mean
