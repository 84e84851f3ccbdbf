"""Verification of a dossier PDF (spec section 6), for `verify_bundle`, the /verify page
and POST /api/verify: the one signature is a certification by this instance's CA that
covers the whole file, or (PAdES B-LTA) is followed only by what long-term validation adds,
a DSS and document time-stamps, the last of which covers the rest of the file; the
embedded entries.jsonl and checkpoint.json verify by the same chain rules as a bundle, the
head stated on the verification page is the checkpoint's, and this instance signed that
head. The embedded anchors.json, when there is one, is read back for the caller
(`BundleReport.anchors`).

The file is untrusted input and pyHanko can raise on malformed signatures: any exception
makes the result "not verified"."""

from __future__ import annotations

import logging
import re
import zlib
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from typing import IO, Any

from cryptography import x509
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.fields import MDPPerm
from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from locker.core import anchors as core_anchors
from locker.core.chain import parse_json, parse_jsonl
from locker.dossier.pdf_verification import MACHINE_LINE_PREFIX
from locker.dossier.sign import ANCHORS_NAME, CHECKPOINT_NAME, ENTRIES_NAME, asn1_certificate
from locker.exports.verification import (
    UNBOUNDED,
    BundleReport,
    VerificationTooCostly,
    Work,
    WorkLimits,
    verify_bundle_zip,
    verify_lines_and_checkpoint,
)
from locker.infra import signing
from locker.services import InputError

log = logging.getLogger(__name__)

MAX_PDF_BYTES = 512 * 1024 * 1024
MAX_EMBEDDED_BYTES = 256 * 1024 * 1024
_MACHINE_LINE = re.compile(
    re.escape(MACHINE_LINE_PREFIX).encode()
    + rb" case=([0-9a-f-]{36}) length=(\d+) head=([0-9a-f]{64})"
)


class DossierInvalid(Exception):
    pass


def _read(source: str | Path | IO[bytes]) -> bytes:
    if isinstance(source, str | Path):
        with open(source, "rb") as handle:
            data = handle.read(MAX_PDF_BYTES + 1)
    else:
        if hasattr(source, "seek"):
            source.seek(0)
        data = source.read(MAX_PDF_BYTES + 1)
    if len(data) > MAX_PDF_BYTES:
        raise DossierInvalid(_("the file is too large to verify here"))
    if not data.startswith(b"%PDF-"):
        raise DossierInvalid(_("the file is not a PDF"))
    return data


def _deref(value: Any) -> Any:
    return value.get_object() if isinstance(value, generic.IndirectObject) else value


def _decoded(stream: Any, work: Work, limit: int) -> bytes:
    """A stream's data, decoded only once its inflated size is known to be within `limit`
    (and the work's bytes): a few kB of Flate can claim gigabytes. Only the filters our
    dossiers use are read, Flate first if at all; others shrink their input."""
    filters = stream.get("/Filter")
    names = (
        []
        if filters is None
        else [filters]
        if isinstance(filters, generic.NameObject)
        else list(filters)
    )
    if "/FlateDecode" in names:
        if names.index("/FlateDecode") != 0 or names.count("/FlateDecode") > 1:
            raise DossierInvalid(_("the PDF uses stream filters this verifier does not read"))
        inflater = zlib.decompressobj()
        pending = stream.encoded_data
        inflated = 0
        while pending and not inflater.eof:
            piece = inflater.decompress(pending, 1024 * 1024)
            pending = inflater.unconsumed_tail
            inflated += len(piece)
            if inflated > limit:
                raise DossierInvalid(_("an embedded file is too large"))
            work.spend(len(piece))
    data: bytes = stream.data
    if len(data) > limit:
        raise DossierInvalid(_("an embedded file is too large"))
    return data


def _embedded_files(reader: PdfFileReader, work: Work | None = None) -> dict[str, bytes]:
    work = work or Work(UNBOUNDED)
    names = _deref(reader.root.get("/Names"))
    tree = _deref(names.get("/EmbeddedFiles")) if names is not None else None
    array = _deref(tree.get("/Names")) if tree is not None else None
    if array is None:
        return {}
    files: dict[str, bytes] = {}
    for index in range(0, len(array) - 1, 2):
        name = str(_deref(array[index]))
        stream = _deref(_deref(_deref(array[index + 1])["/EF"])["/F"])
        if name in files:
            raise DossierInvalid(_("the PDF embeds %(name)s twice") % {"name": name})
        files[name] = _decoded(stream, work, MAX_EMBEDDED_BYTES)
    return files


