"""Privacy (issue 12, item 6): downloading all one's data, and deleting a case or a whole
account. Each test is an attack or a fault with its expected outcome: another person cannot
download or delete, a wrong password deletes nothing, a GET deletes nothing, deleting case A
leaves case B whole and verifiable, the bytes leave the storage, other people's anchored
receipts still verify, a lawyer's share ends at once, and the download holds every case its
owner has and nobody else's. The append-only tables still refuse every other DELETE."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.conf import settings as django_settings
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from locker import services, tasks
from locker.core import anchors, envelope
from locker.dossier.build import dossier_file_name
from locker.exports.verification import verify_bundle_zip
from locker.infra.storage import evidence_storage
from locker.infra.thumbs import derived_copy
from locker.models import (
    AccessLog,
    Anchor,
    AnchorLeaf,
    ApiToken,
    Case,
    Checkpoint,
    DataExport,
    Entry,
    EvidenceFile,
    SecurityEvent,
    Share,
    UserSession,
)
from locker.models.append_only import delete_rows_of, deleting_case
from locker.selectors.anchors import anchored_receipt
from locker.selectors.chain import verify_case
from locker.services import data_exports as export_services
from locker.services import deletion
from locker.services import dossiers as dossier_services

from ..conftest import is_postgres, needs
from ..dossier_helpers import screenshot_png
from ..factories import PASSWORD, UserFactory, add_entry, make_case, share_with
from ..tsa import anchored_round, tsa_pair  # noqa: F401 (tsa_pair: a fixture)
from ..ui_helpers import client_for, csrf_post

pytestmark = pytest.mark.django_db
SECRET_TEXT = "催收员威胁要打给我妈妈"


def case_with_files(owner: Any, title: str, seed: int) -> Case:
    """A case with a screenshot (and its derived copy) and a dossier PDF in the storage."""
    case = make_case(owner=owner, title=title)
    entry = services.append_entry(
        case=case,
        author=f"user:{owner.pk}",
        kind="message",
        body={"channel": "sms", "text": SECRET_TEXT},
        uploads=[services.Upload(name="shot.png", stream=io.BytesIO(screenshot_png(seed=seed)))],
    ).entry
    evidence = EvidenceFile.objects.get(case=case, sha256=entry.evidence[0]["sha256"])
    assert derived_copy(evidence, "thumb") is not None
    dossier = dossier_services.request_dossier(
        case=case, user=owner, template="court", language="zh-hans"
    )
    name = evidence_storage().save(dossier_file_name(dossier), io.BytesIO(b"%PDF-1.7 signed"))
    type(dossier).objects.filter(pk=dossier.pk).update(state="ready", file_name=name)
    return case


def files_of(case: Case) -> list[Path]:
    media = Path(django_settings.MEDIA_ROOT)
    return [
        path
        for root in deletion.CASE_FILE_ROOTS
        for path in (media / root / str(case.pk)).rglob("*")
        if path.is_file()
    ]


def built_export(user: Any) -> DataExport:
    export = export_services.request_data_export(user=user)
    assert tasks.build_data_export.apply(args=[str(export.pk)]).get() == "ready"
    export.refresh_from_db()
    return export


def zip_members(response: Any) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def current_code(user: Any) -> str:
    return f"{totp(TOTPDevice.objects.get(user=user).bin_key):06d}"


def with_authenticator(user: Any) -> None:
    TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)


# The download of all one's data ------------------------------------------------------------


def test_the_download_holds_every_owned_case_as_a_verifying_bundle_and_no_one_elses() -> None:
    owner, other = UserFactory(), UserFactory()
    mine = [case_with_files(owner, "甲", 1), make_case(owner=owner, title="乙")]
    theirs = case_with_files(other, "别人的", 2)
    shared_with_me = make_case(owner=other, title="分享给我的")
    share_with(shared_with_me, owner, Share.REVIEWER)
    export = built_export(owner)
    assert export.state == DataExport.State.READY and export.cases == 2

    response = client_for(owner).get(reverse("data_export_download", args=[export.pk]))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    archive = zip_members(response)
    names = set(archive.namelist())
    assert {f"cases/{case.pk}.zip" for case in mine} <= names
    assert f"cases/{theirs.pk}.zip" not in names
    assert f"cases/{shared_with_me.pk}.zip" not in names
    for case in mine:
        report = verify_bundle_zip(io.BytesIO(archive.read(f"cases/{case.pk}.zip")))
        assert report.ok, report.problem
    account = json.loads(archive.read("account.json"))
    assert account["username"] == owner.username
    index = {row["id"]: row for row in json.loads(archive.read("cases.json"))}
    assert set(index) == {str(case.pk) for case in mine}
    received = json.loads(archive.read("shares.json"))["received"]
    assert [row["case"] for row in received] == [str(shared_with_me.pk)]
    assert json.loads(archive.read("security-events.json"))[0]["kind"] == "data_export_requested"
    readme = archive.read("README.txt").decode()
    assert "全部数据" in readme and "All your data" in readme
    everything = b"".join(archive.read(name) for name in names if not name.startswith("cases/"))
    assert owner.password.encode() not in everything  # no hash, no token, no session key
    # Fetching it is in the owner's security log.
    assert SecurityEvent.objects.filter(user=owner, kind="data_export_downloaded").exists()


def test_the_download_holds_the_complainant_details_the_authorisation_and_the_passkeys() -> None:
    """What the person gave for their complaints is theirs to take: whole (not masked), with
    the authorisation as uploaded; a passkey appears by name only, never its key."""
    import hashlib

    from locker.models import Passkey

    from ..test_dossier_complainant import PERSON, fill_in

    owner = UserFactory()
    case = make_case(owner=owner, title="甲")
    fill_in(case)
    Passkey.objects.create(
        user=owner,
        name="我的手机",
        credential_id=b"\x01credential",
        public_key=b"\x02cose-key",
        user_handle=b"handle",
    )
    archive = zip_members(
        client_for(owner).get(reverse("data_export_download", args=[built_export(owner).pk]))
    )
    account = json.loads(archive.read("account.json"))
    assert account["complainant"]["id_number"] == PERSON["id_number"].replace(" ", "").upper()
    assert account["complainant"]["legal_name"] == PERSON["legal_name"]
    assert [row["name"] for row in account["passkeys"]] == ["我的手机"]
    complaint = json.loads(archive.read("cases.json"))[0]["complaint"]
    assert complaint["agent_name"]
    stored = complaint["authorisation"]
    picture = archive.read(stored["file"])
    assert stored["file"] == f"authorisations/{case.pk}.png"
    assert hashlib.sha256(picture).hexdigest() == stored["sha256"]
    assert picture.startswith(b"\x89PNG")
    everything = b"".join(archive.read(name) for name in archive.namelist())
    assert b"cose-key" not in everything and b"credential" not in everything


def test_the_stored_download_is_sealed_and_nobody_else_can_fetch_it() -> None:
    owner, stranger = UserFactory(), UserFactory()
    case_with_files(owner, "甲", 3)
    export = built_export(owner)
    raw = (Path(django_settings.MEDIA_ROOT) / export.file_name).read_bytes()
    assert envelope.is_sealed(raw) and SECRET_TEXT.encode() not in raw
    intruder = client_for(stranger)
    for name in ("data_export_detail", "data_export_status", "data_export_download"):
        assert intruder.get(reverse(name, args=[export.pk])).status_code == 404
    token = services.issue_token(user=stranger)[1]
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert api.get(f"/api/account/data-exports/{export.pk}").status_code == 404
    assert api.get(f"/api/account/data-exports/{export.pk}/zip").status_code == 404
    assert Client().get(reverse("data_export_download", args=[export.pk])).status_code == 302
    assert not SecurityEvent.objects.filter(kind="data_export_downloaded").exists()


def test_the_api_asks_for_the_download_and_fetches_it() -> None:
    owner = UserFactory()
    make_case(owner=owner)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {services.issue_token(user=owner)[1]}")
    first = api.post("/api/account/data-exports")
    assert first.status_code == 202
    # One at a time: asking again while it waits answers the same one.
    assert api.post("/api/account/data-exports").json()["id"] == first.json()["id"]
    export_id = first.json()["id"]
    waiting = api.get(f"/api/account/data-exports/{export_id}/zip")
    assert waiting.status_code == 409 and "not ready" in waiting.json()["detail"]
    chinese = api.get(f"/api/account/data-exports/{export_id}/zip", HTTP_ACCEPT_LANGUAGE="zh-CN")
    assert "还没有准备好" in chinese.json()["detail"]
    tasks.build_data_export.apply(args=[export_id])
    status = api.get(f"/api/account/data-exports/{export_id}").json()
    assert status["status"] == "ready" and status["cases"] == 1
    fetched = api.get(f"/api/account/data-exports/{export_id}/zip")
    assert fetched.status_code == 200 and fetched["Content-Type"] == "application/zip"
    assert "account.json" in zip_members(fetched).namelist()


def test_the_download_is_deleted_after_its_keeping_time(settings) -> None:
    settings.LOCKER_DATA_EXPORT_KEEP_S = 3600
    owner = UserFactory()
    make_case(owner=owner)
    export = built_export(owner)
    stored = Path(django_settings.MEDIA_ROOT) / export.file_name
    assert stored.exists()
    tasks.tend_data_exports.apply()
    assert stored.exists()  # not yet
    with time_machine.travel(timezone.now() + timedelta(seconds=3601)):
        tasks.tend_data_exports.apply()
    export.refresh_from_db()
    assert export.state == DataExport.State.EXPIRED and not stored.exists()
    response = client_for(owner).get(reverse("data_export_download", args=[export.pk]))
    assert response.status_code == 302  # back to its page, which says it expired


def test_a_lost_build_message_is_sent_again_and_a_claim_is_taken_once() -> None:
    owner = UserFactory()
    export = export_services.request_data_export(user=owner)
    claim = export_services.claim_data_export(export_id=export.pk)
    assert claim is not None
    assert export_services.claim_data_export(export_id=export.pk) is None  # duplicate delivery
    assert tasks.build_data_export.apply(args=[str(export.pk)]).get() == "not claimed"
    with time_machine.travel(timezone.now() + timedelta(seconds=export_services.LEASE_S + 1)):
        assert export_services.sweep_data_exports() == [export.pk]


# Deleting a case -----------------------------------------------------------------------------


def delete_case_url(case: Case) -> str:
    return reverse("case_delete", args=[case.pk])


def test_opening_the_delete_page_deletes_nothing_and_says_what_happens() -> None:
    owner = UserFactory()
    case = case_with_files(owner, "甲", 4)
    page = client_for(owner).get(delete_case_url(case), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert page.status_code == 200
    text = page.content.decode()
    for words in ("律师", "无法撤销", "时间戳"):
        assert words in text, words
    english = client_for(owner).get(delete_case_url(case), HTTP_ACCEPT_LANGUAGE="en")
    assert "cannot be undone" in english.content.decode()
    assert Case.objects.filter(pk=case.pk).exists() and files_of(case)


def test_a_wrong_password_deletes_nothing_and_is_logged() -> None:
    owner = UserFactory()
    case = case_with_files(owner, "甲", 5)
    before = files_of(case)
    response = csrf_post(client_for(owner), delete_case_url(case), {"password": "guess"})
    assert response.status_code == 400
    assert "nothing was deleted" in response.content.decode() or "没有删除" in (
        response.content.decode()
    )
    assert Entry.objects.filter(case=case).count() == 2 and files_of(case) == before
    assert SecurityEvent.objects.filter(user=owner, kind="deletion_refused").count() == 1


def test_csrf_is_required_to_delete() -> None:
    owner = UserFactory()
    case = make_case(owner=owner)
    response = client_for(owner).post(delete_case_url(case), {"password": PASSWORD})
    assert response.status_code == 403
    assert Case.objects.filter(pk=case.pk).exists()


@pytest.mark.parametrize("who", ["reviewer", "viewer", "stranger"])
def test_nobody_but_the_owner_can_delete_a_case_even_with_their_own_password(who: str) -> None:
    case = make_case()
    person = UserFactory()
    if who != "stranger":
        share_with(case, person, who)
    response = csrf_post(client_for(person), delete_case_url(case), {"password": PASSWORD})
    assert response.status_code == 404
    assert Case.objects.filter(pk=case.pk).exists()
    with pytest.raises(PermissionError):
        deletion.delete_case(case=case, user=person, password=PASSWORD)


def test_a_second_factor_is_required_when_the_account_has_one(django_capture_on_commit_callbacks):
    owner = UserFactory()
    case = make_case(owner=owner)
    with_authenticator(owner)
    client = client_for(owner)
    alone = csrf_post(client, delete_case_url(case), {"password": PASSWORD})
    assert alone.status_code == 400 and Case.objects.filter(pk=case.pk).exists()
    wrong = csrf_post(client, delete_case_url(case), {"password": PASSWORD, "code": "000000"})
    assert wrong.status_code == 400 and Case.objects.filter(pk=case.pk).exists()
    # django-otp pauses a device after a wrong code: the owner tries again a while later.
    with (
        time_machine.travel(timezone.now() + timedelta(minutes=1)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        done = csrf_post(
            client, delete_case_url(case), {"password": PASSWORD, "code": current_code(owner)}
        )
    assert done.status_code == 302 and not Case.objects.filter(pk=case.pk).exists()


def test_deleting_case_a_leaves_case_b_whole_and_removes_a_s_bytes(
    django_capture_on_commit_callbacks,
) -> None:
    owner = UserFactory()
    first, second = case_with_files(owner, "甲", 6), case_with_files(owner, "乙", 7)
    doomed, kept = files_of(first), files_of(second)
    assert len(doomed) == 3 and len(kept) == 3  # original, derived copy, dossier PDF
    with django_capture_on_commit_callbacks(execute=True):
        response = csrf_post(client_for(owner), delete_case_url(first), {"password": PASSWORD})
    assert response.status_code == 302
    assert not any(path.exists() for path in doomed)
    assert all(path.exists() for path in kept)
    for model in (Entry, Checkpoint, EvidenceFile):
        assert not model.objects.filter(case_id=first.pk).exists()
    assert verify_case(second).ok
    assert Entry.objects.filter(case=second).count() == 2
    event = SecurityEvent.objects.get(user=owner, kind="case_deleted")
    assert event.detail == str(first.pk)[:8]


def test_the_complainants_details_and_the_agents_authorisation_go_with_the_account(
    django_capture_on_commit_callbacks,
) -> None:
    """The identity details (sealed rows) and the authorisation picture (a file outside
    evidence/) are the most sensitive things the account holds: nothing of them stays."""
    from locker.models import CaseComplaint, ComplainantDetails

    from ..test_dossier_complainant import fill_in

    owner = UserFactory()
    case = make_case(owner=owner, title="甲")
    fill_in(case)
    authorisation = [path for path in files_of(case) if "authorisations" in path.parts]
    assert len(authorisation) == 1
    with django_capture_on_commit_callbacks(execute=True):
        response = csrf_post(client_for(owner), reverse("account_delete"), {"password": PASSWORD})
    assert response.status_code == 302
    assert not authorisation[0].exists()
    assert not ComplainantDetails.objects.filter(user_id=owner.pk).exists()
    assert not CaseComplaint.objects.filter(case_id=case.pk).exists()


def test_a_stored_download_holding_the_deleted_case_goes_with_it(
    django_capture_on_commit_callbacks,
) -> None:
    owner = UserFactory()
    case = make_case(owner=owner)
    export = built_export(owner)
    stored = Path(django_settings.MEDIA_ROOT) / export.file_name
    with django_capture_on_commit_callbacks(execute=True):
        deletion.delete_case(case=case, user=owner, password=PASSWORD)
    export.refresh_from_db()
    assert export.state == DataExport.State.EXPIRED and not stored.exists()


def test_a_lawyers_share_ends_at_once() -> None:
    owner, lawyer = UserFactory(), UserFactory()
    case = make_case(owner=owner)
    share_with(case, lawyer, Share.REVIEWER)
    desk = client_for(lawyer)
    assert desk.get(reverse("case_detail", args=[case.pk])).status_code == 200
    api = Client(HTTP_AUTHORIZATION=f"Bearer {services.issue_token(user=lawyer)[1]}")
    deletion.delete_case(case=case, user=owner, password=PASSWORD)
    assert desk.get(reverse("case_detail", args=[case.pk])).status_code == 404
    assert api.get(f"/api/cases/{case.pk}").status_code == 404
    assert api.get("/api/shared-cases").json() == []
    assert not AccessLog.objects.filter(case_id=case.pk).exists()


def test_a_failure_before_the_commit_deletes_no_row_and_no_byte(monkeypatch) -> None:
    owner = UserFactory()
    case = case_with_files(owner, "甲", 8)
    before = files_of(case)

    def broken(**kwargs: Any) -> None:
        if kwargs.get("kind") == "case_deleted":
            raise DatabaseError("the database went away")

    monkeypatch.setattr(deletion, "record_security_event", broken)
    with pytest.raises(DatabaseError):
        deletion.delete_case(case=case, user=owner, password=PASSWORD)
    assert Entry.objects.filter(case=case).count() == 2 and files_of(case) == before
    assert verify_case(case).ok


def test_other_peoples_anchored_receipts_still_verify(settings, tsa_pair) -> None:  # noqa: F811
    settings.LOCKER_TSA_URLS = [tsa.url for tsa in tsa_pair]
    start = timezone.now().replace(microsecond=0) - timedelta(hours=2)
    with time_machine.travel(start, tick=False):
        doomed, kept = make_case(), make_case()
        add_entry(doomed)
        add_entry(kept)
    anchored_round(tsa_pair, start)
    kept_checkpoint = Checkpoint.objects.filter(case=kept).order_by("-length").first()
    doomed_checkpoint = Checkpoint.objects.filter(case=doomed).order_by("-length").first()
    assert kept_checkpoint is not None and doomed_checkpoint is not None
    shared_round = AnchorLeaf.objects.get(checkpoint=kept_checkpoint).anchor
    assert AnchorLeaf.objects.filter(anchor=shared_round, case=doomed).exists()
    mailed_before = anchored_receipt(doomed_checkpoint)  # a receipt mailed to the owner

    deletion.delete_case(case=doomed, user=doomed.owner, password=PASSWORD)

    assert not AnchorLeaf.objects.filter(case_id=doomed.pk).exists()
    assert Anchor.objects.filter(pk=shared_round.pk).exists()  # the round is the others' too
    receipt = anchored_receipt(kept_checkpoint)
    assert anchors.check_anchored_receipt(receipt).ok
    assert anchors.check_anchored_receipt(mailed_before).ok  # what left still verifies
    response = client_for(kept.owner).get(reverse("export_zip", args=[kept.pk]))
    report = verify_bundle_zip(io.BytesIO(b"".join(response.streaming_content)))
    assert report.ok, report.problem


# Deleting an account ---------------------------------------------------------------------------


def test_deleting_an_account_removes_it_all_and_ends_every_way_in(
    django_capture_on_commit_callbacks,
) -> None:
    owner, lawyer = UserFactory(), UserFactory()
    case = case_with_files(owner, "甲", 9)
    share_with(case, lawyer, Share.VIEWER)
    other_phone = client_for(owner)
    assert other_phone.get("/cases/").status_code == 200
    token = services.issue_token(user=owner)[1]
    doomed = files_of(case)
    here = client_for(owner)
    assert here.get(reverse("account_delete")).status_code == 200  # GET deletes nothing
    assert Case.objects.filter(pk=case.pk).exists()
    assert csrf_post(here, reverse("account_delete"), {"password": "wrong"}).status_code == 400
    with django_capture_on_commit_callbacks(execute=True):
        response = csrf_post(here, reverse("account_delete"), {"password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == reverse("account_deleted")
    assert not type(owner).objects.filter(pk=owner.pk).exists()
    assert not Case.objects.filter(pk=case.pk).exists()
    assert not any(path.exists() for path in doomed)
    assert not SecurityEvent.objects.filter(user_id=owner.pk).exists()
    assert not UserSession.objects.filter(user_id=owner.pk).exists()
    assert not ApiToken.objects.filter(user_id=owner.pk).exists()
    assert other_phone.get("/cases/").status_code == 302
    assert here.get("/cases/").status_code == 302
    assert Client(HTTP_AUTHORIZATION=f"Bearer {token}").get("/api/cases").status_code == 401
    assert client_for(lawyer).get(reverse("case_detail", args=[case.pk])).status_code == 404


def test_a_lawyer_deleting_their_account_leaves_the_clients_records_whole() -> None:
    client_user, lawyer = UserFactory(), UserFactory()
    case = make_case(owner=client_user)
    share_with(case, lawyer, Share.REVIEWER)
    assert client_for(lawyer).get(reverse("case_detail", args=[case.pk])).status_code == 200
    seen = AccessLog.objects.filter(case=case, user=lawyer).count()
    assert seen >= 1
    deletion.delete_account(user=lawyer, password=PASSWORD)
    row = type(lawyer).objects.get(pk=lawyer.pk)  # named by the client's access log
    assert row.username.startswith("deleted-") and not row.email and not row.is_active
    assert not row.has_usable_password()
    assert AccessLog.objects.filter(case=case).count() == seen
    assert Share.objects.get(case=case).status == "ended"
    assert verify_case(case).ok
    assert not Client().login(username=lawyer.username, password=PASSWORD)


# The append-only tables still refuse every other DELETE -------------------------------------


def test_a_plain_delete_of_one_entry_is_still_refused_in_the_model_layer() -> None:
    first, second = make_case(), make_case()
    entry = add_entry(second)
    with pytest.raises(PermissionError):
        Entry.objects.filter(pk=entry.pk).delete()
    with pytest.raises(PermissionError):
        entry.delete()
    with pytest.raises(PermissionError):
        delete_rows_of(Entry.objects.filter(pk=entry.pk))  # outside a case's deletion
    with transaction.atomic(), deleting_case(first.pk):
        # Inside case A's deletion, case B's rows are out of reach.
        assert delete_rows_of(Entry.objects.filter(pk=entry.pk)) == 0
    assert Entry.objects.filter(case=second).count() == 2


ON_POSTGRES = needs(is_postgres(), "triggers exist only on PostgreSQL (set DATABASE_URL; CI does)")


def raw(sql: str, params: list[Any]) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


@ON_POSTGRES
@pytest.mark.parametrize(
    "table", ["entry", "checkpoint", "keptreceipt", "accesslog", "anchorleaf", "securityevent"]
)
def test_postgresql_refuses_a_plain_delete_on_every_guarded_table(table: str) -> None:
    case_with_rows_in_every_guarded_table()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM locker_{table}")  # noqa: S608 - a fixed name
        before = cursor.fetchone()[0]
    assert before >= 1
    with pytest.raises(DatabaseError, match="append-only"):
        raw(f"DELETE FROM locker_{table}", [])  # noqa: S608 - a fixed table name
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM locker_{table}")  # noqa: S608 - a fixed name
        assert cursor.fetchone()[0] == before


def case_with_rows_in_every_guarded_table() -> Case:
    """A case with an entry, checkpoints, a kept receipt, an access-log row, an anchor leaf
    and its owner's security event: a DELETE meets a row in each guarded table."""
    owner, lawyer = UserFactory(), UserFactory()
    case = make_case(owner=owner)
    add_entry(case)
    checkpoint = Checkpoint.objects.filter(case=case).order_by("-length").first()
    assert checkpoint is not None
    services.add_kept_receipt(case=case, user=owner, data=json.dumps(checkpoint.document).encode())
    share_with(case, lawyer, Share.VIEWER)
    assert client_for(lawyer).get(reverse("case_detail", args=[case.pk])).status_code == 200
    now = timezone.now()
    anchor = Anchor.objects.create(
        root="ab" * 32, tree_size=1, anchored_at=now, attested_at=now, tokens=[]
    )
    AnchorLeaf.objects.create(
        anchor=anchor,
        checkpoint=checkpoint,
        case=case,
        length=checkpoint.length,
        leaf_index=0,
        proof=[],
    )
    services.record_security_event(user=owner, kind="login")
    return case


