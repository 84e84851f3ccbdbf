"""Our own error pages (issue 16 item 7): 404, 403, 500 and the CSRF failure page in the
reader's language, each with the quick exit and a link home and none of Django's bare English
pages; a form refused for a stale token comes back holding what was typed."""

from __future__ import annotations

import re
from html import unescape as html_unescape

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import translation

from config import urls as root_urls
from locker.models import Entry
from locker.web import urls as web_urls
from locker.web.views.errors import server_error

from .conftest import chromium_path
from .factories import UserFactory, make_case
from .prerequisites import needs
from .test_browser import browser  # noqa: F401  (the fixture is used by name)
from .test_browser_phone import _owner_page, overflow, phone_context, shot
from .ui_helpers import client_for

pytestmark = pytest.mark.django_db

LANGUAGES = {"zh-hans": "返回首页", "en": "Back to the start page"}
# What Django's own pages say: none of it may reach a reader.
DJANGO_DEFAULTS = (
    "The requested resource was not found",
    "Not Found",
    "403 Forbidden",
    "CSRF verification failed",
    "Server Error (500)",
)


def assert_ours(html: str, language: str, *, posted_exit: bool = True) -> None:
    assert f'<html lang="{language}">' in html
    assert 'id="quick-exit"' in html
    if posted_exit:
        assert f'action="{reverse("quick_exit")}" method="post"' in html
    assert f'href="{reverse("home")}"' in html
    assert LANGUAGES[language] in html
    for text in DJANGO_DEFAULTS:
        assert text not in html


@pytest.mark.parametrize("language", LANGUAGES)
def test_404_is_ours(language: str) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert_ours(response.content.decode(), language)


@pytest.mark.parametrize("language", LANGUAGES)
def test_404_of_a_case_not_yours_is_ours(language: str) -> None:
    case = make_case()
    stranger = UserFactory()
    client = client_for(stranger)
    client.cookies["django_language"] = language
    response = client.get(reverse("case_detail", args=[case.pk]))
    assert response.status_code == 404
    assert_ours(response.content.decode(), language)


@pytest.mark.parametrize("language", LANGUAGES)
def test_403_is_ours(language: str) -> None:
    # A signed-in account that is not staff, at the admin's log-in: PermissionDenied.
    client = client_for(UserFactory())
    client.cookies["django_language"] = language
    response = client.get("/admin/login/")
    assert response.status_code == 403
    assert_ours(response.content.decode(), language)


@pytest.mark.parametrize("language", LANGUAGES)
def test_500_is_ours_without_the_request_context(language: str) -> None:
    assert root_urls.handler500 == "locker.web.views.errors.server_error"
    request = RequestFactory().get("/")
    with translation.override(language):
        response = server_error(request)
    assert response.status_code == 500
    html = response.content.decode()
    # The exit is a plain link: the exit page's lock needs a database that may be the fault.
    assert_ours(html, language, posted_exit=False)
    assert 'href="https://' in html


@pytest.mark.parametrize("language", LANGUAGES)
def test_500_from_a_failing_view_is_ours(language: str, monkeypatch) -> None:
    def broken(request):
        raise RuntimeError("a bug")

    # The start page's view failing: the whole stack, handler500 included, as a visitor sees it.
    home = next(p for p in web_urls.urlpatterns if getattr(p, "name", None) == "home")
    monkeypatch.setattr(home, "callback", broken)
    client = Client(HTTP_ACCEPT_LANGUAGE=language, raise_request_exception=False)
    response = client.get("/")
    assert response.status_code == 500
    assert_ours(response.content.decode(), language, posted_exit=False)


