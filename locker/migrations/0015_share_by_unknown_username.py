"""Shares by a username that names no account: neither user nor email, only the name typed,
pending for ever, so that sharing does not tell the owner whether an account exists."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('locker', '0014_mailed_receipts'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='share',
            name='share_has_grantee',
        ),
        migrations.RemoveConstraint(
            model_name='share',
            name='share_one_open_invitation_per_email',
        ),
        migrations.AddConstraint(
            model_name='share',
            constraint=models.CheckConstraint(condition=models.Q(('email', ''), ('invited_as', ''), ('user__isnull', True), _negated=True), name='share_has_grantee'),
        ),
        migrations.AddConstraint(
            model_name='share',
            constraint=models.UniqueConstraint(condition=models.Q(('ended_at__isnull', True), ('user__isnull', True), models.Q(('email', ''), _negated=True)), fields=('case', 'email'), name='share_one_open_invitation_per_email'),
        ),
        migrations.AddConstraint(
            model_name='share',
            constraint=models.UniqueConstraint(condition=models.Q(('email', ''), ('ended_at__isnull', True), ('user__isnull', True)), fields=('case', 'invited_as'), name='share_one_open_invitation_per_name'),
        ),
    ]
