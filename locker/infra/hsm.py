"""The signing key in a PKCS#11 token (an HSM, or SoftHSM2 in the tests), when
LOCKER_SIGNING_PKCS11_MODULE is set: the private key never leaves the token (it is made
there, or imported once from the key file, as sensitive and not extractable); this process
asks the token for each signature. The certificate stays in LOCKER_KEY_DIR (signing.pem),
issued by the instance CA like a file key's (locker/infra/signing.py decides which key is
current; this module only talks to the token).

The label LOCKER_SIGNING_PKCS11_KEY belongs to this instance: the token may hold under it
the current key and, for the moment of a rotation, the one it replaces or the one being
made; each key pair (private and public object) shares a random CKA_ID. The key of a
certificate is found by its public key, compared with each public object under the label.

One logged-in session is kept per process (re-opened after a fork, which PKCS#11 requires,
and after the token dropped it); each operation opens a session of its own without
logging in, which shares that log-in (PKCS#11 logs in an application, not a session), so
threads and a dossier signature that lasts through time-stamp requests do not share one
session's single operation."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pkcs11
from asn1crypto.core import OctetString
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from django.conf import settings
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
from pkcs11.util.ec import decode_ec_private_key, encode_named_curve_parameters

log = logging.getLogger(__name__)

CURVE = "secp256r1"
COORDINATE_BYTES = 32  # P-256: a raw PKCS#11 ECDSA signature is r || s, 32 bytes each

# What the token may do with our private key: sign, nothing else, and never show it.
PRIVATE_KEY_TEMPLATE = {
    Attribute.TOKEN: True,
    Attribute.PRIVATE: True,
    Attribute.SENSITIVE: True,
    Attribute.EXTRACTABLE: False,
    Attribute.SIGN: True,
    Attribute.DECRYPT: False,
    Attribute.UNWRAP: False,
    Attribute.DERIVE: False,
}
PUBLIC_KEY_TEMPLATE = {
    Attribute.TOKEN: True,
    Attribute.PRIVATE: False,
    Attribute.VERIFY: True,
    Attribute.ENCRYPT: False,
    Attribute.WRAP: False,
    Attribute.DERIVE: False,
}

# Errors after which the kept log-in is worth opening again once (the token was reset,
# restarted or unplugged and plugged in again, or a fork left this process its parent's).
_STALE = (
    pkcs11.exceptions.SessionHandleInvalid,
    pkcs11.exceptions.SessionClosed,
    pkcs11.exceptions.UserNotLoggedIn,
    pkcs11.exceptions.DeviceRemoved,
    pkcs11.exceptions.TokenNotPresent,
    pkcs11.exceptions.DeviceError,
)

_PIN_REFUSED = (
    pkcs11.exceptions.PinIncorrect,
    pkcs11.exceptions.PinInvalid,
    pkcs11.exceptions.PinLenRange,
    pkcs11.exceptions.PinLocked,
    pkcs11.exceptions.PinExpired,
)

T = TypeVar("T")


class TokenError(RuntimeError):
    """The token is not configured right, cannot be reached, or lacks the key."""


@dataclass(frozen=True)
class TokenConfig:
    module: str  # the PKCS#11 library (.so) of the HSM's vendor
    token_label: str
    key_label: str
    # None: the module authenticates by itself (no C_Login). Never in a repr or a log line.
    pin: str | None = field(repr=False)

    def describe(self) -> str:
        return f"PKCS#11 token {self.token_label!r}, key {self.key_label!r} ({self.module})"


def configured() -> TokenConfig | None:
    """The token settings, or None when signing uses the key file (the default)."""
    module = settings.LOCKER_SIGNING_PKCS11_MODULE
    if not module:
        return None
    token_label = settings.LOCKER_SIGNING_PKCS11_TOKEN
    if not token_label:
        raise TokenError("LOCKER_SIGNING_PKCS11_MODULE is set: set LOCKER_SIGNING_PKCS11_TOKEN too")
    return TokenConfig(
        module=module,
        token_label=token_label,
        key_label=settings.LOCKER_SIGNING_PKCS11_KEY,
        pin=_pin(),
    )


def _pin() -> str | None:
    if settings.LOCKER_SIGNING_PKCS11_PIN:
        return str(settings.LOCKER_SIGNING_PKCS11_PIN)
    if settings.LOCKER_SIGNING_PKCS11_PIN_FILE:
        path = Path(settings.LOCKER_SIGNING_PKCS11_PIN_FILE)
        try:
            return path.read_text(encoding="utf-8").strip("\r\n")
        except OSError as exc:
            raise TokenError(f"LOCKER_SIGNING_PKCS11_PIN_FILE {path}: {exc}") from exc
    return None


class _Login:
    """This process's log-in to the token: (pid, token, session) of the process that opened
    it. A child of a fork sees its parent's and starts afresh."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state: tuple[int, TokenConfig, pkcs11.Token, pkcs11.Session] | None = None
        # A PIN the token refused, with why: never tried again by this process, since a
        # token locks its user PIN after a few wrong tries (and every request would try).
        self._refused: tuple[int, TokenConfig, str] | None = None

    def token(self, config: TokenConfig) -> pkcs11.Token:
        with self._lock:
            state = self._state
            if state is not None and state[0] == os.getpid() and state[1] == config:
                return state[2]
            refused = self._refused
            if refused is not None and refused[0] == os.getpid() and refused[1] == config:
                raise TokenError(f"{config.describe()}: {refused[2]} (not tried again)")
            self._state = None
            lib = pkcs11.lib(config.module)
            if state is not None and state[0] != os.getpid():
                # The library's state is the parent's: PKCS#11 wants C_Initialize again.
                lib.reinitialize()
            try:
                token = lib.get_token(token_label=config.token_label)
            except pkcs11.exceptions.NoSuchToken as exc:
                raise TokenError(f"no token labelled {config.token_label!r}") from exc
            except pkcs11.exceptions.MultipleTokensReturned as exc:
                raise TokenError(f"several tokens labelled {config.token_label!r}") from exc
            try:
                login = token.open(user_pin=config.pin) if config.pin is not None else token.open()
            except _PIN_REFUSED as exc:
                self._refused = (
                    os.getpid(),
                    config,
                    f"the PIN was refused ({exc.__class__.__name__})",
                )
                raise TokenError(f"{config.describe()}: {self._refused[2]}") from exc
            self._state = (os.getpid(), config, token, login)
            return token

    def clear_refusal(self) -> None:
        with self._lock:
            self._refused = None

    def forget(self) -> None:
        with self._lock:
            state, self._state = self._state, None
        if state is not None and state[0] == os.getpid():
            with contextlib.suppress(pkcs11.exceptions.PKCS11Error):
                state[3].close()


