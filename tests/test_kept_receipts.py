"""Receipts the client kept (issue 5): the service, the status against the chain, the model's
refusals, and the web pages for every persona; bad uploads store nothing, and each kept
receipt shows whether the stored chain still holds it, also after the chain was tampered
with. The API's side is in test_kept_receipts_api.py."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError, connection, transaction
from django.urls import reverse
from django.utils import translation

from locker import services
from locker.core import chain
from locker.infra import signing
from locker.models import AccessLog, Case, Checkpoint, Entry, KeptReceipt
from locker.models.append_only import AppendOnlyQuerySet
from locker.selectors import access_wording
from locker.selectors.receipts import kept_receipts_of, status_of

from .factories import add_entry, make_case
from .personas import WITHOUT_CONTACT, Personas
from .tamper import delete_entry, raw_sql, rewrite_body
from .test_postgres import ON_POSTGRES
from .ui_helpers import csrf_post

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def with_a_call_and_a_note(world: Personas) -> Personas:
    """The shared case with a call and a note after its opening entry, and every persona."""
    add_entry(world.case, "call", {"number": "95188", "summary": "威胁要上门", "tags": ["threat"]})
    add_entry(world.case, "note", {"text": "又打来了"})
    return world.everyone()


@pytest.fixture
def world(world: Personas) -> Personas:
    return with_a_call_and_a_note(world)


def receipt_of(case: Case, seq: int) -> dict[str, Any]:
    """The receipt the client downloaded when entry `seq` was added."""
    return Checkpoint.objects.filter(case=case, length=seq).order_by("signed_at").first().document


def as_bytes(document: Any) -> bytes:
    return json.dumps(document, ensure_ascii=False, indent=2).encode()


def upload_file(document: Any, name: str = "receipt.json") -> SimpleUploadedFile:
    data = document if isinstance(document, bytes) else as_bytes(document)
    return SimpleUploadedFile(name, data, content_type="application/json")


def forged_signature(document: dict[str, Any]) -> dict[str, Any]:
    signature = document["signature"]
    middle = len(signature) // 2
    flipped = "B" if signature[middle] != "B" else "C"
    return {**document, "signature": signature[:middle] + flipped + signature[middle + 1 :]}


def self_signed(document: dict[str, Any]) -> dict[str, Any]:
    """The same checkpoint, validly signed by a key and certificate this instance never made."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Evidence Locker signing")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    body = document["checkpoint"]
    signature = key.sign(chain.canonical_bytes(body), ec.ECDSA(hashes.SHA256()))
    return {
        "checkpoint": body,
        "signature": base64.b64encode(signature).decode(),
        "certificate": certificate.public_bytes(Encoding.PEM).decode(),
    }


def kept_url(case: Case) -> str:
    return reverse("kept_receipts", args=[case.pk])


# The service -------------------------------------------------------------------------------


def test_the_owner_keeps_a_receipt_once(world: Personas) -> None:
    data = as_bytes(receipt_of(world.case, 2))
    first = services.add_kept_receipt(case=world.case, user=world.user("owner"), data=data)
    again = services.add_kept_receipt(case=world.case, user=world.user("owner"), data=data)
    assert first.created and not again.created
    assert again.receipt.pk == first.receipt.pk
    kept = KeptReceipt.objects.get()
    entry = Entry.objects.get(case=world.case, seq=2)
    assert (kept.length, kept.head, kept.uploaded_by) == (2, entry.hash, world.user("owner"))
    assert kept.document == receipt_of(world.case, 2)
    assert status_of(kept).signer_trusted is True
    assert kept.signer_fingerprint == signing.fingerprint(signing.load_signer().certificate)


def test_another_checkpoint_of_the_same_head_is_the_same_receipt(world: Personas) -> None:
    owner = world.user("owner")
    head = Entry.objects.get(case=world.case, seq=3)
    later = services.issue_checkpoint(case=world.case, length=3, head=head.hash)
    assert later != receipt_of(world.case, 3)
    services.add_kept_receipt(case=world.case, user=owner, data=as_bytes(receipt_of(world.case, 3)))
    result = services.add_kept_receipt(case=world.case, user=owner, data=as_bytes(later))
    assert not result.created and KeptReceipt.objects.count() == 1


