"""On PostgreSQL, the database itself refuses UPDATE and DELETE on checkpoints: entries
removed together with the checkpoints that signed them would otherwise pass verify_chain."""

from django.db import migrations

from locker.infra.append_only import operations


class Migration(migrations.Migration):
    dependencies = [("locker", "0009_kept_receipt_trust_is_read_when_shown")]
    operations = [migrations.RunPython(*operations("locker_checkpoint"))]
