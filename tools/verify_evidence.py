#!/usr/bin/env python3
"""Check an Evidence Locker export bundle (.zip) or dossier (.pdf) without the server.

    python3 verify_evidence.py case.zip [--fingerprint HEX] [--tsa-root root.pem] [--json]

Written from docs/chain-format.md alone; it imports nothing from the project. Needs Python
3.11+ and `cryptography` 42 or later. Exit code: 0 verified, 1 something failed, 2 usage.

It checks every entry's hash, the links, seq and recorded_at order; the evidence files'
sizes and SHA-256 (a bundle only: a dossier carries none); checkpoint.json's signature and,
with --fingerprint, its signer; anchors.json: each anchored checkpoint's signature, Merkle
proof and RFC 3161 tokens (CMS signature, signed attributes, the signer's critical
timeStamping key usage, the imprint, a certificate path to a root, with --tsa-root one you
named); and from those the attested time of each range of entries, conflicts and late
entries. It does not check the dossier PDF's own signature (pdfsig or pyHanko do), nor
revocation (there is no offline data for it), nor whose a fingerprint is: compare it with
what the instance and the TSA publish.

`cryptography` verifies signatures but not CMS SignedData, so the tokens are read with the
small DER reader below. That keeps this one file with one dependency that installs
everywhere (no openssl binary), and makes it a second implementation beside the server's
pyHanko; the tests check that it agrees with `openssl ts -verify`. The PDF reader is also
its own (zlib and a tokenizer, no poppler), for the same reason."""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import re
import sys
import zipfile
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

GENESIS = "0" * 64
ENTRY_MEMBERS = {"v", "case", "seq", "prev", "kind", "recorded_at", "occurred_at"}
ENTRY_MEMBERS |= {"author", "body", "evidence"}
HEX64 = re.compile(r"^[0-9a-f]{64}$")
STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
MAX_EMBEDDED_BYTES = 256 * 1024 * 1024


class Failure(Exception):
    """Something that does not verify; the message says what, for the report."""


class UsageError(Exception):
    """Exit code 2: the command line, or a file that is neither a bundle nor a dossier."""


# --- Canonical JSON and the chain (sections "The hash", "Rules a valid chain follows") -----


def canon(value: Any) -> bytes:
    # RFC 8785 writes exactly this for the format's values: no floats, integers below 2^53
    # and ASCII member names (RFC 8785 sorts by UTF-16 units, Python by code points).
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def load_json(data: bytes, what: str) -> Any:
    def refuse(text: str) -> Any:
        raise Failure(f"{what}: {text} is not allowed (no floating-point numbers)")

    try:
        value = json.loads(data.decode("utf-8"), parse_float=refuse, parse_constant=refuse)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise Failure(f"{what} is not UTF-8 JSON: {exc}") from None
    stack = [value]
    while stack:  # what canon() would write differently from RFC 8785
        item = stack.pop()
        if isinstance(item, dict):
            if not all(key.isascii() for key in item):
                raise Failure(f"{what}: a member name is not ASCII")
            stack += item.values()
        elif isinstance(item, list):
            stack += item
        elif isinstance(item, int) and abs(item) >= 2**53:
            raise Failure(f"{what}: integer {item} is beyond 2^53")
    return value


def stamp(text: Any) -> datetime:
    if not isinstance(text, str) or not STAMP.match(text):
        raise Failure(f"timestamp {text!r} is not YYYY-MM-DDTHH:MM:SS.ffffffZ")
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def check_chain(jsonl: bytes) -> dict[str, Any]:
    """entries.jsonl checked line by line: its links (seq, hash), recorded times, evidence."""
    if jsonl and not jsonl.endswith(b"\n"):
        raise Failure("entries.jsonl does not end with a newline")
    prev, links, recorded, evidence, case, last = GENESIS, [], {}, [], None, None
    for seq, raw in enumerate(jsonl.split(b"\n")[:-1], start=1):
        line = load_json(raw, f"entries.jsonl line {seq}")
        # Exactly canonical, so that no duplicate member or other look-alike can show a
        # reader something other than what was hashed.
        if not isinstance(line, dict) or canon(line) != raw:
            raise Failure(f"entries.jsonl line {seq} is not one canonical JSON object")
        if set(line) == {"entry", "hash"} and isinstance(line["entry"], dict):
            entry, digest = line["entry"], line["hash"]
            if set(entry) != ENTRY_MEMBERS or entry["v"] is True or entry["v"] != 1:
                raise Failure(f"seq {seq}: the entry does not have the ten members of v1")
            if hashlib.sha256(canon(entry)).hexdigest() != digest:
                raise Failure(f"seq {seq} was changed: its entry does not hash to its hash")
            if recorded and entry["case"] != case:
                raise Failure(f"seq {seq} belongs to another case")
            case, moment = entry["case"], stamp(entry["recorded_at"])
            if last and moment < last:
                raise Failure(f"seq {seq}: recorded_at goes backwards")
            recorded[seq] = last = moment
            for item in entry["evidence"] if isinstance(entry["evidence"], list) else [None]:
                sound = isinstance(item, dict) and type(item.get("size")) is int
                if not sound or not HEX64.match(str(item.get("sha256"))):
                    raise Failure(f"seq {seq}: an evidence item is malformed")
                evidence.append((seq, item["sha256"], item["size"]))
        elif set(line) == {"omitted"} and isinstance(line["omitted"], dict):
            entry, digest = line["omitted"], line["omitted"].get("hash")
        else:
            raise Failure(f"entries.jsonl line {seq} is neither {{entry, hash}} nor {{omitted}}")
        if entry.get("seq") != seq:
            raise Failure(f"line {seq} has seq {entry.get('seq')!r}: entries missing or moved")
        if entry.get("prev") != prev or not HEX64.match(str(digest)):
            raise Failure(f"seq {seq}: broken link (prev is not the hash of seq {seq - 1})")
        prev = digest
        links.append((seq, digest))
    return {
        "links": links,
        "recorded": recorded,
        "evidence": evidence,
        "length": len(links),
        "head": prev,
        "case": case,
    }


