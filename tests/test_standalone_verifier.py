"""tools/verify_evidence.py, the standalone verifier, run as a separate process (`python -I`,
from an empty directory) against real exports and dossiers of this project, anchored by two
real RFC 3161 services on loopback (tests/tsa_server.py); `openssl ts -verify` and poppler's
pdfdetach serve as independent second opinions where installed."""

from __future__ import annotations

import ast
import base64
import hashlib
import importlib.util
import io
import json
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import time_machine
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from locker.core import anchors, chain, merkle
from locker.dossier import build
from locker.dossier.render import render_pdf
from locker.dossier.sign import sign_dossier
from locker.exports import bundle
from locker.infra import signing
from locker.models import Checkpoint
from locker.selectors import anchors as anchor_selectors
from locker.services import anchors as anchor_services

from .conftest import needs
from .dossier_helpers import CHINESE_PHRASE, make_dossier, small_case
from .test_anchors import CT_LEAVES, CT_ROOT
from .test_verification import case_with_evidence, export_to
from .tsa import anchored_round, case_anchored_as_made, tsa_pair  # noqa: F401 (fixture)

SCRIPT = Path(__file__).resolve().parents[1] / "tools" / "verify_evidence.py"


def run(*args: Any, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    # -I: no PYTHONPATH, no user site, not even the script's own directory on sys.path.
    return subprocess.run(
        [sys.executable, "-I", str(SCRIPT), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        check=False,
    )


def run_json(*args: Any) -> tuple[int, dict[str, Any]]:
    done = run(*args, "--json")
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, json.loads(done.stdout)


def script_module() -> ModuleType:
    """The script loaded as a module, for checking its parts against the project's own."""
    spec = importlib.util.spec_from_file_location("verify_evidence", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fingerprint_of(pem_path: Path) -> str:
    return x509.load_pem_x509_certificate(pem_path.read_bytes()).fingerprint(hashes.SHA256()).hex()


def write_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def members_of(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def with_anchors(path: Path, out: Path, change: Callable[[dict], None]) -> Path:
    members = members_of(path)
    document = json.loads(members["anchors.json"])
    change(document)
    members["anchors.json"] = chain.canonical_bytes(document)
    return write_zip(out, members)


@pytest.fixture
def tsas(settings, tsa_pair):  # noqa: F811
    first, second = tsa_pair
    settings.LOCKER_TSA_URLS = [first.url, second.url]
    return first, second


@pytest.fixture
def anchored_export(tsas, tmp_path: Path) -> Path:
    case = case_with_evidence()
    anchor_services.anchor_pending_checkpoints()
    return export_to(tmp_path / "case.zip", case)


def test_the_script_imports_only_the_standard_library_and_cryptography() -> None:
    tree = ast.parse(SCRIPT.read_text(encoding="utf-8"))
    imported = {
        name.split(".")[0]
        for node in ast.walk(tree)
        for name in (
            [alias.name for alias in node.names]
            if isinstance(node, ast.Import)
            else [node.module or ""]
            if isinstance(node, ast.ImportFrom)
            else []
        )
    }
    assert imported - set(sys.stdlib_module_names) == {"cryptography"}


@pytest.mark.django_db
def test_a_run_loads_nothing_of_the_project(anchored_export: Path, tmp_path: Path) -> None:
    # The venv can import locker (editable install): check what a real run actually loaded.
    probe = (
        "import runpy, sys\n"
        f"sys.argv = ['verify_evidence.py', {str(anchored_export)!r}]\n"
        "try:\n"
        f"    runpy.run_path({str(SCRIPT)!r}, run_name='__main__')\n"
        "except SystemExit as exit:\n"
        "    print('exit', exit.code)\n"
        "print(sorted({m.split('.')[0] for m in sys.modules}"
        " & {'locker', 'config', 'tests', 'django', 'pyhanko', 'asn1crypto'}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-c", probe],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert done.stdout.strip().splitlines()[-2:] == ["exit 0", "[]"], done.stdout + done.stderr


@pytest.mark.django_db
def test_a_real_anchored_export_is_verified_and_attested(
    anchored_export: Path, tsas, tmp_path: Path
) -> None:
    first, second = tsas
    done = run(anchored_export, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (
        "VERIFIED" in done.stdout and "Evidence files checked (size and SHA-256): 1" in done.stdout
    )
    assert "not compared" in done.stdout  # no --fingerprint: the signer is only reported
    for root in (first.root_pem, second.root_pem):
        assert f"TSA root {fingerprint_of(root)}" in done.stdout
    assert done.stdout.count("NOT CHECKED against a trusted list") == 2

    code, result = run_json(anchored_export)
    assert code == 0 and result["ok"] and result["length"] == 4
    assert result["signer_fingerprint"] == signing.fingerprint(signing.load_signer().certificate)
    ranges = result["anchors"]["ranges"]
    assert (ranges[0]["first_seq"], ranges[-1]["last_seq"]) == (1, 4)
    assert all(r["attested_at"] and not r["late"] for r in ranges)
    assert {len(r["attested_by"]) for r in ranges} == {2}  # both TSAs vouch
    assert result["anchors"]["tsa_roots_checked"] is False


@pytest.mark.django_db
def test_fingerprint_right_and_wrong(anchored_export: Path) -> None:
    right = signing.fingerprint(signing.load_signer().certificate)
    assert run(anchored_export, "--fingerprint", right.upper()).returncode == 0
    wrong = hashlib.sha256(b"another instance").hexdigest()
    done = run(anchored_export, "--fingerprint", wrong)
    assert done.returncode == 1
    assert f"checkpoint.json is signed by {right}, not --fingerprint" in done.stdout
    assert "NOT VERIFIED" in done.stdout


@pytest.mark.django_db
def test_tsa_roots_right_one_of_two_and_wrong(anchored_export: Path, tsas, tmp_path: Path) -> None:
    first, second = tsas
    both = run(anchored_export, "--tsa-root", first.root_pem, "--tsa-root", second.root_pem)
    assert both.returncode == 0 and both.stdout.count("trusted (--tsa-root)") == 2

    code, result = run_json(anchored_export, "--tsa-root", first.root_pem)
    assert code == 0
    assert {r["attested_by"][0] for r in result["anchors"]["ranges"]} == {
        "CN=Loopback TSA A,O=Loopback Test TSA"
    }
    trusted = {root["subject"]: root["trusted"] for root in result["anchors"]["tsa_roots"]}
    assert trusted == {
        "CN=Loopback TSA A root,O=Loopback Test TSA": True,
        "CN=Loopback TSA B root,O=Loopback Test TSA": False,
    }

    # The instance's own CA is no TSA root: then no token attests anything.
    instance_ca = tmp_path / "instance-ca.pem"
    instance_ca.write_text(signing.load_signer().ca_certificate_pem, encoding="ascii")
    done = run(anchored_export, "--tsa-root", instance_ca)
    assert done.returncode == 1
    assert "no token is from a TSA whose root you named" in done.stdout


def _flip_token_signature(document: dict) -> None:
    token = document["checkpoints"][0]["anchor"]["tokens"][0]
    der = bytearray(base64.b64decode(token["token"]))
    der[-3] ^= 0x01  # inside the signature value, the last element
    token["token"] = base64.b64encode(bytes(der)).decode()


def _flip_token_time(document: dict) -> None:
    token = document["checkpoints"][0]["anchor"]["tokens"][1]
    der = bytearray(base64.b64decode(token["token"]))
    where = der.index(b"\x18")  # the first GeneralizedTime: genTime in the TSTInfo
    der[where + 10] ^= 0x01
    token["token"] = base64.b64encode(bytes(der)).decode()


def _change_proof(document: dict) -> None:
    anchor = next(r["anchor"] for r in document["checkpoints"] if r["anchor"]["proof"])
    step = anchor["proof"][0]
    anchor["proof"][0] = ("1" if step[0] != "1" else "2") + step[1:]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "named"),
    [
        (_flip_token_signature, "token 1 from http://127.0.0.1:"),
        (_flip_token_time, "token 2 from http://127.0.0.1:"),
        (_change_proof, "its Merkle proof leads to another root"),
    ],
)
def test_a_changed_token_or_proof_fails_naming_it(
    anchored_export: Path, tmp_path: Path, change, named: str
) -> None:
    done = run(with_anchors(anchored_export, tmp_path / "bad.zip", change))
    assert done.returncode == 1
    assert named in done.stdout and "NOT VERIFIED" in done.stdout


@pytest.mark.django_db
def test_a_changed_entry_or_evidence_file_fails_naming_it(
    anchored_export: Path, tmp_path: Path
) -> None:
    members = members_of(anchored_export)
    entries = members["entries.jsonl"].replace("晚上11点".encode(), "晚上12点".encode())
    done = run(write_zip(tmp_path / "entry.zip", {**members, "entries.jsonl": entries}))
    assert done.returncode == 1 and "FAILED: seq 4 was changed" in done.stdout

    [name] = [n for n in members if n.startswith("evidence/")]
    swapped = {**members, name: members[name] + b"\x00"}
    done = run(write_zip(tmp_path / "evidence.zip", swapped))
    assert done.returncode == 1
    assert f"evidence file {name.split('/')[1]} (seq 3)" in done.stdout


def _relinked(lines: list[dict]) -> list[dict]:
    """Lines whose hashes and links are recomputed after a change, as a forger would."""
    prev, out = "0" * 64, []
    for line in lines:
        entry = {**line["entry"], "prev": prev}
        prev = chain.entry_hash(entry)
        out.append({"entry": entry, "hash": prev})
    return out


def _drop_line_2(lines: list[dict]) -> list[dict]:
    return [lines[0], *lines[2:]]


def _rehash_with_a_wrong_prev(lines: list[dict]) -> list[dict]:
    entry = {**lines[2]["entry"], "prev": lines[0]["hash"]}  # points past seq 2
    return [*lines[:2], {"entry": entry, "hash": chain.entry_hash(entry)}, *lines[3:]]


def _back_date_seq_3(lines: list[dict]) -> list[dict]:
    earlier = chain.parse_timestamp(lines[1]["entry"]["recorded_at"]) - timedelta(seconds=1)
    changed = {**lines[2]["entry"], "recorded_at": chain.format_timestamp(earlier)}
    return _relinked([*lines[:2], {"entry": changed}, *lines[3:]])


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "named"),
    [
        (_drop_line_2, "line 2 has seq 3: entries missing or moved"),
        (_rehash_with_a_wrong_prev, "seq 3: broken link (prev is not the hash of seq 2)"),
        (_back_date_seq_3, "seq 3: recorded_at goes backwards"),
    ],
)
def test_each_chain_rule_is_enforced(tmp_path: Path, change, named: str) -> None:
    case = case_with_evidence()
    members = members_of(export_to(tmp_path / "case.zip", case))
    lines = [json.loads(raw) for raw in members["entries.jsonl"].splitlines()]
    entries = bundle.entries_jsonl(change(lines))
    done = run(write_zip(tmp_path / "changed.zip", {**members, "entries.jsonl": entries}))
    assert done.returncode == 1 and f"FAILED: {named}" in done.stdout, done.stdout


@needs(shutil.which("openssl") is not None, "openssl is not installed")
@pytest.mark.django_db
def test_openssl_ts_verify_agrees_on_every_token(
    anchored_export: Path, tsas, tmp_path: Path
) -> None:
    """A second implementation of RFC 3161 verification says the same as the script: each
    token verifies with its own TSA's root and not with the other one's; a flipped byte
    fails both."""
    first, second = tsas
    code, result = run_json(anchored_export)
    found = [t for r in result["anchors"]["receipts"] for t in r["tokens"]]
    document = json.loads(members_of(anchored_export)["anchors.json"])
    tokens = [
        (bytes.fromhex(r["anchor"]["root"]), base64.b64decode(t["token"]))
        for r in document["checkpoints"]
        for t in r["anchor"]["tokens"]
    ]

    def openssl_ok(root: bytes, der: bytes, ca: Path) -> bool:
        token_file = tmp_path / "token.der"
        token_file.write_bytes(der)
        done = subprocess.run(
            [
                "openssl",
                "ts",
                "-verify",
                "-token_in",
                "-in",
                token_file,
                "-digest",
                hashlib.sha256(root).hexdigest(),
                "-CAfile",
                ca,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        return done.returncode == 0 and "Verification: OK" in done.stdout

    assert code == 0 and len(found) == len(tokens) >= 2
    for (root, der), seen in zip(tokens, found, strict=True):
        for ca in (first.root_pem, second.root_pem):
            assert openssl_ok(root, der, ca) == (seen["root_fingerprint"] == fingerprint_of(ca))
    bad = with_anchors(anchored_export, tmp_path / "bad.zip", _flip_token_signature)
    root, der = tokens[0]
    flipped = bytearray(der)
    flipped[-3] ^= 0x01
    assert not openssl_ok(root, bytes(flipped), first.root_pem)
    assert not openssl_ok(root, bytes(flipped), second.root_pem)
    assert run(bad).returncode == 1


def _certificate(
    subject: str, issuer: str, key, signer, *, until: datetime, extensions: list | None = None
) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
        .public_key(key.public_key())
        .serial_number(1000)
        .not_valid_before(datetime(2020, 1, 1, tzinfo=UTC))
        .not_valid_after(until)
    )
    for extension, critical in extensions or []:
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(signer, hashes.SHA256())


def crafted_token(variant: str, root_hash: bytes, tmp_path: Path) -> tuple[bytes, list[str], Path]:
    """An RFC 3161 token over `root_hash` from a TSA made here, flawed as `variant` says;
    the token, the PEM certificates to put beside it, and its root's PEM file."""
    from asn1crypto import algos, cms, tsp
    from asn1crypto import keys as asn1_keys
    from asn1crypto import x509 as asn1_x509
    from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

    root_key, key = (rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in "ab")
    basic = x509.BasicConstraints(ca=variant != "root_not_a_ca", path_length=None)
    later = datetime(2030, 1, 1, tzinfo=UTC)
    root = _certificate(
        "Crafted root", "Crafted root", root_key, root_key, until=later, extensions=[(basic, True)]
    )
    purposes = [ExtendedKeyUsageOID.TIME_STAMPING]
    if variant == "eku_also_server_auth":
        purposes.append(ExtendedKeyUsageOID.SERVER_AUTH)
    usage = (x509.ExtendedKeyUsage(purposes), variant != "eku_not_critical")
    until = datetime(2026 if variant == "expired_before_gen_time" else 2030, 1, 1, tzinfo=UTC)
    tsa = _certificate(
        "Crafted TSA", "Crafted root", key, root_key, until=until, extensions=[usage]
    )
    der = lambda c: asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER))  # noqa: E731
    stamper = DummyTimeStamper(
        tsa_cert=der(tsa),
        tsa_key=asn1_keys.PrivateKeyInfo.load(
            key.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        ),
        fixed_dt=datetime(2026, 6, 1, tzinfo=UTC),
    )
    imprint = hashlib.sha256(b"another root" if variant == "over_another_root" else root_hash)
    request = tsp.TimeStampReq(
        {
            "version": 1,
            "cert_req": True,
            "message_imprint": {
                "hash_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
                "hashed_message": imprint.digest(),
            },
        }
    )
    token = stamper.request_tsa_response(request)["time_stamp_token"]
    if variant == "certificate_swapped":
        # Same key, issuer and serial number, so the signature and the signer identifier
        # still fit; only the ESS signing-certificate attribute tells the certificates apart.
        sooner = datetime(2029, 1, 1, tzinfo=UTC)
        stamping = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING])
        twin = _certificate(
            "Crafted TSA",
            "Crafted root",
            key,
            root_key,
            until=sooner,
            extensions=[(stamping, True)],
        )
        token["content"]["certificates"] = cms.CertificateSet(
            [cms.CertificateChoices({"certificate": der(twin)})]
        )
    root_pem = tmp_path / f"{variant}-root.pem"
    root_pem.write_bytes(root.public_bytes(serialization.Encoding.PEM))
    beside = [] if variant == "root_not_given" else [root_pem.read_text(encoding="ascii")]
    return token.dump(force=True), beside, root_pem


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("variant", "problem"),
    [
        ("sound", None),
        ("eku_not_critical", "the TSA's certificate lacks the critical timeStamping key usage"),
        ("eku_also_server_auth", "the TSA's certificate lacks the critical timeStamping key usage"),
        ("over_another_root", "the token is over another root"),
        ("expired_before_gen_time", "CN=Crafted TSA was not valid at 2026-06-01"),
        ("root_not_a_ca", "a certificate on the TSA's path is not a CA"),
        ("certificate_swapped", "the signing certificate the token names is not its signer"),
        ("root_not_given", "the TSA's certificate does not chain to a root given with it"),
    ],
)
def test_each_rfc3161_rule_is_enforced(
    anchored_export: Path, tmp_path: Path, variant: str, problem: str | None
) -> None:
    document = json.loads(members_of(anchored_export)["anchors.json"])
    root_hash = bytes.fromhex(document["checkpoints"][0]["anchor"]["root"])
    token, beside, root_pem = crafted_token(variant, root_hash, tmp_path)

    def crafted(document: dict) -> None:
        document["checkpoints"][0]["anchor"]["tokens"] = [
            {
                "tsa": "https://crafted.example/tsr",
                "token": base64.b64encode(token).decode(),
                "certificates": beside,
            }
        ]

    bundle_zip = with_anchors(anchored_export, tmp_path / f"{variant}.zip", crafted)
    trust = [] if variant == "root_not_given" else ["--tsa-root", root_pem]
    done = run(bundle_zip, *trust)
    if problem is None:
        assert done.returncode == 0, done.stdout
        assert f"TSA root {fingerprint_of(root_pem)} (CN=Crafted root): trusted" in done.stdout
    else:
        assert done.returncode == 1
        assert f"token 1 from https://crafted.example/tsr: {problem}" in done.stdout, done.stdout


