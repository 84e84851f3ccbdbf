"""Rows kept as evidence (chain entries, checkpoints, kept receipts, the access log) are
written once and never changed or removed through the app: the model and its querysets
refuse, and on PostgreSQL a trigger (locker/infra/append_only.py) refuses even raw SQL from
the app's own database role. The one exception, deleting a whole case or account, is at the
end of this module."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from typing import Any, ClassVar

from django.db import connection, models


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


# Whole-case and whole-account deletion ------------------------------------------------------
#
# The one exception to "never removed": when its owner deletes a case (or their account), the
# case's evidence rows go with it, and an account's security log goes with the account
# (locker/services/deletion.py). Nothing else may remove a row. Inside `deleting_case(id)` (or
# `deleting_account(id)`), and only there, `delete_rows_of` removes the rows of that one case
# (account) from an append-only table: here in the model layer, which is all SQLite has, and
# on PostgreSQL through the tables' delete-guard triggers (locker/infra/append_only.py), which
# let a DELETE through only for rows of the case or account named in the transaction-local
# setting below. A plain DELETE of one entry is refused on both, as before.

CASE_DELETION_SETTING = "locker.deleting_case"
ACCOUNT_DELETION_SETTING = "locker.deleting_account"
# The column each setting names rows by.
DELETION_COLUMNS = {CASE_DELETION_SETTING: "case_id", ACCOUNT_DELETION_SETTING: "user_id"}

_deletion: ContextVar[tuple[str, str] | None] = ContextVar("locker_deletion", default=None)


@contextmanager
def _deleting(setting: str, key: str) -> Iterator[None]:
    if not connection.in_atomic_block:
        raise PermissionError("rows are deleted only inside the transaction that deletes them")
    token = _deletion.set((setting, key))
    _set_database_setting(setting, key)
    try:
        yield
    finally:
        # Narrowed again at once, not only at the transaction's end: later statements of the
        # same transaction (a test's, a second case's) meet the triggers whole.
        _set_database_setting(setting, "")
        _deletion.reset(token)


def _set_database_setting(setting: str, value: str) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config(%s, %s, true)", [setting, value])


def deleting_case(case_id: Any) -> AbstractContextManager[None]:
    """While the case `case_id` is being deleted, in its transaction."""
    return _deleting(CASE_DELETION_SETTING, str(case_id))


def deleting_account(user_id: Any) -> AbstractContextManager[None]:
    """While the account `user_id` is being deleted (its security log goes with it)."""
    return _deleting(ACCOUNT_DELETION_SETTING, str(user_id))


def delete_rows_of(queryset: models.QuerySet[Any]) -> int:
    """Delete the rows of `queryset` that belong to the case (or account) being deleted, and
    no others; PermissionError outside `deleting_case` / `deleting_account`. Rows are removed
    with one DELETE, no signals: append-only tables have no receivers and nothing cascades
    from them that the caller has not removed first."""
    current = _deletion.get()
    if current is None:
        raise PermissionError(getattr(queryset.model, "APPEND_ONLY_MESSAGE", "append-only"))
    setting, key = current
    rows = queryset.filter(**{DELETION_COLUMNS[setting]: key})
    return int(rows._raw_delete(rows.db))
