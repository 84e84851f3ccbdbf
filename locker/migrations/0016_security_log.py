"""The security log of each account (append-only, with its PostgreSQL trigger)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from locker.infra.append_only import operations as append_only


class Migration(migrations.Migration):

    dependencies = [
        ('locker', '0015_share_by_unknown_username'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='SecurityEvent',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('login', 'Signed in'), ('login_failed', 'Failed sign-in'), ('admin_login', 'Signed in to the admin pages'), ('password_changed', 'Password changed'), ('token_created', 'API token created'), ('token_revoked', 'API token revoked'), ('token_new_address', 'API token used from a new address'), ('second_factor_added', 'Second factor added'), ('second_factor_removed', 'Second factor removed'), ('recovery_codes_generated', 'New recovery codes made'), ('recovery_code_used', 'Recovery code used to sign in'), ('admin_action', 'Change made on the admin pages'), ('changed_by_admin', 'Account changed by an administrator')], max_length=32)),
                ('at', models.DateTimeField()),
                ('ip', models.GenericIPAddressField(blank=True, null=True)),
                ('user_agent', models.CharField(blank=True, max_length=300)),
                ('token_ref', models.PositiveBigIntegerField(blank=True, null=True)),
                ('detail', models.CharField(blank=True, max_length=300)),
            ],
            options={
                'ordering': ('-at', '-id'),
            },
        ),
        migrations.AddField(
            model_name='securityevent',
            name='user',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='security_events', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddIndex(
            model_name='securityevent',
            index=models.Index(fields=['user', 'at'], name='locker_secu_user_id_959093_idx'),
        ),
        migrations.AddIndex(
            model_name='securityevent',
            index=models.Index(fields=['token_ref', 'ip'], name='locker_secu_token_r_a4966e_idx'),
        ),
        # On PostgreSQL the database itself refuses UPDATE and DELETE on the security log.
        migrations.RunPython(*append_only("locker_securityevent")),
    ]
