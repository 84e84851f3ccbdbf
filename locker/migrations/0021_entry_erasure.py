"""Erasing one record's content (issue 12): an entry row can be marked erased, once, by the
redaction entry that records it; the owner's security log gains the event. On PostgreSQL
the entries' append-only trigger is replaced by one that allows exactly that transition
and still refuses every other UPDATE and every DELETE (locker/infra/entry_erasure.py)."""

import django.db.models.deletion
from django.db import migrations, models

from locker.infra.entry_erasure import allow_erasure, refuse_erasure


class Migration(migrations.Migration):
    dependencies = [("locker", "0020_complainant_details")]

    operations = [
        migrations.AddField(
            model_name="entry",
            name="erased_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="entry",
            name="erased_by",
            field=models.OneToOneField(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.RESTRICT,
                related_name="erased_entry",
                to="locker.entry",
            ),
        ),
        migrations.AlterField(
            model_name="securityevent",
            name="kind",
            field=models.CharField(
                choices=[
                    ("login", "Signed in"),
                    ("login_failed", "Failed sign-in"),
                    ("admin_login", "Signed in to the admin pages"),
                    ("password_changed", "Password changed"),
                    ("token_created", "API token created"),
                    ("token_revoked", "API token revoked"),
                    ("token_new_address", "API token used from a new address"),
                    ("second_factor_added", "Second factor added"),
                    ("second_factor_removed", "Second factor removed"),
                    ("recovery_codes_generated", "New recovery codes made"),
                    ("recovery_code_used", "Recovery code used to sign in"),
                    ("admin_action", "Change made on the admin pages"),
                    ("changed_by_admin", "Account changed by an administrator"),
                    ("data_export_requested", "Download of all your data asked for"),
                    ("data_export_downloaded", "Download of all your data fetched"),
                    ("case_deleted", "Case deleted"),
                    ("deletion_refused", "Deletion refused: wrong password or code"),
                    ("record_erased", "A record's content erased"),
                ],
                max_length=32,
            ),
        ),
        migrations.RunPython(allow_erasure, refuse_erasure),
    ]
