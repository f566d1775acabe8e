from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.db.models import Count, Sum
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from customers.selectors import customer_scope


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness for the load balancer and docker-compose: the database answers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


@login_required
def home(request: HttpRequest) -> HttpResponse:
    customers = customer_scope(user=request.user)
    summary = customers.aggregate(count=Count("id"), aum=Sum("latest_aum"))
    by_tier = list(customers.values("tier").annotate(count=Count("id"), aum=Sum("latest_aum")).order_by("tier"))
    return render(request, "home.html", {"summary": summary, "by_tier": by_tier})
