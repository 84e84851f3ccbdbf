"""Secrets never in logs (issue 12). A contact-link, invitation, e-mail-confirmation or
password-reset token is in a URL for one request, which the view swaps for a session and a
redirect to a token-free address; gunicorn's access log and the app's own logs redact it
(locker/infra/redact.py). Here: the redaction itself, every token route of the URLconf, the
swap of each kind of token, Django's own request log, and real gunicorn with the project's
config (config/gunicorn.py) writing an access log that holds none of the tokens."""

from __future__ import annotations

import contextlib
import io
import logging
import re
import secrets
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.forms import PasswordResetForm
from django.core import mail
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from config import gunicorn as gunicorn_config
from locker import services
from locker.infra.redact import (
    REDACTED,
    SECRET_URL_PARAMETERS,
    RedactSecretsFilter,
    redact_header,
    redact_query,
    redact_text,
    redact_url,
)

from ..factories import UserFactory, make_case
from ..faults.processes import Gunicorn, app_env, manage, wait_until
from ..ui_helpers import client_for

REPO = Path(__file__).resolve().parents[2]
TOKEN = "Zq9-secretTOKENvalue_0123456789abcdefghijklmn"


# The redaction -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        (f"GET /c/{TOKEN}/ HTTP/1.1", f"GET /c/{REDACTED}/ HTTP/1.1"),
        (f"GET /c/{TOKEN} HTTP/1.1", f"GET /c/{REDACTED} HTTP/1.1"),  # before the slash redirect
        (f"/c/{TOKEN}/trailing-junk", f"/c/{REDACTED}/trailing-junk"),
        (f"/invitations/{TOKEN}/", f"/invitations/{REDACTED}/"),
        (f"/accounts/email/confirm/{TOKEN}:1v2:x/", f"/accounts/email/confirm/{REDACTED}/"),
        (f"/accounts/reset/MQ/{TOKEN}/", f"/accounts/reset/{REDACTED}/{REDACTED}/"),
        (f"Gone: /c/{TOKEN}/", f"Gone: /c/{REDACTED}/"),
        (
            f'"https://locker.example.org/invitations/{TOKEN}/"',
            f'"https://locker.example.org/invitations/{REDACTED}/"',
        ),
        # Literal routes beside the token routes stay readable.
        ("/c/", "/c/"),
        ("/c/thanks/", "/c/thanks/"),
        ("/invitations/", "/invitations/"),
        ("/accounts/email/confirm/", "/accounts/email/confirm/"),
        ("/accounts/reset/done/", "/accounts/reset/done/"),
        ("/api/invitations/accept", "/api/invitations/accept"),
        ("/static/c/app.css", "/static/c/app.css"),
        ("no address in this line", "no address in this line"),
    ],
)
def test_token_segments_are_redacted(text: str, redacted: str) -> None:
    assert redact_text(text) == redacted
    assert redact_text(redacted) == redacted  # and redacting twice changes nothing


@pytest.mark.parametrize(
    ("query", "redacted"),
    [
        (f"token={TOKEN}", f"token={REDACTED}"),
        (f"key={TOKEN}&page=2", f"key={REDACTED}&page=2"),
        ("page=3&limit=100&offset=200&kind=call&tag=threat&start=2026-01-01", None),
        ("q=张三的电话", f"q={REDACTED}"),  # a reviewer's search: personal, not plain
        (TOKEN, REDACTED),  # a bare value
        (f"next=%2Fc%2F{TOKEN}%2F", f"next=/c/{REDACTED}/"),
        ("next=%2Fcases%2F", "next=/cases/"),
        ("", ""),
    ],
)
def test_query_values_are_redacted_unless_plain(query: str, redacted: str | None) -> None:
    assert redact_query(query) == (query if redacted is None else redacted)


def test_a_url_keeps_its_shape() -> None:
    assert redact_url(f"/c/{TOKEN}/?code={TOKEN}#{TOKEN}") == (
        f"/c/{REDACTED}/?code={REDACTED}#{REDACTED}"
    )
    assert redact_url("/cases/?page=2") == "/cases/?page=2"


def test_secret_headers_are_redacted_whole() -> None:
    assert redact_header("Authorization", f"Bearer {TOKEN}") == REDACTED
    assert redact_header("cookie", f"sessionid={TOKEN}") == REDACTED
    assert redact_header("Referer", f"https://h/c/{TOKEN}/") == f"https://h/c/{REDACTED}/"


def _secret_routes(patterns, prefix: str = "") -> list[tuple[str, URLPattern]]:
    found = []
    for entry in patterns:
        if isinstance(entry, URLResolver):
            found += _secret_routes(entry.url_patterns, prefix + str(entry.pattern))
        elif set(entry.pattern.converters) & SECRET_URL_PARAMETERS:
            found.append((prefix + str(entry.pattern), entry))
    return found


