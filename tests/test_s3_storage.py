"""The evidence alias on S3 (issue 14): with LOCKER_STORAGE=s3 and the AWS_* variables, read by
config/settings.py exactly as in production, pointed at a real S3-protocol server on loopback
(moto's standalone server, its own process on a free port, stopped at the end). Every path
that stores or reads evidence goes through it: an append with a picture and its derived copy,
the export bundle, a dossier rendered by the task, a data export built by its task,
verify_chain, erasure and case deletion; what lands in the bucket is sealed (ciphertext, not
the picture's or the PDF's bytes), and what the app deletes leaves no version behind on the
versioned bucket `manage.py prepare_bucket` made."""

from __future__ import annotations

import io
import os
import runpy
import time
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import boto3
import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.core.management.base import CommandError

from locker import services, tasks
from locker.core import envelope
from locker.exports import bundle
from locker.exports.verification import verify_bundle_zip
from locker.infra.storage import evidence_storage
from locker.infra.thumbs import derived_copy
from locker.models import Case, DataExport, Dossier, EvidenceFile
from locker.services import data_exports as export_services
from locker.services import deletion
from locker.services import dossiers as dossier_services

from .dossier_helpers import screenshot_png, small_case
from .factories import PASSWORD, add_entry, make_case
from .faults.processes import MOTO_SERVER, MotoS3Server, free_port
from .prerequisites import needs

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = ROOT / "config" / "settings.py"
SECRET_TEXT = "催收员说要打给我妈妈 13912345678"


@pytest.fixture(scope="module")
def moto_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = MotoS3Server(tmp_path_factory.mktemp("moto"))
    server.start()
    try:
        server.wait_ready(60)
        yield server.endpoint
    finally:
        server.stop()


@dataclass
class Bucket:
    name: str
    client: Any

    def object_keys(self) -> list[str]:
        listed = self.client.list_objects_v2(Bucket=self.name).get("Contents", [])
        return sorted(item["Key"] for item in listed)

    def versions_of(self, key: str) -> list[dict[str, Any]]:
        listed = self.client.list_object_versions(Bucket=self.name, Prefix=key)
        return [
            v
            for v in listed.get("Versions", []) + listed.get("DeleteMarkers", [])
            if v["Key"] == key
        ]

    def raw(self, key: str) -> bytes:
        return bytes(self.client.get_object(Bucket=self.name, Key=key)["Body"].read())


def s3_environment(endpoint: str, bucket: str, data_dir: Path) -> dict[str, str]:
    """What compose.yaml gives web, worker and beat, with moto in place of SeaweedFS."""
    return {
        "LOCKER_DATA_DIR": str(data_dir),
        "LOCKER_STORAGE": "s3",
        "AWS_STORAGE_BUCKET_NAME": bucket,
        "AWS_S3_ENDPOINT_URL": endpoint,
        "AWS_S3_REGION_NAME": "us-east-1",
        "AWS_S3_ADDRESSING_STYLE": "path",
        "AWS_ACCESS_KEY_ID": "locker-test",
        "AWS_SECRET_ACCESS_KEY": "locker-test-secret",
        "AWS_S3_TIMEOUT_S": "5",
    }


@pytest.fixture
def s3(settings, tmp_path, moto_endpoint) -> Bucket:
    """The evidence alias as config/settings.py builds it from the environment, then the
    bucket prepared by `manage.py prepare_bucket`, as compose's bucket service does."""
    name = f"locker-{uuid.uuid4().hex[:12]}"
    env = s3_environment(moto_endpoint, name, tmp_path / "settings-data")
    with mock.patch.dict(os.environ, env, clear=True):
        built = runpy.run_path(str(SETTINGS))
    evidence = built["STORAGES"]["evidence"]
    assert evidence["BACKEND"] == "storages.backends.s3.S3Storage"
    settings.STORAGES = {**settings.STORAGES, "default": evidence, "evidence": evidence}
    settings.LOCKER_STORAGE = "s3"
    out = io.StringIO()
    call_command("prepare_bucket", stdout=out)
    assert f"bucket {name}: created, versioning Enabled" in out.getvalue()
    client = boto3.client(
        "s3",
        endpoint_url=moto_endpoint,
        region_name="us-east-1",
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )
    return Bucket(name, client)


def media_files() -> list[Path]:
    return [p for p in Path(django_settings.MEDIA_ROOT).rglob("*") if p.is_file()]


def assert_sealed(bucket: Bucket, key: str, *plaintexts: bytes) -> bytes:
    raw = bucket.raw(key)
    assert envelope.is_sealed(raw[: len(envelope.MAGIC)]), f"{key} is stored in the clear"
    for plain in plaintexts:
        assert plain[:64] not in raw, f"{key} holds its plaintext"
    return raw


