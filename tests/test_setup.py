from __future__ import annotations

import io
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from django.core.management import call_command
from django.test import Client

from locker.infra import signing

from .factories import UserFactory, add_entry, make_case

ROOT = Path(__file__).resolve().parent.parent


def test_keys_are_private_and_locker_keys_is_idempotent(settings, tmp_path) -> None:
    settings.LOCKER_KEY_DIR = tmp_path / "keys"
    signing.load_signer.cache_clear()
    try:
        first, second = io.StringIO(), io.StringIO()
        call_command("locker_keys", stdout=first)
        call_command("locker_keys", stdout=second)
        assert first.getvalue().startswith("Created") and second.getvalue().startswith("Existing")
        assert first.getvalue().splitlines()[1:] == second.getvalue().splitlines()[1:]
        for name in (signing.CA_KEY, signing.SIGNING_KEY):
            mode = stat.S_IMODE(os.stat(settings.LOCKER_KEY_DIR / name).st_mode)
            assert mode == 0o600, name
            assert "PRIVATE KEY" not in first.getvalue()
        signer = signing.load_signer()
        usage = signer.certificate.extensions.get_extension_for_class(x509.KeyUsage).value
        assert usage.digital_signature and usage.content_commitment
        signer.certificate.verify_directly_issued_by(signer.ca_certificate)
    finally:
        signing.load_signer.cache_clear()


def test_secret_key_is_generated_once_into_the_data_dir(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    env.update(LOCKER_DATA_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="config.settings")
    code = "from django.conf import settings; print(settings.SECRET_KEY)"
    runs = [
        subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
        )
        for _ in range(2)
    ]
    assert runs[0].returncode == 0, runs[0].stderr
    key = runs[0].stdout.strip()
    assert len(key) >= 50 and key == runs[1].stdout.strip()
    assert stat.S_IMODE(os.stat(tmp_path / "secret_key").st_mode) == 0o600


@pytest.mark.django_db
def test_admin_shows_entries_read_only() -> None:
    admin = UserFactory(is_staff=True, is_superuser=True)
    entry = add_entry(make_case())
    client = Client()
    client.force_login(admin)
    page = client.get(f"/admin/locker/entry/{entry.pk}/change/")
    assert page.status_code == 200
    assert entry.hash in page.content.decode()
    assert b'name="_save"' not in page.content
    client.post(f"/admin/locker/entry/{entry.pk}/change/", {"kind": "forged"})
    client.post(f"/admin/locker/entry/{entry.pk}/delete/", {"post": "yes"})
    entry.refresh_from_db()
    assert entry.kind == "note"
    assert client.get("/admin/locker/entry/add/").status_code == 403
