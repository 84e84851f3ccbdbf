"""Third-party time for chain heads (docs/chain-format.md, "Anchors"): the anchored receipt,
anchors.json, and what a verifier concludes from them.

An anchoring round puts the checkpoints signed since the last round into one RFC 6962 Merkle
tree (locker/core/merkle.py; leaf bytes: the canonical bytes of a checkpoint's `checkpoint`
object, the same bytes its signature covers) and asks each configured time-stamp authority
for an RFC 3161 token whose message imprint is SHA-256 of the 32 root bytes. An *anchored
receipt* is a signed checkpoint (spec section 4) with one more member:

    "anchor": {"v": 1, "root": <hex>, "tree_size": n, "leaf_index": i,
               "proof": [<hex>, ...], "anchored_at": <timestamp>,
               "tokens": [{"tsa": <url>, "token": <base64 DER>, "certificates": [<PEM>]}]}

`anchors.json` in a bundle is {"v": 1, "case": <uuid>, "checkpoints": [anchored receipt, ...]}
in increasing length. For an entry, the *attested time* is the earliest time a trusted TSA
put on a token over a checkpoint whose head the chain still holds at that checkpoint's
length, among checkpoints at or after the entry. An entry attested long after its recorded
time is what a back-dated rewrite looks like.

Pure: no database, no settings; the trusted TSA roots are passed in."""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from asn1crypto import cms, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.sign.validation.generic_cms import validate_tst_signed_data
from pyhanko_certvalidator import ValidationContext

from locker.core import chain, merkle

ANCHOR_VERSION = 1
ANCHORS_MEMBER = "anchors.json"
ANCHOR_MEMBERS = frozenset(
    {"v", "root", "tree_size", "leaf_index", "proof", "anchored_at", "tokens"}
)
# The default tolerance between an entry's recorded time and its attested time before a
# verifier flags it: six anchoring intervals of 10 minutes. A long TSA outage also exceeds
# it, which is why the flag says "look closer", not "forged".
DEFAULT_LATE_AFTER = timedelta(hours=1)
# Bounds on untrusted input (an uploaded bundle).
MAX_ANCHORED_CHECKPOINTS = 100_000
MAX_TOKENS = 8
MAX_PROOF_LENGTH = 64


class AnchorFormatError(ValueError):
    """An anchor or anchors.json that the format does not allow."""


def leaf_bytes(checkpoint_body: Mapping[str, Any]) -> bytes:
    return chain.canonical_bytes(checkpoint_body)


def checkpoint_leaf(checkpoint_body: Mapping[str, Any]) -> bytes:
    return merkle.leaf_hash(leaf_bytes(checkpoint_body))


def imprint(root: bytes) -> bytes:
    """The RFC 3161 message imprint asked of the TSA: SHA-256 of the 32 root bytes."""
    return hashlib.sha256(root).digest()


def certificate_fingerprint(certificate: asn1_x509.Certificate) -> str:
    return hashlib.sha256(certificate.dump()).hexdigest()


def token_certificates(token_der: bytes) -> list[asn1_x509.Certificate]:
    content = cms.ContentInfo.load(token_der)
    signed_data = content["content"]
    return [
        choice.chosen
        for choice in signed_data["certificates"] or []
        if isinstance(choice.chosen, asn1_x509.Certificate)
    ]


def certificate_pem(certificate: asn1_x509.Certificate) -> str:
    return (
        x509.load_der_x509_certificate(certificate.dump())
        .public_bytes(serialization.Encoding.PEM)
        .decode("ascii")
    )


