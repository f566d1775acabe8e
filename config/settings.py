"""Django settings. Every deployment-specific value comes from the environment;
the README lists each variable. With no environment at all the project runs on
a SQLite file and in-process Celery, so a fresh checkout just works."""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from config.env import env_bool, env_cache, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    # Only reachable with DEBUG on: a development checkout.
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "config.lockout.LockoutConfig",  # django-axes, named for the admin
    "customers",
    "churn",
    "retention",
    "nightly",
    "audit",
    "api",
    "web",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "config.middleware.SessionAbsoluteExpiryMiddleware",
    "config.middleware.NoStoreMiddleware",
    # Last, as django-axes asks: it turns a lockout raised during authentication into its response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Django's SQLite backend with a flush that passes the audit trail's append-only
    # triggers by, as PostgreSQL's TRUNCATE does (config/sqlite/base.py).
    DATABASES["default"]["ENGINE"] = "config.sqlite"
    # SQLite holds a write lock per transaction; wait for it rather than fail at once.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 30

# Shared by every process: the API's rate limit counts here (config/env.py::env_cache).
# The database cache's table is created by migrate (api/apps.py).
CACHES = {"default": env_cache("CACHE_URL")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "customers.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Sessions end after 30 minutes idle: the expiry is pushed forward on every request.
SESSION_COOKIE_AGE = env_int("SESSION_IDLE_SECONDS", 30 * 60)
SESSION_SAVE_EVERY_REQUEST = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
# One date format per language (Django's English mixes "Dec. 1, 2026" and "12/01/2026").
FORMAT_MODULE_PATH = ["config.formats"]
TIME_ZONE = env_str("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    # Front-end libraries come from npm (`make assets` runs `npm ci`) and are served by
    # whitenoise like our own files: branch intranets are often offline, so no CDN.
    ("vendor/htmx", BASE_DIR / "node_modules" / "htmx.org" / "dist"),
    ("vendor/chartjs", BASE_DIR / "node_modules" / "chart.js" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Celery -----------------------------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
# Without a broker, tasks started from a page (retraining, a nightly run) run on a
# background thread so the page can show their progress (see config.celery.enqueue).
CELERY_EAGER_BACKGROUND = env_bool("CELERY_EAGER_BACKGROUND", True)
if not CELERY_BROKER_URL:
    # In-process mode: nothing leaves the process, so an in-memory broker is enough.
    CELERY_BROKER_URL = "memory://"
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND") or (
    CELERY_BROKER_URL if CELERY_BROKER_URL.startswith("redis") else None
)
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 15 * 60)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 20 * 60)
CELERY_RESULT_EXPIRES = 7 * 24 * 3600
CELERY_BEAT_SCHEDULER = "config.celery:HeartbeatScheduler"
CELERY_BEAT_MAX_LOOP_INTERVAL = 60
BEAT_HEARTBEAT_FILE = env_str("BEAT_HEARTBEAT_FILE", str(VAR_DIR / "celerybeat-heartbeat"))
CELERY_BEAT_SCHEDULE = {
    # The nightly job: score every customer, measure outcomes, open and rank cases. CELERY_TIMEZONE is TIME_ZONE.
    "nightly-run": {
        "task": "nightly.tasks.nightly_run_task",
        "schedule": crontab(hour=env_int("NIGHTLY_HOUR", 2), minute=0),
    },
}

# --- The bank and the churn definition ----------------------------------------
# Read by the apps only through their typed readers (customers/conf.py, churn/conf.py,
# retention/conf.py); the defaults written here are not repeated there.
# Products whose provider equals this name are ours; any other provider is a competitor.
BANK_NAME = env_str("BANK_NAME", "Demo Bank")
# AUM tier floors in CNY: mass < gold < platinum < private.
AUM_TIER_FLOORS = {
    "gold": env_float("TIER_GOLD_FLOOR", 50_000),
    "platinum": env_float("TIER_PLATINUM_FLOOR", 500_000),
    "private": env_float("TIER_PRIVATE_FLOOR", 6_000_000),
}
CORE_TIERS = env_list("CORE_TIERS", ["platinum", "private"])
CHURN_WINDOW_MONTHS = env_int("CHURN_WINDOW_MONTHS", 3)
CHURN_AUM_DROP_RATIO = env_float("CHURN_AUM_DROP_RATIO", 0.5)
CHURN_MIN_AVG_AUM = env_float("CHURN_MIN_AVG_AUM", 1_000)
# Months of balances needed before a model is trained (a month-end plus the churn window).
CHURN_MIN_HISTORY_MONTHS = env_int("CHURN_MIN_HISTORY_MONTHS", 4)

