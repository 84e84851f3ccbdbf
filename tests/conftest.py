from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection
from django.utils import translation

from locker.infra import signing

from .personas import Personas

# The hooks are imported so that pytest registers them from this conftest.
from .prerequisites import needs, pytest_configure, pytest_runtest_setup

__all__ = ["needs", "pytest_configure", "pytest_runtest_setup"]


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


@pytest.fixture(autouse=True)
def _english_outside_requests() -> Iterator[None]:
    """Service errors are lazy and put into words in the active language. Outside a request
    that is the process default, zh-hans, or whatever the last request left active; tests that
    call services directly read them in English, whatever ran before them. A request still
    gets the language its headers, cookie or profile ask for (LocaleMiddleware)."""
    translation.activate("en")
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _fast_passwords(settings) -> None:
    # Many accounts per test: the production hasher's deliberate slowness would dominate.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _isolated_files(settings, tmp_path_factory: pytest.TempPathFactory) -> None:
    media = tmp_path_factory.mktemp("media")
    settings.MEDIA_ROOT = media
    # No manifest there: the plain static names (locker/infra/staticfiles.py), whatever a
    # collectstatic left in the data dir.
    settings.STATIC_ROOT = tmp_path_factory.mktemp("static")
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(media)},
        },
        "evidence": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(media)},
        },
    }


@pytest.fixture(scope="session", autouse=True)
def _instance_keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from django.conf import settings

    keys = tmp_path_factory.mktemp("keys")
    settings.LOCKER_KEY_DIR = keys
    signing.load_signer.cache_clear()
    signing.ensure_keys()
    return keys


@pytest.fixture(scope="session", autouse=True)
def _master_key() -> None:
    """Evidence is sealed under a master key of the test session's own, never one in var/."""
    import base64
    import os

    from django.conf import settings

    from locker.infra import master_keys

    settings.LOCKER_MASTER_KEY = base64.b64encode(os.urandom(32)).decode()
    settings.LOCKER_MASTER_KEY_FILE = ""
    master_keys.forget()


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(autouse=True)
def _private_cache(settings, request: pytest.FixtureRequest) -> None:
    """Each test gets its own empty cache: rate-limit counters and cached chain checks must
    not leak between tests, and a shared Redis must never be flushed by a test."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"test-{request.node.nodeid}",
        }
    }


@pytest.fixture
def world(db: None) -> Personas:
    """The case and its seven personas (tests/personas.py). A module that needs more on the
    case adds it in a local `world` fixture that takes this one."""
    return Personas()
