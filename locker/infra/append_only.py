"""A PostgreSQL trigger that makes a table refuse UPDATE and DELETE, so that records kept as
evidence cannot be rewritten even through the app's own database role. Used by migrations;
other databases rely on the model layer's refusal."""

from __future__ import annotations

from typing import Any


def _create_sql(table: str) -> str:
    return f"""
CREATE OR REPLACE FUNCTION {table}_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '{table} is append-only: % refused', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS {table}_append_only ON {table};
CREATE TRIGGER {table}_append_only
    BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION {table}_append_only();
"""


def _drop_sql(table: str) -> str:
    return f"""
DROP TRIGGER IF EXISTS {table}_append_only ON {table};
DROP FUNCTION IF EXISTS {table}_append_only();
"""


def operations(table: str) -> tuple[Any, Any]:
    """The forward and backward functions for a RunPython operation."""

    def create(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            # params=None: the SQL's own % must not be read as a placeholder.
            schema_editor.execute(_create_sql(table), params=None)

    def drop(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(_drop_sql(table), params=None)

    return create, drop


# The delete guard: whole-case and whole-account deletion (locker/models/append_only.py) ------
#
# The append-only trigger above is narrowed to UPDATE, and DELETE gets a trigger of its own,
# `<table>_delete_guard`, that lets a row go only while the transaction-local setting (SET
# LOCAL / set_config(..., true)) names the row's case (or account), and refuses it otherwise,
# as before. The setting is a guard against the app's mistakes and against a DELETE of single
# rows, not against someone who holds the database role: they could drop the trigger too.


def _delete_guard_sql(table: str, column: str, setting: str) -> str:
    return f"""
CREATE OR REPLACE FUNCTION {table}_delete_guard() RETURNS trigger AS $$
BEGIN
    IF OLD.{column}::text = current_setting('{setting}', true) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION '{table} is append-only: % refused', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS {table}_append_only ON {table};
CREATE TRIGGER {table}_append_only
    BEFORE UPDATE ON {table}
    FOR EACH ROW EXECUTE FUNCTION {table}_append_only();
DROP TRIGGER IF EXISTS {table}_delete_guard ON {table};
CREATE TRIGGER {table}_delete_guard
    BEFORE DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION {table}_delete_guard();
"""


def _drop_delete_guard_sql(table: str) -> str:
    return f"""
DROP TRIGGER IF EXISTS {table}_delete_guard ON {table};
DROP FUNCTION IF EXISTS {table}_delete_guard();
DROP TRIGGER IF EXISTS {table}_append_only ON {table};
CREATE TRIGGER {table}_append_only
    BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION {table}_append_only();
"""


def delete_guard_operations(table: str, *, column: str, setting: str) -> tuple[Any, Any]:
    """Forward and backward functions for a RunPython operation that lets `table`'s rows be
    deleted only where `column` equals the transaction-local `setting`."""

    def create(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(_delete_guard_sql(table, column, setting), params=None)

    def drop(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(_drop_delete_guard_sql(table), params=None)

    return create, drop
