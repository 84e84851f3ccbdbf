"""Errors raised by the services reach people in their language: a page in the user's
language, the API in English (what integrators match on) unless Accept-Language asks for
Chinese. The messages are lazy, so the language is the one active where they are shown."""

from __future__ import annotations

import ast
import io
import json
from datetime import timedelta
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone, translation

from locker import services
from locker.infra.http import api_language
from locker.models import Share

from .factories import UserFactory, make_case
from .personas import ApiClient
from .test_api import client_for as api_client_for
from .test_services import PNG
from .ui_helpers import csrf_post

pytestmark = pytest.mark.django_db

BASE = Path(settings.BASE_DIR)
PO = BASE / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
SERVICE_MODULES = [
    *sorted(str(p.relative_to(BASE)) for p in (BASE / "locker" / "services").glob("*.py")),
    "locker/infra/storage.py",
    "locker/infra/content.py",
    "locker/core/kinds.py",
]
ERRORS = {"InputError", "TooLarge", "ShareConflict", "UploadError", "BodyError", "ContentRefused"}
FUTURE_EN = "occurred_at is in the future"
FUTURE_ZH = "发生时间（occurred_at）是将来的时间"
REFUSED_EN = (
    "x.exe: file type is not accepted: send pictures (JPEG, PNG, WebP, HEIC, GIF), PDF "
    "documents or audio recordings (MP3, M4A/AAC, AMR, WAV, OGG/Opus)"
)
REFUSED_ZH = "x.exe: 不能上传这种文件"
EXE = b"MZ" + b"\0" * 200


# The message is decided where it is shown ---------------------------------------------------


def test_a_message_raised_in_one_language_is_shown_in_another() -> None:
    case = make_case()
    with translation.override("en"), pytest.raises(services.InputError) as raised:
        services.append_entry(
            case=case,
            author="user:1",
            kind="note",
            body={"text": "x"},
            occurred_at=(timezone.now() + timedelta(days=1)).isoformat(),
        )
    with translation.override("zh-hans"):
        assert str(raised.value) == FUTURE_ZH + "，请检查日期和时间"
    with translation.override("en"):
        assert str(raised.value) == FUTURE_EN


def test_placeholders_and_names_stay_literal_in_chinese() -> None:
    case = make_case()
    with pytest.raises(services.InputError) as unknown:
        services.append_entry(case=case, author="user:1", kind="note", body={"text": "x", "c": 1})
    with pytest.raises(services.InputError) as refused:
        services.append_entry(
            case=case,
            author="user:1",
            kind="note",
            body={"text": "x"},
            uploads=[services.Upload("x.exe", io.BytesIO(EXE))],
        )
    with translation.override("zh-hans"):
        assert str(unknown.value) == "body.c：无法识别的字段"
        assert str(refused.value).startswith(REFUSED_ZH)
    assert str(unknown.value) == "body.c: unknown member"  # English outside (conftest)
    assert str(refused.value) == REFUSED_EN


def test_no_service_raises_an_untranslatable_message() -> None:
    """Every raise of a user-facing error passes a lazy message, not a literal or f-string."""
    offenders = []
    for relative in SERVICE_MODULES:
        tree = ast.parse((BASE / relative).read_text(), relative)
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)):
                continue
            func = node.exc.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            args = node.exc.args
            if name in ERRORS and args and isinstance(args[0], ast.Constant | ast.JoinedStr):
                offenders.append(f"{relative}:{node.lineno}")
    assert offenders == []


def test_every_service_message_has_a_chinese_translation() -> None:
    with PO.open("rb") as handle:
        catalog = read_po(handle)
    keywords = {"gettext_lazy": None, "_": None}
    missing = [
        f"{relative}:{lineno}: {message}"
        for relative in SERVICE_MODULES
        for lineno, message, _comments, _context in extract_from_file(
            "python", str(BASE / relative), keywords=keywords
        )
        if not (catalog.get(message) and catalog.get(message).string)
    ]
    assert missing == []


# Pages: the user's language --------------------------------------------------------------


def _note_url(world) -> str:
    return reverse("log_entry", args=[world.case.pk, "note"])


def _future_note(client, url: str, **headers):
    client.get(url, **headers)
    return csrf_post(client, url, {"text": "x", "occurred_at": "2099-01-01T00:00"}, **headers)


