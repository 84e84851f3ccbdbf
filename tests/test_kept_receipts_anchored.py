"""Kept receipts that carry an anchor (issue 11, "Copies outside the server"): an anchored
receipt is kept only if its anchor holds against a real RFC 3161 service on loopback
(tests/tsa_server.py), and the kept-receipts page, the review page and the API show the time
a time-stamp authority vouches for. Plain receipts are test_kept_receipts.py's."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from locker import services
from locker.core import chain
from locker.infra import tsa as tsa_client
from locker.models import AnchorLeaf, Case, Checkpoint, Entry, KeptReceipt
from locker.selectors import anchors as anchor_selectors
from locker.selectors import receipts as receipt_selectors
from locker.selectors.receipts import kept_receipts_of
from locker.services import anchors as anchor_services

from .personas import Personas, api_as
from .tamper import rewrite_body
from .test_kept_receipts import (
    EN,
    as_bytes,
    kept_url,
    receipt_of,
    upload_file,
    with_a_call_and_a_note,
)
from .tsa import LoopbackTSA
from .ui_helpers import csrf_post

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def loopback_tsa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoopbackTSA]:
    tsa = LoopbackTSA(tmp_path_factory.mktemp("tsa"), name="Loopback TSA K").start()
    try:
        yield tsa
    finally:
        tsa.stop()


@pytest.fixture
def world(world: Personas, settings, loopback_tsa: LoopbackTSA) -> Personas:
    settings.LOCKER_TSA_URLS = [loopback_tsa.url]
    with_a_call_and_a_note(world)
    anchor_services.anchor_pending_checkpoints()
    return world


def anchored_of(case: Case, seq: int) -> dict[str, Any]:
    """The receipt the client downloads for entry `seq` once a round anchored it."""
    checkpoint = Checkpoint.objects.filter(case=case, length=seq).order_by("signed_at").first()
    assert checkpoint is not None
    receipt = anchor_selectors.anchored_receipt(checkpoint)
    assert "anchor" in receipt
    return receipt


def keep_document(world: Personas, document: Any) -> services.KeptReceiptResult:
    return services.add_kept_receipt(
        case=world.case, user=world.user("owner"), data=as_bytes(document)
    )


def copy(document: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(document))


def test_an_anchored_receipt_is_kept_whole_with_its_attested_time(world: Personas) -> None:
    receipt = anchored_of(world.case, 2)
    result = keep_document(world, receipt)
    assert result.created
    kept = KeptReceipt.objects.get()
    assert kept.anchored and kept.document == receipt
    (row,) = kept_receipts_of(world.case)
    leaf = AnchorLeaf.objects.select_related("anchor").get(
        checkpoint__case=world.case, checkpoint__length=2
    )
    assert row.status == "holds"
    assert row.attested_at == leaf.anchor.attested_at
    assert row.attested_by and "Loopback TSA K" in row.attested_by[0]


def test_the_anchored_copy_of_a_plain_receipt_is_kept_beside_it_once(world: Personas) -> None:
    plain = receipt_of(world.case, 2)
    anchored = anchored_of(world.case, 2)
    first = keep_document(world, plain)
    upgrade = keep_document(world, anchored)
    again = keep_document(world, anchored)
    plain_again = keep_document(world, plain)
    assert first.created and upgrade.created
    assert not again.created and again.receipt.pk == upgrade.receipt.pk
    assert not plain_again.created and plain_again.receipt.pk == first.receipt.pk
    assert sorted(KeptReceipt.objects.values_list("anchored", flat=True)) == [False, True]
    rows = kept_receipts_of(world.case)
    assert [row.attested_at is not None for row in rows].count(True) == 1


def test_a_plain_copy_of_an_anchored_receipt_adds_nothing(world: Personas) -> None:
    anchored = keep_document(world, anchored_of(world.case, 3))
    plain = keep_document(world, receipt_of(world.case, 3))
    assert not plain.created and plain.receipt.pk == anchored.receipt.pk
    assert KeptReceipt.objects.count() == 1


def tampered_anchors(world: Personas, tmp_path) -> dict[str, tuple[dict[str, Any], str]]:
    """Anchored receipts changed after they were made, and the message each one gets."""
    good = anchored_of(world.case, 2)
    root = bytes.fromhex(good["anchor"]["root"])

    other_root = copy(good)
    other_root["anchor"]["root"] = "ab" * 32

    token = bytearray(base64.b64decode(good["anchor"]["tokens"][0]["token"]))
    token[-3] ^= 0x01
    flipped = copy(good)
    flipped["anchor"]["tokens"][0]["token"] = base64.b64encode(bytes(token)).decode()

    # A forger's own TSA (a real one, its own root) over the right root: its signature is
    # fine, but this server never had a token from it, so it vouches for nothing here.
    forger = LoopbackTSA(tmp_path / "forger", name="Forged TSA").start()
    try:
        foreign = tsa_client.request_token(tsa_client.authority(forger.url), root)
    finally:
        forger.stop()
    forged = copy(good)
    forged["anchor"]["tokens"] = [foreign.as_json()]

    missing = copy(good)
    del missing["anchor"]["proof"]

    # The anchor of entry 3's checkpoint (the same round) pasted onto entry 2's receipt.
    borrowed = copy(good)
    borrowed["anchor"] = anchored_of(world.case, 3)["anchor"]

    not_over = "the receipt's time stamp is not over this receipt"
    return {
        "another root": (other_root, not_over),
        "another leaf's proof": (borrowed, not_over),
        "a changed token": (flipped, "none of the receipt's time stamps holds"),
        "a foreign TSA": (forged, "none of the receipt's time stamps holds"),
        "no proof": (missing, "is not in the form this server writes"),
    }


def test_a_receipt_whose_anchor_does_not_hold_is_refused(world: Personas, tmp_path) -> None:
    for name, (document, message) in tampered_anchors(world, tmp_path).items():
        with pytest.raises(services.InputError) as refused:
            keep_document(world, document)
        assert message in str(refused.value), name
    assert not KeptReceipt.objects.exists()


def test_the_checkpoint_of_an_anchored_receipt_is_checked_as_before(world: Personas) -> None:
    good = anchored_of(world.case, 2)
    moved = copy(good)
    moved["checkpoint"]["length"] = 3
    with pytest.raises(services.InputError, match="signature does not verify"):
        keep_document(world, moved)
    extra = {**copy(good), "comment": "mine"}
    with pytest.raises(services.InputError, match="this file is not a receipt"):
        keep_document(world, extra)
    assert not KeptReceipt.objects.exists()


def test_the_page_refuses_a_tampered_anchor_in_both_languages(world: Personas, tmp_path) -> None:
    document, message = tampered_anchors(world, tmp_path)["a changed token"]
    client = world.web("owner")
    english = csrf_post(client, kept_url(world.case), {"receipt": upload_file(document)}, **EN)
    assert english.status_code == 400
    assert message.replace("'", "&#x27;") in english.content.decode()
    chinese = csrf_post(
        client,
        kept_url(world.case),
        {"receipt": upload_file(document)},
        HTTP_ACCEPT_LANGUAGE="zh-CN",
    )
    assert chinese.status_code == 400
    assert "时间戳" in chinese.content.decode()
    assert not KeptReceipt.objects.exists()


def test_pages_show_the_attested_time_to_the_owner_and_the_lawyers(world: Personas) -> None:
    keep_document(world, anchored_of(world.case, 3))
    keep_document(world, receipt_of(world.case, 2))
    leaf = AnchorLeaf.objects.select_related("anchor").get(
        checkpoint__case=world.case, checkpoint__length=3
    )
    for persona in ("owner", "viewer", "reviewer"):
        client = world.web(persona)
        page = client.get(kept_url(world.case), **EN).content.decode()
        assert page.count("by an independent time-stamp authority") == 1, persona
        assert "Loopback TSA K" in page
        review = client.get(reverse("review", args=[world.case.pk]), **EN).content.decode()
        kept = review[review.index('id="kept-title"') :]
        assert "by an independent time-stamp authority" in kept[: kept.index("</section>")]
    # The time is shown in the viewer's time zone (the default, Asia/Shanghai).
    page = world.web("owner").get(kept_url(world.case), **EN).content.decode()
    local = leaf.anchor.attested_at.astimezone(ZoneInfo("Asia/Shanghai"))
    assert local.strftime("%Y-%m-%d %H:%M") in page
    chinese = world.web("owner").get(kept_url(world.case), HTTP_ACCEPT_LANGUAGE="zh-CN")
    assert "独立的时间戳机构" in chinese.content.decode()


def test_a_time_stamp_no_longer_trusted_shows_no_time(world: Personas, monkeypatch) -> None:
    keep_document(world, anchored_of(world.case, 3))
    monkeypatch.setattr(receipt_selectors, "trusted_tsa_roots", frozenset)
    (row,) = kept_receipts_of(world.case)
    assert row.status == "holds" and row.attested_at is None and row.attested_by == ()
    page = world.web("reviewer").get(kept_url(world.case), **EN).content.decode()
    assert "no longer from a time-stamp authority this server trusts" in page


def api_url(world: Personas) -> str:
    return f"/api/cases/{world.case.pk}/receipts"


def test_the_api_keeps_an_anchored_receipt_and_reports_its_time(world: Personas) -> None:
    owner = api_as(world.user("owner"))
    created = owner.post_json(api_url(world), None, raw=as_bytes(anchored_of(world.case, 3)))
    assert created.status_code == 201
    body = created.json()
    leaf = AnchorLeaf.objects.select_related("anchor").get(
        checkpoint__case=world.case, checkpoint__length=3
    )
    assert body["attested_at"] == chain.format_timestamp(leaf.anchor.attested_at)
    assert len(body["attested_by"]) == 1 and "Loopback TSA K" in body["attested_by"][0]
    assert body["status"] == "holds" and body["length"] == 3
    owner.post_json(api_url(world), None, raw=as_bytes(receipt_of(world.case, 2)))
    listed = {
        item["length"]: item for item in api_as(world.user("viewer")).get(api_url(world)).json()
    }
    assert listed[3]["attested_at"] == body["attested_at"]
    assert (listed[2]["attested_at"], listed[2]["attested_by"]) == (None, [])
    refused = owner.post_json(api_url(world), None, raw=as_bytes(tampered_for_api(world)))
    assert refused.status_code == 422
    assert "time stamp" in refused.json()["detail"]


def tampered_for_api(world: Personas) -> dict[str, Any]:
    document = copy(anchored_of(world.case, 2))
    document["anchor"]["root"] = "cd" * 32
    return document


def test_the_receipt_still_fails_when_the_chain_was_rewritten(world: Personas) -> None:
    keep_document(world, anchored_of(world.case, 3))
    rewrite_body(Entry.objects.get(case=world.case, seq=3).pk, {"text": "从来没打过电话"})
    (row,) = kept_receipts_of(world.case)
    # The anchor still holds (a TSA saw the original head), which is what makes it proof.
    assert row.status == "rewritten" and row.attested_at is not None
