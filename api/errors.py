"""Error answers for URLs that no view handled: JSON under /api/, our pages elsewhere."""

from __future__ import annotations

from django.http import JsonResponse
from django.shortcuts import render
from django.views import defaults

from audit.services import audit_denied, origin_from_request

API_PREFIX = "/api/"


def page_not_found(request, exception):
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


def bad_request(request, exception):
    """A request Django refused before or while reading it (a body over
    DATA_UPLOAD_MAX_MEMORY_SIZE, more files than DATA_UPLOAD_MAX_NUMBER_FILES, a malformed
    multipart body): JSON for API clients, the 400 page for people."""
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"detail": "Bad request: the body is too large or malformed."}, status=400)
    return render(request, "400.html", status=400)


def server_error(request):
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"detail": "Server error."}, status=500)
    return defaults.server_error(request)


def csrf_failure(request, reason=""):
    """CSRF_FAILURE_VIEW: the refusal goes into the audit trail (a forged or stale form is
    worth knowing about), then the 403 answer: JSON under /api/, the 403 page elsewhere."""
    audit_denied(origin=origin_from_request(request), object_type="csrf", object_id=request.path[:64],
                 reason=f"csrf: {reason}"[:200])
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"detail": "CSRF check failed."}, status=403)
    return render(request, "403.html", status=403)
