"""The PostgreSQL trigger that keeps chain entries append-only except for one transition:
erasing a not yet erased entry's content (locker/services/erasure.py). It replaces, on
locker_entry only, the generic append-only trigger of locker/infra/append_only.py.

Allowed, once per row: an UPDATE that empties body (to {}), evidence (to []) and
occurred_at (to NULL) and sets erased_at and erased_by_id, while every other column
(id, case_id, seq, prev, hash, kind, recorded_at, author, and any column added later) stays
as it was, and erased_by_id names a `redaction` entry of the same case, later in the chain,
whose body's erased_seq is this row's seq and whose recorded_at is the new erased_at. A
redaction entry itself cannot be erased. Everything else is refused: any other UPDATE, a
second erasure and un-erasing. DELETE is not this trigger's: the delete guard
(locker/infra/append_only.py, `locker_entry_delete_guard`) lets rows go only inside a whole
case's deletion. Other databases rely on the model layer (locker/models/append_only.py,
Entry.mark_erased)."""

from __future__ import annotations

from typing import Any

from locker.infra import append_only
from locker.models.append_only import CASE_DELETION_SETTING

TABLE = "locker_entry"
FUNCTION = "locker_entry_append_or_erase"

# The columns the erasure changes; to_jsonb(row) minus these must be the same before and
# after, so a column added to the table later is protected without touching this trigger.
_ERASURE_COLUMNS = "- 'body' - 'evidence' - 'occurred_at' - 'erased_at' - 'erased_by_id'"

REFUSAL_REASON = "only erasing the content of an entry not erased yet is allowed"

# Only this module's own constant names are interpolated, never a value from outside.
CREATE_SQL = f"""
CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger AS $$
DECLARE
    redaction {TABLE}%ROWTYPE;
BEGIN
    IF TG_OP = 'UPDATE'
       AND OLD.erased_at IS NULL AND OLD.erased_by_id IS NULL
       AND OLD.kind <> 'redaction'
       AND NEW.erased_at IS NOT NULL AND NEW.erased_by_id IS NOT NULL
       AND NEW.body = '{{}}'::jsonb AND NEW.evidence = '[]'::jsonb AND NEW.occurred_at IS NULL
       AND (to_jsonb(NEW) {_ERASURE_COLUMNS}) = (to_jsonb(OLD) {_ERASURE_COLUMNS})
    THEN
        SELECT * INTO redaction FROM {TABLE} WHERE id = NEW.erased_by_id;
        IF FOUND
           AND redaction.case_id = OLD.case_id
           AND redaction.kind = 'redaction'
           AND redaction.seq > OLD.seq
           AND redaction.body -> 'erased_seq' = to_jsonb(OLD.seq)
           AND redaction.recorded_at = NEW.erased_at
        THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION '{TABLE} is append-only: % refused ({REFUSAL_REASON})', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS {TABLE}_append_only ON {TABLE};
DROP FUNCTION IF EXISTS {TABLE}_append_only();
DROP TRIGGER IF EXISTS {FUNCTION} ON {TABLE};
CREATE TRIGGER {FUNCTION}
    BEFORE UPDATE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION {FUNCTION}();
"""  # noqa: S608

DROP_SQL = f"""
DROP TRIGGER IF EXISTS {FUNCTION} ON {TABLE};
DROP FUNCTION IF EXISTS {FUNCTION}();
"""


def allow_erasure(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        # params=None: the SQL's own % must not be read as a placeholder.
        schema_editor.execute(CREATE_SQL, params=None)


def refuse_erasure(apps: Any, schema_editor: Any) -> None:
    """Back to the generic trigger that refuses every UPDATE, beside the delete guard."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_SQL, params=None)
    restore, _drop = append_only.operations(TABLE)
    restore(apps, schema_editor)
    # The generic trigger is made for UPDATE and DELETE; the delete guard narrows it to UPDATE
    # again and keeps DELETE to whole-case deletions, as migration 0019 left it.
    guard, _unguard = append_only.delete_guard_operations(
        TABLE, column="case_id", setting=CASE_DELETION_SETTING
    )
    guard(apps, schema_editor)