@ON_POSTGRES
def test_postgresql_lets_only_the_named_cases_rows_go() -> None:
    first, second = make_case(), make_case()
    entry = add_entry(second)
    with pytest.raises(DatabaseError, match="append-only"):
        raw("DELETE FROM locker_entry WHERE id = %s", [entry.pk])
    # The setting names case A: case B's entry is still refused.
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("SELECT set_config('locker.deleting_case', %s, true)", [str(first.pk)])
        cursor.execute("DELETE FROM locker_entry WHERE id = %s", [entry.pk])
    with pytest.raises(DatabaseError, match="append-only"):
        raw("UPDATE locker_entry SET body = '{}' WHERE case_id = %s", [first.pk])
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('locker.deleting_case', %s, true)", [str(second.pk)])
        cursor.execute("DELETE FROM locker_anchorleaf WHERE case_id = %s", [second.pk])
        cursor.execute("DELETE FROM locker_checkpoint WHERE case_id = %s", [second.pk])
        cursor.execute("DELETE FROM locker_entry WHERE case_id = %s", [second.pk])
        assert cursor.rowcount == 2
        transaction.set_rollback(True)
    assert Entry.objects.filter(case=second).count() == 2
    # After a deletion the setting is narrowed again within the same transaction.
    with transaction.atomic():
        deletion.delete_case(case=first, user=first.owner, password=PASSWORD)
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute("DELETE FROM locker_entry WHERE id = %s", [entry.pk])


@ON_POSTGRES
def test_postgresql_security_log_goes_only_with_its_account() -> None:
    person, other = UserFactory(), UserFactory()
    for user in (person, other):
        services.record_security_event(user=user, kind="login")
    with pytest.raises(DatabaseError, match="append-only"):
        raw("DELETE FROM locker_securityevent WHERE user_id = %s", [person.pk])
    deletion.delete_account(user=person, password=PASSWORD)
    assert not SecurityEvent.objects.filter(user_id=person.pk).exists()
    assert SecurityEvent.objects.filter(user=other).count() == 1
