"""Static files (issue 14): after `collectstatic` (the Dockerfile runs it) pages name each file
by its content hash, a compressed copy sits beside it, and WhiteNoise serves the hashed name
to be kept for good; without a manifest (make run, the tests) the plain names are used and
served from the finders. locker/infra/staticfiles.py says why."""

from __future__ import annotations

import re

import pytest
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.management import call_command
from django.test import Client

pytestmark = pytest.mark.django_db


def test_collectstatic_gives_hashed_compressed_names_that_pages_use(settings, tmp_path) -> None:
    root = tmp_path / "static"
    settings.STATIC_ROOT = root
    call_command("collectstatic", "--noinput", verbosity=0)
    assert (root / "staticfiles.json").is_file()
    assert staticfiles_storage.manifest_found

    url = staticfiles_storage.url("locker/app.css")
    assert re.fullmatch(r"/static/locker/app\.[0-9a-f]{12}\.css", url), url
    hashed = root / url.removeprefix("/static/")
    assert hashed.is_file() and hashed.with_name(hashed.name + ".gz").is_file()

    page = Client().get("/accounts/login/")
    assert url in page.content.decode()
    served = Client().get(url)
    assert served.status_code == 200
    assert "immutable" in served["Cache-Control"], served["Cache-Control"]
    assert b"".join(served.streaming_content) == hashed.read_bytes()


def test_without_a_manifest_the_plain_names_are_served(settings, tmp_path) -> None:
    settings.STATIC_ROOT = tmp_path / "empty"
    settings.STATIC_ROOT.mkdir()
    assert not staticfiles_storage.manifest_found
    assert staticfiles_storage.url("locker/app.css") == "/static/locker/app.css"
    served = Client().get("/static/locker/app.css")
    assert served.status_code == 200 and "immutable" not in served.get("Cache-Control", "")
