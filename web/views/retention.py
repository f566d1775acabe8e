"""Retention pages: the branch dashboard. (The RM's list of cases, its exports and the
actions on a case are in ``web.views.cases``; the branch head's callback queue is a branch
page: ``web.views.branch``.)
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
from retention import selectors
from web.forms.retention import MonthForm

PAGE_SIZE = 25
EXPORT_MAX_ROWS = 10_000
TREND_MONTHS = 6


# --- branch dashboard ------------------------------------------------------------------------


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    # Figures summed over customers: branch heads (their branch), analysts and administrators.
    if not user_can_read_branch_figures(request.user):
        raise Http404
    form = MonthForm(request.GET or None)
    today = timezone.localdate()
    month = selectors.dashboard_month(requested=form.cleaned_data.get("month") if form.is_valid() else None,
                                      today=today)
    # The trend: the same totals for the months before (a fixed number of queries a month).
    figures = selectors.dashboard_figures(user=request.user, month=month, trend_months=TREND_MONTHS)
    # Aggregates only (no customer is named): the event says who looked at which month.
    customer_data_shown(origin=origin_from_request(request), what="dashboard",
                        filters={"month": month.strftime("%Y-%m")}, customer_ids=[], rows=len(figures["per_owner"]))
    band_labels = dict(RiskBand.choices)
    bands = [{**entry, "label": band_labels[entry["band"]]} for entry in figures["bands"]]
    trend = [entry["totals"] for entry in figures["trend"]]
    context = {
        "form": form,
        "month": month,
        "previous_month": add_months(month, -1),
        "next_month": add_months(month, 1) if month < month_start(today) else None,
        "totals": figures["totals"],
        "per_owner": figures["per_owner"],
        "bands": bands,
        "bands_chart": {
            "labels": [b["label"] for b in bands],
            "keys": [b["band"] for b in bands],
            "values": [b["total"] for b in bands],
            "label": _("Expected AUM at risk (CNY)"),
        },
        "trend_chart": {
            "labels": [date_format(entry["month"], "YEAR_MONTH_FORMAT") for entry in figures["trend"]],
            "series": [
                {"label": _("Alerts raised"), "values": [t["raised"] for t in trend]},
                {"label": _("Alerts worked"), "values": [t["worked"] for t in trend]},
                {"label": _("Customers retained"), "values": [t["retained_customers"] for t in trend]},
                {"label": _("Customers lost"), "values": [t["lost_customers"] for t in trend]},
                {"label": _("AUM retained (CNY)"), "values": [float(t["retained_aum"]) for t in trend], "axis": "y2"},
            ],
            "y_axis": _("alerts / customers"),
            "y2_axis": _("CNY"),
        },
        "report_by_playbook": figures["report_by_playbook"],
        "report_by_branch": figures["report_by_branch"],
    }
    return render(request, "retention/dashboard.html", context)