def test_merkle_proofs_agree_with_the_project_and_rfc6962() -> None:
    module = script_module()
    leaves = [merkle.leaf_hash(bytes.fromhex(h)) for h in CT_LEAVES]
    root, proofs = merkle.tree(leaves)
    assert root.hex() == CT_ROOT
    for size in [1, 2, 3, 5, 7, 8, 9, 31, 100]:
        leaves = [merkle.leaf_hash(str(i).encode()) for i in range(size)]
        root, proofs = merkle.tree(leaves)
        for index in range(size):
            assert module.root_from_proof(leaves[index], index, size, proofs[index]) == root
            if size > 1:  # the same proof does not fit the next leaf
                other = leaves[(index + 1) % size]
                assert module.root_from_proof(other, index, size, proofs[index]) != root
        for index, proof in ((size, proofs[0]), (0, [*proofs[0], root])):
            with pytest.raises(module.Failure):
                module.root_from_proof(leaves[0], index, size, proof)


@pytest.mark.django_db
def test_rewritten_case_is_reported_attested_late_from_seq_4(tsas, tmp_path: Path) -> None:
    """tests/test_anchors.py's rewrite, as a forged bundle: the case and six records are
    anchored as they are made; whoever holds the host rewrites them from seq 4 with the old
    recorded times, re-signs with the instance key and anchors again a day later."""
    first, second = tsas
    start = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

    case = case_anchored_as_made((first, second), start, records=6)
    lines = [e.as_line() for e in case.entries.order_by("seq")]
    rewritten = [line["entry"] for line in lines[:3]]
    for seq in range(4, 8):
        entry = dict(lines[seq - 1]["entry"])
        entry["body"] = {"text": f"rewritten {seq}"}
        entry["prev"] = chain.entry_hash(rewritten[-1])
        rewritten.append(entry)
    forged_lines = [{"entry": e, "hash": chain.entry_hash(e)} for e in rewritten]
    late = start + timedelta(days=1)
    with time_machine.travel(late, tick=False):
        forged = signing.sign_checkpoint(
            case_id=str(case.id), length=7, head=forged_lines[-1]["hash"], signed_at=late
        )
        row = Checkpoint.objects.create(
            case=case,
            length=7,
            head=forged_lines[-1]["hash"],
            signed_at=late,
            legacy_document=forged,
        )
    anchored_round((first, second), late)
    document = anchor_selectors.anchors_document(case, up_to_length=7, checkpoint=row)
    members = {
        "entries.jsonl": bundle.entries_jsonl(forged_lines),
        "checkpoint.json": chain.canonical_bytes(forged),
        "anchors.json": chain.canonical_bytes(document),
    }
    forged_zip = write_zip(tmp_path / "forged.zip", members)
    roots = ["--tsa-root", first.root_pem, "--tsa-root", second.root_pem]

    done = run(forged_zip, *roots)
    assert done.returncode == 1, done.stdout
    assert "Attested late from seq 4" in done.stdout
    assert done.stdout.count("FAILED: conflict:") == 4
    code, result = run_json(forged_zip, *roots)
    report = result["anchors"]
    assert report["first_late_seq"] == 4 and sorted(report["conflicts"]) == [4, 5, 6, 7]
    [late_range] = [r for r in report["ranges"] if r["late"]]
    assert (late_range["first_seq"], late_range["last_seq"]) == (4, 7)
    assert late_range["attested_at"] == chain.format_timestamp(late + timedelta(minutes=1))

    # The same conclusions as the project's own implementation, range by range.
    trusted = {fingerprint_of(first.root_pem), fingerprint_of(second.root_pem)}
    checks = [
        anchors.check_anchored_receipt(r, trusted_roots=trusted) for r in document["checkpoints"]
    ]
    server = anchors.attest(
        links=[(line["entry"]["seq"], line["hash"]) for line in forged_lines],
        recorded={
            line["entry"]["seq"]: chain.parse_timestamp(line["entry"]["recorded_at"])
            for line in forged_lines
        },
        checks=checks,
    )
    assert [
        (r["first_seq"], r["last_seq"], r["attested_at"], r["late"]) for r in report["ranges"]
    ] == [
        (r.first_seq, r.last_seq, chain.format_timestamp(r.attested_at), r.late)
        for r in server.ranges
    ]

    # A forger who also drops the anchors that conflict: no conflict left to see, but the
    # late flag still points at seq 4 (exit 0: lateness alone is "look closer").
    head_at = {line["entry"]["seq"]: line["hash"] for line in forged_lines}
    kept = [
        r
        for r in document["checkpoints"]
        if head_at[r["checkpoint"]["length"]] == r["checkpoint"]["head"]
    ]
    pruned = write_zip(
        tmp_path / "pruned.zip",
        {**members, "anchors.json": chain.canonical_bytes({**document, "checkpoints": kept})},
    )
    done = run(pruned, *roots)
    assert done.returncode == 0 and "Attested late from seq 4" in done.stdout
    assert "conflict" not in done.stdout
    # With a tolerance above a day nothing is late.
    assert "Attested late" not in run(pruned, *roots, "--late-after", 90_000).stdout