def _pages(node: Any, depth: int = 0) -> Iterator[Any]:
    if depth > 32:
        raise DossierInvalid(_("the page tree is too deep"))
    node = _deref(node)
    if node.get("/Type") == "/Pages" or "/Kids" in node:
        for kid in node["/Kids"]:
            yield from _pages(kid, depth + 1)
    else:
        yield node


def _page_text(page: Any, work: Work) -> bytes:
    contents = page.get("/Contents")
    if contents is None:
        return b""
    contents = _deref(contents)
    parts = contents if isinstance(contents, generic.ArrayObject) else [contents]
    return b"".join(_decoded(_deref(part), work, MAX_EMBEDDED_BYTES) for part in parts)


def stated_heads(reader: PdfFileReader, work: Work | None = None) -> list[tuple[str, int, str]]:
    """(case, length, head) as printed in the verification page's machine-readable line."""
    work = work or Work(UNBOUNDED)
    found = []
    for page in _pages(reader.root["/Pages"]):
        for match in _MACHINE_LINE.finditer(_page_text(page, work)):
            found.append((match[1].decode(), int(match[2]), match[3].decode()))
    return found


def _check_signature(reader: PdfFileReader, report: BundleReport) -> None:
    signatures = reader.embedded_regular_signatures
    if not signatures:
        raise DossierInvalid(_("the PDF has no signature"))
    if len(signatures) != 1:
        raise DossierInvalid(_("the PDF has more than one signature"))
    signature = signatures[0]
    time_stamps = reader.embedded_timestamp_signatures
    if any(ts.signed_revision < signature.signed_revision for ts in time_stamps):
        raise DossierInvalid(_("the PDF has more than one signature"))
    ca = asn1_certificate(signing.load_signer().ca_certificate)
    context = ValidationContext(trust_roots=[ca], allow_fetching=False, revocation_mode="soft-fail")
    status = validate_pdf_signature(signature, context)
    if not status.intact:
        raise DossierInvalid(_("the file was changed after it was signed"))
    if not status.valid:
        raise DossierInvalid(_("the signature does not verify"))
    signer = signing.check_signer(x509.load_der_x509_certificate(status.signing_cert.dump()))
    # A former key's dossiers stay valid: the CA that issued it is the trust root above.
    if not status.trusted or signer.status == "unknown":
        raise DossierInvalid(_("the PDF was not signed by this instance"))
    if signature.docmdp_level != MDPPerm.NO_CHANGES:
        raise DossierInvalid(_("the signature is not a certification that allows no changes"))
    if status.coverage != SignatureCoverageLevel.ENTIRE_FILE:
        # Only long-term validation may follow (ISO 32000-2 12.8.2.2.2): pyHanko's
        # difference analysis finds nothing beyond DSS, document time-stamp and metadata
        # updates, and the file ends with a document time-stamp that covers all of it.
        level = status.modification_level
        ends_time_stamped = bool(time_stamps) and (
            time_stamps[-1].evaluate_signature_coverage() == SignatureCoverageLevel.ENTIRE_FILE
        )
        if (
            level is None
            or level.value > ModificationLevel.LTA_UPDATES.value
            or not status.docmdp_ok
            or not ends_time_stamped
        ):
            raise DossierInvalid(
                _("something was added to the file after it was signed (a later revision)")
            )
    timestamp = status.timestamp_validity
    if timestamp is not None and not (timestamp.intact and timestamp.valid):
        raise DossierInvalid(_("the signature's time-stamp does not verify"))
    document_times = []
    for time_stamp in time_stamps:
        # Cryptographic soundness here; whose TSA it is, is for the caller to judge, as
        # with the anchors' tokens.
        stamped = validate_pdf_timestamp(
            time_stamp,
            ValidationContext(allow_fetching=False, revocation_mode="soft-fail"),
        )
        if not (stamped.intact and stamped.valid):
            raise DossierInvalid(_("the document time-stamp does not verify"))
        document_times.append(stamped.timestamp)
    signed_at = status.signer_reported_dt
    report.notes.append(
        "signature   PAdES certification (no changes allowed), "
        + ("whole file covered" if not time_stamps else "covered up to its long-term data")
        + f", signer SHA-256 {signer.fingerprint_sha256} ({signer.status} key of this instance)"
        + (f", signing time {signed_at.isoformat()}" if signed_at else "")
        + (f", time-stamped {timestamp.timestamp.isoformat()}" if timestamp is not None else "")
        + (", no time-stamp (PAdES B-B)" if timestamp is None and not time_stamps else "")
    )
    if document_times:
        report.notes.append(
            "long-term   PAdES B-LTA: DSS with validation data, document time-stamp(s) "
            + ", ".join(moment.isoformat() for moment in document_times)
        )