def verify_checkpoint(document: Any, what: str) -> str:
    """Check a signed checkpoint (ECDSA P-256, SHA-256, over the canonical bytes of its
    `checkpoint` object) with the certificate it carries; return that certificate's
    SHA-256 fingerprint. Whose certificate it is, the fingerprint tells."""
    try:
        certificate = x509.load_pem_x509_certificate(document["certificate"].encode())
        key = certificate.public_key()
        if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
            raise Failure(f"{what}: the key is not ECDSA P-256")
        signature = base64.b64decode(document["signature"], validate=True)
        key.verify(signature, canon(document["checkpoint"]), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise Failure(f"{what}: the signature does not verify") from None
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise Failure(f"{what} is malformed ({exc!r})") from None
    return certificate.fingerprint(hashes.SHA256()).hex()


# --- Merkle proofs: RFC 6962 hashing, verified as RFC 9162 section 2.1.3.2 says -------------


def root_from_proof(leaf: bytes, index: int, size: int, proof: list[bytes]) -> bytes:
    def node(left: bytes, right: bytes) -> bytes:
        return hashlib.sha256(b"\x01" + left + right).digest()

    if not 0 <= index < size:
        raise Failure(f"leaf index {index} is outside a tree of {size}")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise Failure("the Merkle proof is longer than the path to the root")
        if fn & 1 or fn == sn:
            r = node(p, r)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise Failure("the Merkle proof is shorter than the path to the root")
    return r


# --- RFC 3161 tokens: a minimal DER reader and CMS SignedData (RFC 5652) checks -----------


class DER:
    """One DER element: its tag (a single byte: CMS and TSTInfo use no high tag numbers),
    `raw` (the whole encoding) and `body` (the contents)."""

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.tag, length, head = data[pos], data[pos + 1], 2
        if length & 0x80:  # long form; 0x80 alone would be BER's indefinite length
            if not 0 < length & 0x7F <= 4:
                raise Failure("the token is not DER")
            head += length & 0x7F
            length = int.from_bytes(data[pos + 2 : pos + head], "big")
        self.end = pos + head + length
        if self.end > len(data):
            raise Failure("the token is truncated")
        self.raw, self.body = data[pos : self.end], data[pos + head : self.end]

    def kids(self) -> list[DER]:
        found = [DER(self.body)] if self.body else []
        while found and found[-1].end < len(self.body):
            found.append(DER(self.body, found[-1].end))
        return found

    def oid(self) -> str:
        numbers, value = [], 0
        for byte in self.body:
            value = value << 7 | byte & 0x7F
            if not byte & 0x80:
                numbers, value = [*numbers, value], 0
        top = min(numbers[0] // 40, 2) if numbers else 0
        return ".".join(map(str, [top, numbers[0] - 40 * top, *numbers[1:]])) if numbers else ""


NIST, RSA, ECDSA, SMIME = (
    "2.16.840.1.101.3.4.2.",
    "1.2.840.113549.1.1.",
    "1.2.840.10045.",
    "1.2.840.113549.1.9.",
)
DIGESTS = {
    "1.3.14.3.2.26": "sha1",
    NIST + "1": "sha256",
    NIST + "2": "sha384",
    NIST + "3": "sha512",
}
# signatureAlgorithm -> (scheme, the hash it names; None: the signer's digestAlgorithm)
SIGNATURES = {
    RSA + "1": ("rsa", None),
    RSA + "10": ("pss", None),
    RSA + "11": ("rsa", "sha256"),
    RSA + "12": ("rsa", "sha384"),
    RSA + "13": ("rsa", "sha512"),
    ECDSA + "2.1": ("ec", None),
    ECDSA + "4.3.2": ("ec", "sha256"),
    ECDSA + "4.3.3": ("ec", "sha384"),
    ECDSA + "4.3.4": ("ec", "sha512"),
}
CRYPTO_HASHES = {"sha256": hashes.SHA256, "sha384": hashes.SHA384, "sha512": hashes.SHA512}
SIGNED_DATA, TST_INFO = "1.2.840.113549.1.7.2", SMIME + "16.1.4"
CONTENT_TYPE, MESSAGE_DIGEST = SMIME + "3", SMIME + "4"
ESS_V1, ESS_V2 = SMIME + "16.2.12", SMIME + "16.2.47"  # the signing-certificate attributes


def generalized_time(element: DER) -> datetime:
    whole, _, fraction = element.body.decode("ascii").rstrip("Z").partition(".")
    moment = datetime.strptime(whole, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    return moment + timedelta(microseconds=int((fraction + "000000")[:6]))


def is_signer(certificate: x509.Certificate, sid: DER) -> bool:
    if sid.tag == 0x80:  # [0] subjectKeyIdentifier
        try:
            extension = certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
        except x509.ExtensionNotFound:
            return False
        return extension.value.digest == sid.body
    issuer, serial = sid.kids()  # issuerAndSerialNumber
    number = int.from_bytes(serial.body, "big", signed=True)
    return certificate.serial_number == number and certificate.issuer.public_bytes() == issuer.raw


def issued_by(child: x509.Certificate, parent: x509.Certificate) -> bool:
    try:
        child.verify_directly_issued_by(parent)
        return True
    except (ValueError, TypeError, InvalidSignature):
        return False


def path_to_root(signer: x509.Certificate, pool: list[x509.Certificate], moment: datetime):
    """From the TSA's certificate up to a self-signed root, each issuer a CA, every
    certificate valid at the token's time (a TSA certificate that expired since still
    vouched then)."""
    path = [signer]
    while len(path) < 8:
        current = path[-1]
        if not current.not_valid_before_utc <= moment <= current.not_valid_after_utc:
            raise Failure(f"{current.subject.rfc4514_string()} was not valid at {moment}")
        issuers = [c for c in pool if c.subject == current.issuer and issued_by(current, c)]
        if not issuers:
            raise Failure("the TSA's certificate does not chain to a root given with it")
        if issuers[0] == current:
            return path
        try:
            is_ca = issuers[0].extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        except x509.ExtensionNotFound:
            is_ca = False
        if not is_ca:
            raise Failure("a certificate on the TSA's path is not a CA")
        path.append(issuers[0])
    raise Failure("the TSA's certificate path is too long")


def verify_token(der: bytes, root: bytes, pool: list[x509.Certificate]) -> dict[str, Any]:
    """Check one token over `root` (RFC 3161 section 2.4.2, RFC 5652 sections 5.3-5.6)."""
    content_type, content = DER(der).kids()
    if DER(der).end != len(der) or content_type.oid() != SIGNED_DATA or content.tag != 0xA0:
        raise Failure("not a CMS SignedData")
    signed = content.kids()[0].kids()  # version, digestAlgorithms, encapContentInfo, ...
    econtent_type, wrapper = signed[2].kids()
    econtent = wrapper.kids()[0]
    if econtent_type.oid() != TST_INFO or econtent.tag != 0x04:
        raise Failure("the SignedData holds no TSTInfo")
    tst = DER(econtent.body).kids()  # version, policy, messageImprint, serialNumber, genTime
    imprint_algorithm, hashed_message = tst[2].kids()
    if DIGESTS.get(imprint_algorithm.kids()[0].oid()) != "sha256":
        raise Failure("the imprint is not SHA-256")
    if hashed_message.body != hashlib.sha256(root).digest():
        raise Failure("the token is over another root")
    gen_time = generalized_time(tst[4])
    carried = [c for c in signed[3:-1] if c.tag == 0xA0]  # [0] IMPLICIT certificates
    certificates = (
        [x509.load_der_x509_certificate(c.raw) for c in carried[0].kids()] if carried else []
    )
    pool = certificates + pool
    if len(signer_infos := signed[-1].kids()) != 1:
        raise Failure("a token has exactly one signer")
    signer_info = signer_infos[0].kids()  # version, sid, digestAlgorithm, signedAttrs, ...
    _, sid, digest_algorithm, attributes, signature_algorithm, signature, *_ = signer_info
    digest = DIGESTS.get(digest_algorithm.kids()[0].oid(), "?")
    scheme, named = SIGNATURES.get(signature_algorithm.kids()[0].oid(), ("?", None))
    if attributes.tag != 0xA0 or scheme == "?" or digest in ("?", "sha1"):
        raise Failure("the token has no signed attributes, or an algorithm not known here")
    signed_attributes: dict[str, DER] = {}
    for attribute in attributes.kids():
        kind, values = attribute.kids()
        if kind.oid() in signed_attributes:
            raise Failure("a signed attribute appears twice")
        signed_attributes[kind.oid()] = values.kids()[0]
    if signed_attributes.get(CONTENT_TYPE, DER(b"\x06\x00")).oid() != TST_INFO:
        raise Failure("the signed content type is not TSTInfo")
    if MESSAGE_DIGEST not in signed_attributes or (
        signed_attributes[MESSAGE_DIGEST].body != hashlib.new(digest, econtent.body).digest()
    ):
        raise Failure("the TSTInfo does not match the signed message digest")
    if not (signers := [c for c in pool if is_signer(c, sid)]):
        raise Failure("the TSA's certificate is neither in the token nor beside it")
    signer = signers[0]
    # ESS signing-certificate(-v2) names, under the signature, which certificate signed.
    if ESS_V2 in signed_attributes:
        cert_id = signed_attributes[ESS_V2].kids()[0].kids()[0].kids()
        explicit = cert_id[0].tag == 0x30  # hashAlgorithm, DEFAULT sha256
        ess_hash = DIGESTS.get(cert_id[0].kids()[0].oid(), "?") if explicit else "sha256"
        ess_value = cert_id[1 if explicit else 0].body
    elif ESS_V1 in signed_attributes:
        ess_hash, ess_value = "sha1", signed_attributes[ESS_V1].kids()[0].kids()[0].kids()[0].body
    else:
        raise Failure("the token does not name its signing certificate (ESS)")
    signer_der = signer.public_bytes(serialization.Encoding.DER)
    if ess_hash == "?" or ess_value != hashlib.new(ess_hash, signer_der).digest():
        raise Failure("the signing certificate the token names is not its signer")
    # The signature covers the attributes DER-encoded as a SET OF, not as [0] IMPLICIT.
    data, key = b"\x31" + attributes.raw[1:], signer.public_key()
    algorithm = CRYPTO_HASHES[named or digest]()
    try:
        if scheme in ("rsa", "pss") and isinstance(key, rsa.RSAPublicKey):
            pss = padding.PSS(padding.MGF1(algorithm), padding.PSS.AUTO)
            key.verify(
                signature.body, data, padding.PKCS1v15() if scheme == "rsa" else pss, algorithm
            )
        elif scheme == "ec" and isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature.body, data, ec.ECDSA(algorithm))
        else:
            raise Failure("the token's signature algorithm does not fit the TSA's key")
    except InvalidSignature:
        raise Failure("the token's signature does not verify") from None
    try:
        usage = signer.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    except x509.ExtensionNotFound:
        usage = None
    # RFC 3161 section 2.3: id-kp-timeStamping as the only key purpose, critical.
    if not usage or not usage.critical or list(usage.value) != [ExtendedKeyUsageOID.TIME_STAMPING]:
        raise Failure("the TSA's certificate lacks the critical timeStamping key usage")
    top = path_to_root(signer, pool, gen_time)[-1]
    return {
        "gen_time": gen_time,
        "tsa_subject": signer.subject.rfc4514_string(),
        "root_fingerprint": top.fingerprint(hashes.SHA256()).hex(),
        "root_subject": top.subject.rfc4514_string(),
    }


# --- Anchors: the anchored receipt, anchors.json, and what a verifier concludes ------------


def check_receipt(receipt: Any, trusted: set[str] | None, pool: list[x509.Certificate]) -> dict:
    """One anchored receipt: its checkpoint's signature, the proof from its leaf to the
    root, each token over the root. It holds with at least one valid token from a trusted
    TSA; its attested time is the earliest such token's genTime."""
    out: dict[str, Any] = {
        "length": None,
        "head": None,
        "case": None,
        "signer_fingerprint": None,
        "tokens": [],
        "problems": [],
        "holds": False,
        "attested_at": None,
        "attested_by": [],
    }
    try:
        body, anchor = receipt["checkpoint"], receipt["anchor"]
        out.update(length=body["length"], head=body["head"], case=body["case"])
        document = {name: value for name, value in receipt.items() if name != "anchor"}
        out["signer_fingerprint"] = verify_checkpoint(document, "its checkpoint")
        root, leaf = bytes.fromhex(anchor["root"]), hashlib.sha256(b"\x00" + canon(body)).digest()
        proof = [bytes.fromhex(step) for step in anchor["proof"]]
        if root_from_proof(leaf, anchor["leaf_index"], anchor["tree_size"], proof) != root:
            raise Failure("its Merkle proof leads to another root")
        tokens = anchor["tokens"]
        if anchor["v"] != 1 or not tokens or not all(isinstance(t, dict) for t in tokens):
            raise Failure("its anchor is not version 1 or carries no tokens")
    except Failure as exc:
        return {**out, "problems": [str(exc)]}
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        return {**out, "problems": [f"it is malformed ({exc!r})"]}
    for number, token in enumerate(tokens, start=1):
        check: dict[str, Any] = {"tsa": str(token.get("tsa")), "valid": False, "trusted": False}
        try:
            beside = [
                x509.load_pem_x509_certificates(pem.encode()) for pem in token["certificates"]
            ]
            der = base64.b64decode(token["token"], validate=True)
            check.update(verify_token(der, root, [c for pems in beside for c in pems] + pool))
            check.update(
                valid=True, trusted=trusted is None or check["root_fingerprint"] in trusted
            )
        except Failure as exc:
            check["problem"] = str(exc)
        except (KeyError, TypeError, ValueError, IndexError) as exc:  # a structure cut or bent
            check["problem"] = f"it is not a well-formed RFC 3161 token ({exc!r})"
        if "problem" in check:
            out["problems"].append(f"token {number} from {check['tsa']}: {check['problem']}")
        out["tokens"].append(check)
    if vouching := [t for t in out["tokens"] if t["trusted"]]:
        out.update(holds=True, attested_at=min(t["gen_time"] for t in vouching))
        out["attested_by"] = sorted({t["tsa_subject"] for t in vouching})
    elif not out["problems"]:
        out["problems"].append("no token is from a TSA whose root you named (--tsa-root)")
    return out


def attested_ranges(chain: dict, holding: list[dict], late_after: timedelta) -> list[dict]:
    """The attested time of entry s is the earliest among the holding receipts with length
    >= s; consecutive entries with the same attested time and late flag form a range."""
    suffix: list[tuple[int, dict]] = []  # (length, the earliest receipt at that length or more)
    for receipt in sorted(holding, key=lambda r: r["length"], reverse=True):
        if not suffix or receipt["attested_at"] < suffix[-1][1]["attested_at"]:
            suffix.append((receipt["length"], receipt))
        else:
            suffix.append((receipt["length"], suffix[-1][1]))
    suffix.reverse()
    ranges: list[dict] = []
    position = 0
    for seq, _ in chain["links"]:
        while position < len(suffix) and suffix[position][0] < seq:
            position += 1
        none = {"attested_at": None, "attested_by": []}
        source = suffix[position][1] if position < len(suffix) else none
        attested, recorded = source["attested_at"], chain["recorded"].get(seq)  # None: omitted
        lag = int((attested - recorded).total_seconds()) if attested and recorded else None
        late = lag is not None and lag > late_after.total_seconds()
        if not ranges or (ranges[-1]["attested_at"], ranges[-1]["late"]) != (attested, late):
            ranges.append(
                {
                    "first_seq": seq,
                    "recorded_from": None,
                    "recorded_to": None,
                    "attested_at": attested,
                    "attested_by": source["attested_by"],
                    "late": late,
                    "largest_lag_s": None,
                }
            )
        last = ranges[-1]
        last["last_seq"], last["recorded_from"] = seq, last["recorded_from"] or recorded
        last["recorded_to"] = recorded or last["recorded_to"]
        if lag is not None and (last["largest_lag_s"] is None or lag > last["largest_lag_s"]):
            last["largest_lag_s"] = lag
    return ranges


def check_anchors(document: Any, chain: dict, case: str, options: Any, problems: list) -> dict:
    if not isinstance(document, dict) or set(document) != {"v", "case", "checkpoints"}:
        raise Failure('anchors.json is not {"v", "case", "checkpoints"}')
    if (
        document["v"] != 1
        or document["case"] != case
        or not isinstance(document["checkpoints"], list)
    ):
        raise Failure("anchors.json is not version 1, or names another case")
    roots = {c.fingerprint(hashes.SHA256()).hex() for c in options.roots}
    receipts = [check_receipt(r, roots or None, options.roots) for r in document["checkpoints"]]
    hash_at, holding, conflicts = dict(chain["links"]), [], []
    for receipt in receipts:
        name = f"anchored checkpoint of length {receipt['length']}"
        problems += [f"{name}: {problem}" for problem in receipt["problems"]]
        if receipt["case"] not in (None, case):
            problems.append(f"{name} is for another case")
        elif options.fingerprint and receipt["signer_fingerprint"] not in (
            None,
            *options.fingerprint,
        ):
            problems.append(
                f"{name} is signed by {receipt['signer_fingerprint']}, not --fingerprint"
            )
        elif receipt["holds"] and (
            receipt["length"] == 0 or hash_at.get(receipt["length"]) == receipt["head"]
        ):
            holding.append(receipt)
        elif receipt["holds"]:  # a TSA saw a head this chain does not have
            conflicts.append(receipt["length"])
            problems.append(
                f"conflict: {'; '.join(receipt['attested_by'])} vouched at "
                f"{when(receipt['attested_at'])} for a chain whose entry {receipt['length']} "
                f"had hash {receipt['head'][:16]}…, not this one's: it was rewritten or cut since"
            )
    ranges = attested_ranges(chain, holding, options.late_after)
    late = [r["first_seq"] for r in ranges if r["late"]]
    found = {
        (t["root_fingerprint"], t["root_subject"])
        for r in receipts
        for t in r["tokens"]
        if t["valid"]
    }
    return {
        "receipts": receipts,
        "ranges": ranges,
        "conflicts": conflicts,
        "first_late_seq": late[0] if late else None,
        "tsa_roots_checked": bool(roots),
        "tsa_roots": [
            {"fingerprint": f, "subject": s, "trusted": f in roots if roots else None}
            for f, s in sorted(found)
        ],
    }


# --- Reading the input: a ZIP bundle, or the embedded files of a dossier PDF ---------------


class Name(str):
    """A PDF name (/Type)."""


class Ref(int):
    """A PDF indirect reference (12 0 R): the object number."""


class Delim(bytes):
    """The end of a PDF dictionary or array."""


PDF_TOKEN = re.compile(
    rb"(?:\s|%[^\r\n]*)*(<<|>>|\[|\]|\(|<[0-9A-Fa-f\s]*>|/[^\s/<>\[\]()%]*"
    rb"|[+-]?(?:\d+\.?\d*|\.\d+)|true|false|null)"
)
PDF_REF, PDF_OBJ = re.compile(rb"\s+\d+\s+R\b"), re.compile(rb"(?<![0-9])(\d+)\s+\d+\s+obj\b")
PDF_ESCAPES = {ord("n"): 10, ord("r"): 13, ord("t"): 9, ord("b"): 8, ord("f"): 12}


def pdf_value(data: bytes, pos: int) -> tuple[Any, int]:
    """One PDF object (ISO 32000-1 section 7.3) at `pos`, and the position after it."""
    if not (match := PDF_TOKEN.match(data, pos)):
        raise Failure(f"the PDF has an unreadable object at byte {pos}")
    token, pos = match[1], match.end()
    if token in (b">>", b"]"):
        return Delim(token), pos
    if token in (b"<<", b"["):
        items: list[Any] = []
        while True:
            item, pos = pdf_value(data, pos)
            if isinstance(item, Delim):
                break
            items.append(item)
        return (dict(zip(items[::2], items[1::2], strict=False)) if token == b"<<" else items), pos
    if token == b"(":  # a literal string: balanced parentheses, backslash escapes
        out, depth = bytearray(), 1
        while depth:
            char, pos = data[pos], pos + 1
            if char == 0x5C and (octal := re.match(rb"[0-7]{1,3}", data[pos : pos + 3])):
                out.append(int(octal[0], 8) & 0xFF)
                pos += len(octal[0])
            elif char == 0x5C and data[pos] in b"\r\n":  # a line continuation
                pos += 2 if data[pos : pos + 2] == b"\r\n" else 1
            elif char == 0x5C:
                out.append(PDF_ESCAPES.get(data[pos], data[pos]))
                pos += 1
            else:
                depth += {0x28: 1, 0x29: -1}.get(char, 0)
                if depth:  # the closing parenthesis is not part of the string
                    out.append(char)
        return bytes(out), pos
    if token[:1] == b"<":
        digits = re.sub(rb"\s", b"", token[1:-1])
        return bytes.fromhex((digits + b"0" * (len(digits) % 2)).decode()), pos
    if token[:1] == b"/":
        name = re.sub(rb"#([0-9A-Fa-f]{2})", lambda m: bytes([int(m[1], 16)]), token[1:])
        return Name(name.decode("latin-1")), pos
    if token in (b"true", b"false", b"null"):
        return {b"true": True, b"false": False, b"null": None}[token], pos
    if re.fullmatch(rb"[+-]?\d+", token):
        reference = PDF_REF.match(data, pos)
        return (Ref(int(token)), reference.end()) if reference else (int(token), pos)
    return float(token), pos


def pdf_objects(data: bytes) -> dict[int, tuple[int, Any, bytes | None]]:
    """Every object: number -> (file position, value, raw stream bytes). Incremental updates
    append, so a later definition replaces an earlier one; an object inside an object stream
    (/Type /ObjStm) counts at that stream's position."""
    objects: dict[int, tuple[int, Any, bytes | None]] = {}
    pos = 0
    while match := PDF_OBJ.search(data, pos):
        try:
            value, pos = pdf_value(data, match.end())
        except (Failure, IndexError, ValueError):
            pos = match.end()  # not an object this reader needs; go on after its header
            continue
        stream = None
        if isinstance(value, dict) and (start := re.compile(rb"\s*stream\r?\n").match(data, pos)):
            length = value.get("Length")
            if isinstance(length, Ref):  # an indirect length: read that object first
                found = re.findall(rb"(?<![0-9])%d\s+\d+\s+obj\s*(\d+)\s*endobj" % length, data)
                length = int(found[-1]) if found else None
            if not isinstance(length, int) or length < 0:
                raise Failure(f"PDF object {int(match[1])} has no usable stream /Length")
            stream, pos = data[start.end() : start.end() + length], start.end() + length
        objects[int(match[1])] = (match.start(), value, stream)
    for position, value, stream in list(objects.values()):
        if isinstance(value, dict) and value.get("Type") == "ObjStm" and stream is not None:
            body, first = pdf_decode(value, stream), value["First"]
            numbers = [int(n) for n in body[:first].split()]
            for number, offset in zip(numbers[::2], numbers[1::2], strict=False):
                if objects.get(number, (-1,))[0] < position:
                    objects[number] = (position, pdf_value(body, first + offset)[0], None)
    return objects


def pdf_decode(dictionary: dict, raw: bytes) -> bytes:
    filters = dictionary.get("Filter") or []
    filters = [filters] if isinstance(filters, str) else filters
    if dictionary.get("DecodeParms") or any(f != "FlateDecode" for f in filters):
        raise Failure(f"a PDF stream uses {filters}, which this reader does not decode")
    for _ in filters:
        inflater = zlib.decompressobj()
        try:
            raw = inflater.decompress(raw, MAX_EMBEDDED_BYTES)
        except zlib.error as exc:
            raise Failure(f"a compressed PDF stream is damaged ({exc})") from None
        if inflater.unconsumed_tail:
            raise Failure("an embedded file is larger than this reader accepts")
    return raw


def pdf_embedded_files(data: bytes) -> dict[str, bytes]:
    """The files in the catalog's /Names /EmbeddedFiles name tree (ISO 32000-1 7.7.4, 7.9.6,
    7.11.4). The newest catalog counts: an incremental update writes the catalog anew."""
    if re.search(rb"/Encrypt\b", data):
        raise Failure("the PDF is encrypted, which this reader does not handle")
    objects = pdf_objects(data)

    def get(value: Any) -> Any:
        for _ in range(32):
            value = objects.get(value, (0, None))[1] if isinstance(value, Ref) else value
        return None if isinstance(value, Ref) else value

    catalogs = [
        (p, v) for p, v, _ in objects.values() if isinstance(v, dict) and v.get("Type") == "Catalog"
    ]
    names = get(max(catalogs, key=lambda item: item[0])[1].get("Names")) if catalogs else None
    files: dict[str, bytes] = {}

    def walk(tree: Any, depth: int) -> None:
        if not isinstance(tree, dict) or depth > 32:
            raise Failure("the PDF's embedded-files tree is malformed")
        pairs = get(tree.get("Names")) or []
        for key, spec in zip(pairs[::2], pairs[1::2], strict=False):
            name = key[2:].decode("utf-16-be") if key[:2] == b"\xfe\xff" else key.decode("latin-1")
            streams = get((get(spec) or {}).get("EF")) or {}
            stream = objects.get(streams.get("UF") or streams.get("F"), (0, None, None))
            if stream[2] is None or name in files:
                raise Failure(f"the PDF's embedded file {name} has no stream, or comes twice")
            files[name] = pdf_decode(stream[1], stream[2])
        for kid in get(tree.get("Kids")) or []:
            walk(get(kid), depth + 1)

    if not isinstance(names, dict) or "EmbeddedFiles" not in names:
        raise Failure("the PDF embeds no files")
    walk(get(names["EmbeddedFiles"]), 0)
    return files


def read_input(path: str) -> tuple[str, dict[str, bytes], Any]:
    """(kind, its chain files by name, a lookup sha256 -> (sha256, size) of evidence or None)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(5)
            if data == b"%PDF-":
                data += handle.read()
                try:
                    return "dossier", pdf_embedded_files(data), None
                except (IndexError, KeyError, TypeError, ValueError, RecursionError) as exc:
                    raise Failure(f"the PDF cannot be read ({exc!r})") from None
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    if not data.startswith(b"PK"):
        raise UsageError(f"{path} is neither a ZIP bundle nor a PDF dossier")
    try:
        archive = zipfile.ZipFile(path)
        names = set(archive.namelist())
        wanted = ("entries.jsonl", "checkpoint.json", "anchors.json")
        files = {name: archive.read(name) for name in wanted if name in names}
    except (zipfile.BadZipFile, OSError) as exc:
        raise Failure(f"not a readable ZIP file: {exc}") from None

    def evidence(sha256: str) -> tuple[str, int] | None:
        if f"evidence/{sha256}" not in names:
            return None
        digest, size = hashlib.sha256(), 0
        try:
            with archive.open(f"evidence/{sha256}") as member:  # streamed: files can be large
                while chunk := member.read(1 << 20):
                    digest.update(chunk)
                    size += len(chunk)
        except (zipfile.BadZipFile, OSError):  # e.g. its CRC no longer matches its bytes
            return None
        return digest.hexdigest(), size

    return "bundle", files, evidence


# --- The verdict -----------------------------------------------------------------------------


def verify(path: str, options: Any) -> dict[str, Any]:
    kind, files, evidence = read_input(path)
    result: dict[str, Any] = {"file": path, "kind": kind, "ok": False, "problems": []}
    problems: list[str] = result["problems"]
    try:
        if missing := {"entries.jsonl", "checkpoint.json"} - set(files):
            raise Failure(f"{', '.join(sorted(missing))} missing")
        chain = check_chain(files["entries.jsonl"])
        result.update(length=chain["length"], head=chain["head"], shown=len(chain["recorded"]))
        for seq, sha256, size in chain["evidence"] if evidence else []:
            if evidence(sha256) != (sha256, size):
                problems.append(
                    f"evidence file {sha256} (seq {seq}) is missing or not its size and SHA-256"
                )
        result["evidence_checked"] = len(chain["evidence"]) if evidence else None
        checkpoint = load_json(files["checkpoint.json"], "checkpoint.json")
        result["signer_fingerprint"] = verify_checkpoint(checkpoint, "checkpoint.json")
        body = checkpoint["checkpoint"]
        case = result["case"] = chain["case"] or body.get("case")
        if (body.get("case"), body.get("length"), body.get("head")) != (
            case,
            chain["length"],
            chain["head"],
        ):
            raise Failure("checkpoint.json is for another case, length or head than entries.jsonl")
        if options.fingerprint and result["signer_fingerprint"] not in options.fingerprint:
            problems.append(
                f"checkpoint.json is signed by {result['signer_fingerprint']}, not --fingerprint"
            )
        result["anchors"] = None
        if "anchors.json" in files:
            document = load_json(files["anchors.json"], "anchors.json")
            result["anchors"] = check_anchors(document, chain, case, options, problems)
    except Failure as exc:
        problems.append(str(exc))
    result["ok"] = not problems
    return result


def when(moment: datetime | None, otherwise: str = "not yet") -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else otherwise


def print_report(result: dict[str, Any], options: Any) -> None:
    print(f"{result['file']}: {'export bundle' if result['kind'] == 'bundle' else 'dossier PDF'}")
    if "length" in result:
        print(
            f"Chain: {result['length']} entries ({result['length'] - result['shown']} omitted), "
            f"head {result['head']}, case {result.get('case')}"
        )
    if result.get("evidence_checked") is not None:
        print(f"Evidence files checked (size and SHA-256): {result['evidence_checked']}")
    if result.get("signer_fingerprint"):
        print(f"Checkpoint signed by the certificate with SHA-256 {result['signer_fingerprint']}")
        if not options.fingerprint:
            print("  (not compared: check it on the instance's /keys page, or pass --fingerprint)")
    if (anchors := result.get("anchors")) is None and "signer_fingerprint" in result:
        print("Anchors: none in this file, so no third-party time")
    elif anchors:
        held = sum(r["holds"] for r in anchors["receipts"])
        print(f"Anchors: {held} of {len(anchors['receipts'])} anchored checkpoints hold")
        signers = {r["signer_fingerprint"] for r in anchors["receipts"]} - {None}
        if signers - {result["signer_fingerprint"]}:  # e.g. a key used before a rotation
            print(f"  anchored checkpoints signed by: {', '.join(sorted(signers))}")
        for root in anchors["tsa_roots"]:
            trust = {True: "trusted (--tsa-root)", False: "NOT trusted"}.get(
                root["trusted"], "NOT CHECKED against a trusted list (pass --tsa-root)"
            )
            print(f"  TSA root {root['fingerprint']} ({root['subject']}): {trust}")
        for r in anchors["ranges"]:
            by = f" by {'; '.join(r['attested_by'])}" if r["attested_by"] else ""
            late = f"  LATE by {timedelta(seconds=r['largest_lag_s'])}" if r["late"] else ""
            seqs = f"{r['first_seq']}" + (
                f"-{r['last_seq']}" if r["last_seq"] > r["first_seq"] else ""
            )
            recorded = f"{when(r['recorded_from'], '(omitted)')} to {when(r['recorded_to'], '')}"
            print(f"  seq {seqs}: recorded {recorded}, attested {when(r['attested_at'])}{by}{late}")
        if (first := anchors["first_late_seq"]) is not None:
            print(
                f"Attested late from seq {first}: the third-party time is more than "
                f"{options.late_after} after recorded_at. Look closer (a back-dated rewrite, "
                f"or a long TSA outage). 自第 {first} 条起，第三方时间明显晚于记录时间。"
            )
    for problem in result["problems"]:
        print(f"FAILED: {problem}")
    print("VERIFIED 验证通过" if result["ok"] else "NOT VERIFIED 验证失败")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("file", help="an export bundle (.zip) or a dossier (.pdf)")
    parser.add_argument(
        "--fingerprint",
        action="append",
        default=[],
        metavar="HEX",
        help="SHA-256 of a signer certificate you accept (see /keys); repeatable",
    )
    parser.add_argument(
        "--tsa-root",
        action="append",
        default=[],
        metavar="PEM",
        help="a TSA root certificate you trust; repeatable",
    )
    parser.add_argument(
        "--late-after",
        type=int,
        default=3600,
        metavar="SECONDS",
        help="flag entries attested more than this after recorded (3600)",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    options = parser.parse_args(argv)
    # A console or file in a legacy encoding still gets the report, not a UnicodeEncodeError.
    sys.stdout.reconfigure(errors="replace")  # type: ignore[union-attr]
    try:
        options.fingerprint = [f.lower().replace(":", "") for f in options.fingerprint]
        if not all(HEX64.match(f) for f in options.fingerprint) or options.late_after < 0:
            raise UsageError("--fingerprint takes 64 hex digits, --late-after whole seconds")
        options.late_after, options.roots = timedelta(seconds=options.late_after), []
        for name in options.tsa_root:
            try:
                with open(name, "rb") as handle:
                    options.roots += x509.load_pem_x509_certificates(handle.read())
            except (OSError, ValueError) as exc:
                raise UsageError(f"--tsa-root {name} is not a readable PEM file ({exc})") from None
        try:
            result = verify(options.file, options)
        except Failure as exc:  # a file that cannot be read as what it claims to be
            result = {
                "file": options.file,
                "kind": "?",
                "ok": False,
                "problems": [str(exc)],
                "anchors": None,
            }
    except UsageError as exc:
        print(f"verify_evidence.py: {exc}", file=sys.stderr)
        return 2
    if options.json:
        stamps = lambda o: o.strftime("%Y-%m-%dT%H:%M:%S.%fZ")  # noqa: E731 (datetimes only)
        print(json.dumps(result, default=stamps, ensure_ascii=False, indent=1))
    else:
        print_report(result, options)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
