"""Accounts under attack (issue 12, item 1): password hashing, log-in throttling that a
stranger cannot turn into a lockout, sessions, API tokens, and the second factor."""

from __future__ import annotations

import pytest
from django.contrib.auth.hashers import make_password

import config.settings as production
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


# Hashing ------------------------------------------------------------------------------------


def test_the_production_setting_hashes_with_argon2_first() -> None:
    # The suite swaps in MD5 for speed (tests/conftest.py); the setting itself must not.
    assert production.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    assert "django.contrib.auth.hashers.PBKDF2PasswordHasher" in production.PASSWORD_HASHERS


def test_an_old_pbkdf2_hash_becomes_argon2_at_the_next_log_in(client, settings) -> None:
    settings.PASSWORD_HASHERS = production.PASSWORD_HASHERS
    user = UserFactory()
    user.password = make_password(PASSWORD, hasher="pbkdf2_sha256")
    user.save(update_fields=["password"])
    response = client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.password.startswith("argon2$argon2id$")
