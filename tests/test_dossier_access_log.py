"""The access log in the court dossier: only the owner may ask for it and only for the court
template (service, API and page each say so, and nothing is created when refused); the
rendered section lists who saw the case up to the request, in the dossier's language and
time zone, literal user text, across pages when long; without the option it is absent."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from locker import services
from locker.models import AccessLog, Case, Dossier, EvidenceFile, Share
from locker.selectors import access_wording
from locker.services import InputError
from locker.services import dossiers as ds

from .conftest import chromium_path, needs
from .dossier_helpers import has, make_dossier, pdf_text, run_tool, small_case
from .factories import PASSWORD, UserFactory, make_case, share_with
from .test_browser import browser, log_in  # noqa: F401  (the fixture is used by name)

pytestmark = pytest.mark.django_db

needs_pdftotext = needs(has("pdftotext"), "poppler-utils (pdftotext) is not installed")

LAWYER_NAME = "王律师 <b>Wang</b> & Co"


@pytest.fixture(autouse=True)
def _clear_throttle() -> None:
    cache.clear()


class People:
    def __init__(self, case: Case) -> None:
        self.case = case
        self.owner = case.owner
        self.viewer = UserFactory(username="viewer")
        self.reviewer = UserFactory(username="reviewer")
        self.revoked = UserFactory(username="revoked")
        self.stranger = UserFactory(username="stranger")
        share_with(case, self.viewer, Share.VIEWER)
        share_with(case, self.reviewer, Share.REVIEWER)
        ended = share_with(case, self.revoked, Share.VIEWER)
        services.end_share(share=ended, by=case.owner)

    def user(self, persona: str) -> Any:
        return None if persona == "anonymous" else getattr(self, persona)


@pytest.fixture
def people() -> People:
    return People(make_case())


def bearer(user: Any) -> dict[str, str]:
    if user is None:
        return {}
    return {"HTTP_AUTHORIZATION": f"Bearer {services.issue_token(user=user)[1]}"}


def logged_in(user: Any) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


# Service --------------------------------------------------------------------------------


def test_the_owner_may_include_the_log_in_a_court_dossier(people: People) -> None:
    dossier = ds.request_dossier(
        case=people.case,
        user=people.owner,
        template="court",
        language="en",
        include_access_log=True,
    )
    assert Dossier.objects.get().pk == dossier.pk and dossier.include_access_log
    plain = ds.request_dossier(case=people.case, user=people.owner, template="court", language="en")
    assert plain.include_access_log is False


@pytest.mark.parametrize("persona", ["viewer", "reviewer", "revoked", "stranger"])
def test_nobody_but_the_owner_may_include_it(people: People, persona: str) -> None:
    with pytest.raises(PermissionError, match="owner"):
        ds.request_dossier(
            case=people.case,
            user=people.user(persona),
            template="court",
            language="en",
            include_access_log=True,
        )
    assert not Dossier.objects.exists()


@pytest.mark.parametrize("template", ["cn_regulator", "cn_12321", "us_cfpb"])
def test_only_the_court_template_takes_it(people: People, template: str) -> None:
    with pytest.raises(InputError, match="court"):
        ds.request_dossier(
            case=people.case,
            user=people.owner,
            template=template,
            language="en",
            include_access_log=True,
        )
    assert not Dossier.objects.exists()


def test_the_option_must_be_a_boolean(people: People) -> None:
    with pytest.raises(InputError, match="true or false"):
        ds.request_dossier(
            case=people.case,
            user=people.owner,
            template="court",
            language="en",
            include_access_log="yes",  # type: ignore[arg-type]
        )
    assert not Dossier.objects.exists()


# API ------------------------------------------------------------------------------------


def post(people: People, persona: str, **body: Any) -> Any:
    payload = {"template": "court", "language": "en", **body}
    return Client().post(
        f"/api/cases/{people.case.id}/dossiers",
        json.dumps(payload),
        content_type="application/json",
        **bearer(people.user(persona)),
    )


def test_api_owner_asks_for_it_and_the_status_reports_it(people: People) -> None:
    response = post(people, "owner", include_access_log=True)
    assert response.status_code == 202, response.content
    dossier_id = response.json()["id"]
    assert Dossier.objects.get(pk=dossier_id).include_access_log
    status = Client().get(f"/api/dossiers/{dossier_id}", **bearer(people.owner)).json()
    assert status["include_access_log"] is True

    without = post(people, "owner")
    assert without.status_code == 202
    status = Client().get(f"/api/dossiers/{without.json()['id']}", **bearer(people.owner)).json()
    assert status["include_access_log"] is False


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("viewer", 403), ("reviewer", 403), ("revoked", 404), ("stranger", 404), ("anonymous", 401)],
)
def test_api_refuses_everyone_else(people: People, persona: str, expected: int) -> None:
    response = post(people, persona, include_access_log=True)
    assert response.status_code == expected, response.content
    if expected == 403:
        # A viewer may not have any dossier rendered (tests/security/test_roles_and_leaks.py);
        # a reviewer may, but not with the access log.
        reason = "a viewer can download" if persona == "viewer" else "only the case's owner"
        assert reason in response.json()["detail"]
    assert not Dossier.objects.exists()


def test_api_a_reviewer_still_gets_a_dossier_without_the_log(people: People) -> None:
    assert post(people, "reviewer").status_code == 202
    assert post(people, "reviewer", include_access_log=False).status_code == 202
    assert Dossier.objects.count() == 2
    assert not Dossier.objects.filter(include_access_log=True).exists()


def test_api_403_speaks_chinese_when_asked(people: People) -> None:
    response = Client().post(
        f"/api/cases/{people.case.id}/dossiers",
        json.dumps({"template": "court", "language": "en", "include_access_log": True}),
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="zh-CN",
        **bearer(people.reviewer),
    )
    assert response.status_code == 403
    assert "只有案件的所有者" in response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"template": "us_cfpb", "include_access_log": True}, "court template"),
        ({"include_access_log": "yes"}, "include_access_log"),
        ({"include_access_log": 1}, "include_access_log"),
    ],
)
def test_api_422_for_a_wrong_template_or_value(people: People, body: dict, words: str) -> None:
    response = post(people, "owner", **body)
    assert response.status_code == 422, response.content
    assert words in json.dumps(response.json())
    assert not Dossier.objects.exists()


# Page -----------------------------------------------------------------------------------


def test_the_checkbox_is_offered_to_the_owner_only(people: People) -> None:
    url = f"/cases/{people.case.id}/dossiers/"
    label = "Include who has seen this case (access log)"
    owner_page = logged_in(people.owner).get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert label in owner_page and 'name="include_access_log"' in owner_page
    assert "Only for the court exhibit bundle" in owner_page
    for persona in ("viewer", "reviewer"):
        page = logged_in(people.user(persona)).get(url, HTTP_ACCEPT_LANGUAGE="en")
        assert page.status_code == 200
        assert 'name="include_access_log"' not in page.content.decode()


def test_owner_ticks_it_for_a_court_dossier(people: People) -> None:
    response = logged_in(people.owner).post(
        f"/cases/{people.case.id}/dossiers/",
        {"template": "court", "language": "en", "include_access_log": "on"},
    )
    assert response.status_code == 302
    assert Dossier.objects.get().include_access_log


def test_ticked_with_another_template_is_a_form_error(people: People) -> None:
    response = logged_in(people.owner).post(
        f"/cases/{people.case.id}/dossiers/",
        {"template": "cn_regulator", "language": "en", "include_access_log": "on"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    assert "The access log can only go into the court exhibit bundle" in response.content.decode()
    assert not Dossier.objects.exists()


def test_a_lawyer_posting_the_field_anyway_gets_no_log(people: People) -> None:
    response = logged_in(people.reviewer).post(
        f"/cases/{people.case.id}/dossiers/",
        {"template": "court", "language": "en", "include_access_log": "on"},
    )
    assert response.status_code == 302
    assert Dossier.objects.get().include_access_log is False


# Wording shared by the owner's page and the PDF ----------------------------------------


def test_wording_of_log_rows() -> None:
    case = make_case()
    lawyer = UserFactory()
    row = services.record_access(case=case, user=lawyer, action="export", detail="bundle")
    assert access_wording.what(row, {}) == "exported: the evidence bundle (ZIP)"
    sha = "a" * 64
    download = services.record_access(case=case, user=lawyer, action="download", detail=sha)
    assert access_wording.what(download, {sha: "shot.png"}) == (
        "downloaded an original file: shot.png"
    )
    path = f"GET /cases/{case.id}/timeline/"
    assert access_wording.describe(path, {}) == "the timeline"
    assert access_wording.action_label("api:entries") == "looked at"
    assert access_wording.action_label("something new") == "something new"
    assert access_wording.via_label("api") == "through the API"


# Rendered PDF ---------------------------------------------------------------------------


def lawyer_saw(case: Case) -> Any:
    lawyer = UserFactory(username="lawyer")
    services.upsert_profile(user=lawyer, name=LAWYER_NAME)
    share_with(case, lawyer, Share.REVIEWER)
    sha = EvidenceFile.objects.get(case=case, original_name="Screenshot_1.png").sha256
    services.record_access(
        case=case, user=lawyer, action="download", detail=sha, via="api", ip="203.0.113.7"
    )
    # Logged after the request (as if while the worker ran): never in this dossier.
    AccessLog.objects.create(
        case=case,
        user=lawyer,
        actor="Late Comer",
        action="export",
        detail="bundle",
        via="web",
        ip="198.51.100.9",
        at=timezone.now() + timedelta(hours=1),
    )
    return lawyer


def write(tmp_path: Path, data: bytes) -> str:
    path = tmp_path / "dossier.pdf"
    path.write_bytes(data)
    return str(path)


@needs_pdftotext
def test_court_dossier_lists_who_saw_the_case_up_to_the_request(tmp_path: Path) -> None:
    case = small_case()
    lawyer_saw(case)
    dossier, data = make_dossier(case, "court", "en", include_access_log=True)
    path = write(tmp_path, data)
    text = flat(pdf_text(path))
    assert "Access log" in text
    assert "not part of the hash chain" in text
    assert LAWYER_NAME in text  # user text is literal, never markup
    assert "downloaded an original file: Screenshot_1.png" in text
    assert "through the API" in text and "203.0.113.7" in text
    assert re.search(r"Accesses up to [-0-9: ]+: 1\. Times are in Asia/Shanghai\.", text)
    # The row's time in the dossier's zone (Asia/Shanghai by default).
    logged = AccessLog.objects.get(actor=LAWYER_NAME).at.astimezone(ZoneInfo(dossier.time_zone))
    assert f"{logged:%Y-%m-%d %H:%M:%S}" in text
    assert "Late Comer" not in text and "198.51.100.9" not in text
    # The verification page is still the last.
    last = run_tool("pdftotext", "-f", str(dossier.pages), "-enc", "UTF-8", path, "-")
    assert "How to verify" in last


@needs_pdftotext
def test_the_section_in_chinese(tmp_path: Path) -> None:
    case = small_case()
    lawyer_saw(case)
    _dossier, data = make_dossier(case, "court", "zh-hans", include_access_log=True)
    text = flat(pdf_text(write(tmp_path, data)))
    assert "查阅记录" in text
    assert "下载了原始文件" in text and "通过 API" in text
    assert LAWYER_NAME in text


@needs_pdftotext
def test_without_the_option_there_is_no_section(tmp_path: Path) -> None:
    case = small_case()
    lawyer_saw(case)
    _dossier, data = make_dossier(case, "court", "en")
    text = flat(pdf_text(write(tmp_path, data)))
    assert "Access log" not in text and "not part of the hash chain" not in text
    assert LAWYER_NAME not in text and "203.0.113.7" not in text


@needs_pdftotext
def test_an_empty_log_says_so_in_one_line(tmp_path: Path) -> None:
    _dossier, data = make_dossier(small_case(), "court", "en", include_access_log=True)
    text = flat(pdf_text(write(tmp_path, data)))
    assert "Access log" in text
    assert "Nobody other than the owner opened the case up to" in text


@needs_pdftotext
def test_a_long_log_runs_over_pages_with_its_header_repeated(tmp_path: Path) -> None:
    case = make_case()
    lawyer = UserFactory()
    start = timezone.now() - timedelta(days=3)
    AccessLog.objects.bulk_create(
        AccessLog(
            case=case,
            user=lawyer,
            actor=f"Reader {n:03d}",
            action="view",
            detail=f"entry {n}",
            via="web",
            ip="192.0.2.1",
            at=start + timedelta(minutes=n),
        )
        for n in range(150)
    )
    dossier, data = make_dossier(case, "court", "en", include_access_log=True)
    path = write(tmp_path, data)
    pages = [
        flat(run_tool("pdftotext", "-f", str(n), "-l", str(n), "-enc", "UTF-8", path, "-"))
        for n in range(1, (dossier.pages or 0) + 1)
    ]
    log_pages = [p for p in pages if "Reader " in p]
    assert len(log_pages) >= 3
    assert all("IP address" in p for p in log_pages)  # the header row repeats
    # The heading is on the page of the first rows, and every row is there, in order.
    assert "Access log" in log_pages[0] and "Reader 000" in log_pages[0]
    readers = re.findall(r"Reader (\d{3})", " ".join(log_pages))
    assert readers == [f"{n:03d}" for n in range(150)]


# In a browser ---------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@needs(chromium_path() is not None, "Chromium is not installed (apt-get install chromium)")
def test_with_javascript_the_option_waits_for_court(browser, live_server) -> None:  # noqa: F811
    case = make_case()
    context = browser.new_context(locale="en-GB")
    context.set_default_timeout(15000)
    page = context.new_page()
    log_in(page, live_server.url, case.owner.username)
    page.goto(f"{live_server.url}/cases/{case.id}/dossiers/")
    box = page.locator('input[name="include_access_log"]')
    assert box.is_disabled()  # the first template is preselected, not court
    page.check('input[name="template"][value="court"]')
    assert box.is_enabled()
    box.check()
    page.locator("form.dossier-form button[type=submit]").click()
    page.wait_for_load_state()
    assert Dossier.objects.get().include_access_log
    context.close()


@needs_pdftotext
def test_dossier_rows_are_named_in_the_dossiers_language_and_zone(tmp_path: Path) -> None:
    from django.utils import translation

    case = small_case()
    lawyer = lawyer_saw(case)
    earlier, _ = make_dossier(case, "cn_12321", "zh-hans")
    services.record_access(
        case=case, user=lawyer, action="export", detail=f"dossier:{earlier.pk}", via="web"
    )
    # A worker whose own language is Chinese renders an English dossier.
    with translation.override("zh-hans"):
        dossier, data = make_dossier(case, "court", "en", include_access_log=True)
    text = flat(pdf_text(write(tmp_path, data)))
    requested = earlier.created_at.astimezone(ZoneInfo(dossier.time_zone))
    # (pdftotext interleaves the table's columns, so the row is matched in pieces.)
    assert "exported: the dossier “China: report of harassing calls" in text
    assert f"requested {requested:%Y-%m-%d %H:%M}" in text
    assert "申请的卷宗" not in text
