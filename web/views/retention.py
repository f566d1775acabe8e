"""Retention pages: the RM's ranked list and its exports, the actions on an alert
(htmx, answering with the refreshed alert card). The branch head's callback queue is a
branch page (``web.views.branch``), the branch dashboard ``web.views.dashboard``.

Reads go through ``retention.selectors`` (scoped by ``customer_scope``, held-out
alerts never shown); writes through ``retention.services``. An alert outside the
user's scope is a 404 on every page, export and action.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from audit.services import origin_from_request
from churn.reasons import render_reasons
from core.spreadsheet import spreadsheet_safe
from customers.models import Customer
from customers.selectors import contact_follow_ups_due
from customers.services import customer_data_shown
from retention import selectors, services
from retention.models import Alert, AlertStep
from web.forms.customers import ContactForm
from web.forms.retention import AlertFilterForm, DismissForm, OutcomeForm, SnoozeForm

PAGE_SIZE = 25
EXPORT_MAX_ROWS = 10_000


def alert_reason_lines(alert: Alert) -> list[str]:
    """The alert's reasons as sentences in the reader's language."""
    return render_reasons(alert.reasons)


def alert_due_on(alert: Alert) -> dt.date | None:
    """When the next thing is due: the first unticked checklist step (prefetched by the
    selector), else the follow-up date from the contact log, else the event date."""
    open_steps = [step.due_on for step in alert.steps.all() if step.done_at is None]
    if open_steps:
        return min(open_steps)
    return alert.next_step_on or alert.event_on


def paginate(request: HttpRequest, items, per_page: int = PAGE_SIZE):
    return Paginator(items, per_page).get_page(request.GET.get("page"))


# --- RM today's list ------------------------------------------------------------------


def _filtered_alerts(request: HttpRequest, form: AlertFilterForm) -> QuerySet[Alert]:
    return selectors.alert_list_for_user(user=request.user, filters=form.selector_filters())


def _decorate(alerts) -> None:
    """Reason line and due date for display; reads only what the selector prefetched."""
    for alert in alerts:
        alert.reason_lines = alert_reason_lines(alert)
        alert.due_on = alert_due_on(alert)


@login_required
@require_GET
def alert_list(request: HttpRequest) -> HttpResponse:
    form = AlertFilterForm(request.GET or None)
    page = paginate(request, _filtered_alerts(request, form))
    _decorate(page.object_list)
    customer_data_shown(origin=origin_from_request(request), what="alerts", filters=request.GET.dict(),
                        customer_ids=[alert.customer.customer_id for alert in page.object_list])
    today = timezone.localdate()
    context = {
        "form": form,
        "page": page,
        "follow_ups": contact_follow_ups_due(user=request.user, today=today),
        "today": today,
        "query": request.GET.urlencode(),
    }
    return render(request, "retention/alert_list.html", context)


def _export_rows(alerts: QuerySet[Alert]):
    yield [
        _("Rank"), _("In today's budget"), _("Customer ID"), _("Customer"), _("Tier"), _("Segment"), _("Alert"),
        _("Reason"), _("AUM at risk (CNY)"), _("Expected AUM at risk (CNY)"), _("Due on"), _("Status"), _("Owner"),
    ]
    for alert in alerts[:EXPORT_MAX_ROWS]:
        customer = alert.customer
        segment = customer.segment_override or customer.segment
        lines = alert_reason_lines(alert)
        due_on = alert_due_on(alert)
        yield [
            alert.rank or "",
            _("yes") if alert.in_budget else "",
            customer.customer_id,
            customer.name,
            customer.get_tier_display(),
            dict(Customer._meta.get_field("segment").choices).get(segment, ""),
            alert.get_kind_display(),
            lines[0] if lines else "",
            float(alert.aum_at_risk),
            float(alert.expected_aum_at_risk),
            due_on.isoformat() if due_on else "",
            alert.get_status_display(),
            str(alert.owner),
        ]


@login_required
@require_GET
def alert_export(request: HttpRequest, fmt: str) -> HttpResponse:
    if fmt not in ("csv", "xlsx"):
        raise Http404
    form = AlertFilterForm(request.GET or None)
    alerts = _filtered_alerts(request, form)
    rows = [[spreadsheet_safe(cell) for cell in row] for row in _export_rows(alerts)]
    stamp = timezone.localdate().isoformat()
    # The customer id is the export's third column.
    customer_data_shown(origin=origin_from_request(request), what="alert_list", filters=request.GET.dict(),
                        customer_ids=[str(row[2]) for row in rows[1:]], export=True, extra={"format": fmt})
    if fmt == "csv":
        buffer = io.StringIO()
        # A byte-order mark so that Excel opens the UTF-8 file with the Chinese names intact.
        buffer.write("\ufeff")
        csv.writer(buffer).writerows(rows)
        response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    else:
        from openpyxl import Workbook

        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet(_("Alerts"))
        for row in rows:
            sheet.append(row)
        buffer = io.BytesIO()
        workbook.save(buffer)
        response = HttpResponse(
            buffer.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
    response["Content-Disposition"] = f'attachment; filename="alerts-{stamp}.{fmt}"'
    return response


# --- actions on one alert -----------------------------------------------------------------


def _alert_card(request: HttpRequest, alert_id: int, *, error: str = "", flash: str = "", status: int = 200):
    alert = selectors.alert_get_for_user(user=request.user, alert_id=alert_id)
    _decorate([alert])
    context = {"alert": alert, "action_error": error, "flash": flash, "contact_form": ContactForm(auto_id=False)}
    return render(request, "retention/_alert_card.html", context, status=status)


def _after_action(request: HttpRequest, alert: Alert, *, error: str = "", flash: str = ""):
    """htmx gets the refreshed card; a plain form post goes back to the customer page."""
    if request.headers.get("HX-Request"):
        return _alert_card(request, alert.pk, error=error, flash=flash, status=422 if error else 200)
    return redirect(reverse("customers:detail", args=[alert.customer_id]) + f"#alert-{alert.pk}")


def _run_action(request: HttpRequest, alert: Alert, action, *, flash: str, name: str):
    """Run one service on the alert; the service audits the change (given the origin)."""
    try:
        action()
    except ValidationError as exc:
        return _after_action(request, alert, error=" ".join(exc.messages))
    except PermissionDenied as exc:  # the alert is in scope but not the user's to work (e.g. a colleague's)
        services.alert_action_refused(alert=alert, action=name, origin=origin_from_request(request))
        raise Http404 from exc
    return _after_action(request, alert, flash=flash)


def _form_error(form) -> str:
    return " ".join(str(message) for errors in form.errors.values() for message in errors)


@login_required
@require_POST
def alert_snooze(request: HttpRequest, pk: int) -> HttpResponse:
    alert = selectors.alert_get_for_user(user=request.user, alert_id=pk, origin=origin_from_request(request))
    form = SnoozeForm(request.POST)
    if not form.is_valid():
        return _after_action(request, alert, error=_form_error(form))
    until, note = form.cleaned_data["until"], form.cleaned_data["note"]
    return _run_action(
        request, alert, lambda: services.alert_snooze(alert=alert, user=request.user, until=until, note=note,
                                                      origin=origin_from_request(request)),
        flash=_("Snoozed."), name="snooze",
    )


@login_required
@require_POST
def alert_dismiss(request: HttpRequest, pk: int) -> HttpResponse:
    alert = selectors.alert_get_for_user(user=request.user, alert_id=pk, origin=origin_from_request(request))
    form = DismissForm(request.POST)
    if not form.is_valid():
        return _after_action(request, alert, error=_form_error(form))
    reason = form.cleaned_data["reason"]
    return _run_action(
        request, alert, lambda: services.alert_dismiss(alert=alert, user=request.user, reason=reason,
                                                       origin=origin_from_request(request)),
        flash=_("Dismissed."), name="dismiss",
    )


@login_required
@require_POST
def alert_outcome(request: HttpRequest, pk: int) -> HttpResponse:
    alert = selectors.alert_get_for_user(user=request.user, alert_id=pk, origin=origin_from_request(request))
    form = OutcomeForm(request.POST)
    if not form.is_valid():
        return _after_action(request, alert, error=_form_error(form))
    outcome, note = form.cleaned_data["outcome"], form.cleaned_data["note"]
    return _run_action(
        request, alert,
        lambda: services.alert_outcome_record(alert=alert, user=request.user, outcome=outcome, note=note,
                                              origin=origin_from_request(request)),
        flash=_("Outcome recorded."), name="outcome",
    )


@login_required
@require_POST
def alert_step_tick(request: HttpRequest, pk: int, step_id: int) -> HttpResponse:
    alert = selectors.alert_get_for_user(user=request.user, alert_id=pk, origin=origin_from_request(request))
    step = get_object_or_404(AlertStep, pk=step_id, alert=alert)
    done = request.POST.get("done", "1") == "1"
    return _run_action(
        request, alert, lambda: services.alert_step_tick(step=step, user=request.user, done=done,
                                                         origin=origin_from_request(request)),
        flash=_("Checklist updated."), name="step_tick",
    )


@login_required
@require_POST
def alert_contact(request: HttpRequest, pk: int) -> HttpResponse:
    alert = selectors.alert_get_for_user(user=request.user, alert_id=pk, origin=origin_from_request(request))
    form = ContactForm(request.POST)
    if not form.is_valid():
        return _after_action(request, alert, error=_form_error(form))
    data = form.cleaned_data
    return _run_action(
        request, alert,
        lambda: services.contact_log(alert=alert, user=request.user, channel=data["channel"], result=data["result"],
                                     note=data["note"], next_step_on=data["next_step_on"],
                                     origin=origin_from_request(request)),
        flash=_("Contact logged."), name="contact",
    )
