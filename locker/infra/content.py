"""What an evidence file is, decided by parsing it, never by its first bytes alone.

An upload is accepted only as one of the formats in FORMATS, and only once a parser for that
format has read it: Pillow (restricted to that one format, with a pixel cap checked before
anything is decoded, then every frame decoded), pyHanko's PDF reader, mutagen for audio, and
a walk over the format's own framing (PNG chunks, JPEG segments, GIF blocks, RIFF, ISO base
media boxes, Ogg pages, MPEG, ADTS and AMR frames) that finds where the file ends. Bytes
after that end, other than a little padding, are refused: that is where a polyglot keeps its
second file (a PNG that is also a ZIP). A ZIP's end-of-central-directory record anywhere in
the file, checked against the central directory it points at, is refused too, and so is an
archive of any kind.

The original file name plays no part here (it is evidence, kept in the entry; storage names
are content addresses)."""

from __future__ import annotations

import contextlib
import io
import json
import mmap
import re
import struct
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any

import mutagen.aac
import mutagen.mp3
import mutagen.mp4
import mutagen.oggopus
import mutagen.oggvorbis
import mutagen.wave
import pillow_heif
from django.conf import settings
from django.utils.functional import Promise
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from PIL import Image
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.crypt import AuthStatus
from pyhanko.pdf_utils.reader import PdfFileReader

# Pillow opens HEIC/HEIF only through this plugin; registering is idempotent.
pillow_heif.register_heif_opener()

# Bytes tolerated after a format's end, and only these: encoders and phones pad with them.
TRAILING_PADDING_BYTES = 4096
_PADDING = frozenset(b"\x00\xff \t\r\n")
# The framing walks below are Python loops: each may take this many steps (chunks, frames,
# pages, sub-blocks) at most, about a second of CPU. Eleven hours of AMR at its 20 ms frames
# is 2,000,000; a file that needs more is made of empty frames, not of a recording.
MAX_WALK_STEPS = 2_000_000
# ZIP end-of-central-directory signatures checked in one file at most; past that it is
# taken for an archive (four bytes that happen to read PK\5\6 occur by chance about once in
# four gigabytes).
MAX_ZIP_CANDIDATES = 64
# A PDF page tree deeper than this, or with more pages, is refused (no real document is).
MAX_PDF_DEPTH = 32
MAX_PDF_PAGES = 10_000


class ContentRefused(ValueError):
    """The file is not an accepted format, or not a whole and plain one. The message is lazy
    and says what is wrong in words the uploader can act on."""


NOT_ACCEPTED = _(
    "file type is not accepted: send pictures (JPEG, PNG, WebP, HEIC, GIF), PDF documents "
    "or audio recordings (MP3, M4A/AAC, AMR, WAV, OGG/Opus)"
)
ARCHIVE = _(
    "archives (ZIP, RAR, 7z …) are not accepted: send the pictures or recordings themselves"
)


def _unreadable(label: str) -> Promise:
    return format_lazy(
        _("the file starts like {format} but cannot be read as one; it may be damaged"),
        format=label,
    )


def _trailing(label: str) -> Promise:
    return format_lazy(
        _(
            "the {format} file has other data after its end (it may hide another file); "
            "send the original picture or recording"
        ),
        format=label,
    )


def max_image_pixels() -> int:
    return int(settings.LOCKER_MAX_IMAGE_PIXELS)


def too_many_pixels() -> Promise:
    return format_lazy(
        _("the picture has too many pixels: at most {limit} megapixels are accepted"),
        limit=f"{max_image_pixels() / 1_000_000:,.0f}",
    )


@dataclass(frozen=True)
class Format:
    label: str  # as the messages name it
    media_type: str
    # Parses the file and returns the offset where its structure ends (None: not known, as
    # for a PDF, whose incremental updates may follow its first end).
    check: Callable[[IO[bytes], Any], int | None]