def test_every_token_route_of_the_urlconf_is_redacted() -> None:
    """A route added later with a parameter named token (or key, uidb64 …) is covered by its
    name alone; this walks the URLconf the way the redaction does not, by reverse()."""
    routes = _secret_routes(get_resolver().url_patterns)
    assert {path for path, _ in routes} >= {
        "c/<str:token>/",
        "invitations/<str:token>/",
        "accounts/email/confirm/<str:token>/",
        "accounts/reset/<uidb64>/<token>/",
    }
    for path, pattern in routes:
        values = {name: f"{name}{TOKEN}" for name in pattern.pattern.converters}
        namespace_free = [name for name in [pattern.name] if name]
        assert namespace_free, path
        url = reverse(pattern.name, kwargs=values)
        line = f'"GET {url}?x=1 HTTP/1.1" 302'
        assert TOKEN not in redact_text(line), (path, redact_text(line))


def test_a_regex_route_with_a_secret_group_is_redacted_too() -> None:
    """Libraries still write some routes as regexes (re_path): their named groups count."""
    from django.urls import re_path
    from django.urls.resolvers import RegexPattern

    from locker.infra.redact import _route_fragment

    route = re_path(r"^confirm-email/(?P<key>[-:\w]+)/$", lambda request: None)
    assert isinstance(route.pattern, RegexPattern)
    fragment, secret = _route_fragment(route.pattern, [0])
    assert secret
    match = re.search("/" + fragment, f"GET /confirm-email/{TOKEN}/ HTTP/1.1")
    assert match and match.group("s0") == TOKEN


# The app's own logs ------------------------------------------------------------------------


def test_every_handler_of_the_app_redacts() -> None:
    handlers = settings.LOGGING["handlers"]
    assert handlers and all("redact" in h.get("filters", []) for h in handlers.values())
    for name in ("", "django.server"):
        # (pytest adds capturing handlers of its own beside ours.)
        ours = [h for h in logging.getLogger(name).handlers if type(h) is logging.StreamHandler]
        assert ours, name
        for handler in ours:
            assert any(isinstance(f, RedactSecretsFilter) for f in handler.filters), name


def test_the_filter_redacts_message_arguments_and_tracebacks() -> None:
    record = logging.LogRecord(
        "django.request", logging.WARNING, __file__, 1, "Gone: %s", (f"/c/{TOKEN}/",), None
    )
    try:
        raise ValueError(f"while opening /invitations/{TOKEN}/")
    except ValueError:
        record.exc_info = sys.exc_info()
    assert RedactSecretsFilter().filter(record) is True
    written = logging.Formatter().format(record)
    assert TOKEN not in written
    assert f"Gone: /c/{REDACTED}/" in written and f"/invitations/{REDACTED}/" in written


@pytest.fixture
def app_log():
    """What the app's console handler writes, as it writes it."""
    handler = next(h for h in logging.getLogger().handlers if type(h) is logging.StreamHandler)
    stream = io.StringIO()
    previous = handler.setStream(stream)
    try:
        yield stream
    finally:
        handler.setStream(previous)


@pytest.mark.django_db
def test_djangos_request_log_of_a_dead_token_holds_no_token(app_log) -> None:
    """A used or expired link is answered 410, which django.request logs with its path."""
    for url in (f"/c/{TOKEN}/", f"/accounts/reset/MQ/{TOKEN}/?x={TOKEN}"):
        Client().get(url)
    assert Client().get(f"/c/{TOKEN}/").status_code == 410
    written = app_log.getvalue()
    assert "Gone: /c/" in written and TOKEN not in written


# Each token is swapped for a session at once --------------------------------------------


def _swapped(client: Client, url: str, clean: str) -> None:
    answer = client.get(url)
    assert answer.status_code == 302, url
    assert answer["Location"] == clean and TOKEN not in answer["Location"]
    assert answer["Referrer-Policy"] == "no-referrer"
    assert client.get(clean).status_code == 200


def _link_in(message: mail.EmailMessage) -> str:
    match = re.search(r"https?://[^\s]+", message.body)
    assert match, message.body
    return "/" + match.group(0).split("/", 3)[3]


@pytest.mark.django_db
def test_a_contact_link_is_swapped_for_a_session() -> None:
    case = make_case()
    _link, raw = services.create_contact_link(case=case, user=case.owner)
    _swapped(Client(), f"/c/{raw}/", reverse("statement"))


@pytest.mark.django_db
def test_an_invitation_is_swapped_for_a_session() -> None:
    case = make_case()
    services.share_case(
        case=case, by=case.owner, grantee="lawyer@example.org", role="viewer", site_url="https://h"
    )
    _swapped(Client(), _link_in(mail.outbox[-1]), reverse("invitation"))