IMPORT_MAX_ERRORS_SHOWN = 50

# Scoring: risk bands by churn probability, chunk size of the nightly job, how long daily scores are kept.
CHURN_RISK_BANDS = {
    "medium": env_float("CHURN_RISK_MEDIUM", 0.10),
    "high": env_float("CHURN_RISK_HIGH", 0.30),
}
CHURN_SCORE_CHUNK_SIZE = env_int("CHURN_SCORE_CHUNK_SIZE", 50_000)
CHURN_DAILY_SCORE_RETENTION_DAYS = env_int("CHURN_DAILY_SCORE_RETENTION_DAYS", 90)

# The nightly chain (nightly/): on SQLite, how long a run's lease outlives its holder's
# last renewal (a holder on this machine that died releases it at once); the first delay
# before a task retries after a transient error (then doubling, three retries).
NIGHTLY_LEASE_SECONDS = env_int("NIGHTLY_LEASE_SECONDS", 30 * 60)
NIGHTLY_RETRY_DELAY_SECONDS = env_float("NIGHTLY_RETRY_DELAY_SECONDS", 30)

# Alerts and playbooks (retention/conf.py reads these and documents the rest).
RETENTION_DAILY_BUDGET = env_int("RETENTION_DAILY_BUDGET", 15)
RETENTION_CONTROL_SHARE = env_float("RETENTION_CONTROL_SHARE", 0.10)
RETENTION_CONTACT_COST = env_float("RETENTION_CONTACT_COST", 50)
RETENTION_SAVE_RATE_PRIOR = env_float("RETENTION_SAVE_RATE_PRIOR", 0.15)
RETENTION_AUM_DROP_RATIO = env_float("RETENTION_AUM_DROP_RATIO", 0.30)
RETENTION_TIER_MARGIN = env_float("RETENTION_TIER_MARGIN", 0.10)
RETENTION_COMPETITOR_MATURITY_DAYS = env_int("RETENTION_COMPETITOR_MATURITY_DAYS", 7)
RETENTION_OWN_MATURITY_DAYS = env_int("RETENTION_OWN_MATURITY_DAYS", 14)
RETENTION_SNOOZE_MAX_DAYS = env_int("RETENTION_SNOOZE_MAX_DAYS", 30)
# Contact-frequency cap: at most this many outbound contacts with a customer in this many days.
RETENTION_CONTACT_CAP_COUNT = env_int("RETENTION_CONTACT_CAP_COUNT", 2)
RETENTION_CONTACT_CAP_DAYS = env_int("RETENTION_CONTACT_CAP_DAYS", 7)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# Security and API settings (login lockout, cookies, HSTS, CSP, REST framework): config/security.py.
from config.security import *  # noqa: E402,F403

# --- The team's day: the daily digest, escalation of overdue work, outgoing mail ----------
# Read by retention/conf.py. At RETENTION_DIGEST_HOUR (TIME_ZONE) the morning job escalates
# tasks overdue by RETENTION_ESCALATE_AFTER_DAYS to the branch head, then mails each member
# of staff their digest; a new case is "high value" from RETENTION_DIGEST_HIGH_VALUE_CNY of
# expected value. SITE_URL is the address the digest's links point to.
RETENTION_DIGEST_HOUR = env_int("RETENTION_DIGEST_HOUR", 8)
RETENTION_ESCALATE_AFTER_DAYS = env_int("RETENTION_ESCALATE_AFTER_DAYS", 2)
RETENTION_DIGEST_HIGH_VALUE_CNY = env_float("RETENTION_DIGEST_HIGH_VALUE_CNY", 5000)
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
CELERY_BEAT_SCHEDULE["retention-daily-digest"] = {
    "task": "retention.tasks.daily_digest_task",
    "schedule": crontab(hour=RETENTION_DIGEST_HOUR, minute=0),
}
# Django's mail framework (SMTP by default; `make demo` prints mail on the console, tests keep it in memory).
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "retention@localhost")
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("EMAIL_USE_TLS and EMAIL_USE_SSL are exclusive: set one of them")
