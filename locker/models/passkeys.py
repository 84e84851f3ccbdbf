"""Passkeys (WebAuthn credentials) registered as a second factor: what the server keeps of
each to check a later assertion (the credential's id and public key, its sign counter), and
the name its owner gave it so they can tell their passkeys apart."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Passkey(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="passkeys"
    )
    name = models.CharField(max_length=60)
    # The authenticator's id for the credential (raw bytes, at most 1023 by the spec); an
    # assertion names it, and it is looked up only among the signing-in user's own passkeys.
    credential_id = models.BinaryField(max_length=1023, unique=True)
    # The COSE_Key from the attestation, as py_webauthn returns it.
    public_key = models.BinaryField()
    # The last signature counter the authenticator reported; 0 for authenticators that keep
    # none (most synced passkeys), which is then never checked.
    sign_count = models.PositiveBigIntegerField(default=0)
    # The WebAuthn user handle the credential was made for: one per account, reused for each
    # further passkey so that an authenticator keeps one credential per account here.
    user_handle = models.BinaryField(max_length=64)
    # How the browser said it can reach the authenticator ("internal", "usb", "hybrid", …):
    # a hint passed back when asking for an assertion.
    transports = models.JSONField(default=list, blank=True)
    backed_up = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("created_at", "id")

    def __str__(self) -> str:
        return f"passkey {self.pk} of {self.user_id}"
