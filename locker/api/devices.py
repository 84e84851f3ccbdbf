"""Capture devices through the JSON API (docs/capture.md): the case's owner makes, lists,
pauses and revokes them (everyone else gets the 404 of a case they may not see), and a
phone's forwarding app posts to one at POST /api/capture/{device_id}, which needs no token:
the device's secret, or SmsForwarder's signature made with it, is its proof."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from ninja import Field, Router, Schema, Status

from locker import services
from locker.api.errors import api_message, refusals
from locker.infra.content import DEVICE_POST_MAX_BYTES
from locker.infra.http import public_url, request_user
from locker.models import CaptureDevice
from locker.permissions import case_access_or_404
from locker.selectors import devices as device_reads

router = Router(tags=["capture devices"])

SECRET_HEADER = "X-Locker-Secret"  # noqa: S105 - the header's name, not a secret


class DeviceIn(Schema):
    name: str = Field(max_length=100, description="what the owner calls it (only they see it)")


class DevicePatch(Schema):
    paused: bool


class DeviceOut(Schema):
    id: str = Field(description="the device's public id, in its address")
    name: str
    url: str = Field(description="the address to paste into the phone's forwarding app")
    paused: bool
    revoked: bool
    created_at: datetime
    last_post_at: datetime | None


class NewDeviceOut(Schema):
    id: str
    name: str
    url: str
    secret: str = Field(description="shown this once; the app needs it, nothing shows it again")
    paused: bool


def device_url(request: HttpRequest, device: CaptureDevice) -> str:
    return public_url(request, reverse("api:capture_post", args=[device.public_id]))


def device_out(request: HttpRequest, device: CaptureDevice) -> dict[str, Any]:
    return {
        "id": device.public_id,
        "name": device.name,
        "url": device_url(request, device),
        "paused": device.paused,
        "revoked": device.revoked_at is not None,
        "created_at": device.created_at,
        "last_post_at": device.last_post_at,
    }


def _open_device(request: HttpRequest, case_id: str, device_id: str) -> CaptureDevice:
    case = case_access_or_404(request, case_id, need="write").case
    device = device_reads.device_of(case, device_id)
    if device is None or device.revoked_at is not None:
        raise Http404("No such device")
    return device


@router.post(
    "/cases/{case_id}/devices",
    response={201: NewDeviceOut, **refusals(404)},
    summary="Make a capture device (its secret is shown once)",
)
def create_device(request: HttpRequest, case_id: str, payload: DeviceIn) -> Status[dict[str, Any]]:
    case = case_access_or_404(request, case_id, need="write").case
    device, secret = services.create_device(
        case=case, user=request_user(request), name=payload.name
    )
    return Status(
        201,
        {
            "id": device.public_id,
            "name": device.name,
            "url": device_url(request, device),
            "secret": secret,
            "paused": device.paused,
        },
    )


@router.get(
    "/cases/{case_id}/devices",
    response={200: list[DeviceOut], **refusals(404)},
    summary="The case's capture devices (revoked ones too)",
)
def list_devices(request: HttpRequest, case_id: str) -> list[dict[str, Any]]:
    case = case_access_or_404(request, case_id, need="write").case
    return [device_out(request, device) for device in device_reads.devices_of(case)]


@router.patch(
    "/cases/{case_id}/devices/{device_id}",
    response={200: DeviceOut, **refusals(404)},
    summary="Pause a capture device, or let it post again",
)
def patch_device(
    request: HttpRequest, case_id: str, device_id: str, payload: DevicePatch
) -> dict[str, Any]:
    device = _open_device(request, case_id, device_id)
    try:
        device = services.set_device_paused(device=device, paused=payload.paused)
    except services.DeviceGone:
        raise Http404("No such device") from None
    return device_out(request, device)


@router.delete(
    "/cases/{case_id}/devices/{device_id}",
    response={204: None, **refusals(404)},
    summary="Revoke a capture device for good",
)
def delete_device(request: HttpRequest, case_id: str, device_id: str) -> Status[None]:
    services.revoke_device(device=_open_device(request, case_id, device_id))
    return Status(204, None)


# What a phone posts ------------------------------------------------------------------------


class CaptureOut(Schema):
    seq: int = Field(description="the entry that holds what was posted")
    duplicate: bool = Field(description="true: it was recorded already (the app re-sent it)")


def _offered_secret(request: HttpRequest) -> str:
    value = request.headers.get(SECRET_HEADER, "")
    if not value:
        scheme, _, rest = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer":
            value = rest
    return value.strip()


def _fields(request: HttpRequest, raw: bytes) -> tuple[dict[str, Any], bool] | None:
    """The post read (a JSON object, or a form's first values) and whether it was JSON; None
    for a body that is neither."""
    content_type = request.content_type or ""
    if content_type == "application/json" or raw.lstrip().startswith(b"{"):
        try:
            document = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None
        return (document, True) if isinstance(document, dict) else None
    if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        if request.FILES:
            return None
        return {name: request.POST.get(name) for name in request.POST}, False
    return None


@router.post(
    "/capture/{device_id}",
    auth=None,
    url_name="capture_post",
    response={200: CaptureOut, 201: CaptureOut, **refusals(401, 403, 404, 413, 415, 429)},
    summary="A phone's forwarding app posts a message or a call (no token: the secret)",
)
def capture_post(request: HttpRequest, device_id: str) -> Any:
    raw = request.body
    if len(raw) > DEVICE_POST_MAX_BYTES:
        return _refuse(413, "the request is too large")
    read = _fields(request, raw)
    if read is None:
        return _refuse(415, "send a JSON object or a form (see docs/capture.md)")
    fields, is_json = read
    try:
        result = services.ingest_device_post(
            public_id=device_id,
            fields=fields,
            raw=raw,
            json_body=is_json,
            offered_secret=_offered_secret(request),
        )
    except services.DeviceGone:
        return _refuse(404, "no such device")
    except services.DeviceBusy:
        response = _refuse(429, "too many posts from this device; wait a minute")
        response["Retry-After"] = "60"
        return response
    except services.DeviceRefused as exc:
        return _refuse(401, str(exc))
    except services.DevicePaused:
        return _refuse(403, "this device is paused by the case's owner; nothing was saved")
    except services.DeviceUnavailable:
        response = _refuse(503, "this device cannot be checked now; try again later")
        response["Retry-After"] = "60"
        return response
    except services.InputError as exc:
        status = 413 if isinstance(exc, services.TooLarge) else 422
        return _refuse(status, api_message(request, exc))
    status = 200 if result.duplicate else 201
    return Status(status, {"seq": result.entry.seq, "duplicate": result.duplicate})


def _refuse(status: int, detail: str) -> HttpResponse:
    response = HttpResponse(
        json.dumps({"detail": detail}), status=status, content_type="application/json"
    )
    response["Cache-Control"] = "no-store"
    return response
