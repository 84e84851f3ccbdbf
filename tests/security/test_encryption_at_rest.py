"""Encryption at rest (issue 12, item 5): what an attacker who copies the evidence volume, or
changes bytes on it, gets. Evidence, derived copies and dossiers are sealed on disk; what
the app reads, hashes, exports and serves is the plaintext; damage is refused and reported;
the master key can be rotated without re-encrypting; files and directories are private."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import stat
import subprocess
import sys
import urllib.request
import wave
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from locker import services
from locker.core import envelope
from locker.dossier.verify import verify_dossier_pdf
from locker.exports import bundle
from locker.exports.verification import verify_bundle_zip
from locker.infra import master_keys, signing, storage
from locker.infra.print_copies import print_copy_name
from locker.infra.thumbs import derived_copy
from locker.models import Case, EvidenceFile
from locker.selectors.chain import verify_case

from ..dossier_helpers import make_dossier, screenshot_png, small_case
from ..factories import make_case
from ..faults.processes import free_port, wait_until
from ..ui_helpers import client_for

pytestmark = pytest.mark.django_db

MARKER = b"COLLECTOR-THREAT-MARKER-17012345678"
SEGMENT = envelope.SEGMENT_SIZE


def new_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


@pytest.fixture(autouse=True)
def _own_master_key(settings) -> Any:
    """Each test its own master keys; read again when the test changes them."""
    settings.LOCKER_MASTER_KEY = new_key()
    settings.LOCKER_MASTER_KEY_FILE = ""
    master_keys.forget()
    yield
    master_keys.forget()


def use_keys(settings: Any, *keys: str) -> None:
    settings.LOCKER_MASTER_KEY = ",".join(keys)
    master_keys.forget()


def recording(size: int) -> bytes:
    """A WAV of 8-bit samples that carry a recognisable marker, `size` bytes long."""
    out = io.BytesIO()
    with wave.open(out, "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(1)
        audio.setframerate(8000)
        audio.writeframes((MARKER * (size // len(MARKER) + 1))[: size - 44])
    data = out.getvalue()
    assert len(data) == size
    return data


def log_recording(case: Case, data: bytes, name: str = "call.wav") -> EvidenceFile:
    entry = services.append_entry(
        case=case,
        author=f"user:{case.owner_id}",
        kind="call",
        body={"number": "17012345678"},
        uploads=[services.Upload(name, io.BytesIO(data))],
    ).entry
    return EvidenceFile.objects.get(case=case, sha256=entry.evidence[0]["sha256"])


def on_disk(name: str) -> Path:
    return Path(django_settings.MEDIA_ROOT) / name


def read_plain(name: str) -> bytes:
    with storage.evidence_storage().open(name, "rb") as handle:
        return bytes(handle.read())


def every_file(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def make_legacy(name: str, data: bytes) -> None:
    """What a file stored before encryption existed looks like: the plaintext itself."""
    path = on_disk(name)
    path.write_bytes(data)
    os.chmod(path, 0o600)


# --- the bytes on disk ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "size", [100, SEGMENT - 1, SEGMENT, SEGMENT + 1, 3 * SEGMENT + 17], ids=lambda s: f"{s}B"
)
def test_evidence_on_disk_is_not_the_plaintext_and_reads_back_whole(size: int) -> None:
    data = recording(size)
    stored = log_recording(make_case(), data)
    raw = on_disk(stored.storage_name).read_bytes()
    assert MARKER not in raw and raw.startswith(envelope.MAGIC)
    assert len(raw) == envelope.sealed_size(size)
    assert read_plain(stored.storage_name) == data
    assert storage.rehash_stored(stored.storage_name) == (stored.sha256, size)
    assert storage.evidence_storage().size(stored.storage_name) == size


def test_an_empty_plaintext_seals_and_opens() -> None:
    sealed = b"".join(envelope.seal(io.BytesIO(b""), os.urandom(32)))
    assert len(sealed) == envelope.sealed_size(0)


def test_no_file_anywhere_in_the_media_root_holds_the_plaintext() -> None:
    case = make_case()
    log_recording(case, recording(5 * SEGMENT))
    screenshot = services.append_entry(
        case=case,
        author=f"user:{case.owner_id}",
        kind="message",
        body={"channel": "sms", "text": "x"},
        uploads=[services.Upload("shot.png", io.BytesIO(screenshot_png()))],
    ).entry
    picture = EvidenceFile.objects.get(sha256=screenshot.evidence[0]["sha256"])
    thumbnail = derived_copy(picture, "thumb")
    assert thumbnail is not None
    files = every_file(Path(django_settings.MEDIA_ROOT))
    assert len(files) == 3
    for path in files:
        raw = path.read_bytes()
        assert raw.startswith(envelope.MAGIC), path
        assert MARKER not in raw and b"PNG" not in raw[:64] and b"JFIF" not in raw, path
    assert read_plain(thumbnail).startswith(b"\xff\xd8")  # a JPEG, once unsealed


def test_two_files_with_the_same_bytes_have_different_ciphertexts() -> None:
    data = recording(2000)
    first = log_recording(make_case(), data)
    second = log_recording(make_case(), data)
    one, other = (on_disk(f.storage_name).read_bytes() for f in (first, second))
    assert one[envelope.HEADER_SIZE :] != other[envelope.HEADER_SIZE :]


# --- damage is refused ------------------------------------------------------------------------


def damage(path: Path, how: str) -> None:
    raw = bytearray(path.read_bytes())
    stride = SEGMENT + envelope.TAG_SIZE
    body = envelope.HEADER_SIZE
    if how == "flip a byte":
        raw[body + stride + 5] ^= 0x01
    elif how == "flip a header byte":
        raw[envelope.HEADER_SIZE - 3] ^= 0x80  # the nonce prefix
    elif how == "flip the wrapped key":
        raw[40] ^= 0x01
    elif how == "cut at a segment boundary":
        raw = raw[: body + 2 * stride]
    elif how == "cut mid-segment":
        raw = raw[: body + stride + 100]
    elif how == "swap two segments":
        first, second = raw[body : body + stride], raw[body + stride : body + 2 * stride]
        raw[body : body + 2 * stride] = second + first
    elif how == "append bytes":
        raw += b"\0" * 32
    path.write_bytes(bytes(raw))


DAMAGES = [
    "flip a byte",
    "flip a header byte",
    "flip the wrapped key",
    "cut at a segment boundary",
    "cut mid-segment",
    "swap two segments",
    "append bytes",
]


@pytest.mark.parametrize("how", DAMAGES)
def test_damaged_sealed_files_are_refused_as_an_integrity_failure(how: str) -> None:
    case = make_case()
    stored = log_recording(case, recording(3 * SEGMENT + 500))
    damage(on_disk(stored.storage_name), how)
    with pytest.raises(storage.StoredFileTampered) as failure:
        storage.rehash_stored(stored.storage_name)
    # A StorageError (the web and API answer it, never a 500) and an OSError (readers that
    # skip an unreadable file skip this one).
    assert isinstance(failure.value, storage.StorageError) and isinstance(failure.value, OSError)
    report = verify_case(case)
    assert not report.ok and report.first_bad_seq == 2
    assert "fails its integrity check" in (report.problem or "")


def test_verify_chain_reports_a_damaged_file() -> None:
    case = make_case()
    stored = log_recording(case, recording(2 * SEGMENT))
    damage(on_disk(stored.storage_name), "flip a byte")
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("verify_chain", "--case", str(case.id), stdout=out, stderr=out)
    assert "fails its integrity check" in out.getvalue()


def test_a_damaged_file_is_a_clear_refusal_on_the_download_page_not_a_500() -> None:
    case = make_case()
    stored = log_recording(case, recording(1000))
    damage(on_disk(stored.storage_name), "flip the wrapped key")
    response = client_for(case.owner).get(
        reverse("evidence_original", args=[case.pk, stored.sha256])
    )
    assert response.status_code == 503
    assert "integrity check" in response.content.decode() or "完整性" in response.content.decode()


def test_a_wrong_master_key_is_refused_and_names_the_key(settings) -> None:
    case = make_case()
    stored = log_recording(case, recording(1000))
    use_keys(settings, new_key())
    with pytest.raises(storage.MasterKeyMissing) as failure:
        read_plain(stored.storage_name)
    assert "not configured" in failure.value.reason
    assert "master key that is not configured" in (verify_case(case).problem or "")


def test_a_key_file_that_does_not_exist_is_a_configuration_error(settings, tmp_path) -> None:
    settings.LOCKER_MASTER_KEY = ""
    settings.LOCKER_MASTER_KEY_FILE = str(tmp_path / "missing")
    master_keys.forget()
    with pytest.raises(ImproperlyConfigured):
        master_keys.keyring()


@pytest.mark.parametrize("bad", ["not base64!", base64.b64encode(b"short").decode()])
def test_a_malformed_master_key_is_a_configuration_error(settings, bad: str) -> None:
    use_keys(settings, bad)
    with pytest.raises(ImproperlyConfigured):
        master_keys.keyring()


# --- ranges, exports, dossiers ----------------------------------------------------------------


def test_range_requests_on_an_encrypted_recording_decrypt_only_what_they_need(
    monkeypatch,
) -> None:
    data = recording(6 * SEGMENT + 1234)
    case = make_case()
    stored = log_recording(case, data)
    url = reverse("evidence_original", args=[case.pk, stored.sha256])
    owner = client_for(case.owner)
    whole = owner.get(url)
    assert whole.status_code == 200 and int(whole["Content-Length"]) == len(data)
    assert b"".join(whole.streaming_content) == data

    decrypted: list[int] = []
    real = envelope.Opened._decrypt  # every segment is decrypted there

    def counting(self: envelope.Opened, index: int, data: bytes) -> bytes:
        decrypted.append(index)
        return real(self, index, data)

    monkeypatch.setattr(envelope.Opened, "_decrypt", counting)
    first, last = 4 * SEGMENT - 10, 4 * SEGMENT + 9  # across the 4th segment boundary
    part = owner.get(url, HTTP_RANGE=f"bytes={first}-{last}")
    assert part.status_code == 206
    assert part["Content-Range"] == f"bytes {first}-{last}/{len(data)}"
    assert b"".join(part.streaming_content) == data[first : last + 1]
    assert sorted(set(decrypted)) == [3, 4]
    tail = owner.get(url, HTTP_RANGE="bytes=-100")
    assert b"".join(tail.streaming_content) == data[-100:]


def test_an_export_of_an_encrypted_case_is_the_plaintext_and_verifies(tmp_path) -> None:
    case = make_case()
    data = recording(3 * SEGMENT + 5)
    stored = log_recording(case, data)
    out = tmp_path / "bundle.zip"
    with out.open("wb") as handle:
        bundle.write_bundle(case, handle)
    with zipfile.ZipFile(out) as archive:
        assert archive.read(f"evidence/{stored.sha256}") == data
    assert verify_bundle_zip(str(out)).ok


def test_exports_before_and_after_encrypting_a_legacy_case_carry_the_same_evidence(
    tmp_path,
) -> None:
    case = make_case()
    data = recording(2 * SEGMENT + 9)
    stored = log_recording(case, data)
    make_legacy(stored.storage_name, data)

    def evidence_members(name: str) -> dict[str, bytes]:
        path = tmp_path / name
        with path.open("wb") as handle:
            bundle.write_bundle(case, handle)
        assert verify_bundle_zip(str(path)).ok
        with zipfile.ZipFile(path) as archive:
            return {n: archive.read(n) for n in archive.namelist() if n.startswith("evidence/")}

    before = evidence_members("before.zip")
    call_command("encrypt_evidence", stdout=io.StringIO())
    assert on_disk(stored.storage_name).read_bytes().startswith(envelope.MAGIC)
    assert evidence_members("after.zip") == before == {f"evidence/{stored.sha256}": data}


def test_a_dossier_of_an_encrypted_case_is_sealed_and_its_pictures_match() -> None:
    case = small_case()
    dossier, pdf = make_dossier(case, "court", "en")
    raw = on_disk(dossier.file_name).read_bytes()
    assert raw.startswith(envelope.MAGIC) and b"%PDF" not in raw
    assert hashlib.sha256(pdf).hexdigest() == dossier.sha256 and pdf.startswith(b"%PDF")
    report = verify_dossier_pdf(io.BytesIO(pdf))
    assert report.ok, report.problem
    # The exhibits were read through the seal: none says its stored bytes differ.
    assert b"stored bytes differ" not in pdf
    download = client_for(case.owner).get(reverse("dossier_pdf", args=[case.pk, dossier.pk]))
    assert download.status_code == 200 and b"".join(download.streaming_content) == pdf


# --- plaintext from before, and the command that seals it ----------------------------------------


def test_a_legacy_plaintext_file_is_read_then_sealed_by_the_command(settings) -> None:
    case = make_case()
    data = recording(2 * SEGMENT + 77)
    stored = log_recording(case, data)
    make_legacy(stored.storage_name, data)
    assert read_plain(stored.storage_name) == data and verify_case(case).ok

    out = io.StringIO()
    call_command("encrypt_evidence", stdout=out)
    assert "1 file(s) encrypted" in out.getvalue()
    raw = on_disk(stored.storage_name).read_bytes()
    assert raw.startswith(envelope.MAGIC) and MARKER not in raw
    assert read_plain(stored.storage_name) == data and verify_case(case).ok
    assert stat.S_IMODE(on_disk(stored.storage_name).stat().st_mode) == 0o600
    # No temporary file is left beside it; a second run changes nothing.
    assert every_file(on_disk(stored.storage_name).parent) == [on_disk(stored.storage_name)]
    again = io.StringIO()
    call_command("encrypt_evidence", stdout=again)
    assert "0 file(s) encrypted, 1 already encrypted" in again.getvalue()
    assert on_disk(stored.storage_name).read_bytes() == raw


def test_the_command_leaves_a_legacy_file_that_no_longer_matches_its_hash(settings) -> None:
    case = make_case()
    data = recording(3000)
    stored = log_recording(case, data)
    changed = data[:-1] + b"X"
    make_legacy(stored.storage_name, changed)
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("encrypt_evidence", stdout=out)
    assert "NOT sealed" in out.getvalue()
    assert on_disk(stored.storage_name).read_bytes() == changed  # left for verify_chain
    assert not verify_case(case).ok


# --- rotating the master key ---------------------------------------------------------------------


def header_of(name: str) -> envelope.Header:
    return envelope.Header.parse(on_disk(name).read_bytes()[: envelope.HEADER_SIZE])


def test_rotation_rewraps_every_file_without_reencrypting_and_the_old_key_goes(settings) -> None:
    old = settings.LOCKER_MASTER_KEY
    case = small_case()
    dossier, pdf = make_dossier(case, "court", "en")
    files = [f.storage_name for f in EvidenceFile.objects.filter(case=case)] + [dossier.file_name]
    # The screenshot's print copy, stored by the dossier (locker/infra/print_copies.py), is
    # sealed and re-wrapped like every other stored file.
    picture = EvidenceFile.objects.get(case=case, media_type="image/png")
    files.append(print_copy_name(case.pk, picture.sha256))
    before = {name: on_disk(name).read_bytes() for name in files}
    plains = {name: read_plain(name) for name in files}

    new = new_key()
    use_keys(settings, new, old)  # the operator puts the new key first, the old after it
    out = io.StringIO()
    call_command("rotate_master_key", stdout=out)
    assert f"{len(files)} file(s) re-wrapped" in out.getvalue()
    new_id = envelope.key_id(base64.b64decode(new))
    for name in files:
        raw = on_disk(name).read_bytes()
        assert header_of(name).key_id == new_id
        # Only the key id and the wrapped key changed: the segments are the same bytes.
        assert raw[envelope.HEADER_SIZE :] == before[name][envelope.HEADER_SIZE :]
        assert raw[26:66] != before[name][26:66]

    use_keys(settings, new)  # the old key is no longer needed
    assert {name: read_plain(name) for name in files} == plains
    assert verify_case(case).ok
    again = io.StringIO()
    call_command("rotate_master_key", stdout=again)  # safe to run twice
    assert "0 file(s) re-wrapped" in again.getvalue()


def test_rotation_with_a_generated_key_in_the_key_file_resumes_and_retires(
    settings, tmp_path, monkeypatch
) -> None:
    key_file = tmp_path / "master_key"
    first = os.urandom(32)
    master_keys.write_key_file(key_file, [first])
    settings.LOCKER_MASTER_KEY = ""
    settings.LOCKER_MASTER_KEY_FILE = str(key_file)
    master_keys.forget()
    case = make_case()
    names = [log_recording(case, recording(1000 + n)).storage_name for n in range(3)]

    # Stopped after the first file: the key file holds the new key and the old one.
    real = storage.rewrap_stored
    done: list[str] = []

    def stop_after_one(name: str) -> bool:
        if done:
            raise KeyboardInterrupt
        done.append(name)
        return real(name)

    monkeypatch.setattr("locker.services.storage_encryption.rewrap_stored", stop_after_one)
    with pytest.raises(KeyboardInterrupt):
        call_command("rotate_master_key", "--generate", stdout=io.StringIO())
    monkeypatch.undo()
    keys = [base64.b64decode(line) for line in key_file.read_text().split()]
    assert len(keys) == 2 and keys[1] == first
    assert all(read_plain(name) for name in names)  # every file stays readable meanwhile

    out = io.StringIO()
    call_command("rotate_master_key", stdout=out)  # resumed
    assert "2 file(s) re-wrapped" in out.getvalue() and "retired" in out.getvalue()
    assert [base64.b64decode(line) for line in key_file.read_text().split()] == [keys[0]]
    retired = tmp_path / "master_key.retired"
    assert base64.b64decode(retired.read_text().split()[0]) == first
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(retired.stat().st_mode) == 0o600
    master_keys.forget()
    assert all(header_of(n).key_id == envelope.key_id(keys[0]) for n in names)
    assert verify_case(case).ok


def test_generate_refuses_when_the_keys_are_in_the_environment() -> None:
    with pytest.raises(CommandError, match="LOCKER_MASTER_KEY"):
        call_command("rotate_master_key", "--generate", stdout=io.StringIO())


def test_rotation_stops_short_of_retiring_when_a_file_is_under_an_unknown_key(settings) -> None:
    stored = log_recording(make_case(), recording(1000))
    use_keys(settings, new_key())  # the key the file is under is lost
    with pytest.raises(CommandError, match="could not be re-wrapped"):
        call_command("rotate_master_key", stdout=io.StringIO())
    assert on_disk(stored.storage_name).read_bytes().startswith(envelope.MAGIC)


# --- file modes ----------------------------------------------------------------------------------


def test_the_default_master_key_file_is_made_once_and_private(settings, tmp_path) -> None:
    settings.LOCKER_MASTER_KEY = ""
    settings.LOCKER_MASTER_KEY_FILE = ""
    settings.DATA_DIR = tmp_path
    master_keys.forget()
    ring = master_keys.keyring()
    path = tmp_path / master_keys.DEFAULT_FILE_NAME
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    master_keys.forget()
    assert master_keys.keyring().current == ring.current  # made once, then reused


def test_evidence_files_and_directories_are_private() -> None:
    stored = log_recording(make_case(), recording(1000))
    path = on_disk(stored.storage_name)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for directory in (path.parent, path.parent.parent):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700


PROBE = r"""
import os, sqlite3, stat, sys
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
import django
django.setup()
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test import Client
with connection.cursor() as cursor:
    cursor.execute("CREATE TABLE probe (x integer)")
    cursor.execute("INSERT INTO probe VALUES (1)")
