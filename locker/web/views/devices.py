"""Capture devices on the owner's pages (docs/capture.md): make one (its address and QR code,
and its secret, shown once), pause it, let it post again, revoke it. Only the case's owner
reaches these pages; everyone else gets the 404 of a case they may not see."""

from __future__ import annotations

from uuid import UUID

import qrcode
import qrcode.image.svg
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from locker import services
from locker.infra.http import public_url
from locker.models import CaptureDevice
from locker.permissions import case_access_or_404
from locker.selectors import devices as device_reads
from locker.web.forms.devices import DeviceForm
from locker.web.views.common import AuthedRequest, found_or_404, private_response

# The new device's secret, kept in the session from the POST that made it to the one page
# that shows it, then dropped.
FRESH_KEY = "device_fresh"


def device_url(request: HttpRequest, device: CaptureDevice) -> str:
    return public_url(request, reverse("api:capture_post", args=[device.public_id]))


def _qr_svg(url: str) -> str:
    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    return image.to_string(encoding="unicode")


@login_required
def devices(request: AuthedRequest, case_id: UUID) -> HttpResponse:
    case, role = case_access_or_404(request, case_id, need="write")
    form = DeviceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device, secret = services.create_device(
            case=case, user=request.user, name=form.cleaned_data["name"]
        )
        request.session[FRESH_KEY] = {"id": device.public_id, "secret": secret}
        return redirect("device_detail", case_id=case.pk, device_id=device.public_id)
    return render(
        request,
        "locker/devices.html",
        {"case": case, "role": role, "form": form, "devices": device_reads.devices_of(case)},
    )


@login_required
def device_detail(request: AuthedRequest, case_id: UUID, device_id: str) -> HttpResponse:
    case, role = case_access_or_404(request, case_id, need="write")
    device = found_or_404(device_reads.device_of(case, device_id), "device")
    fresh = request.session.get(FRESH_KEY)
    secret = None
    if isinstance(fresh, dict) and fresh.get("id") == device.public_id:
        del request.session[FRESH_KEY]
        secret = fresh.get("secret")
    url = device_url(request, device)
    qr = mark_safe(_qr_svg(url))  # noqa: S308 - SVG made by qrcode from our own URL
    page = render(
        request,
        "locker/device_detail.html",
        {"case": case, "role": role, "device": device, "url": url, "qr": qr, "secret": secret},
    )
    # The secret is on this page once; signed-in pages are never cached (no-store) anyway.
    return private_response(page)


@login_required
@require_POST
def device_pause(request: AuthedRequest, case_id: UUID, device_id: str) -> HttpResponse:
    case = case_access_or_404(request, case_id, need="write").case
    device = found_or_404(device_reads.device_of(case, device_id), "device")
    paused = request.POST.get("paused") != "0"
    try:
        services.set_device_paused(device=device, paused=paused)
    except services.DeviceGone:
        messages.error(request, _("This device was revoked."))
    else:
        messages.success(
            request,
            _("Paused: what it sends is refused and nothing is stored.")
            if paused
            else _("It records again what the phone sends."),
        )
    return redirect("device_detail", case_id=case.pk, device_id=device.public_id)


@login_required
@require_POST
def device_revoke(request: AuthedRequest, case_id: UUID, device_id: str) -> HttpResponse:
    case = case_access_or_404(request, case_id, need="write").case
    device = found_or_404(device_reads.device_of(case, device_id), "device")
    services.revoke_device(device=device)
    messages.success(request, _("The device is revoked: its address no longer works."))
    return redirect("devices", case_id=case.pk)
