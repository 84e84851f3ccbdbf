"""Appends at scale (issue 14). The chain's head (seq, hash, recorded_at) is kept on the case
row, read and moved under the row lock an append takes anyway; existing cases get their
current head here. Checkpoints are stored compactly: the signature and the signing
certificate's fingerprint (the PEM once, in the new append-only SigningCertificate table)
instead of the whole signed document with its 1.5 kB certificate on every row. Rows stored
before keep their document in the same column (now `legacy_document`, nullable) and read
as before; nothing existing is rewritten (the rows are append-only)."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery

import locker.core.chain
from locker.infra.append_only import operations as append_only_operations


def fill_heads(apps, schema_editor):
    Case = apps.get_model("locker", "Case")
    Entry = apps.get_model("locker", "Entry")
    last = Entry.objects.filter(case=OuterRef("pk")).order_by("-seq")
    for case_id, seq, digest, recorded_at in (
        Case.objects.annotate(
            last_seq=Subquery(last.values("seq")[:1]),
            last_hash=Subquery(last.values("hash")[:1]),
            last_recorded_at=Subquery(last.values("recorded_at")[:1]),
        )
        .filter(last_seq__isnull=False)
        .values_list("pk", "last_seq", "last_hash", "last_recorded_at")
        .iterator(chunk_size=1000)
    ):
        Case.objects.filter(pk=case_id).update(
            head_seq=seq, head_hash=digest, head_recorded_at=recorded_at
        )


class Migration(migrations.Migration):
    dependencies = [("locker", "0029_case_stats_and_timeline_index")]

    operations = [
        migrations.AddField(
            model_name="case",
            name="head_seq",
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
        migrations.AddField(
            model_name="case",
            name="head_hash",
            field=models.CharField(
                default=locker.core.chain.GENESIS_PREV, editable=False, max_length=64
            ),
        ),
        migrations.AddField(
            model_name="case",
            name="head_recorded_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(fill_heads, migrations.RunPython.noop),
        migrations.CreateModel(
            name="SigningCertificate",
            fields=[
                (
                    "fingerprint",
                    models.CharField(max_length=64, primary_key=True, serialize=False),
                ),
                ("pem", models.TextField()),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={"abstract": False},
        ),
        migrations.RunPython(*append_only_operations("locker_signingcertificate")),
        # The column keeps its name ("document") and its rows; only the model's name for it
        # changes, and it may now be empty (a compact row).
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.AlterField(
                    model_name="checkpoint",
                    name="document",
                    field=models.JSONField(blank=True, null=True),
                ),
            ],
            state_operations=[
                migrations.RemoveField(model_name="checkpoint", name="document"),
                migrations.AddField(
                    model_name="checkpoint",
                    name="legacy_document",
                    field=models.JSONField(blank=True, db_column="document", null=True),
                ),
            ],
        ),
        migrations.AddField(
            model_name="checkpoint",
            name="signature",
            field=models.TextField(blank=True, default=""),
        ),
        migrations.AddField(
            model_name="checkpoint",
            name="certificate",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="locker.signingcertificate",
            ),
        ),
    ]