_login = _Login()


@contextlib.contextmanager
def session(config: TokenConfig, *, rw: bool = False) -> Iterator[pkcs11.Session]:
    """A session of its own for one operation, sharing the process's log-in."""
    opened = _login.token(config).open(rw=rw)
    try:
        yield opened
    finally:
        with contextlib.suppress(pkcs11.exceptions.PKCS11Error):
            opened.close()


def _retrying(config: TokenConfig, operation: Callable[[], T]) -> T:
    """`operation`, once more after logging in again if the token lost our session; any
    other PKCS#11 failure (a wrong PIN, a missing token) as a TokenError that says where."""
    try:
        try:
            return operation()
        except _STALE as exc:
            log.warning("%s: %s; logging in again", config.describe(), exc.__class__.__name__)
            _login.forget()
            return operation()
    except pkcs11.exceptions.PKCS11Error as exc:
        raise TokenError(f"{config.describe()}: {exc.__class__.__name__} {exc}") from exc


def public_key_of(handle: Any) -> ec.EllipticCurvePublicKey:
    """The public key of a PKCS#11 EC public-key object (CKA_EC_POINT is a DER OCTET STRING
    holding the uncompressed point)."""
    value = bytes(handle[Attribute.EC_POINT])
    try:
        point = OctetString.load(value).native
    except ValueError:
        point = value  # a token that gives the bare point, as some did before PKCS#11 2.20
    return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)


