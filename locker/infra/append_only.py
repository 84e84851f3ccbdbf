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
