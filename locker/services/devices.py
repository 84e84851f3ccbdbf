"""Capture devices (docs/capture.md): the owner makes, pauses and revokes them; a phone's
forwarding app posts to one, and each accepted post becomes a message or call entry of the
case through the one append service, with the request's body kept whole as its evidence file.

What a post must get past, in this order, each refusal storing nothing: the device exists and
is not revoked (else DeviceGone, 404); it is within LOCKER_DEVICE_RATE (DeviceBusy, 429); it
proves the secret, by the secret itself in a header or by SmsForwarder's signature with a
time within LOCKER_DEVICE_SIGNATURE_WINDOW_S, a signature not taken before (DeviceRefused,
401); the device is not paused (DevicePaused, 403); it reads as a record (CaptureRefused,
422). A message already recorded (the apps re-send when an answer is slow) is not recorded
again: the answer names the entry that holds it."""

from __future__ import annotations

import hashlib
import io
import logging
import secrets
from base64 import b32encode
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from locker.core import capture
from locker.infra import ratelimit, sealed_values
from locker.models import CaptureDevice, Case, DevicePost, Entry
from locker.selectors import devices as device_reads
from locker.services.entries import InputError, Upload, append_entry

log = logging.getLogger(__name__)

# 32 random bytes (256 bits) as URL-safe text: typed into an app's settings or scanned.
SECRET_BYTES = 32
MAX_NAME_CHARS = 100


class DeviceGone(Exception):
    """No such device, or it was revoked (404)."""


class DeviceBusy(Exception):
    """More posts than LOCKER_DEVICE_RATE allows (429)."""


class DeviceRefused(Exception):
    """The post does not prove the secret: none sent, a wrong one, a bad or stale signature,
    or a signature taken before (401). The message is for the phone app's log."""


class DevicePaused(Exception):
    """The owner paused the device (403)."""


class DeviceUnavailable(Exception):
    """The device's secret cannot be opened here (its master key is not configured): 503."""


class CaptureRefused(InputError):
    """The post cannot be read as a record (422); the message says why."""


@dataclass(frozen=True)
class IngestResult:
    entry: Entry
    duplicate: bool


def _public_id() -> str:
    # 10 random bytes in lower-case base32: 16 letters and digits, easy to read out.
    return b32encode(secrets.token_bytes(10)).decode("ascii").lower()


def create_device(*, case: Case, user: User, name: str) -> tuple[CaptureDevice, str]:
    """A new capture device of the case; the secret is returned this once (the page and the
    API show it once) and kept only sealed."""
    secret = secrets.token_urlsafe(SECRET_BYTES)
    public_id = _public_id()
    purpose = f"capture-device:{public_id}"
    device = CaptureDevice.objects.create(
        case=case,
        created_by=user,
        public_id=public_id,
        name=(name or "").strip()[:MAX_NAME_CHARS],
        sealed=sealed_values.seal_json({"secret": secret}, purpose=purpose),
    )
    log.info("capture device %s made for case %s", device.public_id, case.pk)
    return device, secret


def set_device_paused(*, device: CaptureDevice, paused: bool) -> CaptureDevice:
    """Pause the device (its posts are refused, nothing stored) or let it post again."""
    with transaction.atomic():
        locked = CaptureDevice.objects.select_for_update().get(pk=device.pk)
        if locked.revoked_at is not None:
            raise DeviceGone
        if paused and locked.paused_at is None:
            locked.paused_at = timezone.now()
        elif not paused:
            locked.paused_at = None
        locked.save(update_fields=["paused_at"])
    return locked


def revoke_device(*, device: CaptureDevice) -> None:
    """End the device for good: its address answers 404 from now on. The row stays, since
    the records it made name it; the secret goes."""
    CaptureDevice.objects.filter(pk=device.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), sealed=b""
    )