@pytest.mark.parametrize("persona", ("viewer", "reviewer", "revoked", "stranger"))
def test_only_the_owner_may_keep_a_receipt(world: Personas, persona: str) -> None:
    with pytest.raises(PermissionError):
        services.add_kept_receipt(
            case=world.case, user=world.user(persona), data=as_bytes(receipt_of(world.case, 2))
        )
    assert not KeptReceipt.objects.exists()


def bad_uploads(world: Personas) -> dict[str, tuple[bytes, str]]:
    """What a client might upload by mistake or on purpose, and the message it gets."""
    good = receipt_of(world.case, 2)
    other_case = make_case(world.user("owner"))
    moved = {**good, "checkpoint": {**good["checkpoint"], "length": 3}}
    return {
        "not json": (b"\x89PNG\r\n\x1a\n not a receipt", "the receipt is not a JSON file"),
        "empty": (b"", "the receipt is not a JSON file"),
        "NaN": (b'{"checkpoint": NaN}', "the receipt is not a JSON file"),
        "a JSON list": (b"[1, 2]", "this file is not a receipt"),
        "a bundle line": (
            as_bytes(Entry.objects.get(case=world.case, seq=2).as_line()),
            "this file is not a receipt",
        ),
        "missing certificate": (
            as_bytes({k: v for k, v in good.items() if k != "certificate"}),
            "this file is not a receipt",
        ),
        "forged signature": (as_bytes(forged_signature(good)), "signature does not verify"),
        "changed length": (as_bytes(moved), "signature does not verify"),
        "garbled certificate": (
            as_bytes({**good, "certificate": "-----BEGIN CERTIFICATE-----\nxx"}),
            "signature does not verify",
        ),
        "another signer": (as_bytes(self_signed(good)), "not signed by this server"),
        "another case": (
            as_bytes(receipt_of(other_case, 1)),
            "this receipt is for another case",
        ),
        "too large": (
            as_bytes({**good, "padding": "x" * services.MAX_RECEIPT_BYTES}),
            "larger than the limit of 64 KiB",
        ),
    }


def test_bad_uploads_are_refused_with_a_clear_message_and_store_nothing(world: Personas) -> None:
    for name, (data, message) in bad_uploads(world).items():
        with pytest.raises(services.InputError) as refused:
            services.add_kept_receipt(case=world.case, user=world.user("owner"), data=data)
        assert message in str(refused.value), name
    assert not KeptReceipt.objects.exists()


# Status against the chain now --------------------------------------------------------------


def keep(world: Personas, *seqs: int) -> None:
    for seq in seqs:
        services.add_kept_receipt(
            case=world.case, user=world.user("owner"), data=as_bytes(receipt_of(world.case, seq))
        )


def statuses(case: Case) -> dict[int, str]:
    return {row.receipt.length: row.status for row in kept_receipts_of(case)}


def test_receipts_hold_while_the_chain_is_intact_and_as_it_grows(world: Personas) -> None:
    keep(world, 1, 2, 3)
    add_entry(world.case, "note", {"text": "第四条"})
    assert statuses(world.case) == {1: "holds", 2: "holds", 3: "holds"}
    assert [row.receipt.length for row in kept_receipts_of(world.case)] == [3, 2, 1]
    assert all(row.signer_trusted for row in kept_receipts_of(world.case))


def test_removing_the_last_entry_shows_as_removed(world: Personas) -> None:
    keep(world, 2, 3)
    delete_entry(Entry.objects.get(case=world.case, seq=3).pk)
    assert statuses(world.case) == {2: "holds", 3: "removed"}


def test_rewriting_an_entrys_content_shows_as_rewritten(world: Personas) -> None:
    keep(world, 2, 3)
    # The hash column is left as it was: only hashing the content again shows the change.
    rewrite_body(Entry.objects.get(case=world.case, seq=3).pk, {"text": "从来没打过电话"})
    assert statuses(world.case) == {2: "holds", 3: "rewritten"}


def test_rewriting_an_entry_with_its_hash_recomputed_shows_as_rewritten(world: Personas) -> None:
    keep(world, 2, 3)
    entry = Entry.objects.get(case=world.case, seq=3)
    forged = {**entry.as_entry(), "body": {"text": "从来没打过电话"}}
    raw_sql(
        "UPDATE locker_entry SET body = %s, hash = %s WHERE id = %s",
        [json.dumps(forged["body"]), chain.entry_hash(forged), entry.pk],
    )
    assert statuses(world.case) == {2: "holds", 3: "rewritten"}


