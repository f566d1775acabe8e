"""The Celery application.

Without ``CELERY_BROKER_URL`` the settings switch Celery to eager mode, so
``task.delay()`` runs in-process and a checkout works with no Redis.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
