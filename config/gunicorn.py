"""Gunicorn settings, shared by the image (Dockerfile, docker-compose.yml) and ``make demo``.

Threaded workers (gthread): without a broker, a retraining or nightly run started from a
page runs on a background thread of the web process (config.celery.enqueue). A gthread
worker's heartbeat comes from its own loop, not from the request or that thread, so the
worker timeout never kills a long background run; and the page's progress polls are
served by the other threads meanwhile. No ``max_requests``: a worker recycled mid-run
would end the run with it.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# WEB_CONCURRENCY is gunicorn's own name for the worker count; two suit the demo and a branch.
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "4"))
# Seconds a request may take; the longest is an import of a large export through the page.
timeout = int(os.environ.get("WEB_TIMEOUT", "120"))
graceful_timeout = 30
# Keeps worker heartbeat files off a container's overlay disk.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