@needs(MOTO_SERVER is not None, "moto_server (pip install 'moto[server]', in the dev extras)")
def test_prepare_bucket_makes_it_private_and_versioned_and_says_what_it_could_not(s3) -> None:
    assert s3.client.get_bucket_versioning(Bucket=s3.name)["Status"] == "Enabled"
    grants = s3.client.get_bucket_acl(Bucket=s3.name)["Grants"]
    assert not [g for g in grants if "URI" in g["Grantee"]], grants
    out = io.StringIO()
    call_command("prepare_bucket", stdout=out)  # a second run changes nothing
    assert "exists, versioning Enabled" in out.getvalue()
    # moto answers requests without credentials; SeaweedFS with its identities file and
    # AWS do not. The command says which it found.
    assert "answered an anonymous listing" in out.getvalue()


@needs(MOTO_SERVER is not None, "moto_server (pip install 'moto[server]', in the dev extras)")
def test_prepare_bucket_refuses_without_s3(settings) -> None:
    settings.LOCKER_STORAGE = "filesystem"
    with pytest.raises(CommandError, match="not s3"):
        call_command("prepare_bucket")


@needs(MOTO_SERVER is not None, "moto_server (pip install 'moto[server]', in the dev extras)")
def test_an_append_stores_the_picture_and_its_derived_copy_sealed_in_the_bucket(s3) -> None:
    picture = screenshot_png(seed=3)
    case = make_case()
    entry = services.append_entry(
        case=case,
        author=f"user:{case.owner_id}",
        kind="message",
        body={"channel": "sms", "text": SECRET_TEXT},
        uploads=[services.Upload(name="shot.png", stream=io.BytesIO(picture))],
    ).entry
    evidence = EvidenceFile.objects.get(case=case, sha256=entry.evidence[0]["sha256"])
    thumb = derived_copy(evidence, "thumb")
    assert thumb is not None
    keys = s3.object_keys()
    assert evidence.storage_name in keys and thumb in keys, keys
    assert_sealed(s3, evidence.storage_name, picture)
    assert_sealed(s3, thumb)
    with evidence_storage().open(evidence.storage_name, "rb") as handle:
        assert handle.read() == picture  # read back through the alias: the plaintext
    assert media_files() == []  # nothing went to the file system


@needs(MOTO_SERVER is not None, "moto_server (pip install 'moto[server]', in the dev extras)")
def test_the_export_bundle_carries_the_evidence_from_the_bucket_and_verifies(s3) -> None:
    picture = screenshot_png(seed=4)
    case = make_case()
    add_entry(case, "note", uploads=[services.Upload("shot.png", io.BytesIO(picture))])
    out = io.BytesIO()
    bundle.write_bundle(case, out)
    out.seek(0)
    report = verify_bundle_zip(out)
    assert report.ok, report.problem
    with zipfile.ZipFile(out) as archive:
        carried = [archive.read(n) for n in archive.namelist() if n.startswith("evidence/")]
    assert picture in carried


@needs(MOTO_SERVER is not None, "moto_server (pip install 'moto[server]', in the dev extras)")
def test_a_dossier_rendered_by_the_task_is_stored_sealed(s3) -> None:
    case = small_case()
    add_entry(case, "note", uploads=[services.Upload("s.png", io.BytesIO(screenshot_png(seed=5)))])
    dossier = dossier_services.request_dossier(
        case=case, user=case.owner, template="court", language="en"
    )
    assert tasks.render_dossier.apply(args=[str(dossier.pk)]).result == "ready"
    dossier.refresh_from_db()
    assert dossier.state == Dossier.State.READY and dossier.file_name in s3.object_keys()
    raw = assert_sealed(s3, dossier.file_name)
    assert b"%PDF" not in raw
    with evidence_storage().open(dossier.file_name, "rb") as handle:
        assert handle.read(5) == b"%PDF-"


@needs(MOTO_SERVER is not None, "moto_server (pip install 'moto[server]', in the dev extras)")
def test_a_data_export_built_by_its_task_is_stored_sealed_and_expires_from_the_bucket(
    s3,
) -> None:
    case = make_case()
    add_entry(case, "note", uploads=[services.Upload("s.png", io.BytesIO(screenshot_png(seed=6)))])
    export = export_services.request_data_export(user=case.owner)
    assert tasks.build_data_export.apply(args=[str(export.pk)]).get() == "ready"
    export.refresh_from_db()
    assert export.file_name in s3.object_keys()
    assert_sealed(s3, export.file_name, b"PK\x03\x04")
    DataExport.objects.filter(pk=export.pk).update(expires_at=export.created_at)
    assert export_services.expire_data_exports() == 1
    assert s3.versions_of(export.file_name) == []