def _key_id(
    opened: pkcs11.Session, config: TokenConfig, public_key: ec.EllipticCurvePublicKey
) -> bytes | None:
    wanted = public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    for handle in opened.get_objects(
        {Attribute.CLASS: ObjectClass.PUBLIC_KEY, Attribute.LABEL: config.key_label}
    ):
        try:
            found = public_key_of(handle)
        except ValueError:
            continue  # not a P-256 key: not one of ours
        if (
            found.public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
            )
            == wanted
        ):
            return bytes(handle[Attribute.ID])
    return None


def _private_key(opened: pkcs11.Session, config: TokenConfig, key_id: bytes) -> Any:
    found = list(
        opened.get_objects(
            {
                Attribute.CLASS: ObjectClass.PRIVATE_KEY,
                Attribute.LABEL: config.key_label,
                Attribute.ID: key_id,
            }
        )
    )
    if len(found) != 1:
        raise TokenError(
            f"{config.describe()}: {len(found)} private keys with CKA_ID {key_id.hex()}"
        )
    return found[0]


def to_der(raw: bytes) -> bytes:
    """PKCS#11 ECDSA gives r || s (two big-endian numbers of the curve's size); the spec's
    checkpoint signature, like X.509 and CMS, is the DER SEQUENCE { r INTEGER, s INTEGER }."""
    if len(raw) != 2 * COORDINATE_BYTES:
        raise TokenError(f"the token's ECDSA signature has {len(raw)} bytes, not 64")
    r = int.from_bytes(raw[:COORDINATE_BYTES], "big")
    s = int.from_bytes(raw[COORDINATE_BYTES:], "big")
    return encode_dss_signature(r, s)


@dataclass(frozen=True)
class TokenKey:
    """The signing key in the token whose public key is `public`: what signs checkpoints
    (sign) and, through pyHanko's PKCS11Signer, dossiers (label and key_id). Found in the
    token when first used, so reading the certificates (/keys, /verify) needs no token."""

    config: TokenConfig
    public: ec.EllipticCurvePublicKey

    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self.public

    def _point(self) -> bytes:
        return self.public.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )

    def _find_id(self, opened: pkcs11.Session) -> bytes:
        remembered = _key_ids.get((self.config, self._point()))
        if remembered is not None:
            return remembered
        key_id = _key_id(opened, self.config, self.public)
        if key_id is None:
            raise TokenError(f"{self.config.describe()} holds no key for signing.pem")
        _key_ids[(self.config, self._point())] = key_id
        return key_id

    def key_id(self) -> bytes:
        """The CKA_ID of the key pair (pyHanko's PKCS11Signer finds the key by it)."""

        def find() -> bytes:
            with session(self.config) as opened:
                return self._find_id(opened)

        return _retrying(self.config, find)

    def sign(self, data: bytes) -> bytes:
        """A DER ECDSA P-256 signature with SHA-256 over `data`. The digest is made here and
        signed raw (CKM_ECDSA), which every token supports (SoftHSM2 has no CKM_ECDSA_SHA256);
        the signature is checked against the certificate's key before it is returned, so a
        token answering wrongly never puts a bad signature into a checkpoint."""
        digest = hashlib.sha256(data).digest()

        def sign() -> bytes:
            with session(self.config) as opened:
                try:
                    key = _private_key(opened, self.config, self._find_id(opened))
                except TokenError:
                    _key_ids.pop((self.config, self._point()), None)
                    raise
                raw = key.sign(digest, mechanism=Mechanism.ECDSA)
            return to_der(bytes(raw))

        signature = _retrying(self.config, sign)
        self.public.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        return signature


# (config, public point) -> CKA_ID, so that a signature costs one search, not two.
_key_ids: dict[tuple[TokenConfig, bytes], bytes] = {}


def _stored_attributes(key_id: bytes, config: TokenConfig) -> dict[Attribute, Any]:
    return {Attribute.LABEL: config.key_label, Attribute.ID: key_id}


