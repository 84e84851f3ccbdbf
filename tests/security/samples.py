"""Small but real files of every accepted format, made here (no encoder needed beyond
Pillow, pillow-heif, reportlab and the standard library), and hostile variants of them."""

from __future__ import annotations

import io
import struct
import wave
import zipfile
import zlib
from functools import cache

from mutagen.ogg import OggPage
from PIL import Image
from reportlab.pdfgen import canvas

from tests.dossier_helpers import png_of_size

__all__ = ["png_of_size"]  # re-exported: a big valid PNG for quota tests


def _picture(format_name: str, **options: object) -> bytes:
    image = Image.effect_noise((64, 48), 40).convert("RGB")
    out = io.BytesIO()
    image.save(out, format_name, **options)
    return out.getvalue()


def jpeg() -> bytes:
    return _picture("JPEG", quality=80)


def progressive_jpeg() -> bytes:
    return _picture("JPEG", quality=80, progressive=True)


def png() -> bytes:
    return _picture("PNG")


def webp() -> bytes:
    return _picture("WEBP")


def gif() -> bytes:
    frames = [Image.new("RGB", (32, 32), color) for color in ("red", "green", "blue")]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=100)
    return out.getvalue()


def heic() -> bytes:
    import pillow_heif

    pillow_heif.register_heif_opener()
    return _picture("HEIF", quality=50)


def pdf() -> bytes:
    out = io.BytesIO()
    document = canvas.Canvas(out)
    document.drawString(72, 720, "Loan statement")
    document.showPage()
    document.save()
    return out.getvalue()


def wav(seconds: float = 0.2) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(8000)
        audio.writeframes(b"\x00\x01" * int(8000 * seconds))
    return out.getvalue()


def mp3(frames: int = 20) -> bytes:
    # MPEG-1 Layer III, 128 kbit/s, 44.1 kHz, no padding: 417-byte frames.
    header = bytes([0xFF, 0xFB, 0x90, 0x64])
    return b"".join(header + bytes(417 - 4) for _ in range(frames))


def aac(frames: int = 20) -> bytes:
    """Raw AAC-LC in ADTS frames, 44.1 kHz stereo."""
    payload = bytes(200)
    length = 7 + len(payload)
    header = bytes(
        [
            0xFF,
            0xF1,
            0x50,
            0x80 | (length >> 11),
            (length >> 3) & 0xFF,
            ((length & 7) << 5) | 0x1F,
            0xFC,
        ]
    )
    return b"".join(header + payload for _ in range(frames))


def _box(kind: bytes, *children: bytes) -> bytes:
    body = b"".join(children)
    return struct.pack(">I4s", 8 + len(body), kind) + body


def _full_box(kind: bytes, version_flags: int, *children: bytes) -> bytes:
    return _box(kind, struct.pack(">I", version_flags), *children)


def m4a(handler: bytes = b"soun") -> bytes:
    """An MP4 with one AAC sound track of one second (`handler` b"vide" makes it a video)."""
    esds = _full_box(
        b"esds",
        0,
        bytes([0x03, 25, 0, 1, 0, 0x04, 17, 0x40, 0x15]) + bytes(3) + bytes(8),
        bytes([0x05, 2, 0x12, 0x10, 0x06, 1, 0x02]),
    )
    mp4a = _box(
        b"mp4a",
        bytes(6) + struct.pack(">H", 1) + bytes(8),
        struct.pack(">HHHHI", 2, 16, 0, 0, 44100 << 16),
        esds,
    )
    stbl = _box(
        b"stbl",
        _full_box(b"stsd", 0, struct.pack(">I", 1), mp4a),
        _full_box(b"stts", 0, struct.pack(">III", 1, 1, 44100)),
        _full_box(b"stsc", 0, struct.pack(">IIII", 1, 1, 1, 1)),
        _full_box(b"stsz", 0, struct.pack(">III", 0, 1, 16)),
        _full_box(b"stco", 0, struct.pack(">II", 1, 0)),
    )
    mdia = _box(
        b"mdia",
        _full_box(b"mdhd", 0, struct.pack(">IIIIHH", 0, 0, 44100, 44100, 0x55C4, 0)),
        _full_box(b"hdlr", 0, bytes(4) + handler + bytes(12) + b"sound\x00"),
        _box(b"minf", _full_box(b"smhd", 0, bytes(4)), stbl),
    )
    trak = _box(b"trak", _full_box(b"tkhd", 7, bytes(8) + struct.pack(">I", 1) + bytes(68)), mdia)
    mvhd = _full_box(b"mvhd", 0, struct.pack(">IIII", 0, 0, 1000, 1000) + bytes(80))
    ftyp = _box(b"ftyp", b"M4A ", struct.pack(">I", 0), b"M4A mp42isom")
    return ftyp + _box(b"moov", mvhd, trak) + _box(b"mdat", bytes(16))