@pytest.mark.django_db
def test_an_email_confirmation_is_swapped_for_a_session() -> None:
    user = UserFactory()
    services.request_email_confirmation(user=user, email="new@example.org", site_url="https://h")
    _swapped(client_for(user), _link_in(mail.outbox[-1]), reverse("email_confirm"))


@pytest.mark.django_db
def test_a_password_reset_is_swapped_for_a_session() -> None:
    """Django's own view: the token goes into the session and the page reloads at
    reset/<uidb64>/set-password/, the uidb64 being redacted in logs too."""
    user = UserFactory()
    form = PasswordResetForm({"email": user.email})
    assert form.is_valid()
    form.save(domain_override="h", use_https=True)
    url = _link_in(mail.outbox[-1])
    client = Client()
    answer = client.get(url)
    assert answer.status_code == 302 and answer["Location"].endswith("/set-password/")
    token = url.rstrip("/").rsplit("/", 1)[1]
    assert token not in answer["Location"]
    assert token not in redact_text(f"GET {url} HTTP/1.1")
    assert client.get(answer["Location"]).status_code == 200


# gunicorn ----------------------------------------------------------------------------------


def test_gunicorn_atoms_are_redacted_when_the_format_asks() -> None:
    atoms = gunicorn_config.RedactedAtoms(
        {
            "r": f"GET /c/{TOKEN}/?t={TOKEN} HTTP/1.1",
            "U": f"/c/{TOKEN}/",
            "q": f"t={TOKEN}",
            "f": f"https://h/invitations/{TOKEN}/",
            "{authorization}i": f"Bearer {TOKEN}",
            "{cookie}i": f"sessionid={TOKEN}",
            "{location}o": f"/accounts/reset/MQ/{TOKEN}/",
            "{http_cookie}e": f"sessionid={TOKEN}",
            "{query_string}e": f"t={TOKEN}",
            "s": 302,
        }
    )
    for key in (
        "r",
        "U",
        "q",
        "f",
        "{Authorization}i",
        "{cookie}i",
        "{location}o",
        "{HTTP_COOKIE}e",
        "{QUERY_STRING}e",
    ):
        assert TOKEN not in atoms[key], key
    assert atoms["s"] == 302 and atoms["missing"] == "-"


def test_every_gunicorn_start_uses_the_projects_config() -> None:
    """A gunicorn started without it writes the plain access log."""
    starts = {
        "bin/run-local": (REPO / "bin" / "run-local").read_text(encoding="utf-8"),
        "compose.yaml": (REPO / "compose.yaml").read_text(encoding="utf-8"),
        "tests/faults/processes.py": (REPO / "tests/faults/processes.py").read_text("utf-8"),
    }
    for name, text in starts.items():
        for line in text.splitlines():
            if "gunicorn" in line and "config.wsgi" in line:
                assert "config/gunicorn.py" in line, (name, line)


@pytest.mark.django_db(transaction=True)
def test_real_gunicorn_logs_no_token(tmp_path: Path) -> None:
    env = app_env(tmp_path, database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}", redis_url="")
    migrated = manage(env, "migrate", "--noinput")
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    web = Gunicorn(tmp_path, env, workers=1)
    try:
        web.start().wait_ready(60)
        tokens = [secrets.token_urlsafe(32) for _ in range(6)]
        urls = [
            f"/c/{tokens[0]}/",
            f"/c/{tokens[1]}",
            f"/invitations/{tokens[2]}/",
            f"/accounts/email/confirm/{tokens[3]}/",
            f"/accounts/reset/MQ/{tokens[4]}/",
            f"/accounts/login/?next=%2Fc%2F{tokens[5]}%2F&token={tokens[5]}",
        ]
        for url in urls:
            request = urllib.request.Request(  # noqa: S310 - http to our own port
                web.base_url + url, headers={"Referer": web.base_url + url}
            )
            # A dead token is 410, which is logged all the same.
            with contextlib.suppress(urllib.error.HTTPError):
                urllib.request.urlopen(request, timeout=10).close()  # noqa: S310
        wait_until(
            lambda: web.output(tail=200_000).count('"GET /') >= len(urls) + 1,
            10,
            "the access log lines",
            web.output,
        )
    finally:
        web.stop()
    written = web.log_path.read_text(errors="replace")
    leaked = [token for token in tokens if token in written]
    assert leaked == [], written[-4000:]
    assert f'"GET /c/{REDACTED}/ HTTP/1.1" 410' in written
    assert f'"GET /invitations/{REDACTED}/ HTTP/1.1" 302' in written
    assert f"Gone: /c/{REDACTED}/" in written  # Django's request log, through the same filter