def test_a_receipt_uploaded_after_the_removal_is_kept_and_shows_it(world: Personas) -> None:
    receipt = receipt_of(world.case, 3)
    delete_entry(Entry.objects.get(case=world.case, seq=3).pk)
    client = world.web("owner")
    response = csrf_post(
        client, kept_url(world.case), {"receipt": upload_file(receipt)}, follow=True, **EN
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "The record no longer holds entry 3 as the receipt shows." in page
    assert "The record no longer has entry 3: entries were removed" in page
    assert statuses(world.case) == {3: "removed"}


@pytest.fixture
def new_instance_keys(settings, tmp_path):
    """This instance loses its keys and makes new ones (a new CA too)."""
    settings.LOCKER_KEY_DIR = tmp_path / "keys"
    signing.load_signer.cache_clear()
    signing.ensure_keys()
    yield
    signing.load_signer.cache_clear()


def test_when_the_instance_has_new_keys_old_receipts_show_an_unknown_signer(
    world: Personas, request: pytest.FixtureRequest
) -> None:
    keep(world, 2)
    old = receipt_of(world.case, 3)
    request.getfixturevalue("new_instance_keys")  # after the receipts were kept
    (row,) = kept_receipts_of(world.case)
    assert row.status == "holds" and row.signer_trusted is False
    with pytest.raises(services.InputError, match="not signed by this server"):
        services.add_kept_receipt(case=world.case, user=world.user("owner"), data=as_bytes(old))
    page = world.web("reviewer").get(reverse("review", args=[world.case.pk]), **EN)
    assert "this server no longer recognises the signer" in page.content.decode()


# The model refuses changes -----------------------------------------------------------------


def test_a_kept_receipt_cannot_be_changed_or_deleted(world: Personas) -> None:
    keep(world, 2)
    kept = KeptReceipt.objects.get()
    kept.head = "0" * 64
    with pytest.raises(PermissionError):
        kept.save()
    with pytest.raises(PermissionError):
        kept.delete()
    with pytest.raises(PermissionError):
        KeptReceipt.objects.filter(pk=kept.pk).update(head="0" * 64)
    with pytest.raises(PermissionError):
        KeptReceipt.objects.filter(pk=kept.pk).delete()
    assert KeptReceipt.objects.get().head == Entry.objects.get(case=world.case, seq=2).hash


def test_two_uploads_at_once_keep_one_receipt(world: Personas, monkeypatch) -> None:
    keep(world, 2)
    # The other upload's row appears between this one's look-up and its insert.
    first = AppendOnlyQuerySet.first
    monkeypatch.setattr(
        AppendOnlyQuerySet,
        "first",
        lambda self: None if self.model is KeptReceipt else first(self),
    )
    result = services.add_kept_receipt(
        case=world.case, user=world.user("owner"), data=as_bytes(receipt_of(world.case, 2))
    )
    assert not result.created and KeptReceipt.objects.count() == 1


@ON_POSTGRES
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE locker_keptreceipt SET head = %s WHERE id = %s",
        "DELETE FROM locker_keptreceipt WHERE id = %s",
    ],
)
def test_the_database_refuses_to_change_a_kept_receipt(world: Personas, sql: str) -> None:
    keep(world, 2)
    kept = KeptReceipt.objects.get()
    params = ["0" * 64, kept.pk] if sql.startswith("UPDATE") else [kept.pk]
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql, params)
    assert KeptReceipt.objects.get().head == kept.head


# Web pages ---------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", WITHOUT_CONTACT)
def test_the_kept_receipts_page_answers_each_persona(world: Personas, persona: str) -> None:
    keep(world, 3)
    response = world.web(persona).get(kept_url(world.case), **EN)
    expected = {"owner": 200, "viewer": 200, "reviewer": 200, "anonymous": 302}.get(persona, 404)
    assert response.status_code == expected
    page = response.content.decode()
    if persona == "anonymous":
        assert response["Location"].startswith(reverse("login") + "?next=")
    if expected == 200:
        assert "still holds" in page and "entry 3" in page
        has_form = 'name="receipt"' in page
        assert has_form == (persona == "owner")


@pytest.mark.parametrize("persona", WITHOUT_CONTACT)
def test_only_the_owner_uploads_through_the_page(world: Personas, persona: str) -> None:
    client = world.web(persona)
    response = csrf_post(
        client, kept_url(world.case), {"receipt": upload_file(receipt_of(world.case, 2))}
    )
    if persona == "owner":
        assert response.status_code == 302
        assert response["Location"] == kept_url(world.case)
        assert KeptReceipt.objects.count() == 1
    else:
        assert response.status_code == (302 if persona == "anonymous" else 404)
        assert not KeptReceipt.objects.exists()