def _authenticate(
    device: CaptureDevice, fields: dict[str, Any], offered_secret: str, now_ms: int
) -> str:
    """The signature's nonce ("" when the secret came in a header), or DeviceRefused."""
    try:
        secret = device_reads.device_secret(device)
    except sealed_values.SealedValueUnreadable as exc:
        raise DeviceUnavailable from exc
    if offered_secret:
        if not capture.secret_matches(secret, offered_secret):
            raise DeviceRefused("the secret is not this device's")
        return ""
    sign = fields.get("sign")
    if not isinstance(sign, str) or not sign.strip():
        raise DeviceRefused(
            "send the device's secret in the X-Locker-Secret header, or SmsForwarder's "
            "timestamp and sign"
        )
    raw_time = fields.get("timestamp")
    stamp = capture.timestamp_ms(raw_time)
    if stamp is None:
        raise DeviceRefused("timestamp must be the signing time in milliseconds")
    if not capture.sign_matches(secret, str(raw_time).strip(), sign):
        raise DeviceRefused("the signature does not match this device's secret")
    if abs(now_ms - stamp) > settings.LOCKER_DEVICE_SIGNATURE_WINDOW_S * 1000:
        raise DeviceRefused("the timestamp is too far from the server's time")
    return capture.signature_nonce(str(raw_time).strip(), sign)


def ingest_device_post(
    *,
    public_id: str,
    fields: dict[str, Any],
    raw: bytes,
    json_body: bool,
    offered_secret: str = "",
) -> IngestResult:
    """Record what a phone posted to the device `public_id` (see the module's text). `fields`
    is the post read (a JSON object, or a form's values), `raw` its body as it arrived,
    `offered_secret` the secret from its header ("" when none)."""
    device = device_reads.receiving_device(public_id)
    if device is None:
        raise DeviceGone
    count, window = ratelimit.parse_rate(settings.LOCKER_DEVICE_RATE)
    if not ratelimit.hit("device-post", device.public_id, limit=count, window_s=window):
        raise DeviceBusy
    now = timezone.now()
    fields = {str(k).strip().lower(): v for k, v in fields.items()}
    try:
        nonce = _authenticate(device, fields, offered_secret, int(now.timestamp() * 1000))
    except DeviceRefused as exc:
        log.info("capture device %s refused a post: %s", device.public_id, exc)
        raise
    if device.paused:
        raise DevicePaused
    try:
        record = capture.read_capture(fields, zone=device_reads.owner_time_zone(device.case))
    except capture.CaptureError as exc:
        raise CaptureRefused(str(exc)) from exc
    body_sha256 = hashlib.sha256(raw).hexdigest()
    fingerprint = record.fingerprint()
    window_start = now - timedelta(seconds=settings.LOCKER_DEVICE_SIGNATURE_WINDOW_S)
    with transaction.atomic():
        # Under the case's lock: of two copies of one message posted at once, the second
        # waits here and then finds the first.
        case = Case.objects.select_for_update().get(pk=device.case_id)
        if nonce:
            taken = device_reads.post_with_nonce(device, nonce)
            if taken is not None:
                if taken.body_sha256 == body_sha256:
                    return IngestResult(taken.entry, duplicate=True)  # the app's own retry
                log.info("capture device %s refused a replayed signature", device.public_id)
                raise DeviceRefused("this signature was used already")
        earlier = device_reads.earlier_post(case, fingerprint, since=window_start)
        if earlier is not None:
            entry, duplicate = earlier.entry, True
        else:
            name = "device-post.json" if json_body else "device-post.txt"
            entry = append_entry(
                case=case,
                author=device.author,
                kind=record.kind,
                body=record.body,
                occurred_at=record.occurred_at,
                uploads=[Upload(name=name, stream=io.BytesIO(raw), device_post=True)],
                allow_kinds=(record.kind,),
            ).entry
            duplicate = False
        DevicePost.objects.create(
            device=device,
            case=case,
            entry=entry,
            received_at=now,
            fingerprint=fingerprint,
            own_time=record.own_time,
            nonce=nonce,
            body_sha256=body_sha256,
        )
        CaptureDevice.objects.filter(pk=device.pk).update(last_post_at=now)
    log.info(
        "capture device %s: %s entry %s of case %s",
        device.public_id,
        "re-sent" if duplicate else "recorded",
        entry.seq,
        case.pk,
    )
    return IngestResult(entry, duplicate=duplicate)
