"""gunicorn's settings for Evidence Locker: `gunicorn -c config/gunicorn.py config.wsgi:application`
(bin/run-local does so; flags on the command line override what is here).

Its point is the logger: a token URL (a contact link, an invitation, a password reset, an
e-mail confirmation) is requested once, and gunicorn's access log would write it down as it
came. `RedactingLogger` passes every value the access-log format shows, and every line of
the error log, through locker.infra.redact, the one place that knows what is secret."""

from __future__ import annotations

import json
import os
import time
from typing import Any

from gunicorn import glogging

from locker.infra.redact import (
    RedactSecretsFilter,
    redact_header,
    redact_phone_numbers,
    redact_query,
    redact_text,
)

# Atoms in braces name a request header %({name}i)s, a response header %({name}o)s or an
# environ value %({name}e)s (HTTP_COOKIE …); the others are the request line, path, query,
# Referer and so on.
_HEADER_ATOM = "{"
_QUERY_ATOMS = frozenset({"q", "{query_string}e"})


class RedactedAtoms(glogging.SafeAtoms):
    """The access log's atoms, each redacted when the format asks for it (so the cost is paid
    for the few the format names, not for every header of every request)."""

    def __getitem__(self, key: str) -> Any:
        value = super().__getitem__(key)
        if not isinstance(value, str):
            return value
        if key.lower() in _QUERY_ATOMS:  # a query string without its "?"
            return redact_phone_numbers(redact_query(value))
        if key.startswith(_HEADER_ATOM):
            name = key[1:].rsplit("}", 1)[0].lower().replace("_", "-").removeprefix("http-")
            return redact_phone_numbers(redact_header(name, value))
        return redact_phone_numbers(redact_text(value))


def _number(atom: Any) -> int | None:
    text = str(atom)
    return int(text) if text.isdigit() else None


class RedactingLogger(glogging.Logger):
    """gunicorn's logger, but no token reaches its access or error log. With
    LOCKER_LOG_FORMAT=json each access is one JSON object, like the app's own lines
    (locker/infra/logs.py), with the request id the app put in the response."""

    atoms_wrapper_class = RedactedAtoms

    def access(self, resp: Any, req: Any, environ: Any, request_time: Any) -> None:
        if os.environ.get("LOCKER_LOG_FORMAT", "text") != "json":
            super().access(resp, req, environ, request_time)
            return
        if not (self.cfg.accesslog or self.cfg.logconfig or self.cfg.syslog):
            return
        atoms = self.atoms_wrapper_class(self.atoms(resp, req, environ, request_time))
        line = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "level": "INFO",
            "logger": "gunicorn.access",
            "message": "request",
            "request_id": atoms["{x-request-id}o"] if atoms["{x-request-id}o"] != "-" else None,
            "method": atoms["m"],
            "path": atoms["U"],
            "query": atoms["q"],
            "status": _number(atoms["s"]),
            "bytes": _number(atoms["B"]),
            "duration_ms": round(request_time.total_seconds() * 1000, 1),
            "remote_addr": atoms["h"],
        }
        try:
            self.access_log.info(json.dumps(line, ensure_ascii=False))
        except Exception:  # as gunicorn's own access(): a log line never fails a request
            self.error(f"Failed to log the access: {line['path']}")

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        # gunicorn logs the URI of a request whose handling failed ("Error handling request
        # /c/…"), and whatever the app wrote to stderr is not ours to filter: the app's own
        # logging redacts itself (settings.LOGGING).
        for log in (self.error_log, self.access_log):
            if not any(isinstance(f, RedactSecretsFilter) for f in log.filters):
                log.addFilter(RedactSecretsFilter())


logger_class = RedactingLogger
accesslog = "-"

# The server's shape, from the environment (README, "Configuration"); flags on the command
# line still win. The defaults are gunicorn's own, but 2 workers. Threads > 1 run gthread
# workers: a slow upload then holds a thread, not a process. max_requests recycles a worker
# after that many requests (0: never), the jitter keeping them from all restarting at once
# (1000 and 100 suit production).
workers = int(os.environ.get("GUNICORN_WORKERS") or 2)
threads = int(os.environ.get("GUNICORN_THREADS") or 1)
timeout = int(os.environ.get("GUNICORN_TIMEOUT") or 30)
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT") or 30)
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE") or 2)
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS") or 0)
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER") or 0)
