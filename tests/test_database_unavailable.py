"""The database unavailable (issue 10): pages and the API answer 503 with Retry-After and a
short message, never a 500; the quick exit still leaves; readyz says so, and healthz (the
liveness check) does not care."""

from __future__ import annotations

import io
import json
import time
from typing import Any

import pytest
from django.conf import settings
from django.db import OperationalError, connections
from django.test import Client

from locker import services
from locker.selectors.orphans import forget_orphan_count

from .factories import UserFactory, add_entry, make_case
from .test_services import PNG

pytestmark = pytest.mark.django_db


@pytest.fixture
def database_down(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every new cursor fails as when PostgreSQL restarts under an open connection."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(connections["default"], "create_cursor", refuse)


@pytest.fixture(autouse=True)
def _fresh_orphan_count() -> None:
    forget_orphan_count()


@pytest.fixture
def signed_in() -> Client:
    """A signed-in browser; named before database_down, so it signs in while it still can.
    (The test client re-raises a handled exception by default; a browser sees the response.)"""
    client = Client(raise_request_exception=False)
    client.force_login(UserFactory())
    return client


def _assert_unavailable(response: Any) -> None:
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert "no-store" in response["Cache-Control"]


def test_a_page_whose_session_cannot_be_read_is_a_localized_503(signed_in, database_down) -> None:
    client = signed_in
    # The session is read by a middleware (auth, safety), before any view runs.
    zh = client.get("/cases/", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")
    en = client.get("/cases/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    for response in (zh, en):
        _assert_unavailable(response)
        assert response["Content-Type"].startswith("text/html")
        page = response.content.decode()
        assert f'id="quick-exit" class="quick-exit" href="{settings.LOCKER_QUICK_EXIT_URL}"' in page
    assert "暂时无法使用" in zh.content.decode() and 'lang="zh-hans"' in zh.content.decode()
    assert "Unavailable for a moment" in en.content.decode()


def test_an_api_request_is_a_json_503(database_down) -> None:
    client = Client(raise_request_exception=False)
    # The token is looked up in the view (django-ninja's auth): process_exception's path.
    response = client.post(
        "/api/cases",
        b'{"title": "x"}',
        content_type="application/json",
        HTTP_AUTHORIZATION="Bearer el_x",
    )
    _assert_unavailable(response)
    assert response.json() == {
        "detail": "the database is unavailable for a moment; try again in a minute"
    }
    chinese = client.get("/api/cases", HTTP_ACCEPT_LANGUAGE="zh-CN", HTTP_AUTHORIZATION="Bearer x")
    _assert_unavailable(chinese)
    assert "数据库" in chinese.json()["detail"]


def test_the_quick_exit_still_leaves(signed_in, database_down) -> None:
    response = signed_in.get("/exit/")
    assert response.status_code == 302
    assert response["Location"] == settings.LOCKER_QUICK_EXIT_URL


def test_other_errors_stay_500s(signed_in, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("not the database")

    monkeypatch.setattr(connections["default"], "create_cursor", broken)
    response = signed_in.get("/cases/")
    assert response.status_code == 500


def test_readyz_reports_the_database_and_the_orphan_count() -> None:
    case = make_case()
    add_entry(case, uploads=[services.Upload("a.png", io.BytesIO(PNG))])
    response = Client().get("/readyz")
    assert response.status_code == 200
    assert json.loads(response.content) == {
        "database": "ok",
        "orphan_files": 0,
        "orphan_scan_complete": True,
        "storage": "ok",
        "broker": "ok",
    }


def test_readyz_says_the_broker_is_away_and_stays_ready(settings) -> None:
    """Evidence is recorded without the broker (dossiers wait for the sweep), so its absence
    is reported, not a reason to take the instance out of service."""
    from .faults.processes import free_port

    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens
    started = time.monotonic()
    response = Client().get("/readyz")
    assert time.monotonic() - started < 3
    assert response.status_code == 200
    assert response.json()["broker"] == "unavailable"


def test_readyz_is_503_when_the_evidence_directory_cannot_be_made(settings, tmp_path) -> None:
    # A file where the directory should be (a volume not mounted, a path mistyped): no
    # upload could be stored. (Permissions would not do: the tests may run as root.)
    (tmp_path / "not-a-directory").write_bytes(b"")
    settings.STORAGES = {
        **settings.STORAGES,
        "evidence": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "not-a-directory" / "media")},
        },
    }
    response = Client(raise_request_exception=False).get("/readyz")
    assert response.status_code == 503
    assert response.json()["storage"] == "unavailable"
    assert response.json()["database"] == "ok"


def test_readyz_is_503_when_the_database_does_not_answer(database_down) -> None:
    response = Client(raise_request_exception=False).get("/readyz")
    _assert_unavailable(response)
    assert response.json()["database"] == "unavailable"
    assert response.json()["orphan_files"] is None


def test_healthz_answers_without_the_database(database_down) -> None:
    # A liveness check that failed with the database would get every web container
    # restarted during a PostgreSQL restart, which the web processes ride out by themselves.
    response = Client(raise_request_exception=False).get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-store" in response["Cache-Control"]
