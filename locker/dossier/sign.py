"""Embedding the chain and signing the dossier (spec section 6): entries.jsonl,
checkpoint.json and anchors.json become embedded files, then one PAdES certification
signature with DocMDP "no changes allowed" covers the file.

With a time-stamp authority configured (LOCKER_TSA_URLS) the signature is PAdES B-LTA: a
signature time-stamp from the first TSA that answers, then, in one incremental update, a
Document Security Store with every certificate and CRL a validator needs (the instance CA,
the signing certificate and a CRL the CA issues now; the TSA's chain and its CRL, fetched
from its distribution point) and a document time-stamp over all of it. ISO 32000-2
12.8.2.2.2 does not count DSS and document time-stamp updates as changes under DocMDP, so
the certification stays "no changes". Without a TSA it is B-B, and the verification page
says there is no third-party time."""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections.abc import Iterator, Sequence
from typing import IO, Any

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.embed import EmbeddedFileObject, EmbeddedFileParams, FileSpec, embed_file
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError
from pyhanko.sign.pkcs11 import PKCS11Signer
from pyhanko.sign.signers.pdf_signer import DSSContentSettings, TimestampDSSContentSettings
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.sign.timestamps.common_utils import TimestampRequestError
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.errors import PathBuildingError, PathValidationError
from pyhanko_certvalidator.registry import SimpleCertificateStore

from locker.core import anchors as core_anchors
from locker.core import chain
from locker.infra import hsm, signing, tsa
from locker.infra.tsa import TSAUnavailable
from locker.selectors import anchors as anchor_selectors

log = logging.getLogger(__name__)

FIELD_NAME = "EvidenceLockerSignature"
TIMESTAMP_FIELD_NAME = "EvidenceLockerDocumentTimeStamp"
ANCHORS_NAME = core_anchors.ANCHORS_MEMBER
ENTRIES_NAME = "entries.jsonl"
CHECKPOINT_NAME = "checkpoint.json"
# The embedded files, in the order of the name tree (which must be sorted by name).
EMBEDDED_NAMES = tuple(sorted((ANCHORS_NAME, CHECKPOINT_NAME, ENTRIES_NAME)))


class SignatureLevel(enum.StrEnum):
    """The PAdES baseline level a dossier is signed at (ETSI EN 319 142-1)."""

    B_B = "B-B"
    B_LTA = "B-LTA"


def asn1_certificate(certificate: Any) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))


