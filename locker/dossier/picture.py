"""One evidence picture made ready for print: decoded, turned upright (EXIF orientation),
scaled to fit the print size and written as JPEG. Its bytes are hashed on the way, so that a
caption never shows a hash the stored bytes no longer have.

This module imports Pillow and nothing of Django, so that it can also run as a process of
its own (`python -m locker.dossier.picture`, started by locker/dossier/images.py): decoding a
full-size PNG screenshot costs tens of milliseconds in which Pillow holds the interpreter
lock for part of the time, so threads of the worker's process cannot run it beside the
layout; separate processes can. Such a process reads requests on its stdin and answers on
its stdout (`serve`); it never sees the storage, its key or the database, only the bytes the
worker read for it."""

from __future__ import annotations

import hashlib
import io
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO

from PIL import Image, ImageOps

# Half the A4 frame width at 150 dpi, and most of its height: two screenshots per page.
MAX_WIDTH_PX = 520
MAX_HEIGHT_PX = 1150
JPEG_QUALITY = 80
MAX_SOURCE_PIXELS = 60_000_000
# The formats pictures were accepted as (locker/infra/content.py PILLOW_FORMATS, and BMP,
# accepted before uploads were parsed): Pillow opens nothing else here.
# tests/test_dossier_images.py checks the two lists agree.
PRINT_FORMATS = ("BMP", "GIF", "HEIF", "JPEG", "PNG", "WEBP")

try:  # HEIC/HEIF originals without a decoded copy yet (the worker prints its copy first)
    import pillow_heif

    pillow_heif.register_heif_opener()
except ImportError:  # pragma: no cover - pillow-heif is a dependency of the project
    pass


@dataclass(frozen=True)
class Printed:
    sha256: str  # of the bytes given
    width: int
    height: int
    written: bool  # False: the picture cannot be displayed (`error` says why)
    error: str = ""


def print_copy(raw: bytes, out: Path) -> Printed:
    """Write the print copy of the picture `raw` to `out`."""
    digest = hashlib.sha256(raw).hexdigest()
    try:
        with Image.open(io.BytesIO(raw), formats=PRINT_FORMATS) as source:
            if source.width * source.height > MAX_SOURCE_PIXELS:
                raise ValueError("image too large to display")
            source.draft("RGB", (MAX_WIDTH_PX, MAX_HEIGHT_PX))  # JPEG: decode at lower scale
            # In place: a copy of a full-size screenshot costs as much as scaling it.
            ImageOps.exif_transpose(source, in_place=True)
            picture: Image.Image = source
            picture.thumbnail(
                (MAX_WIDTH_PX, MAX_HEIGHT_PX), Image.Resampling.BILINEAR, reducing_gap=2.0
            )
            if picture.mode in ("RGBA", "LA", "P"):
                rgba = picture.convert("RGBA")
                picture = Image.new("RGB", rgba.size, "white")
                picture.paste(rgba, mask=rgba.getchannel("A"))
            elif picture.mode != "RGB":
                picture = picture.convert("RGB")
            picture.save(out, "JPEG", quality=JPEG_QUALITY, optimize=False)
            return Printed(digest, picture.width, picture.height, True)
    except (OSError, ValueError, Image.DecompressionBombError, SyntaxError) as exc:
        return Printed(digest, 0, 0, False, str(exc) or exc.__class__.__name__)


def peak_rss_mb() -> float:
    """This process's peak resident memory (Linux's VmHWM); 0 where there is none."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def serve(requests: IO[bytes], answers: IO[bytes]) -> None:
    """Answer requests until the worker closes the pipe. A request is a JSON line
    {"in": path, "out": path}: the picture's bytes are in the file `in` (removed once read;
    a file is handed over in one write, where a pipe would take one wait for the worker's
    interpreter lock per 64 KiB); the answer is a JSON line of the Printed fields. At the
    end, a line {"peak_mb": ...} says how much memory this process used. An unexpected
    error ends the process (its traceback goes to stderr): the worker then prepares that
    picture itself, where the error is raised as it was before."""
    while header := requests.readline():
        request = json.loads(header)
        source = Path(request["in"])
        raw = source.read_bytes()
        source.unlink()
        printed = print_copy(raw, Path(request["out"]))
        answers.write(json.dumps(asdict(printed)).encode() + b"\n")
        answers.flush()
    answers.write(json.dumps({"peak_mb": round(peak_rss_mb(), 1)}).encode() + b"\n")
    answers.flush()


if __name__ == "__main__":
    serve(sys.stdin.buffer, sys.stdout.buffer)
