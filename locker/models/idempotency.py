"""API idempotency keys: the first result of a POST, kept so that a client retrying after a
lost response gets that result again instead of recording the same thing twice."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class IdempotencyKey(models.Model):
    """One (user, Idempotency-Key) pair and the response its first request produced. A row
    is only ever seen committed together with its result: the service inserts it, runs the
    action and stores the result in one transaction."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="idempotency_keys"
    )
    key = models.CharField(max_length=255)
    # SHA-256 (hex) of the request's method, path and body: a reuse with another request is
    # refused, not answered with this one's result.
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True)
    response_body = models.BinaryField(default=b"")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=("user", "key"), name="idempotency_unique_user_key")
        ]

    def __str__(self) -> str:
        return f"idempotency key of {self.user_id} ({self.status_code})"
