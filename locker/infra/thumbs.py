"""Safe derived copies of image evidence for pages: decoded by Pillow, oriented, scaled and
re-encoded as JPEG without metadata (EXIF, GPS, ICC), so that a page never hands the
browser an uploaded file to parse and never leaks where a photo was taken. HEIC/HEIF photos,
which most browsers cannot show, get them too (decoded by pillow-heif). Kept in the
evidence storage under derived/; originals are never touched, and a derived copy is never
evidence (the chain names the original's hash only).

The Celery worker makes them after the commit (locker/infra/derived.py, tasks.make_derived);
a web process only serves one that exists, so no page view decodes a 12-megapixel photo in
a web worker. A JPEG is decoded at a reduced scale (Image.draft): its DCT decodes straight
to 1/2, 1/4 or 1/8 of its size, a fraction of the time and memory of the full picture."""

from __future__ import annotations

import hashlib
import io
import logging
import warnings

from PIL import Image, ImageOps, UnidentifiedImageError

from locker.infra.content import PILLOW_FORMATS, max_image_pixels
from locker.infra.storage import evidence_storage, write_verified
from locker.models import EvidenceFile

logger = logging.getLogger(__name__)

SIZES = {"thumb": 240, "view": 1280}
IMAGE_TYPES = frozenset(
    {"image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp", "image/heic", "image/heif"}
)
# Pillow opens a file only as the format it was accepted as. BMP was accepted before uploads
# were parsed (issue 12): such files keep their pictures.
_PILLOW_FORMAT = {**PILLOW_FORMATS, "image/bmp": "BMP"}


def derived_name(evidence: EvidenceFile, size: str) -> str:
    return derived_name_for(evidence.case_id, evidence.sha256, size)


def derived_name_for(case_id: object, sha256: str, size: str) -> str:
    return f"derived/{case_id}/{sha256[:2]}/{sha256}-{size}.jpg"


def can_derive(evidence: EvidenceFile) -> bool:
    return evidence.media_type in IMAGE_TYPES


def _render(evidence: EvidenceFile, edge: int) -> bytes | None:
    storage = evidence_storage()
    try:
        with storage.open(evidence.storage_name, "rb") as handle, warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image: Image.Image = Image.open(handle, formats=[_PILLOW_FORMAT[evidence.media_type]])
            if image.width * image.height > max_image_pixels():
                return None
            image.seek(0)  # first frame of an animation
            if image.format == "JPEG":
                # Decode at the smallest DCT scale still at least the size wanted (both
                # ways round: EXIF may turn the picture), instead of every pixel.
                image.draft("RGB", (edge, edge))
            image = ImageOps.exif_transpose(image)
            image.thumbnail((edge, edge * 3))
            if image.mode not in ("RGB", "L"):
                background = Image.new("RGB", image.size, "white")
                rgba = image.convert("RGBA")
                background.paste(rgba, mask=rgba.getchannel("A"))
                image = background
            out = io.BytesIO()
            image.save(out, "JPEG", quality=72, optimize=True, progressive=True)
            return out.getvalue()
    except (
        OSError,
        UnidentifiedImageError,
        Image.DecompressionBombError,
        ValueError,
        Image.DecompressionBombWarning,
    ) as exc:
        logger.info("no derived copy of evidence %s: %s", evidence.pk, exc.__class__.__name__)
        return None


def derived_copy(evidence: EvidenceFile, size: str) -> str | None:
    """The storage name of the derived copy, made if it is not there yet (by the worker:
    locker/infra/derived.py); None if the file is not an image Pillow can safely decode.
    Written like evidence (write_verified): a full or failing store raises StorageFull /
    StorageUnavailable and leaves no partial copy, which would otherwise be served as the
    picture from then on."""
    if size not in SIZES or not can_derive(evidence):
        return None
    name = derived_name(evidence, size)
    storage = evidence_storage()
    if storage.exists(name):
        return name
    data = _render(evidence, SIZES[size])
    if data is None:
        return None
    # A concurrent request may have made it meanwhile: kept if its bytes are these.
    write_verified(name, io.BytesIO(data), sha256=hashlib.sha256(data).hexdigest(), size=len(data))
    return name
