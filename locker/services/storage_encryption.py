"""Sealing the files stored before encryption at rest existed, and rotating the master key
(docs/storage-encryption.md). Both walk every file of the evidence storage (originals,
derived copies, dossier PDFs), change each one whole or not at all, and can be stopped and
run again: a file already done is skipped."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from locker.core import envelope
from locker.infra import locks, master_keys
from locker.infra.storage import (
    StoredFileUnreadable,
    rewrap_stored,
    seal_stored,
    sealed_key_id,
    walk_stored,
)
from locker.models import Dossier, EvidenceFile
from locker.services import complainant

_CONTENT_ADDRESS = re.compile(r"^evidence/[^/]+/[0-9a-f]{2}/([0-9a-f]{64})$")
LOCK_NAME = "storage-encryption"


class RotationRefused(Exception):
    """The rotation cannot start as asked; the message says why."""


def _recorded_sha256(name: str) -> str | None:
    """The SHA-256 the database records for a stored file's plaintext (an original's is its
    name too); None for a derived copy, which nothing records and which is made again from
    its original if it is lost."""
    recorded = EvidenceFile.objects.filter(storage_name=name).values_list("sha256", flat=True)
    for sha256 in recorded[:1]:
        return sha256
    dossier = Dossier.objects.filter(file_name=name).values_list("sha256", flat=True)
    for sha256 in dossier[:1]:
        return sha256 or None
    pack = Dossier.objects.filter(pack_file_name=name).values_list("pack_sha256", flat=True)
    for sha256 in pack[:1]:
        return sha256 or None
    match = _CONTENT_ADDRESS.match(name)
    return match.group(1) if match else None


@dataclass
class SealReport:
    sealed: list[str] = field(default_factory=list)
    already_sealed: int = 0
    # Plaintext files whose bytes no longer match their recorded hash: left as they are.
    mismatched: list[str] = field(default_factory=list)


def seal_plaintext_files(*, on_file: Callable[[str, str], None] | None = None) -> SealReport:
    """Seal every plaintext file in the evidence storage in place, each checked against its
    recorded SHA-256 first. `on_file(name, outcome)` hears of each file."""
    report = SealReport()
    with locks.exclusive(LOCK_NAME, wait_s=5) as held:
        if not held:
            raise RotationRefused("another encrypt_evidence or rotate_master_key is running")
        for name in walk_stored():
            if seal_stored(name, sha256=_recorded_sha256(name)):
                report.sealed.append(name)
                outcome = "sealed"
            elif sealed_key_id(name) is not None:
                report.already_sealed += 1
                outcome = "already sealed"
            else:
                report.mismatched.append(name)
                outcome = "NOT sealed: its bytes do not match the recorded SHA-256"
            if on_file is not None:
                on_file(name, outcome)
    return report


@dataclass
class RotationReport:
    current_id: str
    new_key: bool
    rewrapped: int = 0
    already_current: int = 0
    plaintext: int = 0
    # Files that could not be re-wrapped (sealed under a key not configured, or damaged),
    # and sealed complainant details that could not (named "<table> <id>").
    failed: list[str] = field(default_factory=list)
    # Sealed complainant details in the database re-wrapped (locker/services/complainant.py).
    details_rewrapped: int = 0
    # Keys no file needs any more, moved out of the key file into RETIRED_SUFFIX beside it.
    retired_ids: list[str] = field(default_factory=list)
    # The keys are in LOCKER_MASTER_KEY: the operator removes the old ones there.
    keys_in_environment: bool = False

    @property
    def done(self) -> bool:
        return not self.failed


RETIRED_SUFFIX = ".retired"


def _retire(path: Path, ring: master_keys.Keyring) -> list[str]:
    """Keep only the current key in the key file; the others go to `<file>.retired` (0600),
    for restoring backups made before the rotation."""
    old = [key for key_id, key in ring.by_id.items() if key_id != ring.current_id]
    if not old:
        return []
    retired = path.with_name(path.name + RETIRED_SUFFIX)
    kept: list[bytes] = []
    if retired.exists():
        texts = [line for line in retired.read_text().splitlines() if line.strip()]
        kept = [master_keys.decode(text, str(retired)) for text in texts]
    master_keys.write_key_file(retired, kept + [key for key in old if key not in kept])
    master_keys.write_key_file(path, [ring.current])
    master_keys.forget()
    return [envelope.key_id(key).hex() for key in old]


def rotate_master_key(
    *, generate: bool, on_file: Callable[[str, str], None] | None = None
) -> RotationReport:
    """Re-wrap every sealed file's data key under the current master key (the bulk is not
    encrypted again). With `generate`, first make a new key and put it first in the key file,
    the old ones kept after it so that every file stays readable meanwhile. Once no file is
    under an old key, the old keys leave the key file (for `<file>.retired`); with the keys
    in LOCKER_MASTER_KEY the operator removes them there. Stopped part-way, run it again
    (without `generate`): files already re-wrapped are skipped."""
    with locks.exclusive(LOCK_NAME, wait_s=5) as held:
        if not held:
            raise RotationRefused("another encrypt_evidence or rotate_master_key is running")
        ring = master_keys.keyring()
        if generate:
            if ring.path is None:
                raise RotationRefused(
                    "the master keys are in LOCKER_MASTER_KEY: put a new key first there "
                    "(the old ones after it), restart the app, then run this without --generate"
                )
            new = secrets.token_bytes(envelope.KEY_SIZE)
            others = [key for key in ring.by_id.values() if key != ring.current]
            master_keys.write_key_file(ring.path, [new, ring.current, *others])
            master_keys.forget()
            ring = master_keys.keyring()
        report = RotationReport(
            ring.current_id.hex(), generate, keys_in_environment=ring.path is None
        )
        for name in walk_stored():
            try:
                changed = rewrap_stored(name)
            except StoredFileUnreadable as exc:
                report.failed.append(name)
                if on_file is not None:
                    on_file(name, f"FAILED: {exc.reason}")
                continue
            key_id = sealed_key_id(name)
            if changed:
                report.rewrapped += 1
                outcome = "re-wrapped"
            elif key_id is None:
                report.plaintext += 1
                outcome = "plaintext (run encrypt_evidence)"
            else:
                report.already_current += 1
                outcome = "already under the current key"
            if on_file is not None:
                on_file(name, outcome)
        report.details_rewrapped, failed_details = complainant.rewrap_sealed_details()
        report.failed += failed_details
        if report.done and ring.path is not None and _every_file_under(ring.current_id):
            report.retired_ids = _retire(ring.path, ring)
    return report


def _every_file_under(current_id: bytes) -> bool:
    # Checked again after the pass: a file written meanwhile by a process that had not yet
    # read the new key file must not lose its key.
    return complainant.every_detail_under(current_id) and all(
        sealed_key_id(name) in (None, current_id) for name in walk_stored()
    )
