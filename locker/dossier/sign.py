"""Embedding the chain and signing the dossier (spec section 6): entries.jsonl and
checkpoint.json become embedded files, then one PAdES certification signature with DocMDP
"no changes allowed" covers the whole file. Baseline B-B with the instance's signing key;
B-T (a signature time-stamp) when LOCKER_TSA_URL names an RFC 3161 authority."""

from __future__ import annotations

from typing import IO, Any

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from django.conf import settings
from pyhanko.pdf_utils.embed import EmbeddedFileObject, EmbeddedFileParams, FileSpec, embed_file
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.timestamps import HTTPTimeStamper, TimeStamper
from pyhanko_certvalidator.registry import SimpleCertificateStore

from locker.core import chain
from locker.infra import signing

FIELD_NAME = "EvidenceLockerSignature"
ENTRIES_NAME = "entries.jsonl"
CHECKPOINT_NAME = "checkpoint.json"
TSA_TIMEOUT_S = 15


def asn1_certificate(certificate: Any) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))


def pdf_signer() -> signers.SimpleSigner:
    """The instance's signing key and certificate, with its CA for the chain."""
    signer = signing.load_signer()
    key = asn1_keys.PrivateKeyInfo.load(
        signer.key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return signers.SimpleSigner(
        signing_cert=asn1_certificate(signer.certificate),
        signing_key=key,
        cert_registry=SimpleCertificateStore.from_certs([asn1_certificate(signer.ca_certificate)]),
    )


def default_timestamper() -> TimeStamper | None:
    url = getattr(settings, "LOCKER_TSA_URL", "")
    return HTTPTimeStamper(url, timeout=TSA_TIMEOUT_S) if url else None


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
    reason: str,
    timestamper: TimeStamper | None = None,
) -> None:
    """Embed the chain files into `unsigned` (a PDF) and write the signed PDF to `out`.
    Pass `timestamper` to get PAdES B-T; by default LOCKER_TSA_URL decides."""
    writer = IncrementalPdfFileWriter(unsigned, strict=False)
    # The embedded-files name tree must be sorted by name.
    _embed(
        writer,
        CHECKPOINT_NAME,
        chain.canonical_bytes(checkpoint),
        "application/json",
        "Signed chain head (evidence chain format v1, section 4)",
    )
    _embed(
        writer,
        ENTRIES_NAME,
        entries,
        "application/x-ndjson",
        "Chain records, one JSON line each (evidence chain format v1, sections 5-6)",
    )
    meta = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        certify=True,
        docmdp_permissions=fields.MDPPerm.NO_CHANGES,
        reason=reason,
        name="Evidence Locker",
    )
    signers.PdfSigner(
        meta,
        signer=pdf_signer(),
        timestamper=timestamper if timestamper is not None else default_timestamper(),
    ).sign_pdf(writer, output=out)
