"""gunicorn's settings for Evidence Locker: `gunicorn -c config/gunicorn.py config.wsgi:application`
(bin/run-local does so; flags on the command line override what is here).

Its point is the logger: a token URL (a contact link, an invitation, a password reset, an
e-mail confirmation) is requested once, and gunicorn's access log would write it down as it
came. `RedactingLogger` passes every value the access-log format shows, and every line of
the error log, through locker.infra.redact, the one place that knows what is secret."""

from __future__ import annotations

from typing import Any

from gunicorn import glogging

from locker.infra.redact import RedactSecretsFilter, redact_header, redact_query, redact_text

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
            return redact_query(value)
        if key.startswith(_HEADER_ATOM):
            name = key[1:].rsplit("}", 1)[0].lower().replace("_", "-").removeprefix("http-")
            return redact_header(name, value)
        return redact_text(value)


class RedactingLogger(glogging.Logger):
    """gunicorn's logger, but no token reaches its access or error log."""

    atoms_wrapper_class = RedactedAtoms

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
