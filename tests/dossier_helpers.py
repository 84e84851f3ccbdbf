"""Small cases and dossiers for the dossier tests (kept small: each renders in well under a
second)."""

from __future__ import annotations

import hashlib
import io
import re
import shutil
import struct
import subprocess
import wave
import zlib
from functools import lru_cache
from pathlib import Path
from typing import Any

from PIL import Image

from locker import services
from locker.dossier.build import build_dossier
from locker.infra.storage import evidence_storage
from locker.models import Case, Dossier
from locker.services import dossiers as dossier_services

from .factories import add_entry, make_case

MARKUP_NOTE = 'Collector wrote <font color="red">PAY</font> and <img src="x.png"/> & more'
CHINESE_PHRASE = "威胁要爆通讯录"


@lru_cache(maxsize=4)
def screenshot_png(width: int = 270, height: int = 600, seed: int = 0) -> bytes:
    """A small noisy PNG (distinct bytes per seed: evidence is stored by hash)."""
    noise = Image.effect_noise((width, height), 30 + seed).convert("RGB")
    out = io.BytesIO()
    noise.save(out, "PNG", compress_level=1)
    return out.getvalue()


def with_private_chunk(png: bytes, data: bytes) -> bytes:
    """The PNG with a private ancillary chunk (ignored by decoders) holding `data`, before its
    end. Bytes after the end would be refused as a possible polyglot, so tests that need
    distinct or bigger files than a picture gives add them like this."""
    checksum = struct.pack(">I", zlib.crc32(b"raNd" + data))
    chunk = struct.pack(">I", len(data)) + b"raNd" + data + checksum
    end = png.rindex(b"IEND") - 4
    return png[:end] + chunk + png[end:]


def distinct_png(png: bytes, number: int) -> bytes:
    """The same picture in distinct bytes (evidence is stored by hash, copies deduplicated)."""
    return with_private_chunk(png, number.to_bytes(4, "big"))


def png_of_size(size: int, seed: int = 0) -> bytes:
    """A valid PNG of exactly `size` bytes (distinct per seed): a noisy picture and a private
    chunk of pseudo-random bytes."""
    picture = screenshot_png(32, 32, seed=seed)
    room = size - len(picture) - 12
    if room < 0:
        raise ValueError(f"a PNG needs at least {len(picture) + 12} bytes")
    filler = hashlib.shake_256(picture + seed.to_bytes(4, "big")).digest(room)
    return with_private_chunk(picture, filler)


@lru_cache(maxsize=1)
def wav_bytes(seconds: int = 3) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(8000)
        audio.writeframes(b"\x00\x00" * 8000 * seconds)
    return out.getvalue()


def small_case(**facts: Any) -> Case:
    facts.setdefault("borrower_name", "张三 <b>bold</b>")
    facts.setdefault("principal_minor", 300000)
    facts.setdefault("received_minor", 210000)
    case = make_case(**facts)
    add_entry(
        case,
        "call",
        {
            "number": "17012345678",
            "caller_claims": "自称律师",
            "summary": f"{CHINESE_PHRASE} <font size=40>",
            "tags": ["threat", "night_time"],
        },
        occurred_at="2026-01-05T23:10:00+08:00",
    )
    add_entry(
        case,
        "message",
        {
            "channel": "sms",
            "sender": "106900001",
            "text": "再不还钱就起诉你",
            "tags": ["fake_legal_document"],
        },
        occurred_at="2026-01-06T09:00:00+08:00",
        uploads=[services.Upload("Screenshot_1.png", io.BytesIO(screenshot_png()))],
    )
    add_entry(
        case,
        "contact_report",
        {
            "contact_name": "李四",
            "relation": "同事",
            "summary": "催收员打到公司",
            "tags": ["contact_list_blast"],
        },
        occurred_at="2026-01-07T10:00:00+08:00",
        uploads=[services.Upload("call.wav", io.BytesIO(wav_bytes()))],
    )
    add_entry(case, "note", {"text": MARKUP_NOTE}, occurred_at="2026-01-08T12:00:00+08:00")
    return case


def make_dossier(
    case: Case, template: str = "cn_regulator", language: str = "zh-hans", **options: Any
) -> tuple[Dossier, bytes]:
    """Request, claim and build a dossier in this process; returns the row and the PDF."""
    dossier = dossier_services.request_dossier(
        case=case,
        user=case.owner,
        template=template,
        language=language,
        verify_url="https://locker.example/verify",
        **options,
    )
    claim = dossier_services.claim_dossier(dossier_id=dossier.pk)
    assert claim is not None
    build_dossier(claim)
    dossier.refresh_from_db()
    assert dossier.state == Dossier.State.READY, dossier.error
    with evidence_storage().open(dossier.file_name, "rb") as handle:
        return dossier, handle.read()


def has(tool: str) -> bool:
    return shutil.which(tool) is not None


def run_tool(*args: str) -> str:
    """A poppler tool's output (stdout and stderr); its exit code is not trusted."""
    done = subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)
    return done.stdout + done.stderr


def pdf_text(path: str) -> str:
    return run_tool("pdftotext", "-enc", "UTF-8", path, "-")


WORD_BOX = re.compile(
    r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>'
)


def word_boxes(path: str, page: int) -> list[tuple[str, float, float, float, float]]:
    """Each word on `page` with its box in PDF points from the top left (pdftotext -bbox)."""
    html = run_tool("pdftotext", "-bbox", "-f", str(page), "-l", str(page), path, "-")
    return [
        (word, float(x0), float(y0), float(x1), float(y1))
        for x0, y0, x1, y1, word in WORD_BOX.findall(html)
    ]


def render_page(path: str, page: int, dpi: int, prefix: Path) -> Path:
    """One page of the PDF drawn to a PNG by pdftoppm; returns the PNG's path."""
    subprocess.run(
        ["pdftoppm", "-r", str(dpi), "-f", str(page), "-l", str(page), "-png", "-singlefile"]
        + [path, str(prefix)],
        check=True,
        timeout=60,
    )
    return prefix.with_suffix(".png")
