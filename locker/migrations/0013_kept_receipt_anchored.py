# Kept receipts with an anchor member: an anchored copy of a head kept without one is a second
# row beside it (kept receipts are append-only), so the unique key says which kind a row is.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("locker", "0012_anchors"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="keptreceipt",
            name="kept_receipt_unique_head_signer",
        ),
        migrations.AddField(
            model_name="keptreceipt",
            name="anchored",
            field=models.BooleanField(default=False),
        ),
        migrations.AddConstraint(
            model_name="keptreceipt",
            constraint=models.UniqueConstraint(
                fields=("case", "length", "head", "signer_fingerprint", "anchored"),
                name="kept_receipt_unique_head_signer_anchored",
            ),
        ),
    ]
