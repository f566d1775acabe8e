"""Security settings: login lockout, sessions, cookies, HTTPS, Content-Security-Policy,
and the REST API's authentication. Star-imported at the end of ``config/settings.py``.

Production (DEBUG off) is safe by default: HTTPS redirect, secure cookies and HSTS are
on unless the environment turns them off. The local demo on http://127.0.0.1:8000 runs
with DEBUG off too, so it sets ``SECURE_SSL_REDIRECT=0 SECURE_COOKIES=0`` (HSTS is only
ever sent on HTTPS responses, so it needs no switch).

Names starting with ``_`` are private to this module (not star-exported).
"""

from __future__ import annotations

from csp.constants import NONE, SELF

from config.env import env_bool, env_int

_DEBUG = env_bool("DEBUG", False)

# --- Login lockout (django-axes) ------------------------------------------------------------
# Keyed on the user name only: a whole branch shares one public IP address, so locking
# the address would lock out the branch, and a guesser rotating addresses would not be slowed.
AUTHENTICATION_BACKENDS = [
    "config.auth.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
# Hours; a locked user can also be released at once by an administrator (admin > Axes).
AXES_COOLOFF_TIME = env_int("LOGIN_LOCKOUT_HOURS", 1)
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "config.auth.lockout_response"
# The audit trail already records every failed login with the user name; axes keeps only
# the counters it needs, not a second log of attempts with their request data.
AXES_DISABLE_ACCESS_LOG = True
AXES_VERBOSE = False
AXES_SENSITIVE_PARAMETERS = ["password"]

# --- Sessions ------------------------------------------------------------------------------
# 30 minutes idle is SESSION_COOKIE_AGE + SESSION_SAVE_EVERY_REQUEST in settings.py;
# the absolute limit is enforced by config.middleware.SessionAbsoluteExpiryMiddleware.
SESSION_ABSOLUTE_SECONDS = env_int("SESSION_ABSOLUTE_SECONDS", 12 * 3600)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# The pages send the CSRF token from the template (hx-headers), never read the cookie from JS.
CSRF_COOKIE_HTTPONLY = True
# A failed CSRF check is audited, then answered with the 403 page (JSON under /api/).
CSRF_FAILURE_VIEW = "api.errors.csrf_failure"

# --- HTTPS and cookies ----------------------------------------------------------------------
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not _DEBUG)
# The container health check calls http://127.0.0.1:8000/healthz from inside (docker-compose.yml).
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
_SECURE_COOKIES = env_bool("SECURE_COOKIES", not _DEBUG)
SESSION_COOKIE_SECURE = _SECURE_COOKIES
CSRF_COOKIE_SECURE = _SECURE_COOKIES
LANGUAGE_COOKIE_SECURE = _SECURE_COOKIES
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if _DEBUG else 365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
# Behind a TLS-terminating proxy that sets X-Forwarded-Proto (and strips it from clients).
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# --- Content-Security-Policy (django-csp) ---------------------------------------------------------
# Everything from our own origin, nothing inline: scripts and styles are files (static/js,
# static/css, npm packages served by whitenoise). Chart data travels in
# <script type="application/json"> blocks, which are data, not script. Only the Redoc page
# loosens style-src for itself (api/views/docs.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# --- Error reports ------------------------------------------------------------------------------
# Customer data must not leak through error reports: POST bodies are never shown.
DEFAULT_EXCEPTION_REPORTER_FILTER = "config.auth.PersonalDataExceptionReporterFilter"

# --- Uploads ----------------------------------------------------------------------------------------
# A monthly export of a large branch network fits; anything larger is refused before it is read.
IMPORT_MAX_FILE_BYTES = env_int("IMPORT_MAX_FILE_BYTES", 200 * 1024 * 1024)
IMPORT_MAX_FILES = 10
# Django keeps larger uploads in temporary files, not memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FILES = IMPORT_MAX_FILES
# A header is refused before anything parses it when it is wider or longer than this: a
# 400,000-column header once cost 17 s and 3 GB of memory per request. The interchange
# files have at most a dozen columns; extra ones are ignored, within these limits.
IMPORT_MAX_COLUMNS = env_int("IMPORT_MAX_COLUMNS", 64)
IMPORT_MAX_HEADER_BYTES = env_int("IMPORT_MAX_HEADER_BYTES", 16 * 1024)

# --- REST API ------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Integrations: admin-issued tokens, stored hashed (api/models.py).
        "api.authentication.ApiTokenAuthentication",
        # The pages' own scripts: the browser session, with CSRF.
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.ApiCursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["api.parsers.SafeJSONParser"],
    "EXCEPTION_HANDLER": "api.exceptions.api_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.UserRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"user": f"{env_int('API_REQUESTS_PER_MINUTE', 600)}/min"},
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Branch retention API",
    "DESCRIPTION": (
        "Churn early warning and retention for bank branches. Every object outside the caller's "
        "scope answers 404. Personal data (ID number, phone) is masked; the reveal endpoint is "
        "audited and shows the phone to the staff who call the customer (their RM, the branch's "
        "head and lobby manager, administrators), the ID number only with the "
        "`customers.reveal_personal_data` permission."
    ),
    "VERSION": "1.0.0",
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.schema.add_error_responses",
    ],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "SignalKindEnum": "retention.models.SignalKind",
        "CaseKindEnum": "retention.models.CaseKind",
        "CaseStatusEnum": "retention.models.CaseStatus",
        "TaskStatusEnum": "retention.models.TaskStatus",
        "AppointmentKindEnum": "customers.models.AppointmentKind",
        "NightlyRunStatusEnum": "churn.models.NightlyRun.Status",
        "AuditActionEnum": "audit.models.AuditAction",
        "CustomerStatusEnum": "customers.models.CustomerStatus",
    },
}

# axes.W006 asks for the IP address in the lockout key. Deliberately not: a branch shares one
# address (see above), and a key of the user name alone cannot be bypassed by rotating cookies
# or user agents, which is what the warning is about.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
