"""Capture devices (docs/capture.md): addresses a case's owner makes for a phone's forwarding
app (SmsForwarder, SMS to URL Forwarder, an iOS shortcut), so that messages and calls arrive
as records without anyone typing them. Each has a public id, which is in its address, and a
secret, which never is: SmsForwarder signs with the secret itself (an HMAC), so the server
must hold it, and it is kept sealed under the master key (locker/infra/sealed_values.py),
written by locker/services/devices.py and opened by locker/selectors/devices.py only.

Each accepted post is a DevicePost: what the service needs to take a signature once and a
re-sent message once, and the entry it became."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from locker.models.cases import Case, Entry


class CaptureDevice(models.Model):
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="capture_devices")
    # In the device's address and in the author of its records (device:<public_id>); not a
    # secret, but random, so that one device's address does not lead to another's.
    public_id = models.CharField(max_length=24, unique=True)
    name = models.CharField(_("name (only you see this)"), max_length=100)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # The secret, sealed (purpose "capture-device:<public_id>").
    sealed = models.BinaryField()
    paused_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_post_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return f"capture device {self.public_id} of {self.case_id}"

    @property
    def author(self) -> str:
        return f"device:{self.public_id}"

    @property
    def purpose(self) -> str:
        return f"capture-device:{self.public_id}"

    @property
    def paused(self) -> bool:
        return self.paused_at is not None

    def state(self) -> str:
        """One of "revoked", "paused", "active"."""
        if self.revoked_at is not None:
            return "revoked"
        return "paused" if self.paused_at is not None else "active"


class DevicePost(models.Model):
    """One post a capture device accepted, and the entry it made."""

    device = models.ForeignKey(CaptureDevice, on_delete=models.PROTECT, related_name="posts")
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="+")
    entry = models.ForeignKey(Entry, on_delete=models.PROTECT, related_name="+")
    received_at = models.DateTimeField()
    # locker.core.capture.Capture.fingerprint: the same message re-sent is recorded once.
    fingerprint = models.CharField(max_length=64)
    # Whether the fingerprint holds the message's own time; without one, a match counts only
    # within the signature window.
    own_time = models.BooleanField(default=False)
    # SmsForwarder's signature, hashed with its time (locker.core.capture.signature_nonce):
    # taken once. Empty for the formats that send the secret in a header.
    nonce = models.CharField(max_length=64, blank=True)
    body_sha256 = models.CharField(max_length=64)

    class Meta:
        ordering = ("-received_at", "-id")
        constraints = [
            models.UniqueConstraint(
                fields=("device", "nonce"),
                condition=~models.Q(nonce=""),
                name="device_post_nonce_once",
            )
        ]
        indexes = [models.Index(fields=("case", "fingerprint"))]

    def __str__(self) -> str:
        return f"post {self.pk} of device {self.device_id}"
