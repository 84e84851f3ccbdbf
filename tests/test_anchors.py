"""Anchoring rounds against real RFC 3161 services on loopback (tests/tsa_server.py): two
TSAs, one down, bad answers; the Merkle tree; the anchored receipt and anchors.json."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError

from locker.core import anchors, chain, merkle
from locker.models import Anchor, AnchorLeaf, Checkpoint
from locker.selectors import anchors as anchor_selectors
from locker.services import anchors as anchor_services

from .factories import add_entry, make_case
from .tsa import (  # noqa: F401 (tsa_pair: a fixture)
    LoopbackTSA,
    anchored_round,
    case_anchored_as_made,
    closed_url,
    tsa_pair,
)

# RFC 6962 / Certificate Transparency's test vectors: eight leaves, their tree's root.
CT_LEAVES = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
]
CT_ROOT = "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"


def test_merkle_root_matches_rfc6962_test_vector() -> None:
    leaves = [merkle.leaf_hash(bytes.fromhex(h)) for h in CT_LEAVES]
    root, proofs = merkle.tree(leaves)
    assert root.hex() == CT_ROOT
    for index, leaf in enumerate(leaves):
        merkle.verify_inclusion(leaf, leaf_index=index, tree_size=8, proof=proofs[index], root=root)


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 8, 9, 31, 100])
def test_every_proof_verifies_and_no_proof_fits_another_leaf(size: int) -> None:
    leaves = [merkle.leaf_hash(str(i).encode()) for i in range(size)]
    root, proofs = merkle.tree(leaves)
    for index in range(size):
        merkle.verify_inclusion(
            leaves[index], leaf_index=index, tree_size=size, proof=proofs[index], root=root
        )
        if size > 1:
            with pytest.raises(merkle.ProofError):
                merkle.verify_inclusion(
                    leaves[(index + 1) % size],
                    leaf_index=index,
                    tree_size=size,
                    proof=proofs[index],
                    root=root,
                )
    with pytest.raises(merkle.ProofError):
        merkle.verify_inclusion(
            leaves[0], leaf_index=size, tree_size=size, proof=proofs[0], root=root
        )
    with pytest.raises(merkle.ProofError):
        merkle.verify_inclusion(
            leaves[0], leaf_index=0, tree_size=size, proof=[*proofs[0], root], root=root
        )


def _append(case, text: str) -> None:
    add_entry(case, body={"text": text})


@pytest.fixture
def tsas(settings, tsa_pair):  # noqa: F811
    first, second = tsa_pair
    settings.LOCKER_TSA_URLS = [first.url, second.url]
    return first, second


@pytest.mark.django_db
def test_no_tsa_configured_anchors_nothing(settings) -> None:
    settings.LOCKER_TSA_URLS = []
    case = make_case()
    _append(case, "one")
    assert anchor_services.anchor_pending_checkpoints().anchor is None
    assert not Anchor.objects.exists()


@pytest.mark.django_db
def test_round_with_two_tsas_anchors_every_pending_checkpoint(tsas) -> None:
    case = make_case()
    other = make_case()
    for text in ("one", "two", "three"):
        _append(case, text)
    _append(other, "elsewhere")
    pending = Checkpoint.objects.count()
    result = anchor_services.anchor_pending_checkpoints()
    assert result.anchor is not None and result.checkpoints == pending
    assert len(result.anchor.tokens) == 2 and not result.failures
    # Nothing new: the next round asks no TSA and makes no anchor.
    assert anchor_services.anchor_pending_checkpoints().anchor is None
    assert Anchor.objects.count() == 1
    for leaf in AnchorLeaf.objects.select_related("checkpoint"):
        receipt = anchor_selectors.anchored_receipt(leaf.checkpoint)
        check = anchors.check_anchored_receipt(receipt)
        assert check.ok, check.problems
        assert len(check.attested_by) == 2


@pytest.mark.django_db
def test_one_tsa_down_the_round_uses_the_other(settings, tmp_path) -> None:
    tsa = LoopbackTSA(tmp_path / "up").start()
    try:
        settings.LOCKER_TSA_URLS = [closed_url(), tsa.url]
        case = make_case()
        _append(case, "one")
        result = anchor_services.anchor_pending_checkpoints()
        assert result.anchor is not None and len(result.anchor.tokens) == 1
        assert result.anchor.tokens[0]["tsa"] == tsa.url
        assert len(result.failures) == 1
    finally:
        tsa.stop()


@pytest.mark.django_db
@pytest.mark.parametrize("mode", ["garbage", "reject"])
def test_a_bad_answer_is_no_token_and_the_checkpoints_wait(settings, tmp_path, mode) -> None:
    bad = LoopbackTSA(tmp_path / mode, mode=mode).start()
    try:
        settings.LOCKER_TSA_URLS = [bad.url]
        case = make_case()
        _append(case, "one")
        with pytest.raises(anchor_services.TSAUnavailable):
            anchor_services.anchor_pending_checkpoints()
        assert not Anchor.objects.exists()
        assert Checkpoint.objects.filter(anchor_leaf__isnull=True).count() == (
            Checkpoint.objects.count()
        )
        with pytest.raises(CommandError):
            call_command("anchor_now")
    finally:
        bad.stop()


@pytest.mark.django_db
def test_all_down_then_back_anchors_what_waited(settings, tmp_path) -> None:
    tsa = LoopbackTSA(tmp_path / "later")
    settings.LOCKER_TSA_URLS = [tsa.url]
    case = make_case()
    _append(case, "while it was down")
    with pytest.raises(anchor_services.TSAUnavailable):
        anchor_services.anchor_pending_checkpoints()
    tsa.start()
    try:
        call_command("anchor_now")
        assert (
            AnchorLeaf.objects.filter(case=case).count()
            == Checkpoint.objects.filter(case=case).count()
        )
    finally:
        tsa.stop()


@pytest.mark.django_db
def test_anchor_case_head_anchors_at_once(tsas) -> None:
    case = make_case()
    _append(case, "one")
    entry = case.entries.order_by("-seq").first()
    checkpoint = anchor_services.anchor_case_head(case=case, length=entry.seq, head=entry.hash)
    assert AnchorLeaf.objects.filter(checkpoint=checkpoint).exists()
    document = anchor_selectors.anchors_document(
        case, up_to_length=entry.seq, checkpoint=checkpoint
    )
    receipts = anchors.parse_anchors_document(document, case_id=str(case.id))
    assert receipts[-1]["checkpoint"] == checkpoint.document["checkpoint"]


@pytest.mark.django_db
def test_forged_token_and_token_over_another_root_are_rejected(tsas, tmp_path) -> None:
    first, _second = tsas
    case = make_case()
    _append(case, "one")
    anchor_services.anchor_pending_checkpoints()
    leaf = AnchorLeaf.objects.select_related("checkpoint").filter(case=case).last()
    assert leaf is not None
    receipt = anchor_selectors.anchored_receipt(leaf.checkpoint)
    trusted = anchor_selectors.trusted_tsa_roots()
    assert anchors.check_anchored_receipt(receipt, trusted_roots=trusted).ok

    # A token over another root, from the real TSA: valid for that root, not for this one.
    other_root = merkle.leaf_hash(b"another tree")
    from locker.infra import tsa as tsa_client

    foreign = tsa_client.request_token(tsa_client.authority(first.url), other_root)
    over_other = json.loads(json.dumps(receipt))
    over_other["anchor"]["tokens"] = [foreign.as_json()]
    check = anchors.check_anchored_receipt(over_other, trusted_roots=trusted)
    assert not check.ok
    assert "another root" in check.problems[0]

    # A forger's own TSA (its own root), over the right root: the signature is fine, but
    # its root is not one this instance trusts, so it attests nothing.
    forger = LoopbackTSA(tmp_path / "forger", name="Forged TSA").start()
    try:
        forged = tsa_client.request_token(
            tsa_client.authority(forger.url), bytes.fromhex(receipt["anchor"]["root"])
        )
    finally:
        forger.stop()
    forged_receipt = json.loads(json.dumps(receipt))
    forged_receipt["anchor"]["tokens"] = [forged.as_json()]
    check = anchors.check_anchored_receipt(forged_receipt, trusted_roots=trusted)
    assert not check.ok
    assert check.tokens[0].valid and not check.tokens[0].trusted

    # A token whose bytes were changed: its signature no longer verifies.
    token = bytearray(base64.b64decode(receipt["anchor"]["tokens"][0]["token"]))
    token[-3] ^= 0x01
    tampered = json.loads(json.dumps(receipt))
    tampered["anchor"]["tokens"] = [
        {**receipt["anchor"]["tokens"][0], "token": base64.b64encode(bytes(token)).decode()}
    ]
    check = anchors.check_anchored_receipt(tampered, trusted_roots=trusted)
    assert not check.tokens[0].valid

    # A proof moved to another leaf index no longer leads to the root.
    moved = json.loads(json.dumps(receipt))
    moved["anchor"]["leaf_index"] = (moved["anchor"]["leaf_index"] + 1) % max(
        2, moved["anchor"]["tree_size"]
    )
    moved["anchor"]["tree_size"] = max(2, moved["anchor"]["tree_size"])
    assert not anchors.check_anchored_receipt(moved, trusted_roots=trusted).proof_ok


@pytest.mark.django_db
def test_rewritten_case_is_attested_late_from_the_rewrite(tsas) -> None:
    """The case (seq 1) and six records (seq 2-7) are anchored as they are made, a round
    after each. Whoever holds the host then rewrites the case from seq 4 on with the old
    recorded times, re-signs with the instance key, and anchors again a day later. Entries
    1-3 keep their early attested times; 4-7 are attested a day after they claim to have
    been recorded, and the anchors of the original 4-7 now conflict with the chain."""
    first, second = tsas
    start = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

    case = case_anchored_as_made((first, second), start, records=6)
    lines = [e.as_line() for e in case.entries.order_by("seq")]
    assert len(lines) == 7
    trusted = anchor_selectors.trusted_tsa_roots()
    document = anchor_selectors.anchors_document(case, up_to_length=7, checkpoint=None)

    report = _attest(lines, document, trusted)
    assert report.first_late_seq is None and not report.conflicts
    assert report.attested_length == 7
    assert [r.attested_at for r in report.ranges] == [
        start + timedelta(minutes=10 * n + 1) for n in range(7)
    ]

    # The rewrite, as whoever holds the host would do it: new content from seq 4, the old
    # recorded times, correct links, a fresh checkpoint signed with the instance key.
    from locker.infra import signing

    rewritten = [line["entry"] for line in lines[:3]]
    for seq in range(4, 8):
        entry = dict(lines[seq - 1]["entry"])
        entry["body"] = {"text": f"rewritten {seq}"}
        entry["prev"] = chain.entry_hash(rewritten[-1])
        rewritten.append(entry)
    forged_lines = [{"entry": e, "hash": chain.entry_hash(e)} for e in rewritten]
    late = start + timedelta(days=1)
    with time_machine.travel(late, tick=False):
        forged_checkpoint = signing.sign_checkpoint(
            case_id=str(case.id), length=7, head=forged_lines[-1]["hash"], signed_at=late
        )
        Checkpoint.objects.create(
            case=case,
            length=7,
            head=forged_lines[-1]["hash"],
            signed_at=late,
            legacy_document=forged_checkpoint,
        )
    anchored_round((first, second), late)
    document = anchor_selectors.anchors_document(case, up_to_length=7, checkpoint=None)
    report = _attest(forged_lines, document, trusted)
    assert report.first_late_seq == 4
    late_range = [r for r in report.ranges if r.late][0]
    assert (late_range.first_seq, late_range.last_seq) == (4, 7)
    assert late_range.attested_at == late + timedelta(minutes=1)
    assert {c.length for c in report.conflicts} == {4, 5, 6, 7}


def _attest(lines, document, trusted) -> anchors.AttestationReport:
    links = [(line["entry"]["seq"], line["hash"]) for line in lines]
    recorded = {
        line["entry"]["seq"]: chain.parse_timestamp(line["entry"]["recorded_at"]) for line in lines
    }
    checks = [
        anchors.check_anchored_receipt(receipt, trusted_roots=trusted)
        for receipt in anchors.parse_anchors_document(document)
    ]
    return anchors.attest(links=links, recorded=recorded, checks=checks)