def check_content(spool: IO[bytes]) -> str:
    """The media type of the file in `spool` (a seekable binary file), or ContentRefused."""
    with _mapped(spool) as data:
        if not data:
            raise ContentRefused(_("file is empty"))
        if _is_archive(data):
            raise ContentRefused(ARCHIVE)
        kind = identify(data)
        if kind is None:
            raise ContentRefused(NOT_ACCEPTED)
        if _holds_zip(data):
            raise ContentRefused(ARCHIVE)
        spool.seek(0)
        try:
            end = kind.check(spool, data)
        except ContentRefused:
            raise
        except Exception as exc:  # noqa: BLE001 - parsers raise anything on hostile input
            raise ContentRefused(_unreadable(kind.label)) from exc
        if end is not None and not _only_padding(data, end):
            raise ContentRefused(_trailing(kind.label))
    return kind.media_type


# What a phone's forwarding app posts to a capture device (locker/services/devices.py) is kept
# whole as the evidence of what arrived: text, never one of FORMATS. It is accepted only there
# (spool_upload(device_post=True)); an upload through a page or the API never is. Served, like
# every evidence file, as an attachment with nosniff, so a browser never runs it.
DEVICE_POST_MAX_BYTES = 256 * 1024
DEVICE_POST_JSON = "application/json"
DEVICE_POST_TEXT = "text/plain"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def check_device_post(spool: IO[bytes]) -> str:
    """The media type of a capture device's request body: JSON when it is a JSON document,
    else plain text (a form post). UTF-8 with no control character but tab, CR and LF;
    ContentRefused otherwise."""
    spool.seek(0)
    data = spool.read(DEVICE_POST_MAX_BYTES + 1)
    if not data:
        raise ContentRefused(_("file is empty"))
    if len(data) > DEVICE_POST_MAX_BYTES:
        raise ContentRefused(_("the request is too large"))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ContentRefused(_("the request is not UTF-8 text")) from None
    if _CONTROL.search(text):
        raise ContentRefused(_("the request holds control characters"))
    try:
        json.loads(text)
    except ValueError:
        return DEVICE_POST_TEXT
    return DEVICE_POST_JSON


@contextlib.contextmanager
def _mapped(spool: IO[bytes]) -> Iterator[Any]:
    """The file's bytes without copying them when it is a real file (a spooled upload)."""
    try:
        descriptor = spool.fileno()
        size = spool.seek(0, io.SEEK_END)
    except (AttributeError, OSError, io.UnsupportedOperation):
        spool.seek(0)
        yield spool.read()
        return
    if size == 0:
        yield b""
        return
    with mmap.mmap(descriptor, 0, access=mmap.ACCESS_READ) as view:
        yield view


def _only_padding(data: Any, end: int) -> bool:
    if end > len(data):
        return False
    rest = len(data) - end
    return rest == 0 or (rest <= TRAILING_PADDING_BYTES and set(bytes(data[end:])) <= _PADDING)


# --- what the file says it is ------------------------------------------------------------

_ARCHIVE_MAGIC = (
    b"PK\x03\x04",
    b"PK\x05\x06",
    b"PK\x07\x08",
    b"Rar!\x1a\x07",
    b"7z\xbc\xaf\x27\x1c",
    b"\x1f\x8b",  # gzip
    b"BZh",
    b"\xfd7zXZ\x00",
    b"\x28\xb5\x2f\xfd",  # zstd
    b"MSCF",  # cab
    b"\x60\xea",  # arj
)


def _is_archive(data: Any) -> bool:
    head = bytes(data[:8])
    return head.startswith(_ARCHIVE_MAGIC) or bytes(data[257:262]) == b"ustar"


def _holds_zip(data: Any) -> bool:
    """A ZIP end-of-central-directory record anywhere, whose central directory really is
    where it says (so four bytes that happen to read PK\\5\\6 in a recording do not count),
    or that a ZIP64 locator precedes."""
    position = data.find(b"PK\x05\x06")
    for _candidate in range(MAX_ZIP_CANDIDATES):
        if position == -1:
            return False
        record = bytes(data[position : position + 22])
        if position >= 20 and bytes(data[position - 20 : position - 16]) == b"PK\x06\x07":
            return True
        if len(record) == 22:
            entries, cd_size, cd_offset = struct.unpack("<10xHII2x", record)
            starts = {cd_offset, position - cd_size}
            if entries and any(
                start >= 0 and bytes(data[start : start + 4]) == b"PK\x01\x02" for start in starts
            ):
                return True
        position = data.find(b"PK\x05\x06", position + 1)
    return position != -1


