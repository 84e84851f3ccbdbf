"""On PostgreSQL, the database itself refuses UPDATE and DELETE on chain entries, so that not
even a bug or a hand-typed SQL statement through the app's role can rewrite history."""

from django.db import migrations

from locker.infra.append_only import operations


class Migration(migrations.Migration):
    dependencies = [("locker", "0001_initial")]
    operations = [migrations.RunPython(*operations("locker_entry"))]
