"""On PostgreSQL, DELETE on the append-only tables of a case (entries, checkpoints, kept
receipts, the access log, anchor leaves) is let through only for the rows of the case the
transaction is deleting (the setting locker.deleting_case), and on the security log only for
the rows of the account being deleted (locker.deleting_account); every other DELETE is still
refused, and UPDATE is refused as before. Anchors themselves (a Merkle root and its time-stamp
tokens, shared by many cases) are never deleted. See locker/models/append_only.py."""

from django.db import migrations

from locker.infra.append_only import delete_guard_operations
from locker.models.append_only import ACCOUNT_DELETION_SETTING, CASE_DELETION_SETTING

CASE_TABLES = (
    "locker_entry",
    "locker_checkpoint",
    "locker_keptreceipt",
    "locker_accesslog",
    "locker_anchorleaf",
)


class Migration(migrations.Migration):
    dependencies = [("locker", "0018_data_export")]
    operations = [
        *(
            migrations.RunPython(
                *delete_guard_operations(table, column="case_id", setting=CASE_DELETION_SETTING)
            )
            for table in CASE_TABLES
        ),
        migrations.RunPython(
            *delete_guard_operations(
                "locker_securityevent", column="user_id", setting=ACCOUNT_DELETION_SETTING
            )
        ),
    ]
