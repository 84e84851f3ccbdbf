"""On PostgreSQL, the database itself refuses UPDATE and DELETE on chain entries, so that not
even a bug or a hand-typed SQL statement through the app's role can rewrite history."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION locker_entry_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'locker_entry is append-only: % refused', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS locker_entry_append_only ON locker_entry;
CREATE TRIGGER locker_entry_append_only
    BEFORE UPDATE OR DELETE ON locker_entry
    FOR EACH ROW EXECUTE FUNCTION locker_entry_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS locker_entry_append_only ON locker_entry;
DROP FUNCTION IF EXISTS locker_entry_append_only();
"""


def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("locker", "0001_initial")]
    operations = [migrations.RunPython(create_trigger, drop_trigger)]
