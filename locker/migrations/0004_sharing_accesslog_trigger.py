"""On PostgreSQL, the database itself refuses UPDATE and DELETE on the access log, so a
client's record of who saw their case cannot be quietly rewritten, even through the app's
own database role."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION locker_accesslog_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'locker_accesslog is append-only: % refused', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS locker_accesslog_append_only ON locker_accesslog;
CREATE TRIGGER locker_accesslog_append_only
    BEFORE UPDATE OR DELETE ON locker_accesslog
    FOR EACH ROW EXECUTE FUNCTION locker_accesslog_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS locker_accesslog_append_only ON locker_accesslog;
DROP FUNCTION IF EXISTS locker_accesslog_append_only();
"""


def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("locker", "0003_sharing")]
    operations = [migrations.RunPython(create_trigger, drop_trigger)]