database = str(settings.DATABASES["default"]["NAME"])
call_command("collectstatic", interactive=False, verbosity=0)
def mode(path):
    return oct(stat.S_IMODE(os.stat(path).st_mode))
print("data_dir", mode(settings.DATA_DIR))
for suffix in ("", "-wal", "-shm"):
    print("database" + suffix, mode(database + suffix))
print("secret_key", mode(settings.DATA_DIR / "secret_key"))
print("static_root", mode(settings.STATIC_ROOT))
print("static_file", mode(settings.STATIC_ROOT / "admin" / "css" / "base.css"))
"""


def test_the_database_its_wal_and_the_data_dir_are_private_static_files_public(
    tmp_path,
) -> None:
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "STATIC_ROOT", "MEDIA_ROOT"}
    }
    environment["LOCKER_DATA_DIR"] = str(tmp_path / "data")
    environment["STATIC_ROOT"] = str(tmp_path / "static")
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=Path(__file__).resolve().parents[2],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    modes = dict(line.split() for line in result.stdout.splitlines())
    assert modes == {
        "data_dir": "0o700",
        "database": "0o600",
        "database-wal": "0o600",
        "database-shm": "0o600",
        "secret_key": "0o600",
        "static_root": "0o755",
        "static_file": "0o644",
    }


def test_gunicorn_and_whitenoise_serve_the_static_files_under_the_private_umask(
    tmp_path,
) -> None:
    root = Path(__file__).resolve().parents[2]
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "MEDIA_ROOT"}
    }
    environment.update(
        LOCKER_DATA_DIR=str(tmp_path / "data"),
        STATIC_ROOT=str(tmp_path / "static"),
        ALLOWED_HOSTS="127.0.0.1",
    )
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
        cwd=root,
        env=environment,
        check=True,
        timeout=120,
    )
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--workers", "1"]
        + ["--bind", f"127.0.0.1:{port}"],
        cwd=root,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    expected = (root / "static").glob("**/*.css")
    asset = next(iter(sorted(expected))).relative_to(root / "static")

    def fetch() -> bytes | None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/static/{asset}", timeout=5) as r:
                return bytes(r.read())
        except OSError:
            return None

    try:
        served = wait_until(fetch, 60, "gunicorn to serve a static file")
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert served == (root / "static" / asset).read_bytes()
    collected = tmp_path / "static" / asset
    assert stat.S_IMODE(collected.stat().st_mode) == 0o644


def test_the_private_signing_keys_are_readable_by_their_owner_only() -> None:
    directory = signing.key_dir()
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    for name in (signing.CA_KEY, signing.SIGNING_KEY):
        assert stat.S_IMODE((directory / name).stat().st_mode) == 0o600, name