@needs(MOTO_SERVER is not None, "moto_server (pip install 'moto[server]', in the dev extras)")
def test_verify_chain_reads_the_bucket_and_catches_a_changed_object(s3) -> None:
    case = make_case()
    add_entry(case, "note", uploads=[services.Upload("s.png", io.BytesIO(screenshot_png(seed=8)))])
    call_command("verify_chain", stdout=io.StringIO())
    [evidence] = EvidenceFile.objects.filter(case=case)
    raw = bytearray(s3.raw(evidence.storage_name))
    raw[-40] ^= 0x01  # one bit of the sealed bytes, in the bucket itself
    s3.client.put_object(Bucket=s3.name, Key=evidence.storage_name, Body=bytes(raw))
    with pytest.raises(CommandError):
        call_command("verify_chain", stdout=io.StringIO())


@needs(MOTO_SERVER is not None, "moto_server (pip install 'moto[server]', in the dev extras)")
def test_erasure_and_case_deletion_leave_no_version_in_the_bucket(
    s3, django_capture_on_commit_callbacks
) -> None:
    case = make_case()
    kept = add_entry(
        case, "note", uploads=[services.Upload("a.png", io.BytesIO(screenshot_png(seed=9)))]
    )
    erased = add_entry(
        case,
        "contact_report",
        {"contact_name": "王阿姨", "relation": "姨妈", "summary": SECRET_TEXT},
        uploads=[services.Upload("id.png", io.BytesIO(screenshot_png(seed=10)))],
    )
    [erased_file] = EvidenceFile.objects.filter(case=case, sha256=erased.evidence[0]["sha256"])
    erased_thumb = derived_copy(erased_file, "thumb")
    names = [erased_file.storage_name, erased_thumb]
    with django_capture_on_commit_callbacks(execute=True):
        services.erase_entry(
            case=case, seq=erased.seq, user=case.owner, author=f"user:{case.owner_id}"
        )
    for name in names:
        assert name not in s3.object_keys()
        assert s3.versions_of(name) == [], f"{name}: a version survived the erasure"
    [kept_file] = EvidenceFile.objects.filter(case=case, sha256=kept.evidence[0]["sha256"])
    assert kept_file.storage_name in s3.object_keys()
    call_command("verify_chain", "--case", str(case.pk), stdout=io.StringIO())

    with django_capture_on_commit_callbacks(execute=True):
        deletion.delete_case(case=case, user=case.owner, password=PASSWORD)
    assert not Case.objects.filter(pk=case.pk).exists()
    left = [key for key in s3.object_keys() if str(case.pk) in key]
    assert left == []
    listed = s3.client.list_object_versions(Bucket=s3.name)
    survivors = [
        v["Key"]
        for v in listed.get("Versions", []) + listed.get("DeleteMarkers", [])
        if str(case.pk) in v["Key"]
    ]
    assert survivors == [], survivors


@needs(MOTO_SERVER is not None, "moto_server (pip install 'moto[server]', in the dev extras)")
def test_readyz_asks_the_bucket_and_fails_fast_when_the_store_is_away(s3, settings) -> None:
    from django.test import Client

    response = Client().get("/readyz")
    assert response.status_code == 200 and response.json()["storage"] == "ok"

    evidence = dict(settings.STORAGES["evidence"])
    evidence["OPTIONS"] = {
        **evidence["OPTIONS"],
        "endpoint_url": f"http://127.0.0.1:{free_port()}",  # nothing listens there
    }
    settings.STORAGES = {**settings.STORAGES, "evidence": evidence}
    started = time.monotonic()
    response = Client(raise_request_exception=False).get("/readyz")
    assert time.monotonic() - started < 8
    assert response.status_code == 503 and response.json()["storage"] == "unavailable"


@needs(MOTO_SERVER is not None, "moto_server (pip install 'moto[server]', in the dev extras)")
def test_a_replaced_mismatching_copy_keeps_its_older_version(s3) -> None:
    """Versioning is for what is overwritten: a stored copy whose bytes no longer match is
    replaced by the right bytes, and the bucket keeps the bad copy as an older version."""
    picture = screenshot_png(seed=11)
    case = make_case()
    add_entry(case, "note", uploads=[services.Upload("a.png", io.BytesIO(picture))])
    [evidence] = EvidenceFile.objects.filter(case=case)
    s3.client.put_object(Bucket=s3.name, Key=evidence.storage_name, Body=b"not the picture")
    add_entry(case, "note", uploads=[services.Upload("again.png", io.BytesIO(picture))])
    with evidence_storage().open(evidence.storage_name, "rb") as handle:
        assert handle.read() == picture
    versions = [v for v in s3.versions_of(evidence.storage_name) if "Size" in v]
    assert len(versions) == 3, versions  # the first copy, the bad one, the replacement