def _steps() -> Iterator[int]:
    """Counts a walk's steps; past MAX_WALK_STEPS the file is refused as unreadable."""
    yield from range(MAX_WALK_STEPS)
    raise ValueError("too many steps")


def identify(data: Any) -> Format | None:
    head = bytes(data[:64])
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith((b"GIF87a", b"GIF89a")):
        return GIF
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return WEBP
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return WAV
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"OggS"):
        return OGG
    if head.startswith((b"#!AMR\n", b"#!AMR-WB\n")):
        return AMR
    if head[4:8] == b"ftyp":
        brands = {head[8:12]} | {head[i : i + 4] for i in range(16, min(len(head), 32), 4)}
        if brands & _HEIF_BRANDS:
            return HEIC if brands & _HEIC_BRANDS else HEIF
        return M4A
    if head.startswith(b"ID3"):
        return MP3
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        return AAC if head[1] & 0x06 == 0 else MP3
    return None


_HEIC_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"})
_HEIF_BRANDS = _HEIC_BRANDS | {b"mif1", b"msf1"}


# --- pictures -----------------------------------------------------------------------------


def _check_picture(spool: IO[bytes], pillow_format: str) -> int:
    """Open with Pillow limited to the one format the file claims; refuse more pixels than
    the cap (counting every frame of an animation) before anything is decoded; then check
    and decode it all, so a valid header over garbage is refused."""
    limit = max_image_pixels()
    with warnings.catch_warnings():
        # Our own cap decides; Pillow's warning is below it only when the cap is raised.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(spool, formats=[pillow_format])
        except Image.DecompressionBombError as exc:
            raise ContentRefused(too_many_pixels()) from exc
        with image:
            frames = int(getattr(image, "n_frames", 1))
            pixels = image.width * image.height * frames
            if pixels > limit:
                raise ContentRefused(too_many_pixels())
            image.verify()  # chunk checksums and the like; the image is unusable after it
        spool.seek(0)
        with Image.open(spool, formats=[pillow_format]) as image:
            if pillow_format == "JPEG" and frames == 1:
                # Every entropy-coded byte is still decoded (a cut or garbled scan is still
                # found), but to an eighth of the size: the inverse DCT and colour conversion
                # of all the pixels, most of a full decode's time, is skipped (issue 14).
                image.draft(image.mode, (1, 1))
            for frame in range(frames):
                image.seek(frame)
                image.load()
    return frames


def _check_png(spool: IO[bytes], data: Any) -> int:
    _check_picture(spool, "PNG")
    position = 8
    for _step in _steps():
        length, kind = struct.unpack(">I4s", bytes(data[position : position + 8]))
        position += 12 + length
        if position > len(data):
            raise ValueError("chunk runs past the end")
        if kind == b"IEND":
            break
    return position


# In entropy-coded data a 0xFF is followed by 0x00 (a stuffed byte), a restart marker or
# another 0xFF (fill); anything else is the next marker. A regular expression finds it
# without a Python step per byte.
_ENTROPY_END = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
_NOT_FILL = re.compile(rb"[^\xff]")


def _jpeg_end(data: Any, position: int) -> int:
    """Where the JPEG starting at `position` ends: segments by their lengths, entropy-coded
    data (after each start of scan) up to the next marker, until end of image."""
    if bytes(data[position : position + 2]) != b"\xff\xd8":
        raise ValueError("no start of image")
    position += 2
    for _step in _steps():
        if data[position] != 0xFF:
            raise ValueError("marker expected")
        filled = _NOT_FILL.search(data, position)  # past fill bytes
        if filled is None:
            raise ValueError("no marker")
        position = filled.start()
        marker = data[position]
        position += 1
        if marker == 0xD9:
            break
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            continue  # no length
        (length,) = struct.unpack(">H", bytes(data[position : position + 2]))
        if length < 2:
            raise ValueError("bad segment length")
        position += length
        if marker == 0xDA:  # entropy-coded data follows, up to a marker that is not RSTn
            found = _ENTROPY_END.search(data, position)
            if found is None:
                raise ValueError("no end of image")
            position = found.start()
    return position


