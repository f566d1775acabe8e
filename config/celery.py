"""The Celery application.

Without ``CELERY_BROKER_URL`` the settings switch Celery to eager mode, so
``task.delay()`` runs in-process and a checkout works with no Redis.
"""

import os
import threading
from pathlib import Path

from celery import Celery
from celery.beat import PersistentScheduler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def enqueue(task, **kwargs) -> threading.Thread | None:
    """Start a long task from a page or the API, without making the request wait for it.

    With a broker the task goes to the workers. Without one (the embedded defaults)
    Celery is eager, and ``delay()`` would hold the request until the task ends; so
    the task runs on a background thread of this process instead, and the page that
    started it can poll its progress. ``CELERY_EAGER_BACKGROUND=0`` runs it inline.
    The thread is returned (for tests); ``None`` when the task was sent or ran inline.
    """
    from django.conf import settings

    if not app.conf.task_always_eager or not getattr(settings, "CELERY_EAGER_BACKGROUND", True):
        task.delay(**kwargs)
        return None

    def run() -> None:
        from django.db import connections

        try:
            task.apply(kwargs=kwargs)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, name=f"eager-{task.name}", daemon=True)
    thread.start()
    return thread


class HeartbeatScheduler(PersistentScheduler):
    """Celery beat's default scheduler, which also touches ``BEAT_HEARTBEAT_FILE``
    on every tick, so that a health check can tell a live beat from a stuck or dead one
    (docker-compose.yml). Beat ticks at least every ``CELERY_BEAT_MAX_LOOP_INTERVAL``."""

    def tick(self, *args, **kwargs):
        from django.conf import settings

        interval = super().tick(*args, **kwargs)
        Path(settings.BEAT_HEARTBEAT_FILE).touch()
        return interval