def test_the_owner_uploads_from_the_case_page_and_again_changes_nothing(world: Personas) -> None:
    client = world.web("owner")
    detail = client.get(reverse("case_detail", args=[world.case.pk]), **EN).content.decode()
    assert f'action="{kept_url(world.case)}"' in detail and 'name="receipt"' in detail
    for expected in ("Receipt kept: the record still holds entry 2.", "already uploaded"):
        response = csrf_post(
            client,
            kept_url(world.case),
            {"receipt": upload_file(receipt_of(world.case, 2))},
            follow=True,
            **EN,
        )
        assert expected in response.content.decode()
    assert KeptReceipt.objects.count() == 1
    detail = client.get(reverse("case_detail", args=[world.case.pk]), **EN).content.decode()
    assert "Receipts you kept (1)" in detail


def test_lawyers_see_no_upload_form_on_the_case_page(world: Personas) -> None:
    for persona in ("viewer", "reviewer"):
        client = world.web(persona)
        detail = client.get(reverse("case_detail", args=[world.case.pk]), **EN).content.decode()
        assert 'name="receipt"' not in detail
        assert f'href="{kept_url(world.case)}"' in detail and "Receipts the client kept" in detail


@pytest.mark.parametrize("bad", ["not json", "forged signature", "another signer", "another case"])
def test_a_bad_upload_on_the_page_says_why_in_the_users_language(world: Personas, bad: str) -> None:
    data, message = bad_uploads(world)[bad]
    client = world.web("owner")
    response = csrf_post(client, kept_url(world.case), {"receipt": upload_file(data)}, **EN)
    assert response.status_code == 400
    assert message.replace("'", "&#x27;") in response.content.decode()
    chinese = csrf_post(
        client,
        kept_url(world.case),
        {"receipt": upload_file(data)},
        HTTP_ACCEPT_LANGUAGE="zh-CN",
    )
    assert chinese.status_code == 400
    assert message not in chinese.content.decode()
    assert "回执" in chinese.content.decode()
    assert not KeptReceipt.objects.exists()


def test_a_post_without_a_file_stores_nothing(world: Personas) -> None:
    response = csrf_post(world.web("owner"), kept_url(world.case), {})
    assert response.status_code == 400
    assert not KeptReceipt.objects.exists()


def test_the_review_page_shows_the_reviewer_each_status(world: Personas) -> None:
    keep(world, 1, 2, 3)
    add_entry(world.case, "note", {"text": "第四条"})
    keep(world, 4)
    rewrite_body(Entry.objects.get(case=world.case, seq=3).pk, {"text": "改过了"})
    delete_entry(Entry.objects.get(case=world.case, seq=4).pk)
    reviewer = world.web("reviewer")
    page = reviewer.get(reverse("review", args=[world.case.pk]), **EN).content.decode()
    kept = page[page.index('id="kept-title"') :]
    kept = kept[: kept.index("</section>")]
    assert kept.count("✔ still holds") == 2
    assert kept.count("✘ removed") == 1 and "entry 4" in kept
    assert kept.count("✘ rewritten") == 1
    assert "Entry 3 is not the one this receipt was issued for" in kept
    assert kept.count("signed by this server") == 4
    chinese = reviewer.get(reverse("review", args=[world.case.pk]), HTTP_ACCEPT_LANGUAGE="zh-CN")
    text = chinese.content.decode()
    assert "当事人保存的回执" in text and "已被删除" in text and "已被改写" in text


def test_the_review_page_says_when_no_receipt_was_kept(world: Personas) -> None:
    page = world.web("viewer").get(reverse("review", args=[world.case.pk]), **EN)
    assert "No kept receipt has been uploaded." in page.content.decode()


def test_a_lawyers_look_at_the_kept_receipts_is_logged_in_words(world: Personas) -> None:
    world.web("owner").get(kept_url(world.case))
    assert not AccessLog.objects.exists()
    world.web("viewer").get(kept_url(world.case))
    (row,) = AccessLog.objects.filter(user=world.user("viewer"))
    assert (row.action, row.detail) == ("view", f"GET {kept_url(world.case)}")
    with translation.override("en"):
        assert access_wording.describe(row.detail, {}) == "the receipts the client kept"
