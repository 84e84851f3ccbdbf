"""A download of all of one person's data (Settings → Your data): one ZIP holding, for every
case they own, that case's export bundle as it is exported on its own (locker/exports/
bundle.py: `cases/<case id>.zip`, each checkable with tools/verify_evidence.py), their
account's own records as JSON, and a README in Chinese and English. Built by a worker
(locker.tasks.build_data_export) into a temporary file and stored sealed like evidence."""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

from django.core.files import File

from locker.exports.bundle import write_bundle
from locker.infra.sealed_values import SealedValueUnreadable
from locker.infra.storage import CHUNK, evidence_storage
from locker.models import Case, DataExport
from locker.selectors.cases import cases_owned_by
from locker.selectors.complainant import complaint_of
from locker.selectors.data_exports import (
    account_records,
    authorisation_member_name,
    case_member_name,
)
from locker.services import data_exports as services

log = logging.getLogger(__name__)

README_TEXT = """\
您在 Evidence Locker 的全部数据 / All your data in Evidence Locker
=================================================================

cases/<案件编号>.zip  您名下每个案件的导出包，与单独导出的完全相同：全部记录、证据文件、
                      实例签名的链尾和第三方时间戳。可用 tools/verify_evidence.py 独立核验。
cases.json            您的案件列表：标题、记录条数、档案（PDF）与联系人链接的概况，以及每个
                      案件的投诉资料（接收号码、签名方式、代理人）。
authorisations/       您为案件上传的代理人授权书原件。
account.json          您的账户资料和偏好设置、投诉人身份资料（姓名、证件、联系方式）和通行密钥列表。
security-events.json  您账户的安全日志（登录、失败的登录、令牌、密码和第二验证的更改）。
sessions.json         登录中的浏览器和 API 令牌（不含任何可用于登录的密钥）。
shares.json           您分享出去的案件和别人分享给您的案件。
kept-receipts.json    您保存并上传的回执。

这个文件含有您全部的证据，请妥善保管：任何拿到它的人都能看到里面的一切。

cases/<case id>.zip   each case you own, as its own export bundle, exactly as it is exported
                      alone: every record, the evidence files, the chain head signed by this
                      instance and the third-party time stamps. Check any of them without
                      this server: python3 tools/verify_evidence.py cases/<case id>.zip
cases.json            your cases: title, number of records, dossiers (PDFs), contact links,
                      and each case's complaint details (receiving numbers, signature, agent)
authorisations/       the agent authorisations you uploaded, as uploaded
account.json          your account and preferences, your complainant details (name, ID
                      document, contact details) and your passkeys (names and dates only)
security-events.json  your account's security log (sign-ins, failed sign-ins, tokens,
                      password and second-factor changes)
sessions.json         the browsers signed in and your API tokens (nothing that signs anyone in)
shares.json           the cases you shared, and the cases shared with you
kept-receipts.json    the receipts you kept and uploaded

This file holds all your evidence: keep it safe, anyone who has it can read all of it.
"""


@dataclass(frozen=True)
class BuiltExport:
    file_name: str
    sha256: str
    size: int
    cases: int


def write_account_zip(user: Any, out: IO[bytes], progress: Callable[[int], None]) -> int:
    """Write the download for `user` to `out` (seekable); returns how many cases it holds.
    Each bundle goes in stored as it is (it is a ZIP already: deflating it gains nothing)."""
    cases = list(cases_owned_by(user).order_by("created_at"))
    with zipfile.ZipFile(out, mode="w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", README_TEXT)
        for name, records in account_records(user).items():
            data = json.dumps(records, ensure_ascii=False, indent=2, sort_keys=True)
            archive.writestr(name, data.encode())
        for number, case in enumerate(cases, start=1):
            info = zipfile.ZipInfo(case_member_name(case), date_time=(2000, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED
            with archive.open(info, mode="w", force_zip64=True) as member:
                write_bundle(case, member)
            _write_authorisation(archive, case)
            progress(int(number * 95 / max(1, len(cases))))
    return len(cases)


def _write_authorisation(archive: zipfile.ZipFile, case: Case) -> None:
    """The case's uploaded agent authorisation, as uploaded (it is the owner's document)."""
    try:
        stored = complaint_of(case).authorisation
    except SealedValueUnreadable:
        return  # cases.json says "complaint": null for it
    if stored is None:
        return
    info = zipfile.ZipInfo(
        authorisation_member_name(case, stored.media_type), date_time=(2000, 1, 1, 0, 0, 0)
    )
    with (
        evidence_storage().open(stored.storage_name, "rb") as source,
        archive.open(info, mode="w", force_zip64=True) as member,
    ):
        while chunk := source.read(CHUNK):
            member.write(chunk)


def _sha256(handle: IO[bytes]) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    handle.seek(0)
    while chunk := handle.read(CHUNK):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def build_data_export(claim: services.ExportClaim) -> BuiltExport:
    """Make the claimed download and store it. Raises LeaseLost if another worker took the
    row over (the file this attempt stored is removed again)."""
    export = DataExport.objects.select_related("user").get(pk=claim.row_id)

    def progress(percent: int) -> None:
        services.report_progress(claim=claim, progress=percent)

    progress(1)
    storage = evidence_storage()
    name = services.storage_name_for(export)
    with tempfile.TemporaryFile() as spool:
        cases = write_account_zip(export.user, spool, progress)
        sha256, size = _sha256(spool)
        if storage.exists(name):
            # Left by an attempt that died between storing and finishing: ours to replace.
            storage.delete(name)
        spool.seek(0)
        stored = storage.save(name, File(spool, name="export.zip"))
    built = BuiltExport(file_name=stored, sha256=sha256, size=size, cases=cases)
    if not services.finish_data_export(
        claim=claim, file_name=stored, sha256=sha256, size=size, cases=cases
    ):
        storage.delete(stored)
        raise services.LeaseLost(f"data export {export.id}: lease lost before finishing")
    log.info("data export %s ready: %d case(s), %d bytes", export.id, cases, size)
    return built
