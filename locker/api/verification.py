"""POST /api/verify: anyone, without an account, checks a dossier PDF or an export bundle (ZIP),
optionally against a receipt they kept. Listed under the "dossiers" tag, as it always was."""

from __future__ import annotations

from typing import Any, Literal

from django.conf import settings
from django.http import HttpRequest
from ninja import Field, File, Router, Schema
from ninja.errors import HttpError
from ninja.files import UploadedFile

from locker.api.auth import VerifyThrottle
from locker.api.errors import refusals
from locker.core.anchors import report_json
from locker.dossier.verify import verify_upload
from locker.infra import ratelimit

router = Router(tags=["dossiers"])


class AttestedRangeOut(Schema):
    first_seq: int
    last_seq: int
    recorded_from: str | None
    recorded_to: str | None
    attested_at: str | None = Field(description="earliest trusted TSA time; null: not yet")
    attested_by: list[str]
    largest_lag_s: int | None
    late: bool = Field(description="attested later than recorded by more than late_after_s")


class AnchorConflictOut(Schema):
    length: int
    head: str
    attested_at: str | None


class AnchorRejectedOut(Schema):
    length: int
    head: str
    problems: list[str]


class AttestationOut(Schema):
    ranges: list[AttestedRangeOut]
    attested_length: int
    first_late_seq: int | None
    late_after_s: int
    conflicts: list[AnchorConflictOut] = Field(
        description="anchored heads the chain no longer has: rewritten after a TSA saw them"
    )
    rejected: list[AnchorRejectedOut]


class SignerOut(Schema):
    fingerprint_sha256: str
    status: Literal["current", "former", "unknown"] = Field(
        description="this instance's current signing key, a former one (see GET /api/keys), "
        "or a key this instance does not know"
    )


class VerifyOut(Schema):
    ok: bool
    kind: str
    problem: str | None = None
    first_bad_seq: int | None = None
    case: str | None = None
    length: int
    head: str
    signer_fingerprint: str | None = None
    signer: SignerOut | None = None
    checkpoint_trusted: bool
    head_known: bool
    receipt_checked: bool
    notes: list[str]
    attestation: AttestationOut | None = Field(
        None, description="third-party time from anchors.json; null when the file has none"
    )
    anchors_problem: str | None = None


@router.post(
    "/verify",
    auth=None,
    response={200: VerifyOut, **refusals(413, 429)},
    throttle=[VerifyThrottle()],
    summary="Verify a dossier PDF or an export bundle (ZIP); no account needed",
)
def verify(
    request: HttpRequest,
    file: UploadedFile = File(...),  # noqa: B008 - ninja's way to declare an upload
    receipt: UploadedFile | None = File(None),  # noqa: B008
) -> dict[str, Any]:
    if file.size is not None and file.size > settings.LOCKER_VERIFY_MAX_BYTES:
        raise HttpError(413, "the file is too large to verify here")
    # The per-address limit is the route's throttle; this is the instance-wide one.
    if not ratelimit.instance_admits_verification():
        raise HttpError(429, "this server is verifying many files now; try again in a minute")
    kind, report = verify_upload(file, receipt)
    computed = {
        "kind": kind,
        "signer": report.signer.as_json() if report.signer else None,
        "attestation": report_json(report.attestation) if report.attestation else None,
    }
    return {
        **{k: getattr(report, k) for k in VerifyOut.model_fields if k not in computed},
        **computed,
    }
