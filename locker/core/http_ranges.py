"""Byte ranges (RFC 9110, section 14) for evidence downloads: an <audio> element seeks in a
long call recording by asking for the part it needs, and without an answer to `Range`
browsers can only play from the start. One range per request; anything else gets the whole
file, as the RFC allows."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import IO

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase

CHUNK = 64 * 1024
_SINGLE_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class Unsatisfiable(Exception):
    """The range starts beyond the end of the file."""


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """(first, last) byte positions, inclusive, for a single `bytes=` range; None when the
    header is absent, malformed or asks for several ranges (then the whole file is sent)."""
    match = _SINGLE_RANGE.match(header.strip().replace(" ", ""))
    if match is None:
        return None
    first_text, last_text = match.groups()
    if not first_text and not last_text:
        return None
    # Digits only, but a thousand of them would still be a (pointless) huge integer.
    if len(first_text) > 20 or len(last_text) > 20:
        return None
    if not first_text:  # "bytes=-500": the last 500 bytes
        suffix = int(last_text)
        if suffix == 0:
            raise Unsatisfiable
        return max(0, size - suffix), size - 1
    first = int(first_text)
    if last_text and int(last_text) < first:
        return None
    if first >= size:
        raise Unsatisfiable
    last = int(last_text) if last_text else size - 1
    return first, min(last, size - 1)


def _read(handle: IO[bytes], first: int, length: int) -> Iterator[bytes]:
    try:
        handle.seek(first)
        left = length
        while left > 0:
            chunk = handle.read(min(CHUNK, left))
            if not chunk:
                break
            left -= len(chunk)
            yield chunk
    finally:
        handle.close()


def partial_response(
    request: HttpRequest, handle: IO[bytes], size: int, content_type: str
) -> HttpResponseBase | None:
    """A 206 (or 416) answer to the request's Range header, or None when the whole file
    should be sent. The handle is closed when the answer has been sent."""
    header = request.headers.get("Range", "")
    if not header:
        return None
    try:
        span = parse_range(header, size)
    except Unsatisfiable:
        handle.close()
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        return response
    if span is None:
        return None
    first, last = span
    length = last - first + 1
    partial = StreamingHttpResponse(
        _read(handle, first, length), status=206, content_type=content_type
    )
    partial["Content-Range"] = f"bytes {first}-{last}/{size}"
    partial["Content-Length"] = str(length)
    return partial
