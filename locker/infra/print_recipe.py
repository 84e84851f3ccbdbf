"""How a picture is printed in a dossier: decoded, turned upright (EXIF orientation), scaled
to fit the print size with Pillow's bilinear `thumbnail` and written as JPEG. One home for
the recipe, used by the worker when a picture is uploaded (locker/infra/print_copies.py: the
stored print copy) and by the dossier when no valid stored copy exists
(locker/dossier/picture.py, in its image processes).

This module imports Pillow and nothing of Django: the dossier's image processes import it.

`RECIPE` names everything that decides a print copy's bytes (the sizes, the resampling, the
quality, Pillow's and its JPEG library's versions): a stored copy made under another recipe
is not used, so a change here never prints a copy made the old way."""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass

import PIL
from PIL import Image, ImageOps, features

# Half the A4 frame width at 150 dpi, and most of its height: two screenshots per page.
MAX_WIDTH_PX = 520
MAX_HEIGHT_PX = 1150
JPEG_QUALITY = 80
MAX_SOURCE_PIXELS = 60_000_000
RESAMPLE = Image.Resampling.BILINEAR
REDUCING_GAP = 2.0
# The formats pictures were accepted as (locker/infra/content.py PILLOW_FORMATS, and BMP,
# accepted before uploads were parsed): Pillow opens nothing else here.
# tests/test_dossier_images.py checks the two lists agree.
PRINT_FORMATS = ("BMP", "GIF", "HEIF", "JPEG", "PNG", "WEBP")
# Bump when the code below changes what it writes in a way the values do not show.
RECIPE_VERSION = 1

RECIPE = hashlib.sha256(
    json.dumps(
        {
            "version": RECIPE_VERSION,
            "box": [MAX_WIDTH_PX, MAX_HEIGHT_PX],
            "quality": JPEG_QUALITY,
            "max_pixels": MAX_SOURCE_PIXELS,
            "resample": RESAMPLE.name,
            "reducing_gap": REDUCING_GAP,
            "pillow": PIL.__version__,
            "jpeg": features.version("jpg"),
        },
        sort_keys=True,
    ).encode()
).hexdigest()[:16]

try:  # HEIC/HEIF originals without a decoded copy yet (the worker prints its copy first)
    import pillow_heif

    pillow_heif.register_heif_opener()
except ImportError:  # pragma: no cover - pillow-heif is a dependency of the project
    pass

DECODE_ERRORS = (OSError, ValueError, Image.DecompressionBombError, SyntaxError)


@dataclass(frozen=True)
class Printed:
    sha256: str  # of the bytes given
    width: int
    height: int
    written: bool  # False: the picture cannot be displayed (`error` says why)
    error: str = ""


def print_jpeg(raw: bytes) -> tuple[Printed, bytes]:
    """The print copy of the picture `raw`, as JPEG bytes (b"" when it cannot be made)."""
    digest = hashlib.sha256(raw).hexdigest()
    try:
        with Image.open(io.BytesIO(raw), formats=PRINT_FORMATS) as source:
            if source.width * source.height > MAX_SOURCE_PIXELS:
                raise ValueError("image too large to display")
            source.draft("RGB", (MAX_WIDTH_PX, MAX_HEIGHT_PX))  # JPEG: decode at lower scale
            # In place: a copy of a full-size screenshot costs as much as scaling it.
            ImageOps.exif_transpose(source, in_place=True)
            return print_oriented(source, digest)
    except DECODE_ERRORS as exc:
        return Printed(digest, 0, 0, False, str(exc) or exc.__class__.__name__), b""


def print_oriented(picture: Image.Image, digest: str) -> tuple[Printed, bytes]:
    """The print copy of a picture already opened and turned upright (scaled in place).
    For a format without a reduced decode (PNG, GIF, WebP, BMP) the worker decodes the
    picture once and gives a copy of it here and to its thumbnails: the same pixels as
    `print_jpeg` of the file, since nothing before this step depends on the print size."""
    if picture.width * picture.height > MAX_SOURCE_PIXELS:
        return Printed(digest, 0, 0, False, "image too large to display"), b""
    picture.thumbnail((MAX_WIDTH_PX, MAX_HEIGHT_PX), RESAMPLE, reducing_gap=REDUCING_GAP)
    if picture.mode in ("RGBA", "LA", "P"):
        rgba = picture.convert("RGBA")
        picture = Image.new("RGB", rgba.size, "white")
        picture.paste(rgba, mask=rgba.getchannel("A"))
    elif picture.mode != "RGB":
        picture = picture.convert("RGB")
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=JPEG_QUALITY, optimize=False)
    return Printed(digest, picture.width, picture.height, True), out.getvalue()
