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
from locker.infra.print_copies import read_print_copy, store_print_copy
from locker.infra.print_recipe import DECODE_ERRORS, print_jpeg, print_oriented
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


# Formats without a reduced decode (Image.draft does nothing for them): decoded once, at
# full size, for the thumbnails and the print copy alike. A JPEG is decoded once per size,
# each time at the smallest DCT scale that size allows, which costs less than one full decode.
DECODED_ONCE = frozenset({"image/png", "image/gif", "image/webp", "image/bmp"})
HEIF_TYPES = frozenset({"image/heic", "image/heif"})
_DECODE_ERRORS = (
    OSError,
    UnidentifiedImageError,
    Image.DecompressionBombError,
    ValueError,
    Image.DecompressionBombWarning,
)


def _opened(evidence: EvidenceFile, raw: bytes) -> Image.Image:
    """The picture opened as the format it was accepted as, its first frame; raises
    (_DECODE_ERRORS) when it is not one Pillow can safely decode."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        image: Image.Image = Image.open(
            io.BytesIO(raw), formats=[_PILLOW_FORMAT[evidence.media_type]]
        )
        if image.width * image.height > max_image_pixels():
            raise ValueError("too many pixels")
        image.seek(0)  # first frame of an animation
        return image


def _scaled(image: Image.Image, edge: int) -> bytes:
    """The page picture of an opened, upright image (scaled in place)."""
    image.thumbnail((edge, edge * 3))
    if image.mode not in ("RGB", "L"):
        background = Image.new("RGB", image.size, "white")
        rgba = image.convert("RGBA")
        background.paste(rgba, mask=rgba.getchannel("A"))
        image = background
    out = io.BytesIO()
    image.save(out, "JPEG", quality=72, optimize=True, progressive=True)
    return out.getvalue()


def _render(
    evidence: EvidenceFile, raw: bytes, edge: int, upright: Image.Image | None
) -> bytes | None:
    """The page picture of `edge` px: from `upright` (the picture decoded once, upright)
    when given, else decoded from `raw` for this size."""
    try:
        if upright is not None:
            return _scaled(upright.copy(), edge)
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = _opened(evidence, raw)
            if image.format == "JPEG":
                # Decode at the smallest DCT scale still at least the size wanted (both
                # ways round: EXIF may turn the picture), instead of every pixel.
                image.draft("RGB", (edge, edge))
            return _scaled(ImageOps.exif_transpose(image), edge)
    except _DECODE_ERRORS as exc:
        logger.info("no derived copy of evidence %s: %s", evidence.pk, exc.__class__.__name__)
        return None


def _upright(evidence: EvidenceFile, raw: bytes) -> Image.Image | None:
    """The picture decoded at full size and turned upright, for the formats decoded once."""
    if evidence.media_type not in DECODED_ONCE:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = _opened(evidence, raw)
            image.load()
            return ImageOps.exif_transpose(image)
    except _DECODE_ERRORS as exc:
        logger.info("no derived copy of evidence %s: %s", evidence.pk, exc.__class__.__name__)
        return None


def _read(name: str) -> bytes:
    with evidence_storage().open(name, "rb") as handle:
        return handle.read()


def _store(name: str, data: bytes) -> None:
    # A concurrent request may have made it meanwhile: kept if its bytes are these.
    write_verified(name, io.BytesIO(data), sha256=hashlib.sha256(data).hexdigest(), size=len(data))


def make_pictures(evidence: EvidenceFile) -> bool:
    """Make the page pictures (thumb, view) and the dossiers' print copy
    (locker/infra/print_copies.py) of an image evidence file, each unless a valid one is
    stored already: the original is read once and, for the formats decoded once, decoded
    once for all three. True when both page pictures exist (the print copy, if it cannot
    be made, is made again by each dossier, which then says the picture cannot be shown).
    Written like evidence (write_verified): a full or failing store raises StorageFull /
    StorageUnavailable and leaves no partial copy, which would otherwise be served as the
    picture from then on."""
    if not can_derive(evidence):
        return False
    storage = evidence_storage()
    sizes = [size for size in SIZES if not storage.exists(derived_name(evidence, size))]
    wants_print = read_print_copy(evidence.case_id, evidence.sha256) is None
    if not sizes and not wants_print:
        return True
    raw = _read(evidence.storage_name)
    upright = _upright(evidence, raw)
    made = {size: True for size in SIZES if size not in sizes}
    for size in sizes:
        data = _render(evidence, raw, SIZES[size], upright)
        if data is not None:
            _store(derived_name(evidence, size), data)
        made[size] = data is not None
    if wants_print:
        _make_print_copy(evidence, raw, upright, made["view"])
    return all(made.values())


def _make_print_copy(
    evidence: EvidenceFile, raw: bytes, upright: Image.Image | None, has_view: bool
) -> None:
    digest = hashlib.sha256(raw).hexdigest()
    if digest != evidence.sha256:
        # Stored bytes that are not the evidence's get no copy under the evidence's hash.
        logger.warning("evidence %s does not hash to its record: no print copy", evidence.pk)
        return
    if evidence.media_type in HEIF_TYPES:
        # Dossiers print a HEIC/HEIF photo from its decoded view copy (dossier/images.py).
        if not has_view:
            return
        printed, jpeg = print_jpeg(_read(derived_name(evidence, "view")))
    elif upright is not None:
        try:
            printed, jpeg = print_oriented(upright.copy(), digest)
        except DECODE_ERRORS:
            return
    else:
        printed, jpeg = print_jpeg(raw)
    if printed.written:
        store_print_copy(evidence.case_id, evidence.sha256, jpeg, printed.width, printed.height)


def derived_copy(evidence: EvidenceFile, size: str) -> str | None:
    """The storage name of the derived copy, made if it is not there yet (by the worker:
    locker/infra/derived.py); None if the file is not an image Pillow can safely decode."""
    if size not in SIZES or not can_derive(evidence):
        return None
    name = derived_name(evidence, size)
    storage = evidence_storage()
    if storage.exists(name):
        return name
    data = _render(evidence, _read(evidence.storage_name), SIZES[size], None)
    if data is None:
        return None
    _store(name, data)
    return name
