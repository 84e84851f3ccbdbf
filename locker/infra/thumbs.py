"""Safe derived copies of image evidence for pages: decoded by Pillow, oriented, scaled and
re-encoded as JPEG without metadata (EXIF, GPS, ICC), so that a page never hands the
browser an uploaded file to parse and never leaks where a photo was taken. Kept in the
evidence storage under derived/; originals are never touched."""

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
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp"})
# Pillow opens a file only as the format it was accepted as. BMP was accepted before uploads
# were parsed (issue 12): such files keep their pictures.
_PILLOW_FORMAT = {**PILLOW_FORMATS, "image/bmp": "BMP"}


def derived_name(evidence: EvidenceFile, size: str) -> str:
    sha = evidence.sha256
    return f"derived/{evidence.case_id}/{sha[:2]}/{sha}-{size}.jpg"


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
    """The storage name of the derived copy, made on first use; None if the file is not an
    image Pillow can safely decode. Written like evidence (write_verified): a full or failing
    store raises StorageFull / StorageUnavailable (a 507 / 503, not a 500) and leaves no
    partial copy, which would otherwise be served as the picture from then on."""
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