def generate_key(config: TokenConfig) -> TokenKey:
    """A new P-256 key pair made inside the token (never extractable, always sensitive)."""
    key_id = os.urandom(16)

    def generate() -> ec.EllipticCurvePublicKey:
        with session(config, rw=True) as opened:
            parameters = opened.create_domain_parameters(
                KeyType.EC,
                {Attribute.EC_PARAMS: encode_named_curve_parameters(CURVE)},
                local=True,
            )
            public, _private = parameters.generate_keypair(
                store=True,
                label=config.key_label,
                id=key_id,
                public_template=PUBLIC_KEY_TEMPLATE,
                private_template=PRIVATE_KEY_TEMPLATE,
            )
            return public_key_of(public)

    return TokenKey(config, _retrying(config, generate))


def import_key(config: TokenConfig, private_key: ec.EllipticCurvePrivateKey) -> TokenKey:
    """The file key copied into the token as a sensitive, non-extractable private key (and
    its public key). The copy on disk is the caller's to delete."""
    key_id = os.urandom(16)
    der = private_key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.TraditionalOpenSSL,  # RFC 5915 ECPrivateKey
        serialization.NoEncryption(),
    )
    private_attributes = {
        **decode_ec_private_key(der),
        **PRIVATE_KEY_TEMPLATE,
        **_stored_attributes(key_id, config),
    }
    point = private_key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    public_attributes = {
        Attribute.CLASS: ObjectClass.PUBLIC_KEY,
        Attribute.KEY_TYPE: KeyType.EC,
        Attribute.EC_PARAMS: encode_named_curve_parameters(CURVE),
        Attribute.EC_POINT: OctetString(point).dump(),
        **PUBLIC_KEY_TEMPLATE,
        **_stored_attributes(key_id, config),
    }

    def store() -> None:
        with session(config, rw=True) as opened:
            opened.create_object(private_attributes)
            opened.create_object(public_attributes)

    _retrying(config, store)
    return TokenKey(config, private_key.public_key())


def holds(config: TokenConfig, public_key: ec.EllipticCurvePublicKey) -> bool:
    def look() -> bool:
        with session(config) as opened:
            return _key_id(opened, config, public_key) is not None

    return _retrying(config, look)


def destroy_keys(config: TokenConfig, public_keys: list[ec.EllipticCurvePublicKey]) -> int:
    """Destroy the key pairs under our label whose public key is one of `public_keys` (a
    retired key, or one made for a rotation that was undone). Returns how many pairs."""

    def destroy() -> int:
        destroyed = 0
        with session(config, rw=True) as opened:
            for public_key in public_keys:
                key_id = _key_id(opened, config, public_key)
                if key_id is None:
                    continue
                for object_class in (ObjectClass.PRIVATE_KEY, ObjectClass.PUBLIC_KEY):
                    for handle in list(
                        opened.get_objects(
                            {
                                Attribute.CLASS: object_class,
                                Attribute.LABEL: config.key_label,
                                Attribute.ID: key_id,
                            }
                        )
                    ):
                        handle.destroy()
                destroyed += 1
        _key_ids.clear()
        return destroyed

    return _retrying(config, destroy)


def private_key_attributes(
    config: TokenConfig, public_key: ec.EllipticCurvePublicKey
) -> dict[str, bool]:
    """What the token says of the private key: sensitive, extractable, … (for
    `locker_keys` and the tests)."""
    names = {
        "sensitive": Attribute.SENSITIVE,
        "extractable": Attribute.EXTRACTABLE,
        "always_sensitive": Attribute.ALWAYS_SENSITIVE,
        "never_extractable": Attribute.NEVER_EXTRACTABLE,
    }

    def read() -> dict[str, bool]:
        with session(config) as opened:
            key_id = _key_id(opened, config, public_key)
            if key_id is None:
                raise TokenError(f"{config.describe()} holds no key for signing.pem")
            handle = _private_key(opened, config, key_id)
            return {name: bool(handle[attribute]) for name, attribute in names.items()}

    return _retrying(config, read)


def forget(module: str | None = None) -> None:
    """Log out, forget what was found and finalize `module` (by default the configured one),
    so that the next use starts afresh and the module reads its configuration again (tests
    that swap tokens call this; running processes never need it)."""
    config = configured()
    module = module or (config.module if config else None)
    _login.forget()
    _login.clear_refusal()
    _key_ids.clear()
    if module:
        library = pkcs11.lib(module)
        if library.initialized:
            library.finalize()
