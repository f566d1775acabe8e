"""Analyst pages: model versions with their evaluation, retraining and nightly runs,
and the bank data import."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from churn.models import ModelVersion, NightlyRun
from customers.models import Role


def _require_analyst(user) -> None:
    if not (user.is_superuser or user.role in (Role.ANALYST, Role.ADMIN)):
        raise PermissionDenied


@login_required
@require_GET
def model_list(request: HttpRequest) -> HttpResponse:
    _require_analyst(request.user)
    versions = list(ModelVersion.objects.order_by("-created_at")[:20])
    runs = list(NightlyRun.objects.select_related("model_version").order_by("-run_date")[:10])
    return render(request, "churn/model_list.html", {"versions": versions, "runs": runs})
