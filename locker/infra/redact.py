"""Secrets out of logs. A contact-link, invitation, e-mail-confirmation or password-reset token
sits in a URL for one request (the view swaps it for a session at once), and that one request
is what the access log and Django's request log write down. Everything that writes a URL or a
log line passes it through here: gunicorn's access and error logs (config/gunicorn.py) and
every handler of the app's own logging (settings.LOGGING, `RedactSecretsFilter`).

Which path segments are secret is read from the URLconf itself: a route parameter named in
`SECRET_URL_PARAMETERS` (`<str:token>`, Django's `<uidb64>/<token>`) is a secret wherever the
route appears, so a new token route is covered by naming its parameter so. Query strings keep
only the values of the parameters in `PLAIN_QUERY_PARAMETERS`; every other value is
redacted, whatever its name, because a name cannot tell whether its value is a secret."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote, unquote_plus

REDACTED = "[redacted]"

# Route parameters that carry a secret: our own token routes use `token`; Django's password
# reset uses `uidb64` and `token`; `key` and `uidb36` are the names other libraries use.
SECRET_URL_PARAMETERS = frozenset({"token", "key", "uidb64", "uidb36"})

# Query parameters whose values say nothing secret or personal: pagination, the timeline's
# filters (a kind, a tag, dates, an entry number) and an export's format. A reviewer's search
# text (`q`) is not among them: it is what they looked for in someone's case.
PLAIN_QUERY_PARAMETERS = frozenset(
    {"page", "limit", "offset", "format", "kind", "tag", "start", "end", "seq", "language"}
)
# Query parameters whose value is one of our own addresses (where to go after logging in):
# kept, with that address's own secrets redacted.
URL_QUERY_PARAMETERS = frozenset({"next"})

# Request and response headers that are secrets in themselves, whatever they hold.
SECRET_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-csrftoken",
        # A capture device's secret (docs/capture.md), sent by SMS to URL Forwarder and iOS
        # Shortcuts.
        "x-locker-secret",
    }
)

# What a path segment can be inside a log line: it ends at a slash, the query, the fragment,
# white space or a quote.
_SEGMENT = r"[^/?#\s\"'<>]+"
_REST_OF_PATH = r"[^?#\s\"'<>]+"
_QUERY = re.compile(r"\?([^\s\"'#<>]*)")
# Django's route syntax, <converter:name> or <name> (django.urls.resolvers).
_ROUTE_PARAMETER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")
_NAMED_GROUP = re.compile(r"\(\?P<(?P<name>\w+)>")
# Where one of our paths starts in a line of text: not inside a longer path (the "/c/" of
# "/static/c/"), and perhaps after a scheme and host (a Referer is a full URL).
_START = r"(?<![\w.~%-])(?:[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s\"'<>]*)?"
# Where it ends: at the query, the fragment, a space or a quote; or at a slash, so that junk
# after a token (a chat app's mangling) does not save the token from redaction.
_END = r"(?=[/?#\s\"'<>]|$)"
# Without the URLconf (gunicorn's master process, which never loads Django): every path is cut
# to its first segment.
_FALLBACK_PATH = re.compile(r"(/" + _SEGMENT + r")/" + _REST_OF_PATH)


@dataclass(frozen=True)
class _SecretRoute:
    """One route with a secret parameter: a regex that finds it in text, each secret segment
    a group named s0, s1, …"""

    regex: re.Pattern[str]


class _Routes:
    """The secret routes of the URLconf, read once, on first use. Kept per process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._routes: tuple[list[_SecretRoute], frozenset[str]] | None = None

    def get(self) -> tuple[list[_SecretRoute], frozenset[str]] | None:
        if self._routes is None:
            with self._lock:
                if self._routes is None:
                    try:
                        self._routes = _read_urlconf()
                    except Exception:  # no settings or no URLconf here: the fallback
                        return None
        return self._routes


_ROUTES = _Routes()


def _converter_regex(converter: object) -> str:
    regex = str(getattr(converter, "regex", "[^/]+"))
    if regex == "[^/]+":
        return _SEGMENT
    if regex == ".+":
        return _REST_OF_PATH
    return regex


def _route_fragment(pattern: object, secret_count: list[int]) -> tuple[str, bool]:
    """A URL pattern (Django's RoutePattern or RegexPattern) as a regex fragment without
    anchors, each secret parameter a group s0, s1, …; and whether it had a secret."""
    from django.urls.resolvers import RoutePattern

    text = str(pattern)
    has_secret = False

    def group(name: str, body: str) -> str:
        nonlocal has_secret
        if name in SECRET_URL_PARAMETERS:
            has_secret = True
            index = secret_count[0]
            secret_count[0] += 1
            return f"(?P<s{index}>{_SEGMENT})"
        return f"(?:{body})"

    if isinstance(pattern, RoutePattern):  # literal text and <converter:name>
        parts: list[str] = []
        last = 0
        for match in _ROUTE_PARAMETER.finditer(text):
            parts.append(re.escape(text[last : match.start()]))
            converter = pattern.converters.get(match.group("name"))
            parts.append(group(match.group("name"), _converter_regex(converter)))
            last = match.end()
        parts.append(re.escape(text[last:]))
        return "".join(parts), has_secret
    # A RegexPattern: its own regex, anchors removed, named groups renamed.
    body = text.removeprefix("^").removesuffix("$").removesuffix(r"\Z")
    fragment = ""
    last = 0
    for match in _NAMED_GROUP.finditer(body):
        fragment += body[last : match.start()]
        name = match.group("name")
        fragment += f"(?P<s{secret_count[0]}>" if name in SECRET_URL_PARAMETERS else "(?:"
        if name in SECRET_URL_PARAMETERS:
            has_secret = True
            secret_count[0] += 1
        last = match.end()
    return fragment + body[last:], has_secret


