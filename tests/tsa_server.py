"""A real RFC 3161 time-stamp authority on loopback, for tests: its own RSA root CA and a
TSA certificate (extended key usage id-kp-timeStamping, critical) issued by it, an HTTP
server answering `application/timestamp-query` POSTs with `application/timestamp-reply`
built by pyHanko's reply machinery (DummyTimeStamper: a real signed TSTInfo over the
request's imprint, with the request's nonce), and the root's CRL at /crl.

Run as its own process (`python -m tests.tsa_server --dir D --port P`), so tests can kill it
like a real TSA going down. Test knobs, which a real TSA does not have:
- POST /clock with an ISO 8601 time fixes the time the TSA puts in its tokens ("" clears);
- `--mode garbage` answers every query with a body that is not a time-stamp reply;
- `--mode reject` answers with a well-formed reply whose status is "rejection".
The certificates are written to D (root.pem, tsa.pem) for the test to trust."""

from __future__ import annotations

import argparse
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from asn1crypto import keys as asn1_keys
from asn1crypto import tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Loopback Test TSA"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def make_authority(directory: Path, *, name: str, port: int) -> tuple[Path, Path, Path]:
    """Create (or reuse) the root and TSA key pairs under `directory`; returns the paths of
    root.pem, tsa.pem and tsa.key (PKCS#8 DER)."""
    directory.mkdir(parents=True, exist_ok=True)
    root_pem, tsa_pem, tsa_key = (
        directory / "root.pem",
        directory / "tsa.pem",
        directory / "tsa.key",
    )
    root_key_path = directory / "root.key"
    if tsa_pem.exists():
        return root_pem, tsa_pem, tsa_key
    now = datetime.now(UTC)
    root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    root_name = _name(f"{name} root")
    root = (
        x509.CertificateBuilder()
        .subject_name(root_name)
        .issuer_name(root_name)
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=3650))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), False)
        .sign(root_key, hashes.SHA256())
    )
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(_name(name))
        .issuer_name(root_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=3650))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, True, False, False, False, False, False, False, False), True
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), False
        )
        .add_extension(
            x509.CRLDistributionPoints(
                [
                    x509.DistributionPoint(
                        full_name=[x509.UniformResourceIdentifier(f"http://127.0.0.1:{port}/crl")],
                        relative_name=None,
                        reasons=None,
                        crl_issuer=None,
                    )
                ]
            ),
            False,
        )
        .sign(root_key, hashes.SHA256())
    )
    root_key_path.write_bytes(
        root_key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    tsa_key.write_bytes(
        key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    root_pem.write_bytes(root.public_bytes(serialization.Encoding.PEM))
    tsa_pem.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return root_pem, tsa_pem, tsa_key


def _crl(directory: Path) -> bytes:
    root = x509.load_pem_x509_certificate((directory / "root.pem").read_bytes())
    root_key = serialization.load_der_private_key((directory / "root.key").read_bytes(), None)
    now = datetime.now(UTC)
    crl = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(root.subject)
        .last_update(now - timedelta(minutes=5))
        .next_update(now + timedelta(days=7))
        .add_extension(x509.CRLNumber(1), False)
        .sign(root_key, hashes.SHA256())  # type: ignore[arg-type]
    )
    return crl.public_bytes(serialization.Encoding.DER)


def serve(directory: Path, *, name: str, port: int, mode: str) -> None:
    root_pem, tsa_pem, tsa_key = make_authority(directory, name=name, port=port)
    tsa_certificate = asn1_x509.Certificate.load(
        x509.load_pem_x509_certificate(tsa_pem.read_bytes()).public_bytes(
            serialization.Encoding.DER
        )
    )
    root_certificate = asn1_x509.Certificate.load(
        x509.load_pem_x509_certificate(root_pem.read_bytes()).public_bytes(
            serialization.Encoding.DER
        )
    )
    private_key = asn1_keys.PrivateKeyInfo.load(tsa_key.read_bytes())
    state: dict[str, datetime | None] = {"fixed": None}
    lock = threading.Lock()
    crl = _crl(directory)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _answer(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            if self.path == "/crl":
                self._answer(200, "application/pkix-crl", crl)
            elif self.path == "/health":
                self._answer(200, "text/plain", b"ok")
            else:
                self._answer(404, "text/plain", b"not found")

        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path == "/clock":
                text = body.decode().strip()
                with lock:
                    state["fixed"] = datetime.fromisoformat(text) if text else None
                self._answer(200, "text/plain", b"ok")
                return
            if mode == "garbage":
                self._answer(200, "application/timestamp-reply", b"\x30\x03not a reply")
                return
            if self.headers.get("Content-Type") != "application/timestamp-query":
                self._answer(400, "text/plain", b"expected application/timestamp-query")
                return
            request = tsp.TimeStampReq.load(body)
            if mode == "reject":
                reply = tsp.TimeStampResp(
                    {"status": tsp.PKIStatusInfo({"status": tsp.PKIStatus("rejection")})}
                )
            else:
                with lock:
                    fixed = state["fixed"]
                stamper = DummyTimeStamper(
                    tsa_cert=tsa_certificate,
                    tsa_key=private_key,
                    certs_to_embed=[root_certificate],  # type: ignore[arg-type]
                    fixed_dt=fixed or datetime.now(UTC),
                )
                reply = stamper.request_tsa_response(request)
            self._answer(200, "application/timestamp-reply", reply.dump())

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dir", required=True, type=Path)
    parser.add_argument("--port", required=True, type=int)
    parser.add_argument("--name", default="Loopback TSA")
    parser.add_argument("--mode", choices=("ok", "garbage", "reject"), default="ok")
    arguments = parser.parse_args()
    serve(arguments.dir, name=arguments.name, port=arguments.port, mode=arguments.mode)


if __name__ == "__main__":
    main()
