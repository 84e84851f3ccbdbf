"""Pages make no third-party requests (issue 12): a collector who runs, or can read the logs
of, any other site must learn nothing from a borrower opening this one, and a page must not
depend on a site that can change what it runs.

Two witnesses. First, the markup: every page each persona of tests/routes.py can reach (and
the API docs, the admin, the page shown while the database is down, the web app manifest, and
every stylesheet they link) names only this origin in every attribute or CSS `url()` that
makes the browser fetch something. Second, real Chromium: the main pages are loaded and every
request the page starts is recorded through the DevTools protocol (Network domain), including
those the Content-Security-Policy then blocks; none may leave the test server.

Links a person clicks to leave for another site are allowed only where listed in
`EXTERNAL_LINKS`: today the one is the quick exit's neutral site on the page shown while the
database is down (no regulator or other official site is linked from any page; the
regulators a dossier is addressed to are named in the PDF, not linked from the pages)."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.contrib import admin
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse

from locker import services
from locker.models import Case, Entry

from ..conftest import chromium_path, needs
from ..factories import UserFactory, add_entry, make_case, share_with
from ..personas import PERSONAS, Personas
from ..routes import ROUTES
from ..test_browser import _wav as wav_bytes
from ..test_browser import browser, log_in  # noqa: F401  (the fixture is used by name)
from ..ui_helpers import body_of, client_for, png_bytes

REPO = Path(__file__).resolve().parents[2]
OWN_HOST = "testserver"

# Attributes whose value the browser fetches, or navigates or submits to.
URL_ATTRIBUTES = {
    "src",
    "href",
    "action",
    "formaction",
    "poster",
    "data",
    "background",
    "manifest",
    "ping",
    "xlink:href",
}
SRCSET_ATTRIBUTES = {"srcset", "imagesrcset"}
CSS_URL = re.compile(r"""url\(\s*(['"]?)(.*?)\1\s*\)|@import\s+(['"])(.*?)\3""", re.I | re.S)
# Schemes that fetch nothing from a network.
NO_NETWORK_SCHEMES = {"data", "mailto", "tel"}


def external_links() -> dict[str, str]:
    """Other sites a person may click through to (an <a href> only, never loaded by itself),
    and why each is there."""
    return {settings.LOCKER_QUICK_EXIT_URL: "the quick exit's neutral site (503 page)"}


def is_own(url: str, host: str = OWN_HOST) -> bool:
    """A relative address, or one of this origin; or one that reaches no network."""
    url = url.strip()
    if not url or url.startswith("#"):
        return True
    parts = urlsplit(url)
    if parts.scheme.lower() in NO_NETWORK_SCHEMES:
        return True
    if parts.scheme == "" and parts.netloc == "" and not url.startswith("//"):
        return True
    return parts.scheme in ("http", "https") and parts.netloc == host


def css_urls(text: str) -> Iterator[str]:
    for match in CSS_URL.finditer(text):
        yield match.group(2) if match.group(2) is not None else match.group(4)


class References(HTMLParser):
    """Every address a page's markup makes the browser fetch, navigate or submit to, as
    (element, attribute, address)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, str, str]] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name.lower(): value or "" for name, value in attrs}
        for name, value in values.items():
            if name in URL_ATTRIBUTES:
                self.found.append((tag, name, value))
            elif name in SRCSET_ATTRIBUTES:
                for candidate in value.split(","):
                    if candidate.strip():
                        self.found.append((tag, name, candidate.split()[0]))
            elif name == "style":
                self.found += [(tag, "style", url) for url in css_urls(value)]
        if tag == "meta" and values.get("http-equiv", "").lower() == "refresh":
            match = re.search(r"url\s*=\s*['\"]?([^'\";]+)", values.get("content", ""), re.I)
            if match:
                self.found.append((tag, "http-equiv=refresh", match.group(1)))
        self._in_style = tag == "style"

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.found += [("style", "text", url) for url in css_urls(data)]


def foreign_references(html: str) -> list[str]:
    """The references of `html` to another origin, but the clickable links allowed."""
    parser = References()
    parser.feed(html)
    allowed = external_links()
    return [
        f"<{tag} {attribute}={url!r}>"
        for tag, attribute, url in parser.found
        if not is_own(url) and not (tag == "a" and attribute == "href" and url in allowed)
    ]


def stylesheets(html: str) -> list[str]:
    parser = References()
    parser.feed(html)
    return [url for tag, attribute, url in parser.found if tag == "link" and attribute == "href"]


class Crawl:
    """Pages fetched, and what in them points elsewhere."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.pages = 0
        self._css_seen: set[str] = set()

    def check(self, client: Client, url: str, who: str) -> None:
        response = client.get(url)
        body = body_of(response)
        where = f"{url} as {who}"
        if 300 <= response.status_code < 400:
            location = response["Location"]
            if not is_own(location):
                self.problems.append(f"{where}: redirected to {location}")
            return
        kind = response.get("Content-Type", "")
        if kind.startswith("text/html"):
            self.pages += 1
            html = body.decode(response.charset or "utf-8")
            self.problems += [f"{where}: {found}" for found in foreign_references(html)]
            for sheet in stylesheets(html):
                if is_own(sheet) and sheet not in self._css_seen:
                    self._css_seen.add(sheet)
                    self.check_css(client, sheet)
        elif kind.startswith("text/css"):
            self.problems += [
                f"{where}: url({found})" for found in css_urls(body.decode()) if not is_own(found)
            ]

    def check_css(self, client: Client, url: str) -> None:
        self.check(client, urlsplit(url).path, "a stylesheet")


def add_call(case: Case) -> Entry:
    """A recorded call: the entry's page plays it from this site."""
    recording = services.Upload("call.wav", io.BytesIO(wav_bytes(2)))
    return add_entry(case, "call", {"number": "95188", "duration_s": 2}, uploads=[recording])


def populated_world() -> Personas:
    """Every persona, the case with a screenshot, a recorded call, a contact's statement and
    a reviewer's note, so the timeline and entry pages show pictures, players and notes."""
    world = Personas().everyone()
    world.screenshot  # noqa: B018 - appended for its side effect
    add_call(world.case)
    link, _raw = services.create_contact_link(case=world.case, user=world.owner, label="妈妈")
    services.submit_contact_report(link=link, body={"contact_name": "李阿姨", "summary": "骂人"})
    services.add_annotation(case=world.case, author=world.user("reviewer"), text="要点")
    return world


@pytest.mark.django_db
def test_no_page_any_persona_reaches_names_another_site() -> None:
    world = populated_world()
    crawl = Crawl()
    for route in ROUTES:
        if route.api or route.method != "GET":
            continue
        url = route.url(world)
        for persona in PERSONAS:
            crawl.check(world.web(persona), url, persona)
    # Beside the table: the API docs, the exit's GET (a link elsewhere to it), the admin.
    anonymous = Client()
    crawl.check(anonymous, "/api/docs", "anonymous")
    crawl.check(anonymous, "/admin/login/", "anonymous")
    staff = client_for(UserFactory(username="staff", is_staff=True, is_superuser=True))
    crawl.check(staff, "/admin/", "staff")
    for model in admin.site._registry:
        meta = model._meta
        crawl.check(staff, reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"), "staff")
        first = model._default_manager.order_by("pk").first()
        if first is not None:
            change = f"admin:{meta.app_label}_{meta.model_name}_change"
            crawl.check(staff, reverse(change, args=[first.pk]), "staff")
    assert crawl.pages > 100, crawl.pages  # the walk really saw pages, not only redirects
    assert crawl.problems == []


@pytest.mark.django_db
def test_the_quick_exit_is_the_only_address_elsewhere_and_only_as_a_link_or_redirect() -> None:
    # The page shown while the database is down links straight to the neutral site.
    html = render_to_string(
        "503.html", {"quick_exit_url": settings.LOCKER_QUICK_EXIT_URL, "database": True}
    )
    assert f'href="{settings.LOCKER_QUICK_EXIT_URL}"' in html
    assert foreign_references(html) == []
    # Anywhere but on a link a person clicks, the same address counts as a third-party one.
    loaded = f'<img src="{settings.LOCKER_QUICK_EXIT_URL}">'
    assert foreign_references(loaded) == [f"<img src={settings.LOCKER_QUICK_EXIT_URL!r}>"]
    # The exit itself redirects there; that is the one redirect elsewhere.
    response = Client().get(reverse("quick_exit"))
    assert response["Location"] == settings.LOCKER_QUICK_EXIT_URL


def test_the_checker_finds_each_kind_of_reference() -> None:
    """What the walk above would report, had a page any of these (so it can fail)."""
    html = """<html><head>
      <link rel="stylesheet" href="https://cdn.example/x.css">
      <link rel="preconnect" href="//fonts.example">
      <meta http-equiv="refresh" content="0; url=https://tracker.example/">
      <style>body { background: url("https://img.example/a.png") } @import 'https://c.example/b.css';</style>
      </head><body>
      <script src="http://js.example/a.js"></script>
      <img srcset="/ok.png 1x, https://img.example/2x.png 2x">
      <form action="https://post.example/"></form>
      <a href="https://news.example/" ping="/ok">a link</a>
      <div style="background-image: url(https://img.example/b.png)"></div>
      <svg><use xlink:href="https://svg.example/s.svg#i"></use></svg>
      <img src="/static/ok.png"><a href="mailto:x@example.org">mail</a><img src="data:,">
    </body></html>"""
    found = foreign_references(html)
    for origin in (
        "cdn.example",
        "fonts.example",
        "tracker.example",
        "img.example/a.png",
        "c.example",
        "js.example",
        "img.example/2x.png",
        "post.example",
        "news.example",
        "img.example/b.png",
        "svg.example",
    ):
        assert any(origin in item for item in found), (origin, found)
    assert len(found) == 11


@pytest.mark.django_db
def test_the_manifest_names_only_this_site() -> None:
    manifest = json.loads(Client().get(reverse("manifest")).content)
    addresses = [manifest["start_url"], manifest["scope"]]
    addresses += [icon["src"] for icon in manifest.get("icons", [])]
    assert addresses and all(is_own(address) for address in addresses), addresses


def test_no_script_or_stylesheet_of_ours_names_another_site() -> None:
    """The scripts could fetch what no markup names: none of ours holds an absolute address."""
    found = []
    for path in sorted((REPO / "static").rglob("*")):
        if path.suffix in (".js", ".css"):
            for match in re.finditer(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", path.read_text()):
                found.append(f"{path.relative_to(REPO)}: {match.group(0)}")
    assert found == []


# In real Chromium ------------------------------------------------------------------------

needs_chromium = needs(
    chromium_path() is not None, "Chromium is not installed (apt-get install chromium)"
)


class Recorded:
    """A browser context with one page whose every network request, as the DevTools
    protocol reports it, is recorded: requests the page's markup, styles and scripts start,
    and those the Content-Security-Policy blocks (Chromium reports them too, then fails them
    with `blockedReason: csp`)."""

    def __init__(self, chromium, base: str) -> None:
        self.base = base
        self.context = chromium.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
        self.context.set_default_timeout(15000)
        self.page = self.context.new_page()
        self.requests: list[str] = []
        self.blocked: list[str] = []
        self._urls: dict[str, str] = {}
        cdp = self.context.new_cdp_session(self.page)
        cdp.on("Network.requestWillBeSent", self._sent)
        cdp.on("Network.webSocketCreated", lambda event: self.requests.append(event["url"]))
        cdp.on("Network.loadingFailed", self._failed)
        cdp.send("Network.enable")

    def _sent(self, event) -> None:
        url = event["request"]["url"]
        self._urls[event["requestId"]] = url
        self.requests.append(url)

    def _failed(self, event) -> None:
        if event.get("blockedReason"):
            url = self._urls.get(event["requestId"], "?")
            self.blocked.append(f"{event['blockedReason']}: {url}")

    def visit(self, path: str) -> None:
        response = self.page.goto(self.base + path)
        assert response is not None and response.status < 400, (path, response and response.status)
        self.page.wait_for_load_state("networkidle")

    def elsewhere(self) -> list[str]:
        return [
            url for url in self.requests if not url.startswith((self.base + "/", "data:", "blob:"))
        ]


@needs_chromium
@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_chromium_sends_no_request_to_another_site(browser, live_server) -> None:  # noqa: F811
    """The quick exit keeps its real default (another site): no page may preload, prefetch or
    preconnect to it, and it is never clicked here."""
    assert urlsplit(settings.LOCKER_QUICK_EXIT_URL).netloc not in live_server.url
    owner = UserFactory(username="owner-net")
    case = make_case(owner=owner, title="网贷催收")
    shot = services.Upload(name="a.png", stream=io.BytesIO(png_bytes(300, 600)))
    entry = add_entry(case, "message", {"channel": "sms", "text": "不还钱"}, uploads=[shot])
    call = add_call(case)
    reviewer = UserFactory(username="reviewer-net")
    share_with(case, reviewer, "reviewer")
    staff = UserFactory(username="staff-net", is_staff=True, is_superuser=True)
    _link, raw = services.create_contact_link(case=case, user=owner, label="妈妈")
    c = case.pk

    visitors = []
    anonymous = Recorded(browser, live_server.url)
    for path in ("/", "/accounts/login/", "/accounts/signup/", "/accounts/password_reset/"):
        anonymous.visit(path)
    for path in ("/verify", "/keys", "/api/docs"):
        anonymous.visit(path)
    visitors.append(anonymous)

    mine = Recorded(browser, live_server.url)
    log_in(mine.page, live_server.url, owner.username)
    for path in (
        "/cases/",
        f"/cases/{c}/",
        f"/cases/{c}/log/",
        f"/cases/{c}/log/message/",
        f"/cases/{c}/timeline/",
        f"/cases/{c}/entries/{entry.seq}/",
        f"/cases/{c}/entries/{call.seq}/",
        f"/cases/{c}/entries/{entry.seq}/receipt/",
        f"/cases/{c}/receipts/",
        f"/cases/{c}/dossiers/",
        f"/cases/{c}/links/",
        f"/cases/{c}/sharing/",
        f"/cases/{c}/seen/",
        "/accounts/preferences/",
        "/accounts/sessions/",
        "/accounts/security/",
        "/accounts/two-factor/",
    ):
        mine.visit(path)
    visitors.append(mine)

    lawyer = Recorded(browser, live_server.url)
    log_in(lawyer.page, live_server.url, reviewer.username)
    for path in ("/shared/", f"/cases/{c}/review/", f"/cases/{c}/timeline/"):
        lawyer.visit(path)
    visitors.append(lawyer)

    contact = Recorded(browser, live_server.url)
    contact.visit(f"/c/{raw}/")
    visitors.append(contact)

    operator = Recorded(browser, live_server.url)
    log_in(operator.page, live_server.url, staff.username)
    for path in ("/admin/", "/admin/locker/case/", f"/admin/locker/case/{c}/change/"):
        operator.visit(path)
    visitors.append(operator)

    requests = [url for visitor in visitors for url in visitor.requests]
    # The recording works: it saw the pages' own scripts, styles and pictures.
    assert any(url.endswith("/static/locker/app.js") for url in requests)
    assert any(url.endswith("/static/locker/app.css") for url in requests)
    assert any("/thumb.jpg" in url for url in requests)
    assert [url for visitor in visitors for url in visitor.elsewhere()] == []
    assert [item for visitor in visitors for item in visitor.blocked] == []
    for visitor in visitors:
        visitor.context.close()