@pytest.mark.django_db
def test_a_real_dossier_pdf_is_read_and_verified(tsas, tmp_path: Path) -> None:
    case = small_case()
    dossier, data = make_dossier(case, "court", "en", date_from="2026-01-06", date_to="2026-01-07")
    pdf = tmp_path / "dossier.pdf"
    pdf.write_bytes(data)
    code, result = run_json(pdf, "--tsa-root", tsas[0].root_pem, "--tsa-root", tsas[1].root_pem)
    assert code == 0, result["problems"]
    assert result["kind"] == "dossier" and result["evidence_checked"] is None
    assert (result["length"], result["head"]) == (dossier.chain_length, dossier.chain_head)
    assert result["shown"] == 2  # the date range shows two records; the others are stubs
    files = script_module().pdf_embedded_files(data)
    assert {"entries.jsonl", "checkpoint.json"} <= set(files)
    if "anchors.json" in files:  # embedded by the dossier pipeline once it carries anchors
        assert result["anchors"]["ranges"][-1]["last_seq"] == dossier.chain_length
        assert all(r["attested_at"] for r in result["anchors"]["ranges"])
    else:
        assert result["anchors"] is None
    if shutil.which("pdfdetach"):  # poppler, a second reader, finds the same bytes
        out = tmp_path / "detached"
        out.mkdir()
        subprocess.run(["pdfdetach", "-saveall", "-o", out, pdf], check=True, capture_output=True)
        assert {p.name: p.read_bytes() for p in out.iterdir()} == files


