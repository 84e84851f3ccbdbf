"""The stored print copy of a picture: the JPEG a dossier embeds for it
(locker/infra/print_recipe.py), made once, by the worker when the picture is uploaded
(locker/infra/thumbs.py make_pictures), or by the first dossier that needed it, and read by
every later dossier of the case instead of decoding, scaling and encoding the original again.

Like the other derived copies it is never evidence: the chain and the dossier name the
original's SHA-256, and a dossier uses a copy only for an original whose stored bytes it has
just read and hashed to that value. It is sealed like every stored file (so master key
rotation re-wraps it), stored under derived/ beside the pictures pages show, removed with
the original (locker/infra/derived.py derived_names) and can always be made again.

The stored file is a header line, then the JPEG. The header records the recipe it was made
under, the SHA-256 of the original it was made from (a HEIC/HEIF photo is printed from its
decoded `view` copy, as dossiers always did) and of the JPEG, and its size in pixels. A copy whose
recipe is not the current one, whose source is another file or whose JPEG does not hash to
the recorded value is not used (`read_print_copy` answers None): the dossier then makes the
picture from the original, as it would without a stored copy."""

from __future__ import annotations

import hashlib
import io
import json
import logging
from dataclasses import dataclass
from typing import Any

from locker.infra.print_recipe import RECIPE
from locker.infra.storage import evidence_storage, write_verified

log = logging.getLogger(__name__)

MAGIC = b"locker-print-copy\n"
# A header is far shorter; anything longer is not a print copy.
MAX_HEADER = 1024


@dataclass(frozen=True)
class StoredPrint:
    jpeg: bytes
    width: int
    height: int


def print_copy_name(case_id: Any, sha256: str) -> str:
    return f"derived/{case_id}/{sha256[:2]}/{sha256}-print.bin"


def packed(source_sha256: str, jpeg: bytes, width: int, height: int) -> bytes:
    header = {
        "recipe": RECIPE,
        "source_sha256": source_sha256,
        "jpeg_sha256": hashlib.sha256(jpeg).hexdigest(),
        "width": width,
        "height": height,
    }
    return MAGIC + json.dumps(header, sort_keys=True).encode() + b"\n" + jpeg


def unpacked(data: bytes, source_sha256: str) -> StoredPrint | None:
    """The copy in `data` if it is one of the picture `source_sha256` made under the current
    recipe and its JPEG is whole; None otherwise."""
    if not data.startswith(MAGIC):
        return None
    end = data.find(b"\n", len(MAGIC), len(MAGIC) + MAX_HEADER)
    if end < 0:
        return None
    try:
        header = json.loads(data[len(MAGIC) : end])
        jpeg = data[end + 1 :]
        if (
            header["recipe"] != RECIPE
            or header["source_sha256"] != source_sha256
            or header["jpeg_sha256"] != hashlib.sha256(jpeg).hexdigest()
        ):
            return None
        width, height = int(header["width"]), int(header["height"])
    except (ValueError, KeyError, TypeError):
        return None
    if width <= 0 or height <= 0 or not jpeg:
        return None
    return StoredPrint(jpeg, width, height)


def read_print_copy(case_id: Any, source_sha256: str) -> StoredPrint | None:
    """The stored print copy of the picture, if there is a valid one (module docstring).
    A copy that cannot be read (gone, tampered with, its key missing) is None too: the
    caller makes the picture from the original."""
    name = print_copy_name(case_id, source_sha256)
    try:
        with evidence_storage().open(name, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return None
    except Exception as exc:  # noqa: BLE001 - an object store's own errors too: made anew
        log.warning("print copy %s cannot be read (%s): not used", source_sha256, exc)
        return None
    copy = unpacked(data, source_sha256)
    if copy is None:
        log.info("print copy %s is of another recipe or picture: not used", source_sha256)
    return copy


def store_print_copy(
    case_id: Any, source_sha256: str, jpeg: bytes, width: int, height: int
) -> None:
    """Store the print copy, sealed, replacing whatever is under its name whole (a copy of
    an older recipe). Raises StorageFull / StorageUnavailable having stored nothing new."""
    data = packed(source_sha256, jpeg, width, height)
    write_verified(
        print_copy_name(case_id, source_sha256),
        io.BytesIO(data),
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
    )
