"""Orphan evidence files (issue 10): listed with size and age, removed only with --delete and
only past the grace period; named files, dossiers and young in-flight writes are left alone."""

from __future__ import annotations

import io
import os
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from locker import services
from locker.selectors.orphans import count_orphans, iter_orphans
from locker.services.orphans import delete_orphans

from .factories import add_entry, make_case
from .test_services import PNG

pytestmark = pytest.mark.django_db

HOUR = 3600


def _media() -> Path:
    return Path(settings.STORAGES["evidence"]["OPTIONS"]["location"])


def _put(name: str, content: bytes, *, hours_old: float) -> Path:
    path = _media() / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    moment = time.time() - hours_old * HOUR
    os.utime(path, (moment, moment))
    return path


@pytest.fixture
def stored() -> dict[str, Path]:
    case = make_case()
    add_entry(case, uploads=[services.Upload("a.png", io.BytesIO(PNG))])
    named = _media() / case.evidence_files.get().storage_name
    os.utime(named, (time.time() - 100 * HOUR,) * 2)
    base = f"evidence/{case.id}/ab"
    return {
        "named": named,
        "old": _put(f"{base}/{'ab' * 32}", b"left by a failed append", hours_old=30),
        "young": _put(f"{base}/{'ac' * 32}", b"an append in progress", hours_old=0.1),
        "old_incoming": _put(f"{base}/.incoming-dead", b"a write that died", hours_old=30),
        "young_incoming": _put(f"{base}/.incoming-live", b"a write in flight", hours_old=0.1),
        "dossier": _put(f"dossiers/{case.id}/x.pdf", b"%PDF", hours_old=30),
        "derived": _put(f"derived/{case.id}/t.jpg", b"jpeg", hours_old=30),
    }


def _names(paths: list[Path]) -> set[str]:
    return {str(path.relative_to(_media())) for path in paths}


def test_orphans_are_the_unnamed_files_under_evidence_except_young_writes(stored) -> None:
    found = {orphan.name: orphan for orphan in iter_orphans()}
    assert set(found) == _names([stored["old"], stored["young"], stored["old_incoming"]])
    old = found[str(stored["old"].relative_to(_media()))]
    assert old.size == len(b"left by a failed append")
    assert count_orphans() == (3, True)
    # The first two files looked at: the dead write (an orphan) and the live one (not).
    assert count_orphans(scan_limit=2) == (1, False)


def test_the_command_lists_without_removing(stored) -> None:
    out = io.StringIO()
    call_command("evidence_orphans", stdout=out)
    text = out.getvalue()
    assert "3 orphan file(s), 2 older than 24 h" in text
    assert f"{len(b'left by a failed append')} bytes  30.0 h old" in text
    assert all(path.exists() for path in stored.values())


def test_delete_removes_only_orphans_past_the_grace_period(stored) -> None:
    out = io.StringIO()
    call_command("evidence_orphans", "--delete", stdout=out)
    assert "2 orphan file(s) removed" in out.getvalue()
    assert not stored["old"].exists() and not stored["old_incoming"].exists()
    for kept in ("named", "young", "young_incoming", "dossier", "derived"):
        assert stored[kept].exists(), kept
    call_command("verify_chain", stdout=io.StringIO())  # the case still verifies


def test_delete_with_a_shorter_grace_removes_the_younger_ones_too(stored) -> None:
    call_command("evidence_orphans", "--delete", "--older-than", "1", stdout=io.StringIO())
    assert stored["young"].exists()  # 6 minutes old
    assert stored["named"].exists()


def test_delete_refuses_a_grace_under_an_hour(stored) -> None:
    with pytest.raises(CommandError, match="at least 1 hour"):
        call_command("evidence_orphans", "--delete", "--older-than", "0.5")
    assert stored["old"].exists() and stored["young"].exists()
    with pytest.raises(ValueError, match="at least"):
        delete_orphans(older_than=timedelta(minutes=10))


def test_an_empty_store_has_no_orphans() -> None:
    assert list(iter_orphans()) == []
    assert count_orphans() == (0, True)