@contextlib.contextmanager
def pdf_signer() -> Iterator[signers.Signer]:
    """The instance's signing key and certificate, with its CA for the chain: the key file
    through pyHanko's SimpleSigner, or the PKCS#11 token's key through its PKCS11Signer,
    with a token session open while the PDF is signed. The token gets the SHA-256 digest to
    sign raw (CKM_ECDSA, which every token has) and pyHanko turns its r || s into DER."""
    signer = signing.load_signer()
    certificate = asn1_certificate(signer.certificate)
    ca = asn1_certificate(signer.ca_certificate)
    if isinstance(signer.key, signing.FileKey):
        key = asn1_keys.PrivateKeyInfo.load(
            signer.key.private_key.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        yield signers.SimpleSigner(
            signing_cert=certificate,
            signing_key=key,
            cert_registry=SimpleCertificateStore.from_certs([ca]),
        )
        return
    token_key = signer.key
    with hsm.session(token_key.config) as session:
        yield PKCS11Signer(
            session,
            signing_cert=certificate,
            ca_chain=[ca],
            key_label=token_key.config.key_label,
            key_id=token_key.key_id(),
            use_raw_mechanism=True,
        )


def will_time_stamp() -> bool:
    """Whether dossiers made now are B-LTA (the verification page says so before signing)."""
    return tsa.is_configured()


def _presented_roots(stamper: TimeStamper) -> list[asn1_x509.Certificate]:
    # The self-signed certificates the TSA put in its token (pyHanko's registry of them).
    return [c for c in stamper.cert_registry if c.self_signed != "no"]


def validation_context(
    stamper: TimeStamper | None = None, *, trusted_roots: frozenset[str] = frozenset()
) -> ValidationContext:
    """What the signer collects validation data with: the instance CA and a CRL it issues
    now; the TSA roots this instance trusts (LOCKER_TSA_CA_FILE, and the roots of the
    tokens its own anchoring rounds received, which gather() has just run), and the
    TSA's revocation data fetched from where its certificates point. Every certificate
    must have revocation data ("require"), or the DSS would not be enough for a validator
    offline. This is collection, not a verdict: a validator decides trust for itself.
    `trusted_roots`: fingerprints (anchor_selectors.trusted_tsa_roots())."""
    file_certificates = list(tsa.ca_certificates())
    roots = [asn1_certificate(signing.load_signer().ca_certificate)]
    roots += [c for c in file_certificates if c.self_signed != "no"]
    if stamper is not None:
        roots += [
            c
            for c in _presented_roots(stamper)
            if core_anchors.certificate_fingerprint(c) in trusted_roots
        ]
    crl = signing.issue_crl().public_bytes(serialization.Encoding.DER)
    return ValidationContext(
        trust_roots=roots,
        other_certs=file_certificates,
        crls=[crl],
        allow_fetching=True,
        revocation_mode="require",
    )


async def _usable(stamper: TimeStamper, trusted_roots: frozenset[str]) -> ValidationContext:
    """Ask the TSA once (pyHanko keeps the answer for sizing the signature) and check that
    its certificate path and revocation data can be collected."""
    await stamper.async_dummy_response("sha256")
    context = validation_context(stamper, trusted_roots=trusted_roots)
    async for _path in stamper.validation_paths(context):
        pass
    return context


def first_answering(
    authorities: Sequence[tsa.Authority] | None = None,
) -> tuple[TimeStamper, ValidationContext]:
    """The first configured TSA that answers and whose chain validates, with the validation
    context holding its data. Raises TSAUnavailable (a retryable error) when none does."""
    problems = []
    trusted = anchor_selectors.trusted_tsa_roots()
    for source in authorities if authorities is not None else tsa.configured():
        stamper = source.timestamper()
        try:
            return stamper, asyncio.run(_usable(stamper, trusted))
        except (
            TimestampRequestError,
            PathBuildingError,
            PathValidationError,
            OSError,
            ValueError,
        ) as exc:
            log.warning("dossier signature: TSA %s not usable: %s", source.url, exc)
            problems.append(f"{source.url}: {exc.__class__.__name__}: {exc}")
    raise TSAUnavailable("no time-stamp authority answered: " + "; ".join(problems))


def _embed(
    writer: IncrementalPdfFileWriter, name: str, data: bytes, media_type: str, description: str
) -> None:
    stream = EmbeddedFileObject.from_file_data(
        writer, data, compress=True, params=EmbeddedFileParams(), mime_type=media_type
    )
    embed_file(
        writer,
        FileSpec(
            file_spec_string=name, file_name=name, embedded_data=stream, description=description
        ),
    )


def sign_dossier(
    unsigned: IO[bytes],
    out: IO[bytes],
    *,
    entries: bytes,
    checkpoint: dict[str, Any],
    anchors: dict[str, Any],
    reason: str,
    time_stamp: bool | None = None,
    timestamper: TimeStamper | None = None,
    embed_chain: bool = True,
) -> SignatureLevel:
    """Embed the chain files into `unsigned` (a PDF) and write the signed PDF to `out`
    (best opened for reading too: B-LTA appends to what it wrote). B-LTA when `time_stamp`
    (by default: when `timestamper` is given or LOCKER_TSA_URLS is set), with `timestamper`
    if given, else the first configured TSA that answers; otherwise B-B. Raises
    TSAUnavailable when a time-stamp is wanted and no TSA can give one. Without
    `embed_chain` (the exhibit parts of an attachment pack, whose first part carries the
    chain) nothing is embedded and the signature is the same."""
    writer = IncrementalPdfFileWriter(unsigned, strict=False)
    files = {
        ANCHORS_NAME: (
            chain.canonical_bytes(anchors),
            "application/json",
            "Anchored checkpoints: Merkle root, inclusion proof, RFC 3161 time-stamp tokens",
        ),
        CHECKPOINT_NAME: (
            chain.canonical_bytes(checkpoint),
            "application/json",
            "Signed chain head (evidence chain format v1, section 4)",
        ),
        ENTRIES_NAME: (
            entries,
            "application/x-ndjson",
            "Chain records, one JSON line each (evidence chain format v1, sections 5-6)",
        ),
    }
    for name in EMBEDDED_NAMES if embed_chain else ():
        _embed(writer, name, *files[name])
    if time_stamp is None:
        time_stamp = timestamper is not None or will_time_stamp()
    long_term = time_stamp
    context: ValidationContext | None = None
    if not long_term:
        timestamper = None
    elif timestamper is not None:
        context = asyncio.run(_usable(timestamper, anchor_selectors.trusted_tsa_roots()))
    else:
        timestamper, context = first_answering()
    meta = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        certify=True,
        docmdp_permissions=fields.MDPPerm.NO_CHANGES,
        reason=reason,
        name="Evidence Locker",
        use_pades_lta=long_term,
        embed_validation_info=long_term,
        validation_context=context,
        timestamp_field_name=TIMESTAMP_FIELD_NAME if long_term else None,
        # One update after the signature: the DSS (no VRI, which PAdES no longer needs) and
        # the document time-stamp over it, so the file ends with a time-stamp covering all.
        dss_settings=DSSContentSettings(
            include_vri=False,
            next_ts_settings=TimestampDSSContentSettings(include_vri=False, update_before_ts=True),
        ),
    )
    try:
        with pdf_signer() as signer:
            signers.PdfSigner(meta, signer=signer, timestamper=timestamper).sign_pdf(
                writer, output=out
            )
    except (TimestampRequestError, OSError) as exc:
        # The TSA that answered a moment ago failed now: worth retrying the dossier.
        raise TSAUnavailable(f"time-stamping the dossier failed: {exc}") from exc
    except SigningError as exc:
        if long_term and isinstance(exc.__cause__, PathBuildingError | PathValidationError):
            raise TSAUnavailable(f"collecting validation data failed: {exc}") from exc
        raise
    return SignatureLevel.B_LTA if long_term else SignatureLevel.B_B