def _log_call_post(language: str):
    case = make_case()
    client = client_for(case.owner)
    client.cookies["django_language"] = language
    url = reverse("log_entry", args=[case.pk, "call"])
    assert client.get(url).status_code == 200
    typed = {
        "direction": "incoming",
        "occurred_at": "2026-01-05T23:10",
        "tags": ["threat", "night_time"],
        "number": "170 1234 5678",
        "summary": '半夜打来 <script>alert("x")</script>',
        "password": "hunter2-secret",
        "csrfmiddlewaretoken": "stale" * 8,
        "submission": "0d9f3c1e-5b7a-4c1d-9e2f-7a8b9c0d1e2f",
    }
    return case, client, url, typed


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_stale_token_keeps_what_was_typed(language: str) -> None:
    case, client, url, typed = _log_call_post(language)
    response = client.post(url, typed)
    assert response.status_code == 403
    html = response.content.decode()
    assert_ours(html, language)
    assert not Entry.objects.filter(case=case, kind="call").exists()
    # The send-again form: to the same address, with what was typed, escaped, and a new token.
    form = re.search(
        r'<form method="post" action="([^"]*)"[^>]*class="resend">(.*?)</form>', html, re.S
    )
    assert form, html
    assert form.group(1) == url
    body = form.group(2)
    assert (
        'name="summary" value="半夜打来 &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"' in body
    )
    assert 'name="number" value="170 1234 5678"' in body
    assert 'name="submission" value="0d9f3c1e-5b7a-4c1d-9e2f-7a8b9c0d1e2f"' in body
    assert "<script>alert" not in html
    assert 'name="password"' not in html and "hunter2-secret" not in html
    assert "stale" * 8 not in html
    tokens = re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', body)
    assert len(tokens) == 1
    # Sending it again as the page stands saves the call once.
    resent: dict[str, list[str]] = {}
    for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', body):
        resent.setdefault(name, []).append(html_unescape(value))
    assert resent["tags"] == ["threat", "night_time"]
    again = client.post(url, resent)
    assert again.status_code == 302, again.content.decode()[:2000]
    entry = Entry.objects.get(case=case, kind="call")
    assert entry.body["summary"] == typed["summary"]
    assert entry.body["tags"] == ["threat", "night_time"]


def test_a_stale_token_with_a_file_asks_for_it_again() -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    case, client, url, typed = _log_call_post("zh-hans")
    typed["files"] = SimpleUploadedFile("call.m4a", b"not really audio", "audio/mp4")
    html = client.post(url, typed).content.decode()
    assert 'enctype="multipart/form-data"' in html
    assert '<input type="file" name="files"' in html
    assert "请在发送前重新选择文件" in html
    assert "call.m4a" not in html


def test_a_stale_token_from_the_upload_script_gets_a_fresh_one() -> None:
    case, client, url, typed = _log_call_post("zh-hans")
    response = client.post(url, typed, HTTP_X_REQUESTED_WITH="XMLHttpRequest")
    assert response.status_code == 403
    data = response.json()
    assert "尚未保存任何内容" in data["errors"][0]
    typed["csrfmiddlewaretoken"] = data["csrf_token"]
    again = client.post(url, typed, HTTP_X_REQUESTED_WITH="XMLHttpRequest")
    assert again.status_code == 200 and again.json()["redirect"]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@needs(chromium_path() is not None, "Chromium is not installed (apt-get install chromium)")
def test_404_on_a_phone(browser, live_server) -> None:  # noqa: F811
    context = phone_context(browser, 360, 740)
    page = context.new_page()
    response = page.goto(f"{live_server.url}/no-such-page/")
    assert response is not None and response.status == 404
    page.wait_for_load_state("networkidle")
    shot(page, "360-404")
    exit_button = page.locator("#quick-exit")
    assert exit_button.is_visible()
    box = exit_button.bounding_box()
    assert box is not None and box["x"] + box["width"] <= 360 and box["y"] < 740
    width, wide = overflow(page, 360)
    assert width <= 360, wide
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    context.close()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@needs(chromium_path() is not None, "Chromium is not installed (apt-get install chromium)")
def test_a_stale_token_in_the_upload_script_keeps_the_form_and_saves_on_save(
    browser,  # noqa: F811
    live_server,
) -> None:
    """The form stays as typed when its token is refused; pressing Save again sends it."""
    case, context, page = _owner_page(browser, live_server)
    page.goto(f"{live_server.url}/cases/{case.pk}/log/call/")
    page.fill("#id_summary", "半夜打来，说要找我家人")
    # A token of the right shape that is not this browser's: what a page left open across a
    # new sign-in holds.
    page.evaluate(
        "document.querySelector('form[data-upload] input[name=csrfmiddlewaretoken]').value"
        " = 'a'.repeat(64)"
    )
    page.get_by_role("button", name="保存").click()
    page.locator("[data-errors] .error").wait_for()
    assert "尚未保存任何内容" in page.locator("[data-errors]").inner_text()
    assert page.input_value("#id_summary") == "半夜打来，说要找我家人"
    assert not Entry.objects.filter(case=case, kind="call").exists()
    page.get_by_role("button", name="保存").click()
    page.wait_for_url("**/receipt/")
    assert Entry.objects.get(case=case, kind="call").body["summary"] == "半夜打来，说要找我家人"
    context.close()
