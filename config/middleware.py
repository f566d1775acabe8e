"""Site-wide security middleware."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

SESSION_STARTED_KEY = "_auth_started_at"


@receiver(user_logged_in)
def _stamp_login_time(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_STARTED_KEY] = int(time.time())


class SessionAbsoluteExpiryMiddleware:
    """A session ends SESSION_ABSOLUTE_SECONDS (12 h) after login however active it is;
    the 30-minute idle limit is the session cookie age. After AuthenticationMiddleware:
    an expired session is logged out before any view sees the user."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session"):
            started = request.session.get(SESSION_STARTED_KEY)
            now = int(time.time())
            if started is None:
                # A session from before this middleware existed: its clock starts now.
                request.session[SESSION_STARTED_KEY] = now
            elif now - int(started) > settings.SESSION_ABSOLUTE_SECONDS:
                logout(request)
        return self.get_response(request)


class NoStoreMiddleware:
    """``Cache-Control: no-store, private`` on every answer to a signed-in user (session or
    API token) and on every API answer: they carry customer data, which neither a shared
    proxy nor the browser's disk cache may keep (a branch PC is shared by the staff).
    After AuthenticationMiddleware; DRF sets the token's user on the request it wraps, so
    the check after the view sees API callers too. Static files are served before this."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if (user is not None and user.is_authenticated) or request.path.startswith("/api/"):
            response["Cache-Control"] = "no-store, private"
        return response