def test_quick_log_in_chinese_shows_the_chinese_message(world) -> None:
    url = _note_url(world)
    response = _future_note(world.web("owner"), url, HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")
    page = response.content.decode()
    assert response.status_code == 400
    assert FUTURE_ZH in page and FUTURE_EN not in page
    assert world.case.entries.count() == 1


def test_quick_log_in_english_shows_the_english_message(world) -> None:
    response = _future_note(world.web("owner"), _note_url(world), HTTP_ACCEPT_LANGUAGE="en-US,en")
    page = response.content.decode()
    assert response.status_code == 400
    assert FUTURE_EN in page and FUTURE_ZH not in page


def test_the_users_chosen_language_beats_the_browsers(world) -> None:
    services.set_preferences(user=world.case.owner, language="zh-hans")
    response = _future_note(world.web("owner"), _note_url(world), HTTP_ACCEPT_LANGUAGE="en-US,en")
    assert FUTURE_ZH in response.content.decode()


def test_refused_file_type_through_the_quick_log_form_in_chinese(world) -> None:
    url = _note_url(world)
    owner = world.web("owner")
    owner.get(url, HTTP_ACCEPT_LANGUAGE="zh-CN")
    exe = SimpleUploadedFile("x.exe", EXE, content_type="application/octet-stream")
    response = csrf_post(
        owner,
        url,
        {"text": "催收短信", "occurred_at": "2026-01-06T08:00", "files": [exe]},
        HTTP_ACCEPT_LANGUAGE="zh-CN",
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert REFUSED_ZH in page and "file type is not accepted" not in page
    assert world.case.entries.count() == 1


def test_stranger_and_anonymous_get_no_message_and_store_nothing(world) -> None:
    url = _note_url(world)
    stranger = _future_note(world.web("stranger"), url, HTTP_ACCEPT_LANGUAGE="zh-CN")
    assert stranger.status_code == 404
    assert FUTURE_ZH not in stranger.content.decode()
    anonymous = _future_note(world.web("anonymous"), url, HTTP_ACCEPT_LANGUAGE="zh-CN")
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("login"))
    assert world.case.entries.count() == 1


def test_sharing_page_refusal_in_chinese_and_english(world) -> None:
    url = reverse("shares", args=[world.case.pk])
    owner = world.web("owner")
    owner.get(url)
    for language, expected in (("zh-CN", "这是您自己的案件。"), ("en", "this is your own case")):
        response = csrf_post(
            owner,
            url,
            {"grantee": world.case.owner.username, "role": "viewer"},
            HTTP_ACCEPT_LANGUAGE=language,
        )
        assert response.status_code == 400
        assert expected in response.content.decode()
    assert not Share.objects.filter(case=world.case).exists()
    for persona in ("stranger", "anonymous"):
        response = csrf_post(world.web(persona), url, {"grantee": "someone", "role": "viewer"})
        assert response.status_code in (302, 404)
    assert not Share.objects.filter(case=world.case).exists()


# API: English unless Chinese is asked for -----------------------------------------------


@pytest.mark.parametrize(
    ("header", "language"),
    [
        (None, "en"),
        ("", "en"),
        ("zh-CN", "zh-hans"),
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh-hans"),
        ("zh-Hans", "zh-hans"),
        ("zh", "zh-hans"),
        ("en-US,zh;q=0.9", "en"),
        ("fr-FR,zh;q=0.5", "en"),
        ("en;q=0.5,zh-TW;q=0.8", "zh-hans"),
        ("*", "en"),
        ("zh;q=0,en", "en"),
        ("garbage;;;", "en"),
    ],
)
def test_api_language_from_accept_language(header, language) -> None:
    extra = {"HTTP_ACCEPT_LANGUAGE": header} if header is not None else {}
    assert api_language(RequestFactory().get("/api/cases", **extra)) == language


def _future_entry(client, case, **headers):
    body = json.dumps({"kind": "note", "body": {"text": "x"}, "occurred_at": "2099-01-01T00:00Z"})
    return client.client.post(
        f"/api/cases/{case.id}/entries",
        body,
        content_type="application/json",
        **client.headers,
        **headers,
    )


def test_api_detail_is_english_by_default_and_chinese_when_asked() -> None:
    owner = UserFactory()
    case = make_case(owner)
    api = api_client_for(owner)
    plain = _future_entry(api, case)
    assert plain.status_code == 422 and plain.json()["detail"] == FUTURE_EN
    english = _future_entry(api, case, HTTP_ACCEPT_LANGUAGE="en-US,zh;q=0.9")
    assert english.json()["detail"] == FUTURE_EN
    chinese = _future_entry(api, case, HTTP_ACCEPT_LANGUAGE="zh-CN")
    assert chinese.status_code == 422
    assert chinese.json()["detail"].startswith(FUTURE_ZH)
    assert case.entries.count() == 1


def test_api_is_english_even_for_a_chinese_session_user() -> None:
    # The profile's language is the pages', not the API's: integrators get stable words.
    owner = UserFactory()
    services.set_preferences(user=owner, language="zh-hans")
    case = make_case(owner)
    response = _future_entry(api_client_for(owner), case)
    assert response.json()["detail"] == FUTURE_EN


def test_api_stranger_and_anonymous_see_no_service_message() -> None:
    case = make_case()
    stranger = _future_entry(api_client_for(UserFactory()), case, HTTP_ACCEPT_LANGUAGE="zh-CN")
    assert stranger.status_code == 404
    anonymous = _future_entry(ApiClient(None), case)
    assert anonymous.status_code == 401
    assert case.entries.count() == 1


def test_api_oversized_file_is_413_in_either_language(settings) -> None:
    settings.LOCKER_MAX_UPLOAD_BYTES = 20
    owner = UserFactory()
    case = make_case(owner)
    api = api_client_for(owner)
    data = {"entry": json.dumps({"kind": "note", "body": {"text": "x"}})}
    for language, expected in (("en", "larger than the limit"), ("zh-CN", "文件太大了")):
        response = api.client.post(
            f"/api/cases/{case.id}/entries",
            {**data, "files": [io.BytesIO(PNG)]},
            HTTP_ACCEPT_LANGUAGE=language,
            **api.headers,
        )
        assert response.status_code == 413
        assert expected in response.json()["detail"]
    assert case.entries.count() == 1


def test_api_share_conflict_is_409_in_either_language() -> None:
    owner, lawyer = UserFactory(), UserFactory()
    case = make_case(owner)
    services.share_case(case=case, by=owner, grantee=lawyer.username, role="viewer", site_url="")
    api = api_client_for(owner)
    payload = json.dumps({"user": lawyer.username, "role": "viewer"})
    answers = {
        language: api.client.post(
            f"/api/cases/{case.id}/shares",
            payload,
            content_type="application/json",
            HTTP_ACCEPT_LANGUAGE=language,
            **api.headers,
        )
        for language in ("", "zh-CN")
    }
    assert answers[""].status_code == answers["zh-CN"].status_code == 409
    assert answers[""].json()["detail"] == (
        "this case is already shared with this person; end that first"
    )
    assert "已经与此人共享" in answers["zh-CN"].json()["detail"]
    assert Share.objects.filter(case=case).count() == 1
