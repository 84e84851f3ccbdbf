"""One evidence picture made ready for print: decoded, turned upright (EXIF orientation),
scaled to fit the print size and written as JPEG (the recipe: locker/infra/print_recipe.py),
when there is no valid stored print copy of it (locker/infra/print_copies.py). Its bytes are
hashed on the way, so that a caption never shows a hash the stored bytes no longer have.

This module imports Pillow and nothing of Django (print_recipe is Pillow alone), so that it
can also run as a process of its own (`python -m locker.dossier.picture`, started by
locker/dossier/images.py): decoding a full-size PNG screenshot costs tens of milliseconds in
which Pillow holds the interpreter lock for part of the time, so threads of the worker's
process cannot run it beside the layout; separate processes can. Such a process reads
requests on its stdin and answers on its stdout (`serve`); it never sees the storage, its
key or the database, only the bytes the worker read for it."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import IO

from locker.infra.print_recipe import (
    JPEG_QUALITY,
    MAX_HEIGHT_PX,
    MAX_SOURCE_PIXELS,
    MAX_WIDTH_PX,
    PRINT_FORMATS,
    Printed,
    print_jpeg,
)

__all__ = [
    "JPEG_QUALITY",
    "MAX_HEIGHT_PX",
    "MAX_SOURCE_PIXELS",
    "MAX_WIDTH_PX",
    "PRINT_FORMATS",
    "Printed",
    "print_copy",
    "serve",
]


def print_copy(raw: bytes, out: Path) -> Printed:
    """Write the print copy of the picture `raw` to `out` (locker/infra/print_recipe.py)."""
    printed, jpeg = print_jpeg(raw)
    if printed.written:
        out.write_bytes(jpeg)
    return printed


def peak_rss_mb() -> float:
    """This process's peak resident memory (Linux's VmHWM); 0 where there is none."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def serve(requests: IO[bytes], answers: IO[bytes]) -> None:
    """Answer requests until the worker closes the pipe. A request is a JSON line
    {"in": path, "out": path}: the picture's bytes are in the file `in` (removed once read;
    a file is handed over in one write, where a pipe would take one wait for the worker's
    interpreter lock per 64 KiB); the answer is a JSON line of the Printed fields. At the
    end, a line {"peak_mb": ...} says how much memory this process used. An unexpected
    error ends the process (its traceback goes to stderr): the worker then prepares that
    picture itself, where the error is raised as it was before."""
    while header := requests.readline():
        request = json.loads(header)
        source = Path(request["in"])
        raw = source.read_bytes()
        source.unlink()
        printed = print_copy(raw, Path(request["out"]))
        answers.write(json.dumps(asdict(printed)).encode() + b"\n")
        answers.flush()
    answers.write(json.dumps({"peak_mb": round(peak_rss_mb(), 1)}).encode() + b"\n")
    answers.flush()


if __name__ == "__main__":
    serve(sys.stdin.buffer, sys.stdout.buffer)
