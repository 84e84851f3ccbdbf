"""What people see of third-party time: the /verify page and POST /api/verify on an export
bundle with anchors.json, the case page's freshness line, the receipt with its anchor, and
the verify_bundle command. Real loopback TSAs (tests/tsa.py)."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client

from locker.core import anchors
from locker.exports import bundle
from locker.models import Checkpoint
from locker.services import anchors as anchor_services

from .factories import add_entry, make_case
from .tsa import tsa_pair  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


def english() -> Client:
    return Client(headers={"accept-language": "en"})


START = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


@pytest.fixture
def tsas(settings, tsa_pair):  # noqa: F811
    first, second = tsa_pair
    settings.LOCKER_TSA_URLS = [first.url, second.url]
    return first, second


def anchored_case(tsas):
    """A case of four entries, each anchored ten minutes apart by both TSAs."""
    for tsa in tsas:
        tsa.set_clock(START + timedelta(minutes=2))
    with time_machine.travel(START, tick=False):
        case = make_case()
        anchor_services.anchor_pending_checkpoints()
    for number in range(1, 4):
        moment = START + timedelta(minutes=10 * number)
        for tsa in tsas:
            tsa.set_clock(moment + timedelta(minutes=2))
        with time_machine.travel(moment, tick=False):
            add_entry(case, body={"text": f"第 {number} 次来电"})
            anchor_services.anchor_pending_checkpoints()
    return case


def export(case) -> bytes:
    out = io.BytesIO()
    bundle.write_bundle(case, out)
    return out.getvalue()


def test_every_bundle_has_anchors_json_and_its_head_is_anchored(tsas) -> None:
    case = anchored_case(tsas)
    data = export(case)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        document = json.loads(archive.read("anchors.json"))
        checkpoint = json.loads(archive.read("checkpoint.json"))
    receipts = anchors.parse_anchors_document(document, case_id=str(case.id))
    assert [r["checkpoint"]["length"] for r in receipts] == [1, 2, 3, 4]
    # The bundle's own head is among them: its checkpoint.json is anchored.
    assert receipts[-1]["checkpoint"] == checkpoint["checkpoint"]
    assert all(anchors.check_anchored_receipt(r).ok for r in receipts)


def test_without_a_tsa_the_bundle_says_so(settings) -> None:
    settings.LOCKER_TSA_URLS = []
    case = make_case()
    add_entry(case)
    data = export(case)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert json.loads(archive.read("anchors.json"))["checkpoints"] == []
    page = english().post("/verify", {"file": io.BytesIO(data)})
    assert "This file carries no third-party time" in page.content.decode()


def test_api_verify_reports_attested_ranges(tsas) -> None:
    case = anchored_case(tsas)
    answer = english().post("/api/verify", {"file": io.BytesIO(export(case))}).json()
    assert answer["ok"] is True
    attestation = answer["attestation"]
    assert attestation["attested_length"] == 4
    assert attestation["first_late_seq"] is None
    assert attestation["conflicts"] == []
    ranges = attestation["ranges"]
    assert [(r["first_seq"], r["last_seq"]) for r in ranges] == [(1, 1), (2, 2), (3, 3), (4, 4)]
    assert ranges[1]["attested_at"] == "2026-11-20T08:12:00.000000Z"
    assert ranges[1]["recorded_from"] == "2026-11-20T08:10:00.000000Z"
    assert ranges[1]["largest_lag_s"] == 120 and not ranges[1]["late"]
    assert len(ranges[1]["attested_by"]) == 2


def test_verify_page_flags_entries_attested_late(tsas, settings) -> None:
    """Entries recorded while no TSA answered, and anchored two hours later: the page shows
    the range as late, in Chinese too."""
    first, second = tsas
    with time_machine.travel(START, tick=False):
        case = make_case()
        add_entry(case, body={"text": "TSA 断线时保存"})
    for tsa in tsas:
        tsa.set_clock(START + timedelta(hours=2))
    with time_machine.travel(START + timedelta(hours=2), tick=False):
        data = export(case)
    page = english().post("/verify", {"file": io.BytesIO(data)}).content.decode()
    assert "From record 1 on, records were time-stamped by a third party much later" in page
    assert 'class="late"' in page
    zh = Client(headers={"accept-language": "zh-hans"}).post("/verify", {"file": io.BytesIO(data)})
    assert "从第 1 条起" in zh.content.decode()


def test_case_page_says_how_fresh_third_party_time_is(tsas, settings) -> None:
    case = anchored_case(tsas)
    client = english()
    client.force_login(case.owner)
    with time_machine.travel(START + timedelta(hours=1), tick=False):
        page = client.get(f"/cases/{case.pk}/").content.decode()
    assert "Independent time-stamp: entries 1 to 4 vouched for at" in page
    with time_machine.travel(START + timedelta(hours=1), tick=False):
        add_entry(case, body={"text": "新的一条"})
        page = client.get(f"/cases/{case.pk}/").content.decode()
    assert "Newer entries get theirs at the next round (every 10 minutes)." in page
    settings.LOCKER_TSA_URLS = []
    page = client.get(f"/cases/{case.pk}/").content.decode()
    assert "No independent time-stamp authority is set up on this server" in page


def test_receipt_download_carries_its_anchor_once_anchored(tsas) -> None:
    case = make_case()
    entry = add_entry(case, body={"text": "收到威胁短信"})
    client = english()
    client.force_login(case.owner)
    before = json.loads(client.get(f"/cases/{case.pk}/entries/{entry.seq}/receipt.json").content)
    assert "anchor" not in before
    page = client.get(f"/cases/{case.pk}/entries/{entry.seq}/receipt/").content.decode()
    assert "An independent time-stamp authority will vouch for this record" in page
    anchor_services.anchor_pending_checkpoints()
    after = json.loads(client.get(f"/cases/{case.pk}/entries/{entry.seq}/receipt.json").content)
    assert after["checkpoint"] == before["checkpoint"]
    assert anchors.check_anchored_receipt(after).ok
    page = client.get(f"/cases/{case.pk}/entries/{entry.seq}/receipt/").content.decode()
    assert "Time-stamped by 2 independent time-stamp authorities" in page
    assert Checkpoint.objects.filter(case=case).count() == 2


def test_verify_bundle_command_prints_attested_ranges(tsas, tmp_path) -> None:
    from django.core.management import call_command

    case = anchored_case(tsas)
    path = tmp_path / "case.zip"
    path.write_bytes(export(case))
    out = io.StringIO()
    call_command("verify_bundle", str(path), stdout=out)
    text = out.getvalue()
    assert "attested            2-2  recorded 2026-11-20T08:10:00+00:00  no later than " in text
    assert "2026-11-20T08:12:00+00:00" in text
    assert "LATE" not in text and text.rstrip().endswith("VERIFIED")
