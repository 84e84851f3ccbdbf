"""Evidence files made ready for print: images decoded once, scaled to print resolution
and re-encoded as JPEG in a scratch directory (a 1080x2400 screenshot at full size costs
seconds per page and megabytes; the originals stay byte-exact in the export bundle), and
audio durations read where the format allows. Each file is re-hashed while it is read, so a
caption never shows a hash the stored bytes no longer have."""

from __future__ import annotations

import hashlib
import io
import logging
import tempfile
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps

from locker.dossier.data import Exhibit
from locker.infra.content import PILLOW_FORMATS
from locker.infra.storage import evidence_storage
from locker.infra.thumbs import derived_name_for
from locker.models import EvidenceFile

log = logging.getLogger(__name__)

# Half the A4 frame width at 150 dpi, and most of its height: two screenshots per page.
MAX_WIDTH_PX = 520
MAX_HEIGHT_PX = 1150
JPEG_QUALITY = 80
MAX_SOURCE_PIXELS = 60_000_000
# The formats pictures were accepted as (and BMP, accepted before uploads were parsed).
PRINT_FORMATS = sorted({*PILLOW_FORMATS.values(), "BMP"})
DECODED_BY_THE_WORKER = frozenset({"image/heic", "image/heif"})


@dataclass(frozen=True)
class PreparedImage:
    sha256: str
    path: Path | None
    width: int
    height: int
    matches: bool  # the stored bytes still hash to the recorded SHA-256


def _read(storage_name: str) -> bytes:
    with evidence_storage().open(storage_name, "rb") as handle:
        return handle.read()


def _prepare(
    case_id: Any, exhibit: Exhibit, storage_name: str | None, scratch: Path
) -> PreparedImage:
    if storage_name is None:
        return PreparedImage(exhibit.sha256, None, 0, 0, False)
    try:
        raw = _read(storage_name)
    except OSError:
        log.warning("evidence %s cannot be read", exhibit.sha256)
        return PreparedImage(exhibit.sha256, None, 0, 0, False)
    matches = hashlib.sha256(raw).hexdigest() == exhibit.sha256
    picture_bytes = raw
    if exhibit.media_type in DECODED_BY_THE_WORKER:
        # HEIC/HEIF: printed from the worker's decoded copy (locker/infra/thumbs.py), which
        # is the same picture as a JPEG; the caption's hash is still the original's.
        copy = derived_name_for(case_id, exhibit.sha256, "view")
        try:
            picture_bytes = _read(copy)
        except OSError:
            log.info("no decoded copy of %s yet: the original is decoded", exhibit.sha256)
    try:
        with Image.open(io.BytesIO(picture_bytes), formats=PRINT_FORMATS) as source:
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
            path = scratch / f"{exhibit.sha256}.jpg"
            picture.save(path, "JPEG", quality=JPEG_QUALITY, optimize=False)
            return PreparedImage(exhibit.sha256, path, picture.width, picture.height, matches)
    except (OSError, ValueError, Image.DecompressionBombError, SyntaxError) as exc:
        log.warning("evidence %s cannot be displayed: %s", exhibit.sha256, exc)
        return PreparedImage(exhibit.sha256, None, 0, 0, matches)


def prepare_images(
    case_id: Any,
    exhibits: Iterable[Exhibit],
    scratch: Path,
    progress: Callable[[float], None] | None = None,
    workers: int = 2,
) -> dict[str, PreparedImage]:
    """Scaled JPEG copies of the image exhibits in `scratch`, keyed by SHA-256. Pillow
    releases the GIL while decoding and resizing, so two threads use both cores."""
    # The same bytes may be an exhibit of several entries: prepared once.
    chosen = list({e.sha256: e for e in exhibits if e.is_image}.values())
    names = dict(
        EvidenceFile.objects.filter(
            case_id=case_id, sha256__in=[e.sha256 for e in chosen]
        ).values_list("sha256", "storage_name")
    )
    prepared: dict[str, PreparedImage] = {}
    if not chosen:
        return prepared
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(_prepare, case_id, e, names.get(e.sha256), scratch) for e in chosen]
        for done, future in enumerate(futures, start=1):
            result = future.result()
            prepared[result.sha256] = result
            if progress:
                progress(done / len(chosen))
    return prepared


def audio_durations(case_id: Any, exhibits: Iterable[Exhibit]) -> dict[str, int | None]:
    """Whole seconds per audio exhibit, or None where the format does not tell (AMR,
    damaged files)."""
    import mutagen

    chosen = list({e.sha256: e for e in exhibits if e.is_audio}.values())
    names = dict(
        EvidenceFile.objects.filter(
            case_id=case_id, sha256__in=[e.sha256 for e in chosen]
        ).values_list("sha256", "storage_name")
    )
    durations: dict[str, int | None] = {}
    for exhibit in chosen:
        seconds = None
        name = names.get(exhibit.sha256)
        if name:
            try:
                with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as spool:
                    spool.write(_read(name))
                    spool.seek(0)
                    parsed = mutagen.File(spool)
                if parsed is not None and getattr(parsed.info, "length", None):
                    seconds = round(parsed.info.length)
            except Exception:  # noqa: BLE001 - mutagen raises many kinds on odd files
                log.info("duration of %s unknown", exhibit.sha256)
        durations[exhibit.sha256] = seconds
    return durations
