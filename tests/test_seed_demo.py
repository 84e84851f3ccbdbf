"""`manage.py seed_demo`: a populated demo case on a development machine, never elsewhere."""

from __future__ import annotations

import io
from types import SimpleNamespace

import pytest
from django.core.management import CommandError, call_command
from PIL import Image

from locker.core import stats
from locker.infra.storage import evidence_storage
from locker.management.commands import seed_demo
from locker.models import Case, Entry, EvidenceFile
from locker.selectors.chain import verify_case
from locker.services import demo

from .conftest import needs

pytestmark = pytest.mark.django_db


@needs(demo.cjk_font_path() is not None, "no CJK font (fonts-wqy-zenhei) for the screenshots")
def test_seed_demo_creates_a_month_of_harassment(settings) -> None:
    settings.DEBUG = True
    out = io.StringIO()
    call_command("seed_demo", "--username", "demo-test", stdout=out)
    assert "demo-test" in out.getvalue()
    case = Case.objects.get(owner__username="demo-test")
    assert (case.principal_minor, case.received_minor) == (500000, 350000)
    entries = list(Entry.objects.filter(case=case))
    kinds = {e.kind for e in entries}
    assert {"call", "message", "contact_report", "note", "correction", "case_update"} <= kinds
    assert any(e.author.startswith("contact-link:") for e in entries)
    summary = stats.summarise(entries, demo.ZONE)
    assert summary.night >= 20 and summary.distinct_numbers >= 5
    assert summary.contacts_reached >= 5 and len(summary.days) >= 28
    shot = EvidenceFile.objects.filter(case=case, media_type="image/png").first()
    with evidence_storage().open(shot.storage_name) as handle:
        assert Image.open(handle).size == (720, 1480)
    assert verify_case(case).ok
    with pytest.raises(CommandError, match="already exists"):
        call_command("seed_demo", "--username", "demo-test")


def test_seed_demo_refuses_outside_development(settings, monkeypatch) -> None:
    settings.DEBUG = False
    # DEBUG off on a server database (as in CI): how a deployment looks.
    monkeypatch.setattr(seed_demo, "connection", SimpleNamespace(vendor="postgresql"))
    with pytest.raises(CommandError, match="refusing"):
        call_command("seed_demo", "--username", "nope")
    assert not Case.objects.filter(owner__username="nope").exists()
