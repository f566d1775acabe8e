"""Alerts are gone: their data lives on as cases, signals, tasks and case events (0004)."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("retention", "0004_alerts_to_cases"),
    ]

    operations = [
        migrations.RemoveField(
            model_name='alertstep',
            name='alert',
        ),
        migrations.RemoveField(
            model_name='alertevent',
            name='alert',
        ),
        migrations.RemoveField(
            model_name='alertevent',
            name='actor',
        ),
        migrations.RemoveField(
            model_name='alertstep',
            name='done_by',
        ),
        migrations.RemoveField(
            model_name='alertstep',
            name='owner',
        ),
        migrations.RemoveField(
            model_name='alertstep',
            name='playbook_step',
        ),
        migrations.RemoveField(
            model_name='playbook',
            name='alert_kind',
        ),
        migrations.RemoveField(
            model_name='playbook',
            name='control_salt',
        ),
        migrations.RemoveField(
            model_name='playbook',
            name='control_share',
        ),
        migrations.DeleteModel(
            name='Alert',
        ),
        migrations.DeleteModel(
            name='AlertEvent',
        ),
        migrations.DeleteModel(
            name='AlertStep',
        ),
    ]
