"""Log lines as JSON objects (LOCKER_LOG_FORMAT=json, compose's default) or as plain text
(`make run`'s), each carrying the id of the request it was written for.

The request id comes from the X-Request-ID header when it is well-formed (a proxy or load
balancer in front set it, so its log and ours can be joined), otherwise it is made here;
locker/web/middleware/request_id.py sets it for the request and returns it in the response's
X-Request-ID. What a line holds is chosen here, never a record's whole __dict__: a record
Django logs carries the request object (body, headers, cookies), which no line may show.
The message itself is redacted first (tokens, phone numbers: locker/infra/redact.py)."""

from __future__ import annotations

import contextvars
import json
import logging
import re
import secrets
from datetime import UTC, datetime

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "locker_request_id", default=None
)
# Letters, digits and . _ : - ; 8 to 128 of them (a UUID, a load balancer's trace id).
WELL_FORMED = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{7,127}")


def request_id_from(header: str | None) -> str:
    """The incoming id if it is well-formed, else a new one (32 hex digits)."""
    if header and WELL_FORMED.fullmatch(header):
        return header
    return secrets.token_hex(16)


def bind_request_id(value: str | None) -> contextvars.Token[str | None]:
    return _request_id.set(value)


def unbind_request_id(token: contextvars.Token[str | None]) -> None:
    _request_id.reset(token)


def current_request_id() -> str | None:
    return _request_id.get()


class RequestIdFilter(logging.Filter):
    """Puts the current request's id on every record (None outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC), level, logger, message, request_id, and the
    traceback when there is one. Nothing else of the record."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = record.stack_info
        return json.dumps(line, ensure_ascii=False, default=str)
