"""The pages under their Content-Security-Policy in real Chromium (issue 12): the app's main
pages, a contact's statement page, the API docs (Swagger UI from ninja's own files) and the
admin work with no CSP violation, no console error, and no request to any other site; and the
quick exit, whose script posts the lock, still leaves and locks."""

from __future__ import annotations

import io
import re

import pytest

from locker import services

from ..conftest import chromium_path, needs
from ..factories import PASSWORD, UserFactory, make_case
from ..test_browser import browser, log_in  # noqa: F401  (the fixture is used by name)
from ..ui_helpers import png_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
needs_chromium = needs(
    chromium_path() is not None, "Chromium is not installed (apt-get install chromium)"
)

# Collected in every page before its own scripts run: securitypolicyviolation events.
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', e => window.__violations.push(
  e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' '
  + (e.sourceFile || '') + ':' + e.lineNumber));
"""


class Watched:
    """A browser context whose pages report CSP violations, console errors and warnings,
    uncaught errors, and every request that leaves the test server."""

    def __init__(self, chromium, base: str) -> None:
        self.base = base
        self.context = chromium.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
        self.context.set_default_timeout(15000)
        self.context.add_init_script(RECORD_VIOLATIONS)
        self.problems: list[str] = []
        self.page = self.context.new_page()
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        self.page.on("request", self._request)

    def _console(self, message) -> None:
        # The browser asks for /favicon.ico by itself on pages that name no icon (the admin's).
        if message.location.get("url", "").endswith("/favicon.ico"):
            return
        if message.type in ("error", "warning"):
            self.problems.append(f"console {message.type} on {self.page.url}: {message.text}")

    def _request(self, request) -> None:
        if not request.url.startswith((self.base, "data:", "blob:")):
            self.problems.append(f"request to another site: {request.url}")

    def visit(self, path: str, ready: str | None = None) -> None:
        response = self.page.goto(self.base + path)
        assert response is not None and response.status < 400, (path, response and response.status)
        self.page.wait_for_load_state("load")
        if ready:
            try:
                self.page.wait_for_selector(ready)
            except Exception as exc:
                self.check(path)
                raise AssertionError(f"{path} never showed {ready}: {self.problems}") from exc
        self.check(path)

    def check(self, where: str) -> None:
        violations = self.page.evaluate("window.__violations || []")
        self.problems += [f"CSP violation on {where}: {v}" for v in violations]


@needs_chromium
def test_main_pages_work_under_the_policy(browser, live_server, settings) -> None:  # noqa: F811
    # A neutral page on another origin (127.0.0.1, the test server being localhost), as the
    # real exit is another site.
    port = live_server.url.rsplit(":", 1)[1]
    assert live_server.url.startswith("http://localhost:")
    settings.LOCKER_QUICK_EXIT_URL = f"http://127.0.0.1:{port}/static/locker/icon-192.png"
    user = UserFactory()
    case = make_case(owner=user, title="网贷催收")
    entry = services.append_entry(
        case=case,
        author=f"user:{user.pk}",
        kind="message",
        body={"channel": "sms", "text": "不还钱就爆通讯录"},
        uploads=[services.Upload(name="a.png", stream=io.BytesIO(png_bytes(300, 600)))],
    ).entry
    c = case.pk
    # A dossier waiting for a worker: its page polls the status with its own script.
    from locker import tasks  # noqa: F401 - registers the render task the request sends
    from locker.services import dossiers as dossier_services

    dossier = dossier_services.request_dossier(
        case=case, user=user, template="cn_regulator", language="zh-hans"
    )

    anonymous = Watched(browser, live_server.url)
    for path in (
        "/",
        "/accounts/login/",
        "/accounts/signup/",
        "/verify",
        "/accounts/password_reset/",
    ):
        anonymous.visit(path)
    # Swagger UI draws the operations from /api/openapi.json with ninja's own script.
    anonymous.visit("/api/docs", ready=".opblock")

    owner = Watched(browser, live_server.url)
    log_in(owner.page, live_server.url, user.username)
    for path in (
        "/cases/",
        f"/cases/{c}/",
        f"/cases/{c}/log/",
        f"/cases/{c}/log/call/",
        f"/cases/{c}/timeline/",
        f"/cases/{c}/entries/{entry.seq}/",
        f"/cases/{c}/entries/{entry.seq}/receipt/",
        f"/cases/{c}/dossiers/",
        f"/cases/{c}/dossiers/{dossier.pk}/",
        f"/cases/{c}/sharing/",
        "/accounts/preferences/",
        f"/cases/{c}/links/",  # last: the link is made on this page
    ):
        owner.visit(path)
    # A contact link, made the way the owner makes one: the page with its QR code.
    owner.page.fill("#id_label", "二姨")
    owner.page.locator("main form button[type=submit]").first.click()
    owner.page.wait_for_url(re.compile(r".*/links/\d+/$"))
    owner.check("link detail")
    link = re.search(r"https?://\S+?/c/[^/\s\"<]+/", owner.page.content())
    assert link and owner.page.locator("svg").count() >= 1

    contact = Watched(browser, live_server.url)
    contact.page.goto(link.group(0))
    contact.page.wait_for_url(f"{live_server.url}/c/")
    contact.check("statement")
    # The script fills in the contact's own zone (here the browser's default).
    assert contact.page.locator("input[name=time_zone]").input_value()

    # The quick exit: the script posts the lock (fetch, not followed to the other site) and
    # leaves; Back meets the password prompt.
    owner.visit(f"/cases/{c}/")
    owner.check("before the exit")
    owner.page.locator("#quick-exit").click()
    owner.page.wait_for_url(settings.LOCKER_QUICK_EXIT_URL)
    owner.page.go_back()
    owner.page.wait_for_load_state()
    assert "/accounts/unlock/" in owner.page.url
    owner.check("unlock")

    problems = anonymous.problems + owner.problems + contact.problems
    # The exit page is on "another site" here by design.
    problems = [p for p in problems if settings.LOCKER_QUICK_EXIT_URL not in p]
    assert problems == []
    for watched in (anonymous, owner, contact):
        watched.context.close()


@needs_chromium
def test_the_admin_works_under_the_policy(browser, live_server) -> None:  # noqa: F811
    admin = UserFactory(username="admin-csp", is_staff=True, is_superuser=True)
    case = make_case(owner=admin)
    watched = Watched(browser, live_server.url)
    # /admin/login/ sends staff to the one log-in page, which brings them back.
    watched.visit("/admin/login/")
    watched.page.fill("#id_username", admin.username)
    watched.page.fill("#id_password", PASSWORD)
    watched.page.press("#id_password", "Enter")
    watched.page.wait_for_url(f"{live_server.url}/admin/")
    watched.check("admin index")
    for path in (
        "/admin/locker/case/",
        f"/admin/locker/case/{case.pk}/change/",
        "/admin/auth/user/",
        "/admin/auth/user/add/",
        f"/admin/auth/user/{admin.pk}/change/",
        "/admin/locker/entry/",
    ):
        watched.visit(path)
    # The user form's group picker is drawn by the admin's script (SelectFilter2).
    watched.visit(f"/admin/auth/user/{admin.pk}/change/", ready=".selector-available")
    assert watched.problems == []
    watched.context.close()


@needs_chromium
def test_a_link_elsewhere_to_the_exit_does_not_lock(browser, live_server, settings) -> None:  # noqa: F811
    """A GET of /exit/ (a link or an image on another site) leaves nobody locked out."""
    settings.LOCKER_QUICK_EXIT_URL = f"{live_server.url}/static/locker/icon-192.png"
    user = UserFactory()
    case = make_case(owner=user)
    watched = Watched(browser, live_server.url)
    log_in(watched.page, live_server.url, user.username)
    watched.page.goto(f"{live_server.url}/exit/")
    watched.page.wait_for_url(settings.LOCKER_QUICK_EXIT_URL)
    watched.page.goto(f"{live_server.url}/cases/{case.pk}/")
    assert watched.page.url == f"{live_server.url}/cases/{case.pk}/"
    watched.context.close()