def _check_jpeg(spool: IO[bytes], data: Any) -> int:
    frames = _check_picture(spool, "JPEG")
    end = _jpeg_end(data, 0)
    # A multi-picture file (MPO: some cameras' stereo or preview frames) is JPEGs in a row;
    # Pillow opens it under the JPEG plugin and has decoded each frame above.
    for _frame in range(frames - 1):
        end = _jpeg_end(data, end)
    return end


def _check_gif(spool: IO[bytes], data: Any) -> int:
    _check_picture(spool, "GIF")
    flags = data[10]
    position = 13 + (3 * 2 ** ((flags & 7) + 1) if flags & 0x80 else 0)
    steps = _steps()
    for _step in steps:
        block = data[position]
        if block == 0x3B:  # trailer
            break
        if block == 0x21:  # extension: label, then sub-blocks
            position += 2
        elif block == 0x2C:  # image descriptor, local colour table, LZW code size
            local = data[position + 9]
            position += 10 + (3 * 2 ** ((local & 7) + 1) if local & 0x80 else 0) + 1
        else:
            raise ValueError("unknown GIF block")
        while (size := data[position]) != 0:
            position += 1 + size
            next(steps)
        position += 1
    return position + 1


def _riff_end(data: Any) -> int:
    (size,) = struct.unpack("<I", bytes(data[4:8]))
    if size in (0, 0xFFFFFFFF):  # a recorder that never filled the size in: to the end
        return len(data)
    end = 8 + size
    if end > len(data):
        raise ValueError("cut off")
    return end  # an odd size's pad byte, if there, is padding


def _check_webp(spool: IO[bytes], data: Any) -> int:
    _check_picture(spool, "WEBP")
    return _riff_end(data)


def _boxes_end(data: Any) -> int:
    """The end of the last top-level ISO base media box (HEIF, MP4), each box's size read."""
    position = 0
    for _step in _steps():
        if position + 8 > len(data):
            break
        size, _kind = struct.unpack(">I4s", bytes(data[position : position + 8]))
        if size == 1:
            (size,) = struct.unpack(">Q", bytes(data[position + 8 : position + 16]))
        elif size == 0:  # "to the end of the file"
            return len(data)
        if size < 8:
            raise ValueError("bad box size")
        position += size
    if position > len(data):
        raise ValueError("the last box is cut off")
    return position


def _check_heif(spool: IO[bytes], data: Any) -> int:
    _check_picture(spool, "HEIF")
    return _boxes_end(data)


# --- documents ----------------------------------------------------------------------------


def _check_pdf(spool: IO[bytes], data: Any) -> None:
    """Cross-reference table and trailer read, the catalogue and its page tree walked: a
    %PDF- header over anything else is refused. An encrypted PDF (a bank statement with a
    password) is read as far as its structure allows without the password."""
    reader = PdfFileReader(spool, strict=False)
    locked = False
    if reader.encrypted:
        locked = reader.decrypt("").status == AuthStatus.FAILED
    pages = 0

    def walk(node: Any, depth: int) -> None:
        nonlocal pages
        if depth > MAX_PDF_DEPTH:
            raise ValueError("page tree too deep")
        node = node.get_object() if isinstance(node, generic.IndirectObject) else node
        if "/Kids" in node:
            for kid in node["/Kids"]:
                walk(kid, depth + 1)
        else:
            pages += 1
            if pages > MAX_PDF_PAGES:
                raise ValueError("too many pages")

    try:
        walk(reader.root["/Pages"], 0)
    except Exception:
        if locked:
            return None  # objects in encrypted object streams need the password
        raise
    if pages == 0:
        raise ValueError("no pages")
    return None


