"""Derived copies of one evidence file, as the worker makes them after the commit: the small
JPEG pictures pages show (locker/infra/thumbs.py, HEIC/HEIF included), the JPEG dossiers
print (locker/infra/print_copies.py), and, for a recording a browser cannot play (AMR call
recordings above all), an AAC copy in M4A, which Chromium, Firefox and iOS Safari all play.

A derived copy is never evidence: the chain names the original's hash, the original is what
is downloaded, exported and verified, and a copy is stored apart (derived/, sealed like every
stored file), made again if lost, and removed with the original.

ffmpeg decodes the recording. It gets the unsealed original in a private temporary file
(never the stored one: that is sealed), is told which demuxer to use (it guesses nothing
from the bytes), may open files only (no network protocol), runs with a time limit, and its
output is cut at the length and size a recording may have (content.py's limits) and parsed
by content.py as an M4A before it is stored."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import struct
import subprocess
import tempfile
from enum import StrEnum
from pathlib import Path
from typing import IO

import mutagen
import mutagen.mp4
from django.conf import settings

from locker.infra import thumbs
from locker.infra.content import MAX_WALK_STEPS, ContentRefused, check_content
from locker.infra.print_copies import print_copy_name
from locker.infra.storage import CHUNK, evidence_storage, write_verified
from locker.models import EvidenceFile

log = logging.getLogger(__name__)

PLAYABLE_MEDIA_TYPE = "audio/mp4"
# Played as they are by Chromium and iOS Safari alike: MP3 and AAC in ADTS frames. WAV and
# M4A too when what they hold is PCM or AAC (looked at below); Ogg is not played by older
# iOS Safari, AMR by no browser.
PLAYABLE_AS_IS = frozenset({"audio/mpeg", "audio/aac"})
# ffmpeg's demuxer for each accepted format it may be asked to read.
_DEMUXERS = {
    "audio/amr": "amr",
    "audio/ogg": "ogg",
    "audio/x-wav": "wav",
    "audio/mp4": "mov",
}
# The longest recording content.py lets through (its frame walk: eleven hours of AMR at
# 20 ms a frame); a copy never runs longer.
MAX_SECONDS = MAX_WALK_STEPS * 20 // 1000
# AAC at this rate is transparent for phone speech and fine for other sound: an hour is
# about 29 MB. A copy is never more than the longest recording at this rate (plus framing).
BITRATE = 64_000
MAX_COPY_BYTES = MAX_SECONDS * BITRATE // 8 + 16 * 1024 * 1024


class Outcome(StrEnum):
    """What the worker achieved for one file (EvidenceFile.Derived's values)."""

    NONE = ""  # nothing needed: a PDF, or a recording browsers play as it is
    READY = "ready"
    FAILED = "failed"  # this file cannot give one (damaged, too long, refused)
    NO_TOOL = "no_tool"  # ffmpeg (or the HEIF decoder) is not installed where the worker runs


def wants_copies(media_type: str) -> bool:
    """Whether the worker has anything to do for a file of this type."""
    if media_type in thumbs.IMAGE_TYPES:
        return True
    return media_type.startswith("audio/") and media_type not in PLAYABLE_AS_IS


def playable_name(evidence: EvidenceFile) -> str:
    sha = evidence.sha256
    return f"derived/{evidence.case_id}/{sha[:2]}/{sha}-play.m4a"


def derived_names(evidence: EvidenceFile) -> list[str]:
    """Every derived copy a file may have (those that exist and those that do not)."""
    return [
        *(thumbs.derived_name(evidence, size) for size in thumbs.SIZES),
        print_copy_name(evidence.case_id, evidence.sha256),
        playable_name(evidence),
    ]


def ffmpeg_path() -> str | None:
    return shutil.which(settings.LOCKER_FFMPEG)


def heif_decoder() -> bool:
    try:
        import pillow_heif
    except ImportError:
        return False
    # The wheels carry libde265; a build against a system libheif may lack any decoder.
    return bool(pillow_heif.libheif_info().get("decoders"))


def make_copies(evidence: EvidenceFile) -> Outcome:
    """Make what this file's pages show (idempotent: a copy already stored is kept when it
    opens to the right bytes). Raises StorageFull / StorageUnavailable (worth retrying)."""
    if evidence.media_type in thumbs.IMAGE_TYPES:
        if evidence.media_type in ("image/heic", "image/heif") and not heif_decoder():
            return Outcome.NO_TOOL
        # The pages' pictures and the dossiers' print copy, from one read (and, for PNG
        # screenshots, one decode) of the original.
        return Outcome.READY if thumbs.make_pictures(evidence) else Outcome.FAILED
    if evidence.media_type.startswith("audio/") and evidence.media_type in _DEMUXERS:
        return _playable_copy(evidence)
    return Outcome.NONE


def _playable_copy(evidence: EvidenceFile) -> Outcome:
    storage = evidence_storage()
    name = playable_name(evidence)
    with tempfile.TemporaryDirectory(prefix="locker-audio-") as scratch:
        source = Path(scratch) / "source"
        with storage.open(evidence.storage_name, "rb") as handle, source.open("wb") as out:
            while chunk := handle.read(CHUNK):
                out.write(chunk)
        with source.open("rb") as handle:
            if _plays_as_is(evidence.media_type, handle):
                return Outcome.NONE
        if storage.exists(name):
            return Outcome.READY  # made by an earlier delivery of the task
        program = ffmpeg_path()
        if program is None:
            log.warning("no playable copy of evidence %s: ffmpeg is not installed", evidence.pk)
            return Outcome.NO_TOOL
        target = Path(scratch) / "play.m4a"
        if not _transcode(program, _DEMUXERS[evidence.media_type], source, target, evidence):
            return Outcome.FAILED
        with target.open("rb") as copy:
            try:
                if check_content(copy) != PLAYABLE_MEDIA_TYPE:
                    raise ContentRefused("not an M4A")
            except ContentRefused:
                log.warning("ffmpeg's copy of evidence %s is not a whole M4A", evidence.pk)
                return Outcome.FAILED
            digest = hashlib.sha256()
            copy.seek(0)
            while chunk := copy.read(CHUNK):
                digest.update(chunk)
            write_verified(name, copy, sha256=digest.hexdigest(), size=target.stat().st_size)
    return Outcome.READY


def _transcode(
    program: str, demuxer: str, source: Path, target: Path, evidence: EvidenceFile
) -> bool:
    command = [
        program,
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        # Files only: a playlist or reference inside the recording cannot reach the network.
        "-protocol_whitelist",
        "file",
        "-f",
        demuxer,
        "-i",
        str(source),
        "-map",
        "0:a:0",
        "-vn",
        "-sn",
        "-dn",
        "-map_metadata",
        "-1",
        "-t",
        str(MAX_SECONDS),
        "-fs",
        str(MAX_COPY_BYTES),
        "-c:a",
        "aac",
        "-b:a",
        str(BITRATE),
        "-threads",
        "1",
        # The index first, so that a player starts before the whole file has arrived.
        "-movflags",
        "+faststart",
        "-f",
        "mp4",
        str(target),
    ]
    try:
        result = subprocess.run(  # noqa: S603 - a fixed program and argument list
            command,
            capture_output=True,
            timeout=settings.LOCKER_MEDIA_TIMEOUT_S,
            check=False,
            cwd=target.parent,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C"},
        )
    except subprocess.TimeoutExpired:
        log.warning("ffmpeg took too long on evidence %s", evidence.pk)
        return False
    if result.returncode != 0 or not target.exists() or target.stat().st_size == 0:
        log.warning(
            "ffmpeg could not decode evidence %s: %s",
            evidence.pk,
            result.stderr.decode(errors="replace")[-500:],
        )
        return False
    return True


# WAVE format tags browsers decode: PCM, IEEE float (and WAVE_FORMAT_EXTENSIBLE over them).
_WAV_PLAYABLE_TAGS = frozenset({0x0001, 0x0003})


def _plays_as_is(media_type: str, handle: IO[bytes]) -> bool:
    """A WAV of PCM, an M4A of AAC: browsers play those; other codecs in them get a copy."""
    try:
        if media_type == "audio/x-wav":
            return _wav_format_tag(handle) in _WAV_PLAYABLE_TAGS
        if media_type == "audio/mp4":
            codec = str(getattr(mutagen.mp4.MP4(handle).info, "codec", ""))
            return codec.startswith("mp4a.40.")  # AAC (LC, HE)
    except (mutagen.MutagenError, OSError, ValueError, struct.error):
        return False
    return False


def _wav_format_tag(handle: IO[bytes]) -> int | None:
    head = handle.read(12)
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    for _step in range(1000):
        chunk = handle.read(8)
        if len(chunk) < 8:
            return None
        kind, size = struct.unpack("<4sI", chunk)
        if kind == b"fmt ":
            fmt = handle.read(min(size, 40))
            tag = struct.unpack("<H", fmt[:2])[0]
            if tag == 0xFFFE and len(fmt) >= 26:  # extensible: the sub-format's first two bytes
                tag = struct.unpack("<H", fmt[24:26])[0]
            return int(tag)
        handle.seek(size + (size & 1), os.SEEK_CUR)
    return None
