"""Changing stored records behind the app's back, as an attacker with database access would."""

from __future__ import annotations

import json
from typing import Any

from django.db import connection


def raw_sql(sql: str, params: list[Any]) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The append-only trigger would stop us; a superuser can switch triggers off.
            cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = origin")


def rewrite_body(entry_id: int, body: dict[str, Any]) -> None:
    raw_sql("UPDATE locker_entry SET body = %s WHERE id = %s", [json.dumps(body), entry_id])


def delete_entry(entry_id: int) -> None:
    raw_sql("DELETE FROM locker_entry WHERE id = %s", [entry_id])
