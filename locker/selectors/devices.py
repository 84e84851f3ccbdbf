"""Reads of capture devices (docs/capture.md): a case's devices, one of them, the device a
post names, the secret it verifies posts with, and the post a re-sent message matches."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q

from locker.infra import sealed_values
from locker.models import CaptureDevice, Case, DevicePost, Profile


def devices_of(case: Case) -> list[CaptureDevice]:
    """Every device of the case, the revoked ones too (their records name them)."""
    return list(CaptureDevice.objects.filter(case=case))


def device_of(case: Case, public_id: str) -> CaptureDevice | None:
    return CaptureDevice.objects.filter(case=case, public_id=str(public_id)).first()


def receiving_device(public_id: str) -> CaptureDevice | None:
    """The device a post is addressed to, unless it was revoked (then it is no more)."""
    return (
        CaptureDevice.objects.filter(public_id=str(public_id)[:24], revoked_at__isnull=True)
        .select_related("case")
        .first()
    )


def device_secret(device: CaptureDevice) -> str:
    """The device's secret, opened. Raises SealedValueUnreadable."""
    secret = sealed_values.open_json(device.sealed, purpose=device.purpose).get("secret")
    if not isinstance(secret, str) or not secret:
        raise sealed_values.SealedValueUnreadable("the device holds no secret")
    return secret


def post_with_nonce(device: CaptureDevice, nonce: str) -> DevicePost | None:
    return DevicePost.objects.filter(device=device, nonce=nonce).select_related("entry").first()


def earlier_post(case: Case, fingerprint: str, *, since: datetime) -> DevicePost | None:
    """The post that already recorded this message: one with the message's own time
    whenever it came, or one without a time of its own that came after `since`."""
    return (
        DevicePost.objects.filter(case=case, fingerprint=fingerprint)
        .filter(Q(own_time=True) | Q(received_at__gte=since))
        .select_related("entry")
        .order_by("received_at", "id")
        .first()
    )


def owner_time_zone(case: Case) -> str:
    """The zone the phone's own clock times are read in: the case owner's (their preferences),
    Asia/Shanghai, the preferences' default, without them."""
    zone = Profile.objects.filter(user_id=case.owner_id).values_list("time_zone", flat=True)
    return zone.first() or "Asia/Shanghai"