@pytest.mark.django_db
def test_a_dossier_whose_embedded_entries_were_changed_fails(tmp_path: Path) -> None:
    case = small_case()
    dossier, _data = make_dossier(case, "cn_regulator", "en")
    gathered = build.gather(dossier)
    unsigned = io.BytesIO()
    render_pdf(gathered, unsigned, images={}, audio_durations={})
    unsigned.seek(0)
    entries = build.entries_jsonl(gathered.lines)
    assert CHINESE_PHRASE.encode() in entries
    signed = io.BytesIO()
    sign_dossier(
        unsigned,
        signed,
        entries=entries.replace(CHINESE_PHRASE.encode(), "只是提醒还款".encode()),
        checkpoint=gathered.checkpoint,
        anchors=gathered.anchors,
        reason="test",
    )
    pdf = tmp_path / "changed.pdf"
    pdf.write_bytes(signed.getvalue())
    done = run(pdf)
    assert done.returncode == 1 and "FAILED: seq 2 was changed" in done.stdout


@pytest.mark.django_db
def test_object_streams_and_an_embedded_anchors_json(anchored_export: Path, tmp_path: Path) -> None:
    """The project's dossiers use no object streams, but other writers do: the name tree and
    file specifications here sit in one (/Type /ObjStm), beside anchors.json."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.writer import PdfFileWriter

    pdf_name = generic.NameObject
    writer = PdfFileWriter(stream_xrefs=True)
    packed = writer.prepare_object_stream()
    names = generic.ArrayObject()
    for name, data in sorted(members_of(anchored_export).items()):
        if name not in ("entries.jsonl", "checkpoint.json", "anchors.json"):
            continue
        stream = generic.StreamObject(
            {pdf_name("/Type"): pdf_name("/EmbeddedFile")}, stream_data=data
        )
        stream.compress()
        files = generic.DictionaryObject({pdf_name("/F"): writer.add_object(stream)})
        spec = generic.DictionaryObject(
            {
                pdf_name("/Type"): pdf_name("/Filespec"),
                pdf_name("/F"): generic.TextStringObject(name),
                pdf_name("/EF"): files,
            }
        )
        names += [generic.TextStringObject(name), writer.add_object(spec, obj_stream=packed)]
    tree = generic.DictionaryObject({pdf_name("/Names"): names})
    embedded = generic.DictionaryObject(
        {pdf_name("/EmbeddedFiles"): writer.add_object(tree, obj_stream=packed)}
    )
    writer.root[pdf_name("/Names")] = writer.add_object(embedded, obj_stream=packed)
    out = io.BytesIO()
    writer.write(out)
    data = out.getvalue()
    assert b"/ObjStm" in data
    pdf = tmp_path / "packed.pdf"
    pdf.write_bytes(data)
    code, result = run_json(pdf)
    assert code == 0, result["problems"]
    assert result["anchors"]["ranges"][0]["attested_at"] is not None


@pytest.mark.django_db
def test_damaged_bytes_fail_cleanly(anchored_export: Path, tmp_path: Path) -> None:
    """Bytes flipped in the files as stored (not re-packed): a failure line, no traceback."""
    raw = bytearray(anchored_export.read_bytes())
    name = next(n for n in members_of(anchored_export) if n.startswith("evidence/"))
    raw[raw.index(name.encode()) + len(name) + 20] ^= 0x01  # inside the stored file's bytes
    damaged_zip = tmp_path / "damaged.zip"
    damaged_zip.write_bytes(bytes(raw))
    done = run(damaged_zip)
    assert (done.returncode, done.stderr) == (1, "")
    assert f"FAILED: evidence file {name.split('/')[1]}" in done.stdout

    _dossier, data = make_dossier(small_case(), "court", "en")
    pdf = bytearray(data)
    pdf[pdf.index(b"stream", pdf.index(b"/Type /EmbeddedFile")) + 60] ^= 0x01
    damaged_pdf = tmp_path / "damaged.pdf"
    damaged_pdf.write_bytes(bytes(pdf))
    done = run(damaged_pdf)
    assert (done.returncode, done.stderr) == (1, "") and "FAILED: " in done.stdout


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not a bundle", encoding="utf-8")
    assert run().returncode == 2
    assert run(tmp_path / "missing.zip").returncode == 2
    assert run(text).returncode == 2
    assert run(text, "--fingerprint", "abc").returncode == 2
    done = run(text, "--tsa-root", text)
    assert done.returncode == 2 and "--tsa-root" in done.stderr


def test_a_file_that_only_looks_like_a_bundle_fails(tmp_path: Path) -> None:
    fake = tmp_path / "fake.zip"
    fake.write_bytes(b"PK\x03\x04 not really a zip")
    done = run(fake)
    assert done.returncode == 1 and "not a readable ZIP file" in done.stdout
    empty = write_zip(tmp_path / "empty.zip", {"README.txt": b"hello"})
    done = run(empty)
    assert done.returncode == 1 and "checkpoint.json, entries.jsonl missing" in done.stdout
