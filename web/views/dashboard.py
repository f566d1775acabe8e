"""The branch dashboard: every figure from ``retention.dashboard`` for one month.

Branch heads (their branch), analysts and administrators: figures summed over customers,
no customer is named. The view only picks the month and lays the figures out.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from audit.services import origin_from_request
from churn.models import RiskBand
from core.months import add_months, month_start
from customers.permissions import user_can_read_branch_figures
from customers.services import customer_data_shown
from retention.dashboard import branch_dashboard, dashboard_month
from web.forms.dashboard import MonthForm

TREND_MONTHS = 6


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    if not user_can_read_branch_figures(request.user):
        raise Http404
    form = MonthForm(request.GET or None)
    today = timezone.localdate()
    month = dashboard_month(requested=form.cleaned_data.get("month") if form.is_valid() else None, today=today)
    board = branch_dashboard(user=request.user, month=month, today=today, trend_months=TREND_MONTHS)
    # Aggregates only (no customer is named): the event says who looked at which month.
    customer_data_shown(origin=origin_from_request(request), what="dashboard",
                        filters={"month": month.strftime("%Y-%m")}, customer_ids=[], rows=len(board.per_owner))
    band_labels = dict(RiskBand.choices)
    bands = [{"band": b.band, "label": band_labels[b.band], "customers": b.customers,
              "total": b.expected_aum_at_risk} for b in board.risk.bands]
    trend = [point.totals for point in board.trend]
    context = {
        "form": form,
        "board": board,
        "totals": board.totals,
        "month": month,
        "previous_month": add_months(month, -1),
        "next_month": add_months(month, 1) if month < month_start(today) else None,
        "bands": bands,
        "bands_chart": {
            "labels": [b["label"] for b in bands],
            "keys": [b["band"] for b in bands],
            "values": [float(b["total"]) for b in bands],
            "label": _("Expected AUM at risk (CNY)"),
        },
        "trend_chart": {
            "labels": [date_format(point.month, "YEAR_MONTH_FORMAT") for point in board.trend],
            "series": [
                {"label": _("Cases opened"), "values": [t.opened for t in trend]},
                {"label": _("of which shown"), "values": [t.shown for t in trend]},
                {"label": _("of which worked"), "values": [t.worked for t in trend]},
                {"label": _("Retained (shown, window ended)"), "values": [t.retained for t in trend]},
                {"label": _("Lost (shown, window ended)"), "values": [t.lost for t in trend]},
            ],
            "y_axis": _("cases"),
        },
    }
    return render(request, "retention/dashboard.html", context)