def _ogg(first_packet: bytes, second_packet: bytes) -> bytes:
    pages = []
    for sequence, (packets, position) in enumerate(
        [([first_packet], 0), ([second_packet], 0), ([bytes(40)] * 5, 48000)]
    ):
        page = OggPage()
        page.serial, page.sequence, page.position = 1234, sequence, position
        page.first, page.last = sequence == 0, sequence == 2
        page.packets = packets
        pages.append(page.write())
    return b"".join(pages)


def opus() -> bytes:
    head = b"OpusHead" + struct.pack("<BBHIhB", 1, 1, 312, 48000, 0, 0)
    tags = b"OpusTags" + struct.pack("<I", 4) + b"test" + struct.pack("<I", 0)
    return _ogg(head, tags)


def amr(frames: int = 50, wide: bool = False) -> bytes:
    """AMR-NB at 12.2 kbit/s (frame type 7: 31 bytes), or AMR-WB at 23.85 (type 8: 60)."""
    if wide:
        return b"#!AMR-WB\n" + (bytes([(8 << 3) | 4]) + bytes(60)) * frames
    return b"#!AMR\n" + (bytes([(7 << 3) | 4]) + bytes(31)) * frames


ACCEPTED = {
    "image/jpeg": jpeg,
    "image/png": png,
    "image/webp": webp,
    "image/gif": gif,
    "image/heic": heic,
    "application/pdf": pdf,
    "audio/mpeg": mp3,
    "audio/aac": aac,
    "audio/mp4": m4a,
    "audio/x-wav": wav,
    "audio/ogg": opus,
    "audio/amr": amr,
}


def zip_of(name: str = "payload.txt", data: bytes = b"hello") -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(name, data)
    return out.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@cache
def png_of_pixels(width: int, height: int) -> bytes:
    """A real 1-bit greyscale PNG of width × height black pixels: a pixel bomb, a few hundred
    kB that decode to width × height. Rows are deflated a block at a time by fresh raw
    compressors (byte-aligned by a full flush, so the pieces join into one valid stream), and
    the identical blocks are compressed once."""
    row = b"\x00" + bytes((width + 7) // 8)
    rows_per_block = max(1, (4 * 1024 * 1024) // len(row))
    blocks, rest = divmod(height, rows_per_block)

    def deflated(data: bytes, final: bool) -> bytes:
        compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
        return compressor.compress(data) + compressor.flush(
            zlib.Z_FINISH if final else zlib.Z_FULL_FLUSH
        )

    block = row * rows_per_block
    checksum = 1
    for _ in range(blocks):
        checksum = zlib.adler32(block, checksum)
    tail = row * rest
    checksum = zlib.adler32(tail, checksum)
    stream = (
        b"\x78\xda"
        + deflated(block, False) * blocks
        + deflated(tail, True)
        + struct.pack(">I", checksum)
    )
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", stream)
        + png_chunk(b"IEND", b"")
    )
