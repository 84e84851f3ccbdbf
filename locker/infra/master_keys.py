"""The master keys that wrap each stored file's data key (locker/core/envelope.py).

From `LOCKER_MASTER_KEY` (base64 keys of 32 bytes, comma-separated) or the file named by
`LOCKER_MASTER_KEY_FILE` (one base64 key a line); neither set, from `<data dir>/master_key`,
created once (0600) the first time it is needed. The first key is the current one, which
new files are sealed under; the others stay readable while `manage.py rotate_master_key`
re-wraps the files still under them. A key file is read again when it changes on disk, so
the rotation command's new key reaches running processes without a restart."""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from locker.core import envelope

DEFAULT_FILE_NAME = "master_key"


@dataclass(frozen=True)
class Keyring:
    current: bytes
    by_id: dict[bytes, bytes]
    # The file the keys came from, when they came from one (the rotation command rewrites it).
    path: Path | None

    @property
    def current_id(self) -> bytes:
        return envelope.key_id(self.current)


def decode(text: str, where: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ImproperlyConfigured(f"{where}: a master key is not valid base64") from exc
    if len(key) != envelope.KEY_SIZE:
        raise ImproperlyConfigured(
            f"{where}: a master key must be {envelope.KEY_SIZE} bytes, not {len(key)}"
        )
    return key


def encode(key: bytes) -> str:
    return base64.b64encode(key).decode("ascii")


def _parse(texts: list[str], where: str, path: Path | None) -> Keyring:
    keys = [decode(text, where) for text in texts if text.strip()]
    if not keys:
        raise ImproperlyConfigured(f"{where}: no master key")
    return Keyring(keys[0], {envelope.key_id(key): key for key in keys}, path)


def key_file_path() -> Path | None:
    """The key file in use: LOCKER_MASTER_KEY_FILE, the default one in the data dir, or
    None when the keys are in the environment."""
    if settings.LOCKER_MASTER_KEY:
        return None
    if settings.LOCKER_MASTER_KEY_FILE:
        return Path(settings.LOCKER_MASTER_KEY_FILE)
    return Path(settings.DATA_DIR) / DEFAULT_FILE_NAME


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]


def write_key_file(path: Path, keys: list[bytes]) -> None:
    """Replace the key file whole (0600): a reader sees the old keys or the new."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}")
    body = "".join(f"{encode(key)}\n" for key in keys)
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(body)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def _create_default(path: Path) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = secrets.token_bytes(envelope.KEY_SIZE)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return  # another process made it first; theirs is the key
    with os.fdopen(fd, "w") as handle:
        handle.write(f"{encode(key)}\n")
        handle.flush()
        os.fsync(handle.fileno())


_lock = threading.Lock()
# (the source it was read from, its stat signature, the keyring)
_cached: tuple[tuple[str, str], tuple[int, int, int] | None, Keyring] | None = None


def _signature(path: Path) -> tuple[int, int, int]:
    status = path.stat()
    return (status.st_ino, status.st_mtime_ns, status.st_size)


def keyring() -> Keyring:
    """The configured master keys, read again when their source changes."""
    global _cached
    source = (settings.LOCKER_MASTER_KEY, settings.LOCKER_MASTER_KEY_FILE)
    path = key_file_path()
    with _lock:
        if path is None:
            if _cached is not None and _cached[0] == source:
                return _cached[2]
            ring = _parse(settings.LOCKER_MASTER_KEY.split(","), "LOCKER_MASTER_KEY", None)
            _cached = (source, None, ring)
            return ring
        if not path.exists():
            if settings.LOCKER_MASTER_KEY_FILE:
                # Never make up a key for a file the operator named: the files sealed under
                # the missing one would silently become unreadable.
                raise ImproperlyConfigured(f"LOCKER_MASTER_KEY_FILE {path} does not exist")
            _create_default(path)
        signature = _signature(path)
        if _cached is not None and _cached[0] == source and _cached[1] == signature:
            return _cached[2]
        ring = _parse(_lines(path.read_text()), str(path), path)
        _cached = (source, signature, ring)
        return ring


def forget() -> None:
    """Read the keys again on next use (tests that change settings)."""
    global _cached
    with _lock:
        _cached = None
