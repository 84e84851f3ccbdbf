"""Passkeys (WebAuthn) as a second factor, beside the authenticator app: registering one,
checking one at log-in, removing one. The protocol itself (CBOR, COSE keys, attestation
formats, client data, origin, relying party id, signatures) is Duo Labs' py_webauthn; this
module decides what is asked for and what is kept.

The person has already given their password when a passkey is asked for, so it is a second
factor, not a way in by itself: user verification (a PIN or fingerprint on the device) is
preferred, not required, and the assertion must come from one of the signing-in account's
own passkeys.

The challenge of each ceremony is made here and kept by the caller (the web layer keeps it in
the session, once, for CHALLENGE_S); the caller hands it back exactly once.

Adding or removing a passkey is a change of second factor: every other session and every API
token ends (services/sessions.py), and the account's security log records it."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    parse_authentication_credential_json,
    parse_registration_credential_json,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from locker.infra.http import RelyingParty
from locker.models import Passkey
from locker.selectors.second_factor import has_second_factor, recovery_codes_left
from locker.services import security
from locker.services.second_factor import (
    discard_recovery_codes,
    new_recovery_codes,
    second_factor_changed,
)

# How long a ceremony's challenge stays good, and what the browser is told to wait.
CHALLENGE_S = 300
# Passkeys one account may have: enough for every device a person owns.
MAX_PASSKEYS = 10
NAME_CHARS = Passkey._meta.get_field("name").max_length or 60
# The largest credential JSON a browser sends (attestation objects with certificate chains
# are a few KiB); anything larger is not parsed.
MAX_CREDENTIAL_CHARS = 64 * 1024


class PasskeyRefused(ValueError):
    """A registration or assertion that does not hold. `message` is for the person (lazy,
    translated), `reason` the technical cause (for tests and logs, never shown)."""

    def __init__(self, message: Any, reason: str) -> None:
        super().__init__(reason)
        self.message = message
        self.reason = reason


NOT_CHECKED = _("The passkey could not be checked. Try again, or use a code.")


@dataclass(frozen=True)
class Ceremony:
    """Options for the browser's navigator.credentials call (JSON, binary fields in
    base64url) and the challenge in them, which the caller keeps until the answer comes."""

    options_json: str
    challenge: bytes
    # Registration only: the user handle the options gave the new credential.
    user_handle: bytes = b""


def _descriptors(passkeys: Any) -> list[PublicKeyCredentialDescriptor]:
    known = {t.value for t in AuthenticatorTransport}
    return [
        PublicKeyCredentialDescriptor(
            id=bytes(p.credential_id),
            transports=[AuthenticatorTransport(t) for t in p.transports if t in known] or None,
        )
        for p in passkeys
    ]


def _user_handle(user: User) -> bytes:
    """The account's WebAuthn user handle: the one its passkeys already have, or a new random
    one (it says nothing about the account)."""
    first = Passkey.objects.filter(user=user).first()
    return bytes(first.user_handle) if first is not None else secrets.token_bytes(32)


def registration_options(*, user: User, relying_party: RelyingParty) -> Ceremony:
    """What the browser needs to make a new passkey for `user`. The passkeys the user already
    has are excluded, so one device is not registered twice."""
    options = generate_registration_options(
        rp_id=relying_party.rp_id,
        # The same neutral name the authenticator app shows: the phone may be looked at.
        rp_name=settings.OTP_TOTP_ISSUER,
        user_name=user.get_username(),
        user_id=_user_handle(user),
        timeout=CHALLENGE_S * 1000,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
        exclude_credentials=_descriptors(Passkey.objects.filter(user=user)),
    )
    return Ceremony(
        options_json=options_to_json(options),
        challenge=options.challenge,
        user_handle=options.user.id,
    )


def _clean_name(name: str, user: User) -> str:
    cleaned = " ".join(str(name or "").split())[:NAME_CHARS]
    if cleaned:
        return cleaned
    count = Passkey.objects.filter(user=user).count() + 1
    return str(_("Passkey %(number)s") % {"number": count})


def _credential_text(credential: str) -> str:
    if not isinstance(credential, str) or not credential.strip():
        raise PasskeyRefused(NOT_CHECKED, "no credential was sent")
    if len(credential) > MAX_CREDENTIAL_CHARS:
        raise PasskeyRefused(NOT_CHECKED, "the credential is too large")
    return credential


@transaction.atomic
def register_passkey(
    *,
    user: User,
    name: str,
    credential: str,
    ceremony: Ceremony,
    relying_party: RelyingParty,
    keep_session_key: str | None,
    request: HttpRequest | None = None,
) -> tuple[Passkey, list[str] | None]:
    """Check the browser's answer to registration_options (`credential`, its JSON) against
    the ceremony that was issued (its challenge and user handle), and keep the new passkey.
    Returns it, and new recovery codes (shown once) when the account had none left;
    otherwise None. PasskeyRefused when the answer does not hold, nothing kept."""
    # The account's row, locked: two registrations at once cannot both pass the count.
    User.objects.select_for_update().filter(pk=user.pk).first()
    if Passkey.objects.filter(user=user).count() >= MAX_PASSKEYS:
        raise PasskeyRefused(
            _("You have %(count)s passkeys, the most an account may have. Remove one first.")
            % {"count": MAX_PASSKEYS},
            "too many passkeys",
        )
    text = _credential_text(credential)
    try:
        parsed = parse_registration_credential_json(text)
        verified = verify_registration_response(
            credential=parsed,
            expected_challenge=ceremony.challenge,
            expected_rp_id=relying_party.rp_id,
            expected_origin=relying_party.origin,
        )
    except (WebAuthnException, ValueError, TypeError, KeyError) as exc:
        raise PasskeyRefused(NOT_CHECKED, str(exc)) from exc
    if Passkey.objects.filter(credential_id=verified.credential_id).exists():
        raise PasskeyRefused(
            _("This passkey is already registered."), "the credential id is already registered"
        )
    existing = Passkey.objects.filter(user=user).first()
    passkey = Passkey.objects.create(
        user=user,
        name=_clean_name(name, user),
        credential_id=verified.credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        user_handle=bytes(existing.user_handle) if existing else ceremony.user_handle,
        transports=[t.value for t in (parsed.response.transports or [])],
        backed_up=verified.credential_backed_up,
    )
    codes = None if recovery_codes_left(user) else new_recovery_codes(user)
    second_factor_changed(
        user=user,
        kinds=(security.Kind.SECOND_FACTOR_ADDED,)
        + ((security.Kind.RECOVERY_CODES_GENERATED,) if codes else ()),
        detail=f"passkey: {passkey.name}",
        keep_session_key=keep_session_key,
        request=request,
    )
    return passkey, codes


@dataclass(frozen=True)
class Assertion:
    """A passkey's answer as a browser posted it (`credential`, its JSON), with the challenge
    this session was given for it and the relying party it must name."""

    credential: str
    challenge: bytes
    relying_party: RelyingParty


def authentication_options(*, user: Any, relying_party: RelyingParty) -> Ceremony:
    """What the browser needs to ask one of `user`'s passkeys for an assertion."""
    options = generate_authentication_options(
        rp_id=relying_party.rp_id,
        timeout=CHALLENGE_S * 1000,
        allow_credentials=_descriptors(Passkey.objects.filter(user=user)),
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    return Ceremony(options_json=options_to_json(options), challenge=options.challenge)


def verify_passkey(
    *,
    user: Any,
    credential: str,
    challenge: bytes,
    relying_party: RelyingParty,
    request: HttpRequest | None = None,
) -> Passkey:
    """Check an assertion (`credential`, the browser's JSON) made for `challenge` by one of
    `user`'s own passkeys, and note its new sign counter. PasskeyRefused when it does not
    hold: another account's passkey, a removed one, another origin or relying party id, a
    challenge not issued for it, a bad signature, or a counter that went back (which the
    security log records: a copy of the passkey may exist)."""
    text = _credential_text(credential)
    try:
        parsed = parse_authentication_credential_json(text)
    except (WebAuthnException, ValueError, TypeError, KeyError) as exc:
        raise PasskeyRefused(NOT_CHECKED, str(exc)) from exc
    with transaction.atomic():
        passkey = (
            Passkey.objects.select_for_update()
            .filter(user=user, credential_id=bytes(parsed.raw_id))
            .first()
        )
        if passkey is None:
            raise PasskeyRefused(
                _("That passkey is not one of this account's. Use another, or a code."),
                "no such passkey on this account",
            )
        handle = parsed.response.user_handle
        if handle is not None and bytes(handle) != bytes(passkey.user_handle):
            raise PasskeyRefused(NOT_CHECKED, "the user handle is not the passkey's")
        try:
            # The counter is checked below, once the signature is known to be the passkey's:
            # py_webauthn's own check runs before the signature's, and a forged answer with a
            # low counter must not be taken for a copied passkey.
            verified = verify_authentication_response(
                credential=parsed,
                expected_challenge=challenge,
                expected_rp_id=relying_party.rp_id,
                expected_origin=relying_party.origin,
                credential_public_key=bytes(passkey.public_key),
                credential_current_sign_count=0,
            )
        except (WebAuthnException, ValueError, TypeError, KeyError) as exc:
            raise PasskeyRefused(NOT_CHECKED, str(exc)) from exc
        new_count = verified.new_sign_count
        went_back = bool(new_count or passkey.sign_count) and new_count <= passkey.sign_count
        if not went_back:
            passkey.sign_count = new_count
            passkey.backed_up = verified.credential_backed_up
            passkey.last_used_at = timezone.now()
            passkey.save(update_fields=["sign_count", "backed_up", "last_used_at"])
            return passkey
    # An authenticator that counts never goes back: a second copy of this passkey may exist
    # (WebAuthn's clone warning). The sign-in is refused and the owner told, in their log.
    security.record_security_event(
        user=user,
        kind=security.Kind.LOGIN_FAILED,
        request=request,
        detail=f"passkey {passkey.name}: its counter went back; it may have been copied",
    )
    raise PasskeyRefused(
        _("This passkey answered like a copy of itself. Use a code, and check your passkeys."),
        f"sign count {new_count} is not above {passkey.sign_count}",
    )


@transaction.atomic
def remove_passkey(
    *,
    user: User,
    passkey_id: int,
    keep_session_key: str | None,
    request: HttpRequest | None = None,
) -> bool:
    """Remove one of the user's passkeys (False when they have no such passkey). When it was
    their last second factor (no other passkey, no authenticator app), the recovery codes go
    too, as when the second factor is turned off: the password alone signs in again."""
    passkey = Passkey.objects.select_for_update().filter(user=user, pk=passkey_id).first()
    if passkey is None:
        return False
    name = passkey.name
    passkey.delete()
    if not has_second_factor(user, recovery_codes=False):
        discard_recovery_codes(user)
    second_factor_changed(
        user=user,
        kinds=(security.Kind.SECOND_FACTOR_REMOVED,),
        detail=f"passkey: {name}",
        keep_session_key=keep_session_key,
        request=request,
    )
    return True