def verify_dossier_pdf(
    source: str | Path | IO[bytes], *, receipt: Any = None, limits: WorkLimits | None = None
) -> BundleReport:
    """The verdict on a dossier PDF: ok only when every check of section 6 passes. `limits`
    bound the work as for a bundle (default: the public ones); VerificationTooCostly past
    them."""
    try:
        return _verify(source, receipt, Work(limits or WorkLimits.public()))
    except VerificationTooCostly:
        raise
    except DossierInvalid as exc:
        return BundleReport(ok=False, problem=str(exc))
    except Exception as exc:  # noqa: BLE001 - malformed input must never pass
        log.info("dossier PDF rejected: %s: %s", exc.__class__.__name__, exc)
        return BundleReport(
            ok=False,
            problem=_("the PDF or its signature cannot be read (%(error)s)")
            % {"error": exc.__class__.__name__},
        )


def _verify(source: str | Path | IO[bytes], receipt: Any, work: Work) -> BundleReport:
    data = _read(source)
    reader = PdfFileReader(BytesIO(data), strict=False)
    signature_report = BundleReport(ok=True)
    _check_signature(reader, signature_report)
    work.tick()
    files = _embedded_files(reader, work)
    for required in (ENTRIES_NAME, CHECKPOINT_NAME):
        if required not in files:
            raise DossierInvalid(_("the PDF does not embed %(name)s") % {"name": required})
    lines = parse_jsonl(files[ENTRIES_NAME])
    checkpoint = parse_json(files[CHECKPOINT_NAME], CHECKPOINT_NAME)
    # Dossiers made before anchoring have none; one that is there must be well formed.
    anchors = parse_json(files[ANCHORS_NAME], ANCHORS_NAME) if ANCHORS_NAME in files else None
    report = verify_lines_and_checkpoint(
        lines, checkpoint, None, receipt=receipt, anchors_document=anchors, work=work
    )
    report.notes[:0] = signature_report.notes
    if not report.ok:
        return report
    body = checkpoint["checkpoint"]
    if anchors is not None:
        try:
            core_anchors.parse_anchors_document(anchors, case_id=body["case"])
        except core_anchors.AnchorFormatError as exc:
            return report.fail(
                _("the embedded %(name)s is not valid: %(error)s")
                % {"name": ANCHORS_NAME, "error": exc}
            )
        report.anchors = anchors
    stated = stated_heads(reader, work)
    if not stated:
        return report.fail(_("the verification page does not state the chain head"))
    if any(item != (body["case"], body["length"], body["head"]) for item in stated):
        return report.fail(
            _("the head stated on the verification page differs from the embedded chain")
        )
    if not report.checkpoint_trusted:
        return report.fail(_("the embedded checkpoint was not signed by this instance"))
    if not report.head_known:
        return report.fail(_("this instance has no record of signing this chain head"))
    return report


def read_receipt(upload: IO[bytes] | None) -> Any:
    """A receipt (signed checkpoint JSON) the user uploaded, or None. Raises InputError."""
    if upload is None:
        return None
    data = upload.read(1024 * 1024 + 1)
    if len(data) > 1024 * 1024:
        raise InputError(gettext_lazy("the receipt is too large"))
    try:
        return parse_json(data, "receipt")
    except Exception as exc:
        raise InputError(gettext_lazy("the receipt is not a JSON file")) from exc


def verify_upload(
    upload: IO[bytes], receipt_upload: IO[bytes] | None, *, limits: WorkLimits | None = None
) -> tuple[str, BundleReport]:
    """("dossier" or "bundle", report) for an uploaded file, decided by its first bytes.
    Bounded by `limits` (default: the public ones): VerificationTooCostly past them."""
    receipt = read_receipt(receipt_upload)
    upload.seek(0)
    head = upload.read(5)
    upload.seek(0)
    if head == b"%PDF-":
        return "dossier", verify_dossier_pdf(upload, receipt=receipt, limits=limits)
    if head.startswith(b"PK"):
        return "bundle", verify_bundle_zip(upload, receipt=receipt, limits=limits)
    return "unknown", BundleReport(
        ok=False, problem=_("this is neither a dossier PDF nor an export bundle (ZIP)")
    )
