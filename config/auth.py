"""Login protection: the lockout backend and response, and error reports without personal data."""

from __future__ import annotations

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import NON_FIELD_ERRORS
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.debug import SafeExceptionReporterFilter


class LockoutBackend(AxesStandaloneBackend):
    """django-axes' lockout check for every login that comes with a request (the login
    page, the admin login). ``authenticate()`` without a request (the test client's
    ``login()``, management commands) cannot come from a browser, so it is let through
    to the model backend instead of failing."""

    def authenticate(self, request: HttpRequest | None, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def lockout_response(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    """The login page again, with a message that says the same thing for every user
    name, existing or not: the lockout is keyed on the name typed, so it reveals nothing."""
    hours = settings.AXES_COOLOFF_TIME
    messages.error(
        request,
        _("Too many failed attempts for this user name. Try again in %(hours)s hour(s), or ask an administrator.")
        % {"hours": hours},
    )
    form = AuthenticationForm(request)
    # The template shows its one generic line whenever the form has errors. An unbound form's
    # errors are an empty dict that the form keeps: the line is added to it.
    form.errors[NON_FIELD_ERRORS] = form.error_class([_("Login refused.")])
    status = 429
    if request.path.startswith("/admin/"):
        return render(request, "admin/login.html", {"form": form, "site_header": "", "app_path": request.path},
                      status=status)
    return render(request, "registration/login.html", {"form": form, "next": request.POST.get("next", "")},
                  status=status)


class PersonalDataExceptionReporterFilter(SafeExceptionReporterFilter):
    """Error reports (500 mails, the debug page in development) never show request
    bodies or local variables of our code: they may hold customer names, ID numbers,
    phone numbers or uploaded files."""

    def get_post_parameters(self, request):
        if request is None:
            return {}
        return {key: self.cleansed_substitute for key in request.POST}

    def get_traceback_frame_variables(self, request, tb_frame):
        module = tb_frame.f_globals.get("__name__", "")
        if module.split(".")[0] in {"api", "customers", "churn", "retention", "audit"}:
            return [(name, self.cleansed_substitute) for name in tb_frame.f_locals]
        return super().get_traceback_frame_variables(request, tb_frame)