def _walk(patterns: Iterable[object], prefix: list[object]) -> Iterable[list[object]]:
    for entry in patterns:
        children = getattr(entry, "url_patterns", None)
        chain = [*prefix, entry.pattern]  # type: ignore[attr-defined]
        if children is not None:
            yield from _walk(children, chain)
        else:
            yield chain


def _read_urlconf() -> tuple[list[_SecretRoute], frozenset[str]]:
    from django.urls import get_resolver
    from django.urls.resolvers import RoutePattern

    routes: list[_SecretRoute] = []
    literals: set[str] = set()
    for chain in _walk(get_resolver().url_patterns, []):
        count = [0]
        fragments = [_route_fragment(pattern, count) for pattern in chain]
        if not any(secret for _fragment, secret in fragments):
            if all(isinstance(p, RoutePattern) and not p.converters for p in chain):
                literals.add("/" + "".join(str(p) for p in chain))
            continue
        path = "/" + "".join(fragment for fragment, _secret in fragments)
        if path.endswith("/"):
            # /c/<token> without its slash is answered too (with a redirect to add it).
            path = path[:-1] + "/?"
        routes.append(_SecretRoute(re.compile(_START + f"(?P<path>{path})" + _END)))
    return routes, frozenset(literals)


def redact_path(text: str) -> str:
    """`text` (a path, a URL or any log line) with the secret segments of every URL of ours
    in it replaced by REDACTED. A path of a literal route (/c/thanks/) is left as it is."""
    known = _ROUTES.get()
    if known is None:
        return _FALLBACK_PATH.sub(lambda m: f"{m.group(1)}/{REDACTED}", text)
    routes, literals = known
    for route in routes:
        text = route.regex.sub(lambda m: _redact_match(m, literals), text)
    return text


def _redact_match(match: re.Match[str], literals: frozenset[str]) -> str:
    whole = match.group(0)
    path = match.group("path")
    if path in literals or path + "/" in literals:
        return whole
    start = match.start()
    out = ""
    last = 0
    for name, value in match.groupdict().items():
        if value is None or not name.startswith("s"):
            continue
        begin, end = match.span(name)
        out += whole[last : begin - start] + REDACTED
        last = end - start
    return out + whole[last:]


def redact_query(query: str) -> str:
    """A query string (without its `?`) with every value redacted except those of plain
    parameters; a `next` address keeps its path, with that path's secrets redacted."""
    if not query:
        return query
    pairs = []
    for pair in re.split(r"[&;]", query):
        name, equals, value = pair.partition("=")
        key = unquote_plus(name).strip().lower()
        if not equals:
            # A bare word: as likely a token as a flag.
            pairs.append(pair if key in PLAIN_QUERY_PARAMETERS or not pair else REDACTED)
        elif key in PLAIN_QUERY_PARAMETERS or value == REDACTED:
            pairs.append(pair)
        elif key in URL_QUERY_PARAMETERS:
            pairs.append(f"{name}={quote(redact_url(unquote_plus(value)), safe='/[]')}")
        else:
            pairs.append(f"{name}={REDACTED}")
    return "&".join(pairs)


def redact_url(url: str) -> str:
    """A path or URL with its secrets redacted: token segments, query values, any fragment."""
    before_fragment, hash_sign, _fragment = url.partition("#")
    path, question, query = before_fragment.partition("?")
    redacted = redact_path(path)
    if question:
        redacted += "?" + redact_query(query)
    if hash_sign:
        redacted += "#" + REDACTED
    return redacted


def redact_text(text: str) -> str:
    """Any log text with the secrets of every URL in it redacted (see redact_url)."""
    if "/" not in text and "?" not in text:
        return text
    text = redact_path(text)
    return _QUERY.sub(lambda m: "?" + redact_query(m.group(1)), text)


def redact_header(name: str, value: str) -> str:
    """A header's value as a log may show it: secret headers wholly redacted, others (a
    Referer, a Location) with the secrets of the URLs in them redacted."""
    if name.lower() in SECRET_HEADERS:
        return REDACTED
    return redact_text(value)


# A phone number, not part of a longer word (a hash, an id): 7 to 15 digits in one run
# (13912345678), or after a + grouped by spaces or dashes (+86 139-1234-5678), or in dashed
# groups of 3 or 4 (139-1234-5678), or a mobile spaced 3-4-4 (139 1234 5678). Borrowers' and
# collectors' numbers are the personal data most likely to reach a log line (a path, an
# error quoting a value). A date (2026-01-05) or "410 3597" (a status and a size) is none of
# these; a size of a million bytes or more is masked too, which costs little.
_PHONE = re.compile(
    r"(?<![\w+.-])(?:"
    r"\+\d(?:[ -]?\d){6,17}|\d{7,15}|\d{2,4}(?:-\d{3,4}){2,3}|1[3-9]\d \d{4} \d{4}"
    r")(?![\w])"
)
PHONE_REDACTED = "[number]"


def redact_phone_numbers(text: str) -> str:
    return _PHONE.sub(PHONE_REDACTED, text)


class RedactSecretsFilter(logging.Filter):
    """A logging filter for every handler of the app (settings.LOGGING): the message, its
    traceback and stack are formatted here and redacted, so no handler writes a token. Django
    logs the path of every 4xx and 5xx (django.request, django.security.*) and runserver the
    request line (django.server); a view may log a URL too."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_phone_numbers(redact_text(message))
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_phone_numbers(redact_text(record.exc_text))
        if record.stack_info:
            record.stack_info = redact_phone_numbers(redact_text(record.stack_info))
        return True
