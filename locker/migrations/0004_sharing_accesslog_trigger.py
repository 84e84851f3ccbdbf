"""On PostgreSQL, the database itself refuses UPDATE and DELETE on the access log, so a
client's record of who saw their case cannot be quietly rewritten, even through the app's
own database role."""

from django.db import migrations

from locker.infra.append_only import operations


class Migration(migrations.Migration):
    dependencies = [("locker", "0003_sharing")]
    operations = [migrations.RunPython(*operations("locker_accesslog"))]
