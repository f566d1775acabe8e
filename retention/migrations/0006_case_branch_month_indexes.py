"""Indexes for the branch dashboard's month figures."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('customers', '0005_monthly_daily_average_and_optional_gender'),
        ('retention', '0005_remove_alerts'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name='case',
            index=models.Index(fields=['branch', 'opened_on'], name='retention_c_branch__2e5b50_idx'),
        ),
        migrations.AddIndex(
            model_name='case',
            index=models.Index(fields=['branch', 'window_ends_on'], name='retention_c_branch__3efd57_idx'),
        ),
        migrations.AddIndex(
            model_name='case',
            index=models.Index(fields=['branch', 'closed_at'], name='retention_c_branch__e5f5cf_idx'),
        ),
    ]