def load_pem_certificate(text: Any) -> asn1_x509.Certificate:
    if not isinstance(text, str):
        raise AnchorFormatError("a certificate must be a PEM string")
    try:
        parsed = x509.load_pem_x509_certificate(text.encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise AnchorFormatError("a certificate is not a PEM X.509 certificate") from exc
    return asn1_x509.Certificate.load(parsed.public_bytes(serialization.Encoding.DER))


def token_root_fingerprints(token: Mapping[str, Any]) -> set[str]:
    """Fingerprints of the self-signed certificates a stored token carries, inside it or
    beside it: the roots its TSA presented."""
    try:
        certificates = token_certificates(base64.b64decode(token["token"]))
        certificates += [load_pem_certificate(pem) for pem in token.get("certificates", [])]
    except (ValueError, TypeError, KeyError):
        return set()
    return {certificate_fingerprint(c) for c in certificates if c.self_signed != "no"}


def _hex32(value: Any, what: str) -> bytes:
    if not isinstance(value, str) or not chain.is_sha256_hex(value):
        raise AnchorFormatError(f"{what} must be 64 lowercase hex digits")
    return bytes.fromhex(value)


@dataclass(frozen=True)
class TokenCheck:
    tsa: str
    valid: bool
    # Why it is not valid, in words; "" when valid.
    problem: str = ""
    attested_at: datetime | None = None
    tsa_subject: str = ""
    # SHA-256 of the DER of the self-signed root the token's signer chains to.
    root_fingerprint: str = ""
    trusted: bool = False


@dataclass(frozen=True)
class AnchorCheck:
    """One anchored receipt, checked: its checkpoint signature, its proof, its tokens."""

    checkpoint: Mapping[str, Any]
    length: int
    head: str
    signature_ok: bool
    proof_ok: bool
    tokens: tuple[TokenCheck, ...]
    problems: tuple[str, ...] = ()
    signer_fingerprint: str = ""

    @property
    def attested_at(self) -> datetime | None:
        """The earliest time a trusted TSA vouches for, if the receipt itself holds."""
        if not (self.signature_ok and self.proof_ok):
            return None
        times = [t.attested_at for t in self.tokens if t.valid and t.trusted and t.attested_at]
        return min(times) if times else None

    @property
    def attested_by(self) -> tuple[str, ...]:
        return tuple(
            t.tsa_subject or t.tsa
            for t in self.tokens
            if t.valid and t.trusted and t.attested_at is not None
        )

    @property
    def ok(self) -> bool:
        return self.attested_at is not None


def _validation_context(
    certificates: Sequence[asn1_x509.Certificate], moment: datetime
) -> ValidationContext:
    # Path building only: the TSA roots a verifier trusts are compared by fingerprint after
    # the path is built, so that an unknown root is reported as such (not as "invalid").
    # Revocation data is not fetched: an offline verifier has none, and the token's time
    # is what is being established.
    self_signed = [c for c in certificates if c.self_signed in ("maybe", "yes")]
    return ValidationContext(
        trust_roots=self_signed,
        other_certs=list(certificates),
        allow_fetching=False,
        revocation_mode="soft-fail",
        moment=moment,
    )


def check_token(
    *,
    tsa: str,
    token_der: bytes,
    root: bytes,
    extra_certificates: Sequence[asn1_x509.Certificate] = (),
    trusted_roots: Collection[str] | None = None,
) -> TokenCheck:
    """Check one RFC 3161 token over `root` with pyHanko's validator: the CMS signature, the
    signer's time-stamping key usage, the imprint, and the path to a root. `trusted_roots`
    (SHA-256 fingerprints) decides `trusted`; None trusts any root the path reaches (a
    verifier that was given no list, which then reports the root it found)."""
    try:
        content = cms.ContentInfo.load(token_der)
        if content["content_type"].native != "signed_data":
            raise ValueError("not a SignedData")
        signed_data = content["content"]
        tst_info = signed_data["encap_content_info"]["content"].parsed
        if not isinstance(tst_info, tsp.TSTInfo):
            raise ValueError("no TSTInfo inside")
        message_imprint = tst_info["message_imprint"]
        algorithm = message_imprint["hash_algorithm"]["algorithm"].native
        gen_time = tst_info["gen_time"].native
        certificates = [*token_certificates(token_der), *extra_certificates]
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        return TokenCheck(tsa=tsa, valid=False, problem=f"not an RFC 3161 token ({exc})")
    if algorithm != "sha256":
        return TokenCheck(tsa=tsa, valid=False, problem=f"imprint uses {algorithm}, not sha256")
    if message_imprint["hashed_message"].native != imprint(root):
        return TokenCheck(
            tsa=tsa, valid=False, problem="the token is over another root", attested_at=gen_time
        )
    try:
        status = asyncio.run(
            validate_tst_signed_data(
                signed_data, _validation_context(certificates, gen_time), imprint(root)
            )
        )
    except (SignatureValidationError, ValueError, TypeError, KeyError) as exc:
        return TokenCheck(tsa=tsa, valid=False, problem=f"the token does not verify ({exc})")
    signer = status.get("signing_cert")
    # The TSA's name as people know it (its certificate's common name), else the whole subject.
    subject = ""
    if signer is not None:
        subject = signer.subject.native.get("common_name") or signer.subject.human_friendly
    if not status.get("intact") or not status.get("valid"):
        return TokenCheck(
            tsa=tsa,
            valid=False,
            problem="the token's signature does not verify",
            tsa_subject=subject,
        )
    path = status.get("validation_path")
    if path is None:
        return TokenCheck(
            tsa=tsa,
            valid=False,
            problem="the TSA's certificate does not chain to a root given with the token",
            tsa_subject=subject,
            attested_at=gen_time,
        )
    root_certificate = path.trust_anchor.certificate if path.trust_anchor else None
    fingerprint = certificate_fingerprint(root_certificate) if root_certificate else ""
    trusted = trusted_roots is None or fingerprint in trusted_roots
    return TokenCheck(
        tsa=tsa,
        valid=True,
        problem="" if trusted else "the TSA's root is not one this verifier trusts",
        attested_at=gen_time.astimezone(UTC),
        tsa_subject=subject,
        root_fingerprint=fingerprint,
        trusted=trusted,
    )


def check_anchor_shape(anchor: Any) -> None:
    if not isinstance(anchor, dict) or set(anchor) != ANCHOR_MEMBERS:
        raise AnchorFormatError(f"an anchor has exactly the members {sorted(ANCHOR_MEMBERS)}")
    if anchor["v"] != ANCHOR_VERSION:
        raise AnchorFormatError(f"anchor version {anchor['v']!r} is not {ANCHOR_VERSION}")
    for name in ("tree_size", "leaf_index"):
        value = anchor[name]
        if type(value) is not int or not 0 <= value <= chain.MAX_SAFE_INTEGER:
            raise AnchorFormatError(f"anchor {name} must be a non-negative integer")
    _hex32(anchor["root"], "anchor root")
    proof = anchor["proof"]
    if not isinstance(proof, list) or len(proof) > MAX_PROOF_LENGTH:
        raise AnchorFormatError("anchor proof must be a list of hashes")
    for item in proof:
        _hex32(item, "a proof hash")
    chain.parse_timestamp(anchor["anchored_at"])
    tokens = anchor["tokens"]
    if not isinstance(tokens, list) or not 0 < len(tokens) <= MAX_TOKENS:
        raise AnchorFormatError(f"an anchor has 1 to {MAX_TOKENS} tokens")
    for token in tokens:
        if not isinstance(token, dict) or set(token) != {"tsa", "token", "certificates"}:
            raise AnchorFormatError('a token is {"tsa", "token", "certificates"}')
        if not isinstance(token["tsa"], str) or not isinstance(token["certificates"], list):
            raise AnchorFormatError("a token's tsa is a string and its certificates a list")


def check_anchored_receipt(
    receipt: Any, *, trusted_roots: Collection[str] | None = None
) -> AnchorCheck:
    """Check an anchored receipt on its own: the checkpoint's signature (with the
    certificate it carries; whose key that is, is the caller's question), the inclusion
    proof up to the root, and each token over that root."""
    if not isinstance(receipt, dict) or "anchor" not in receipt:
        raise AnchorFormatError("an anchored receipt is a checkpoint with an anchor member")
    anchor = receipt["anchor"]
    check_anchor_shape(anchor)
    document = {name: value for name, value in receipt.items() if name != "anchor"}
    chain.check_checkpoint_shape(document)
    body = document["checkpoint"]
    problems: list[str] = []
    signer_fingerprint = ""
    try:
        certificate = chain.verify_checkpoint(document)
        signer_fingerprint = certificate.fingerprint(hashes.SHA256()).hex()
        signature_ok = True
    except chain.FormatError as exc:
        signature_ok = False
        problems.append(f"checkpoint signature: {exc}")
    root = bytes.fromhex(anchor["root"])
    try:
        merkle.verify_inclusion(
            checkpoint_leaf(body),
            leaf_index=anchor["leaf_index"],
            tree_size=anchor["tree_size"],
            proof=[bytes.fromhex(h) for h in anchor["proof"]],
            root=root,
        )
        proof_ok = True
    except merkle.ProofError as exc:
        proof_ok = False
        problems.append(f"inclusion proof: {exc}")
    checks: list[TokenCheck] = []
    for token in anchor["tokens"]:
        try:
            token_der = base64.b64decode(token["token"], validate=True)
            extra = [load_pem_certificate(pem) for pem in token["certificates"]]
        except (binascii.Error, ValueError, TypeError) as exc:
            checks.append(TokenCheck(tsa=str(token["tsa"]), valid=False, problem=str(exc)))
            continue
        checks.append(
            check_token(
                tsa=token["tsa"],
                token_der=token_der,
                root=root,
                extra_certificates=extra,
                trusted_roots=trusted_roots,
            )
        )
    for token_check in checks:
        if not token_check.valid:
            problems.append(f"token from {token_check.tsa}: {token_check.problem}")
    return AnchorCheck(
        checkpoint=body,
        length=body["length"],
        head=body["head"],
        signature_ok=signature_ok,
        proof_ok=proof_ok,
        tokens=tuple(checks),
        problems=tuple(problems),
        signer_fingerprint=signer_fingerprint,
    )


def parse_anchors_document(document: Any, *, case_id: str | None = None) -> list[Any]:
    """The anchored receipts of an anchors.json, after checking its outer shape."""
    if not isinstance(document, dict) or set(document) != {"v", "case", "checkpoints"}:
        raise AnchorFormatError('anchors.json is {"v", "case", "checkpoints"}')
    if document["v"] != ANCHOR_VERSION:
        raise AnchorFormatError(f"anchors.json version {document['v']!r} is not 1")
    if case_id is not None and document["case"] != case_id:
        raise AnchorFormatError("anchors.json names another case")
    receipts = document["checkpoints"]
    if not isinstance(receipts, list) or len(receipts) > MAX_ANCHORED_CHECKPOINTS:
        raise AnchorFormatError("anchors.json checkpoints must be a list")
    return receipts


@dataclass(frozen=True)
class AttestedRange:
    """Consecutive entries with the same attested time (or none yet)."""

    first_seq: int
    last_seq: int
    recorded_from: datetime | None
    recorded_to: datetime | None
    attested_at: datetime | None
    attested_by: tuple[str, ...] = ()
    # The largest gap between recorded and attested time among the range's full entries.
    largest_lag: timedelta | None = None
    late: bool = False

    @property
    def count(self) -> int:
        return self.last_seq - self.first_seq + 1


@dataclass(frozen=True)
class AttestationReport:
    ranges: tuple[AttestedRange, ...]
    # Anchored heads the chain no longer has at their length: the chain was rewritten or cut
    # there after a TSA vouched for it.
    conflicts: tuple[AnchorCheck, ...] = ()
    # Anchored receipts that did not check out (bad signature, proof or every token).
    rejected: tuple[AnchorCheck, ...] = ()
    late_after: timedelta = DEFAULT_LATE_AFTER
    checks: tuple[AnchorCheck, ...] = field(default=(), repr=False)

    @property
    def first_late_seq(self) -> int | None:
        late = [r.first_seq for r in self.ranges if r.late]
        return min(late) if late else None

    @property
    def attested_length(self) -> int:
        attested = [r.last_seq for r in self.ranges if r.attested_at is not None]
        return max(attested) if attested else 0

    def range_of(self, seq: int) -> AttestedRange | None:
        """The range holding record `seq` (None: the report does not cover it)."""
        for span in self.ranges:
            if span.first_seq <= seq <= span.last_seq:
                return span
        return None


def attest(
    *,
    links: Sequence[tuple[int, str]],
    recorded: Mapping[int, datetime],
    checks: Iterable[AnchorCheck],
    late_after: timedelta = DEFAULT_LATE_AFTER,
) -> AttestationReport:
    """Attested times for a chain given as (seq, hash) links in seq order (omitted lines
    included), its full entries' recorded times, and checked anchored receipts."""
    checks = tuple(checks)
    hash_at = dict(links)
    matching: list[tuple[int, datetime, tuple[str, ...]]] = []
    conflicts: list[AnchorCheck] = []
    rejected: list[AnchorCheck] = []
    for check in checks:
        attested_at = check.attested_at
        if attested_at is None:
            rejected.append(check)
        elif hash_at.get(check.length) != check.head and check.length != 0:
            conflicts.append(check)
        else:
            matching.append((check.length, attested_at, check.attested_by))
    # attested(s) = earliest time among matching heads at or after s: a running minimum from
    # the longest head down.
    matching.sort(key=lambda item: item[0], reverse=True)
    best: dict[int, tuple[datetime, tuple[str, ...]]] = {}
    running: tuple[datetime, tuple[str, ...]] | None = None
    for length, attested_at, by in matching:
        if running is None or attested_at < running[0]:
            running = (attested_at, by)
        best[length] = running
    lengths = sorted(best)
    ranges: list[AttestedRange] = []
    position = 0
    current: dict[str, Any] | None = None

    def close() -> None:
        if current is not None:
            ranges.append(AttestedRange(**current))

    for seq, _ in links:
        while position < len(lengths) and lengths[position] < seq:
            position += 1
        attested_at, by = best[lengths[position]] if position < len(lengths) else (None, ())
        moment = recorded.get(seq)
        lag = attested_at - moment if attested_at is not None and moment is not None else None
        late = lag is not None and lag > late_after
        if current is None or current["attested_at"] != attested_at or current["late"] != late:
            close()
            current = {
                "first_seq": seq,
                "last_seq": seq,
                "recorded_from": moment,
                "recorded_to": moment,
                "attested_at": attested_at,
                "attested_by": by,
                "largest_lag": lag,
                "late": late,
            }
            continue
        current["last_seq"] = seq
        if moment is not None:
            if current["recorded_from"] is None or moment < current["recorded_from"]:
                current["recorded_from"] = moment
            if current["recorded_to"] is None or moment > current["recorded_to"]:
                current["recorded_to"] = moment
        if lag is not None and (current["largest_lag"] is None or lag > current["largest_lag"]):
            current["largest_lag"] = lag
    close()
    return AttestationReport(
        ranges=tuple(ranges),
        conflicts=tuple(conflicts),
        rejected=tuple(rejected),
        late_after=late_after,
        checks=checks,
    )


def _stamp(moment: datetime | None) -> str | None:
    return chain.format_timestamp(moment) if moment is not None else None


def report_json(report: AttestationReport) -> dict[str, Any]:
    """The whole report in the API's JSON form (POST /api/verify `attestation`)."""
    return {
        "ranges": ranges_json(report),
        "attested_length": report.attested_length,
        "first_late_seq": report.first_late_seq,
        "late_after_s": int(report.late_after.total_seconds()),
        "conflicts": [
            {"length": c.length, "head": c.head, "attested_at": _stamp(c.attested_at)}
            for c in report.conflicts
        ],
        "rejected": [
            {"length": c.length, "head": c.head, "problems": list(c.problems)}
            for c in report.rejected
        ],
    }


def ranges_json(report: AttestationReport) -> list[dict[str, Any]]:
    """The report's ranges in the API's and the verifier's JSON form."""
    stamp = _stamp
    return [
        {
            "first_seq": r.first_seq,
            "last_seq": r.last_seq,
            "recorded_from": stamp(r.recorded_from),
            "recorded_to": stamp(r.recorded_to),
            "attested_at": stamp(r.attested_at),
            "attested_by": list(r.attested_by),
            "largest_lag_s": int(r.largest_lag.total_seconds()) if r.largest_lag else None,
            "late": r.late,
        }
        for r in report.ranges
    ]


def attest_lines(
    *,
    lines: Sequence[Mapping[str, Any]],
    document: Any,
    trusted_roots: Collection[str] | None,
    late_after: timedelta = DEFAULT_LATE_AFTER,
) -> AttestationReport | None:
    """attest() for line objects that verified (a dossier's, as it is built) and their
    anchors.json; None when it holds no anchored checkpoint."""
    receipts = parse_anchors_document(document)
    if not receipts:
        return None
    links: list[tuple[int, str]] = []
    recorded: dict[int, datetime] = {}
    for line in lines:
        if "entry" in line:
            entry = line["entry"]
            links.append((entry["seq"], line["hash"]))
            recorded[entry["seq"]] = chain.parse_timestamp(entry["recorded_at"])
        else:
            links.append((line["omitted"]["seq"], line["omitted"]["hash"]))
    checks = [check_anchored_receipt(r, trusted_roots=trusted_roots) for r in receipts]
    return attest(links=links, recorded=recorded, checks=checks, late_after=late_after)
