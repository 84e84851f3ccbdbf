"""Response headers (issue 12): a Content-Security-Policy without 'unsafe-inline' (a nonce per
response), no framing, nosniff, no Referer header policy, a Permissions-Policy, HSTS in
production; and `check --deploy --fail-level WARNING` clean with production settings."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.db.utils import OperationalError
from django.test import Client
from django.urls import reverse

from locker import services

from ..factories import UserFactory, make_case
from ..ui_helpers import client_for, png_bytes

pytestmark = pytest.mark.django_db

REPO = Path(__file__).resolve().parents[2]
TEMPLATES = REPO / "templates"


def csp_of(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    directives: dict[str, list[str]] = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


@pytest.fixture
def pages() -> list[tuple[Client, str]]:
    """The main pages, each as the person who sees it."""
    import io

    user = UserFactory()
    case = make_case(owner=user)
    entry = services.append_entry(
        case=case,
        author=f"user:{user.pk}",
        kind="message",
        body={"channel": "sms", "text": "不还钱就爆通讯录"},
        uploads=[services.Upload(name="a.png", stream=io.BytesIO(png_bytes()))],
    ).entry
    owner = client_for(user)
    anonymous = Client()
    c = case.pk
    return [
        (anonymous, reverse("home")),
        (anonymous, reverse("login")),
        (anonymous, reverse("signup")),
        (anonymous, reverse("verify")),
        (anonymous, "/api/docs"),
        (anonymous, "/api/openapi.json"),
        (owner, reverse("case_list")),
        (owner, reverse("case_detail", args=[c])),
        (owner, reverse("quick_log", args=[c])),
        (owner, reverse("timeline", args=[c])),
        (owner, reverse("entry_detail", args=[c, entry.seq])),
        (owner, reverse("links", args=[c])),
        (owner, reverse("dossier_export", args=[c])),
        (owner, reverse("preferences")),
    ]


def test_every_page_has_a_strict_policy(pages) -> None:
    for client, url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        policy = csp_of(response)
        for directive in ("script-src", "style-src"):
            assert "'unsafe-inline'" not in policy[directive], (url, directive)
            assert "'unsafe-eval'" not in policy[directive], (url, directive)
            assert policy[directive][0] == "'self'", (url, directive)
        assert policy["default-src"] == ["'none'"], url
        assert policy["frame-ancestors"] == ["'none'"], url
        assert policy["object-src"] == ["'none'"] and policy["base-uri"] == ["'none'"], url
        # Nothing from another site, but where the quick exit's form post is redirected.
        for directive, sources in policy.items():
            others = [s for s in sources if "://" in s or s.endswith(":") and s != "data:"]
            if directive == "form-action":
                exit_site = urlsplit(settings.LOCKER_QUICK_EXIT_URL)
                assert others == [f"{exit_site.scheme}://{exit_site.netloc}"], url
            else:
                assert others == [], (url, directive)
        assert response["X-Content-Type-Options"] == "nosniff", url
        assert response["X-Frame-Options"] == "DENY", url
        assert response["Referrer-Policy"] in ("no-referrer", "same-origin"), url
        permissions = response["Permissions-Policy"]
        for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
            assert f"{feature}=()" in permissions, (url, feature)


def test_pages_of_the_app_carry_the_responses_nonce(pages) -> None:
    """The nonce in the header is the one on the page's script and stylesheet, and new for
    every response: a script injected into a page cannot know it."""
    client, url = pages[0]
    seen = set()
    for _ in range(2):
        response = client.get(url)
        nonce = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"]).group(1)
        assert f'nonce="{nonce}"' in response.content.decode()
        seen.add(nonce)
    assert len(seen) == 2


def test_the_referrer_policy_header_is_no_referrer() -> None:
    """Every answer's header says no-referrer; pages with a form keep same-origin in their
    own <meta> (see settings.SECURE_REFERRER_POLICY): no address of ours leaves the site."""
    assert Client().get(reverse("home"))["Referrer-Policy"] == "no-referrer"
    assert Client().get("/api/openapi.json")["Referrer-Policy"] == "no-referrer"
    html = Client().get(reverse("home")).content.decode()
    assert '<meta name="referrer" content="same-origin">' in html


def test_the_permissions_policy_leaves_the_camera_capture_input_working() -> None:
    """The photo button is <input type=file capture>: the phone's camera app, not
    getUserMedia, so camera=() does not stop it; and copy, share and passkeys stay allowed."""
    policy = settings.LOCKER_PERMISSIONS_POLICY
    for kept in ("clipboard-write", "web-share", "publickey-credentials", "fullscreen"):
        assert kept not in policy
    capture = (TEMPLATES / "locker" / "_files.html").read_text(encoding="utf-8")
    assert 'type="file"' in capture and "capture=" in capture


INLINE = [
    (re.compile(r"\sstyle\s*=", re.I), "a style attribute"),
    (re.compile(r"<style[\s>]", re.I), "a <style> block"),
    (
        re.compile(r"<script(?![^>]*\ssrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I),
        "an inline script",
    ),
    (re.compile(r"\son[a-z]+\s*=", re.I), "an event-handler attribute"),
    (re.compile(r"javascript:", re.I), "a javascript: URL"),
]


def test_no_template_needs_unsafe_inline() -> None:
    found = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        for regex, what in INLINE:
            for match in regex.finditer(text):
                found.append(f"{path.relative_to(REPO)}: {what}: {match.group(0)!r}")
    assert found == []


def test_the_api_docs_load_nothing_from_another_site() -> None:
    html = Client().get("/api/docs").content.decode()
    addresses = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert addresses and all(a.startswith("/") and not a.startswith("//") for a in addresses)
    # Swagger UI's validator badge would ask validator.swagger.io about our schema.
    assert '"validatorUrl": null' in html
    assert Client().get("/api/openapi.json").status_code == 200


def test_the_api_schema_has_no_key_twice() -> None:
    """Swagger UI refuses a schema with a duplicated key (an int 200 and a "200" from
    openapi_extra both became "200"), and the docs page then shows nothing."""
    import json

    def no_duplicates(pairs):
        keys = [key for key, _value in pairs]
        assert len(keys) == len(set(keys)), keys
        return dict(pairs)

    json.loads(Client().get("/api/openapi.json").content, object_pairs_hook=no_duplicates)


def test_the_database_down_page_carries_the_headers_too(monkeypatch) -> None:
    from django.db import connections

    def broken(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    client = Client(raise_request_exception=False)
    client.force_login(UserFactory())
    monkeypatch.setattr(connections["default"], "create_cursor", broken)
    response = client.get(reverse("case_list"))
    assert response.status_code == 503
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "camera=()" in response["Permissions-Policy"]


def test_an_evidence_original_keeps_its_own_sandbox_policy() -> None:
    """The file as uploaded is never rendered: its own stricter policy is not replaced."""
    import io

    user = UserFactory()
    case = make_case(owner=user)
    services.append_entry(
        case=case,
        author=f"user:{user.pk}",
        kind="message",
        body={"channel": "sms", "text": "x"},
        uploads=[services.Upload(name="a.png", stream=io.BytesIO(png_bytes()))],
    )
    sha = case.evidence_files.get().sha256
    response = client_for(user).get(reverse("evidence_original", args=[case.pk, sha]))
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"


# Production settings -----------------------------------------------------------------------

# What makes the settings production's (README, "Configuration"): DEBUG off, a real secret
# key, the public host name, HTTPS-only cookies (which turn on HSTS and the https redirect),
# our own TLS proxy in front, and a real mail server.
PRODUCTION_ENV = {
    "DEBUG": "0",
    "ALLOWED_HOSTS": "locker.example.org",
    "CSRF_TRUSTED_ORIGINS": "https://locker.example.org",
    "SECURE_COOKIES": "1",
    "BEHIND_PROXY": "1",
    "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
    "EMAIL_HOST": "mail.example.org",
}


def _manage(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_", "REDIS_", "LOCKER_", "SECURE_", "DJANGO_", "EMAIL_"))
        and k not in ("DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "BEHIND_PROXY")
    }
    clean.update({"LOCKER_DATA_DIR": str(tmp_path), "SECRET_KEY": secrets.token_urlsafe(50), **env})
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_production_settings(tmp_path: Path) -> None:
    result = _manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING", **PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("change", "warning"),
    [
        ({"SECURE_HSTS_SECONDS": "0"}, "security.W004"),
        ({"SECURE_SSL_REDIRECT": "0"}, "security.W008"),
        ({"SECURE_COOKIES": "0"}, "security.W012"),
        ({"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}, "locker.W001"),
    ],
)
def test_check_deploy_fails_on_what_production_must_not_be(
    tmp_path: Path, change: dict[str, str], warning: str
) -> None:
    """The check above can fail: each of these alone is a warning, so an exit status 1."""
    result = _manage(
        tmp_path, "check", "--deploy", "--fail-level", "WARNING", **{**PRODUCTION_ENV, **change}
    )
    assert result.returncode == 1 and warning in result.stderr, result.stdout + result.stderr


def test_production_settings_send_hsts_and_redirect_to_https(tmp_path: Path) -> None:
    script = (
        "import django; django.setup()\n"
        "from django.test import Client\n"
        "c = Client()\n"
        "plain = c.get('/accounts/login/', HTTP_HOST='locker.example.org')\n"
        "tls = c.get('/accounts/login/', HTTP_HOST='locker.example.org', "
        "HTTP_X_FORWARDED_PROTO='https')\n"
        "health = c.get('/readyz', HTTP_HOST='locker.example.org')\n"
        "print(plain.status_code, plain['Location'])\n"
        "print(tls['Strict-Transport-Security'])\n"
        "print(health.status_code != 301)\n"
    )
    result = _manage(tmp_path, "shell", "-c", script, **PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
    plain, hsts, health = result.stdout.strip().splitlines()[-3:]
    assert plain == "301 https://locker.example.org/accounts/login/"
    assert hsts == "max-age=31536000; includeSubDomains; preload"
    assert health == "True"  # a load balancer's health check over plain http is answered


def test_development_settings_pin_no_browser_to_https(tmp_path: Path) -> None:
    """`make run` on http://127.0.0.1 sends no HSTS, or the browser would refuse it after."""
    script = (
        "from django.conf import settings as s\nprint(s.SECURE_HSTS_SECONDS, s.SECURE_SSL_REDIRECT)"
    )
    result = _manage(tmp_path, "shell", "--verbosity", "0", "-c", script)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["0", "False"]
