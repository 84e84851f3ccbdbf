"""Rows kept as evidence (chain entries, checkpoints, kept receipts, the access log) are
written once and never changed or removed through the app: the model and its querysets
refuse, and on PostgreSQL a trigger (locker/infra/append_only.py) refuses even raw SQL from
the app's own database role."""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import models


class AppendOnlyQuerySet(models.QuerySet[Any]):
    def update(self, **kwargs: Any) -> int:
        raise PermissionError(self.model.APPEND_ONLY_MESSAGE)

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError(self.model.APPEND_ONLY_MESSAGE)


class AppendOnlyModel(models.Model):
    # Says what the rows are, in the refusal: "chain entries are append-only".
    APPEND_ONLY_MESSAGE: ClassVar[str] = "these rows are append-only"

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise PermissionError(self.APPEND_ONLY_MESSAGE)
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise PermissionError(self.APPEND_ONLY_MESSAGE)