# --- recordings ---------------------------------------------------------------------------


def _require_audio(info: Any) -> None:
    if not (getattr(info, "length", 0) or 0) > 0:
        raise ValueError("no audio")


# MPEG audio: kbit/s by (MPEG-1?, layer) and bitrate index; sample rates by version bits.
_MPEG_BITRATES = {
    (True, 1): (0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (True, 2): (0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (True, 3): (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (False, 1): (0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (False, 2): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    (False, 3): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_MPEG_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def _mpeg_frame_length(header: bytes) -> int | None:
    if len(header) < 4 or header[0] != 0xFF or header[1] & 0xE0 != 0xE0:
        return None
    version, layer_bits = (header[1] >> 3) & 3, (header[1] >> 1) & 3
    bitrate_index, rate_index, padding = header[2] >> 4, (header[2] >> 2) & 3, (header[2] >> 1) & 1
    if version == 1 or layer_bits == 0 or bitrate_index in (0, 15) or rate_index == 3:
        return None
    layer = 4 - layer_bits
    mpeg1 = version == 3
    bitrate = _MPEG_BITRATES[(mpeg1, layer)][bitrate_index] * 1000
    rate = _MPEG_RATES[version][rate_index]
    if layer == 1:
        return (12 * bitrate // rate + padding) * 4
    if layer == 3 and not mpeg1:
        return 72 * bitrate // rate + padding
    return 144 * bitrate // rate + padding


def _id3v2_end(data: Any, position: int) -> int:
    while bytes(data[position : position + 3]) == b"ID3":
        header = bytes(data[position : position + 10])
        size = 0
        for byte in header[6:10]:
            size = (size << 7) | (byte & 0x7F)
        position += 10 + size + (10 if header[5] & 0x10 else 0)
    return position


def _mp3_tags_start(data: Any) -> int:
    """Where the tags at the end of an MP3 begin (ID3v1, APEv2), or the file's length."""
    end = len(data)
    if end >= 128 and bytes(data[end - 128 : end - 125]) == b"TAG":
        end -= 128
    if end >= 32 and bytes(data[end - 32 : end - 24]) == b"APETAGEX":
        (size,) = struct.unpack("<I", bytes(data[end - 20 : end - 16]))
        flags = struct.unpack("<I", bytes(data[end - 12 : end - 8]))[0]
        end -= size + (32 if flags & 0x80000000 else 0)
    return end


def _check_mp3(spool: IO[bytes], data: Any) -> int:
    audio = mutagen.mp3.MP3(spool)
    _require_audio(audio.info)
    position = _id3v2_end(data, 0)
    first = int(getattr(audio.info, "frame_offset", position))
    if not _only_padding(data[:first], position):
        raise ContentRefused(_unreadable("MP3"))
    position, end = first, _mp3_tags_start(data)
    for _step in _steps():
        if position >= end:
            break
        length = _mpeg_frame_length(bytes(data[position : position + 4]))
        if length is None:
            break
        position += length
    if position > end:
        raise ValueError("the last frame is cut off")
    return position if position < end else len(data)


def _check_aac(spool: IO[bytes], data: Any) -> int:
    """Raw AAC in ADTS frames (each header carries its frame's length)."""
    audio = mutagen.aac.AAC(spool)
    _require_audio(audio.info)
    position, end = _id3v2_end(data, 0), _mp3_tags_start(data)
    frames = 0
    for _step in _steps():
        if position + 7 > end:
            break
        header = bytes(data[position : position + 7])
        if header[0] != 0xFF or header[1] & 0xF6 != 0xF0:
            break
        length = ((header[3] & 3) << 11) | (header[4] << 3) | (header[5] >> 5)
        if length < 7:
            raise ValueError("bad ADTS frame")
        position += length
        frames += 1
    if frames == 0 or position > end:
        raise ValueError("no whole ADTS frames")
    return position if position < end else len(data)


def _check_m4a(spool: IO[bytes], data: Any) -> int:
    """An MP4 holding sound and nothing else (videos are not accepted)."""
    audio = mutagen.mp4.MP4(spool)
    _require_audio(audio.info)
    spool.seek(0)
    atoms = mutagen.mp4.Atoms(spool)
    handlers = []
    for trak in atoms[b"moov"].findall(b"trak"):
        ok, handler = trak[b"mdia", b"hdlr"].read(spool)
        if not ok:
            raise ValueError("cut-off handler")
        handlers.append(handler[8:12])
    if b"soun" not in handlers or b"vide" in handlers:
        raise ContentRefused(NOT_ACCEPTED)
    return _boxes_end(data)


def _check_wav(spool: IO[bytes], data: Any) -> int:
    audio = mutagen.wave.WAVE(spool)
    _require_audio(audio.info)
    return _riff_end(data)


def _check_ogg(spool: IO[bytes], data: Any) -> int:
    """Opus or Vorbis in Ogg pages, every page's length read to the end."""
    for kind in (mutagen.oggopus.OggOpus, mutagen.oggvorbis.OggVorbis):
        spool.seek(0)
        try:
            audio = kind(spool)
        except mutagen.MutagenError:
            continue
        _require_audio(audio.info)
        break
    else:
        raise ValueError("neither Opus nor Vorbis")
    position = 0
    for _step in _steps():
        if bytes(data[position : position + 4]) != b"OggS":
            break
        segments = data[position + 26]
        lacing = bytes(data[position + 27 : position + 27 + segments])
        if len(lacing) != segments:
            raise ValueError("cut-off page")
        position += 27 + segments + sum(lacing)
    if position > len(data):
        raise ValueError("the last page is cut off")
    return position


# Speech bytes after each frame's one-byte header, by frame type (None: reserved).
_AMR_NB = (12, 13, 15, 17, 19, 20, 26, 31, 5, None, None, None, None, None, None, 0)
_AMR_WB = (17, 23, 32, 36, 40, 46, 50, 58, 60, 5, None, None, None, None, 0, 0)


def _check_amr(spool: IO[bytes], data: Any) -> int:
    """AMR (RFC 4867's storage format): the magic, then frames whose header's type gives
    their size, to the last byte. Phones' call recorders write these."""
    wide = bytes(data[:9]) == b"#!AMR-WB\n"
    sizes = _AMR_WB if wide else _AMR_NB
    position = 9 if wide else 6
    frames = 0
    for _step in _steps():
        if position >= len(data):
            break
        header = data[position]
        size = sizes[(header >> 3) & 0x0F]
        if header & 0x83 or size is None:
            raise ContentRefused(_unreadable("AMR"))
        position += 1 + size
        frames += 1
    if frames == 0 or position != len(data):
        raise ContentRefused(_unreadable("AMR"))
    return position


JPEG = Format("JPEG", "image/jpeg", _check_jpeg)
PNG = Format("PNG", "image/png", _check_png)
GIF = Format("GIF", "image/gif", _check_gif)
WEBP = Format("WebP", "image/webp", _check_webp)
HEIC = Format("HEIC", "image/heic", _check_heif)
HEIF = Format("HEIF", "image/heif", _check_heif)
PDF = Format("PDF", "application/pdf", _check_pdf)
MP3 = Format("MP3", "audio/mpeg", _check_mp3)
AAC = Format("AAC", "audio/aac", _check_aac)
M4A = Format("M4A", "audio/mp4", _check_m4a)
WAV = Format("WAV", "audio/x-wav", _check_wav)
OGG = Format("OGG", "audio/ogg", _check_ogg)
AMR = Format("AMR", "audio/amr", _check_amr)
FORMATS = (JPEG, PNG, GIF, WEBP, HEIC, HEIF, PDF, MP3, AAC, M4A, WAV, OGG, AMR)
# The picture formats Pillow may open anywhere in the app (thumbnails too), by media type.
PILLOW_FORMATS = {
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/gif": "GIF",
    "image/webp": "WEBP",
    "image/heic": "HEIF",
    "image/heif": "HEIF",
}
