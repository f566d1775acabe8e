"""Customer pages: home by role, customer 360, competitor comparison (the walk-in lookup,
the hand-over and the interception list are the branch's pages: ``web.views.branch``).

Every read of a customer starts from ``customer_scope(user=)``: a customer the user
may not see is a 404, never a 403, so an RM cannot even learn that the id exists.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.utils.translation import pgettext
from django.views.decorators.http import require_GET, require_POST

from audit.services import origin_from_request
from churn.models import ChurnScore
from churn.reasons import render_reasons
from churn.selectors import customer_score_history
from core.months import month_start
from customers import conf as customers_conf
from customers.masking import mask
from customers.models import (
    ContactResult,
    Customer,
    ProductKind,
    Role,
    Tier,
)
from customers.permissions import user_can_override_segment, user_can_reveal_personal_data
from customers.selectors import (
    MAX_ID,
    customer_balance_history,
    customer_consents,
    customer_get_for_user_or_404,
    customer_holdings_by_maturity,
    customer_recent_contacts,
    customer_recent_surveys,
)
from customers.services import (
    contact_consent_set,
    customer_action_refused,
    customer_field_reveal,
    customer_segment_override,
    customer_viewed,
)
from retention import selectors as retention_selectors
from retention.case_services import snooze_horizon
from retention.models import OPEN_STATUSES, CaseKind, CaseStatus, Outcome, SignalKind
from retention.selectors import TIMELINE_MAX, TIMELINE_PAGE, TimelineItem, customer_timeline
from web.forms.customers import ConsentForm, ContactForm, SegmentOverrideForm
from web.templatetags.money import cny
from web.views.cases import customer_cases_context

PAGE_SIZE = 25
LOOKUP_LIMIT = 12
AUM_MONTHS = 24


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness for the load balancer and docker-compose: the database answers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico on pages that name no icon (the admin's)."""
    return HttpResponsePermanentRedirect(static("img/favicon.svg"))


def home_url_for(user) -> str:
    """Where each role starts its day (docs/users.md)."""
    if user.role == Role.RM:
        return reverse("retention:case_list")
    if user.role == Role.LOBBY:
        return reverse("customers:walkin")
    if user.role == Role.HEAD:
        return reverse("retention:callback_queue")
    if user.role == Role.ANALYST:
        return reverse("churn:model_list")
    # Administrators (and superusers without a role of their own) watch the whole bank.
    return reverse("retention:dashboard")


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return redirect(home_url_for(request.user))


# --- helpers ---------------------------------------------------------------------


def paginate(request: HttpRequest, queryset, per_page: int = PAGE_SIZE):
    return Paginator(queryset, per_page).get_page(request.GET.get("page"))


def _scoped_customer(request: HttpRequest, pk: int) -> Customer:
    # A miss is audited where the scope refuses it (customers.selectors).
    return customer_get_for_user_or_404(user=request.user, pk=pk, origin=origin_from_request(request))


def _month_label(month: dt.date) -> str:
    # Translators: date format of the month labels under the AUM chart (Django date format).
    return date_format(month, pgettext("chart month label", "M Y"))


def aum_chart_data(customer: Customer) -> dict:
    """The last 24 months of AUM with its breakdown, and the tier floors near it."""
    rows = customer_balance_history(customer=customer, months=AUM_MONTHS)
    peak = max((float(r["aum"]) for r in rows), default=0.0)
    floors_by_tier = customers_conf.tier_floors()
    tier_names = dict(Tier.choices)
    floors = []
    for tier, floor in sorted(floors_by_tier.items(), key=lambda item: item[1]):
        # Floors far above or far below the customer would flatten the bars; the own tier's floor always shows.
        if peak * 0.05 <= floor <= max(peak * 1.6, 1) or tier == customer.tier:
            floors.append({"label": _("%(tier)s floor") % {"tier": tier_names.get(tier, tier)}, "value": float(floor)})
    return {
        "months": [_month_label(r["month"]) for r in rows],
        "aum": [float(r["aum"]) for r in rows],
        "deposits": [float(r["deposit_balance"]) for r in rows],
        "wealth": [float(r["wealth_balance"]) for r in rows],
        "loans": [float(r["loan_balance"]) for r in rows],
        "floors": floors,
        "labels_text": {
            "aum": _("AUM"),
            "deposits": _("Deposits"),
            "wealth": _("Wealth products"),
            "loans": _("Loans"),
            "axis": _("CNY"),
            "loans_axis": _("Loans (CNY)"),
        },
    }


def _score_history(customer: Customer) -> tuple[ChurnScore | None, list[ChurnScore], dict]:
    latest, history = customer_score_history(customer=customer)
    for entry in history:
        entry.reason_lines = render_reasons(entry.reasons)[:3]
    oldest_first = list(reversed(history))
    chart = {
        "dates": [date_format(s.scored_on, "SHORT_DATE_FORMAT") for s in oldest_first],
        "values": [round(s.probability * 100, 1) for s in oldest_first],
        "label": _("Churn probability"),
    }
    return latest, history, chart


_TIMELINE_TONES = {CaseStatus.CLOSED_RETAINED: "ok", CaseStatus.CLOSED_LOST: "bad"}
REVEALED_FIELDS = {"phone": _lazy("phone number"), "id_number": _lazy("ID number")}


def _timeline_row(item: TimelineItem) -> dict:
    """One line of the 360's timeline: what happened (a label, a detail), who, its tone."""
    obj: Any = item.obj
    label, detail, actor, tone = "", "", "", ""
    if item.kind == "case_opened":
        label = _("Case opened")
        detail = f"{CaseKind(obj.kind).label} · {SignalKind(obj.leading_kind).label}" \
            if obj.leading_kind in SignalKind.values else CaseKind(obj.kind).label
    elif item.kind == "case_closed":
        label, detail = CaseStatus(obj.status).label, obj.close_reason
        actor, tone = str(obj.closed_by or ""), _TIMELINE_TONES.get(obj.status, "")
    elif item.kind == "case_outcome":
        label = _("Outcome measured")
        detail = Outcome(obj.outcome).label
        if obj.aum_kept is not None:
            detail += " · " + _("AUM kept") + " " + cny(obj.aum_kept)
        tone = "ok" if obj.outcome == Outcome.RETAINED else "bad"
    elif item.kind == "task_created":
        label, detail = _("Task created"), obj.text
    elif item.kind == "task_done":
        label, detail, actor, tone = _("Task done"), obj.text, str(obj.done_by or ""), "ok"
    elif item.kind == "contact":
        label = _("Contact") + " · " + obj.get_channel_display()
        detail = " · ".join(part for part in (str(obj.get_result_display()), obj.note) if part)
        actor = str(obj.staff)
    elif item.kind == "survey":
        label = _("Survey")
        detail = _("score %(score)s of 10") % {"score": obj.score} + (f" · {obj.comment}" if obj.comment else "")
        tone = "bad" if obj.score <= 6 else ""
    elif item.kind == "reveal":
        field = (obj.detail or {}).get("field", "")
        label = _("Revealed")
        detail = str(REVEALED_FIELDS.get(field, field))
        actor = obj.actor_name or str(obj.actor or "")
    return {"at": item.at, "date_only": item.date_only, "kind": item.kind, "label": label, "detail": detail,
            "actor": actor, "tone": tone}


def _timeline_limit(request: HttpRequest) -> int:
    raw = request.GET.get("timeline", "")
    return min(int(raw), TIMELINE_MAX) if raw.isdigit() and int(raw) > 0 else TIMELINE_PAGE


def customer_360_context(request: HttpRequest, customer: Customer) -> dict:
    today = timezone.localdate()
    latest_score, score_history, score_chart = _score_history(customer)
    holdings = customer_holdings_by_maturity(customer=customer, today=today)
    limit = _timeline_limit(request)
    timeline, timeline_more = customer_timeline(user=request.user, customer=customer, limit=limit)
    return {
        "holdings_matured": [h for h in holdings if h.days_to_maturity is not None and h.days_to_maturity < 0],
        "timeline": [_timeline_row(item) for item in timeline],
        "timeline_more": limit + TIMELINE_PAGE if timeline_more and limit < TIMELINE_MAX else None,
        **customer_cases_context(user=request.user, customer=customer),
        "snooze_horizon": snooze_horizon(today=today),
        "customer": customer,
        "masked_id_number": mask(customer.id_number),
        "masked_phone": mask(customer.phone),
        "aum_chart": aum_chart_data(customer),
        # What is still held (or open-ended) first; what has matured is folded away below it.
        "holdings": [h for h in holdings if h.days_to_maturity is None or h.days_to_maturity >= 0],
        "latest_score": latest_score,
        "score_history": score_history,
        "score_chart": score_chart,
        "surveys": customer_recent_surveys(customer=customer),
        "contacts": customer_recent_contacts(customer=customer),
        "segment_form": SegmentOverrideForm(instance=customer),
        "can_override_segment": user_can_override_segment(request.user),
        "can_reveal": user_can_reveal_personal_data(request.user),
        "contact_form": ContactForm(auto_id=False),
        "today": today,
        **_consents_context(customer=customer, today=today),
    }


def _consents_context(*, customer: Customer, today: dt.date, form: ConsentForm | None = None) -> dict:
    consents = customer_consents(customer=customer)
    return {
        "consents": consents,
        "consents_flagged": [consent for consent in consents if consent.do_not_contact],
        "consent_form": form or ConsentForm(initial={"effective_on": today}, prefix="consent"),
    }


# --- customer 360 ---------------------------------------------------------------


@login_required
@require_GET
def customer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _scoped_customer(request, pk)
    customer_viewed(customer=customer, origin=origin_from_request(request))
    return render(request, "customers/customer_detail.html", customer_360_context(request, customer))


REVEALABLE = {"id_number": "id_number", "phone": "phone"}


@login_required
@require_POST
def customer_reveal(request: HttpRequest, pk: int, field: str) -> HttpResponse:
    """Show one masked field in full (who may: ``customers.services.REVEAL_RULES``); every
    reveal, and every refused one, is in the audit trail. The phone comes as a tel: link with
    the call logged right there, on the open case the reveal was asked from."""
    if field not in REVEALABLE:
        raise Http404
    customer = _scoped_customer(request, pk)
    value = customer_field_reveal(customer=customer, field=REVEALABLE[field], origin=origin_from_request(request))
    if field != "phone":
        return render(request, "customers/_revealed.html", {"value": value})
    # The number as a tel: link, and the call logged right there on the customer's open case
    # (the one the reveal was asked from), if it is one the user may act on.
    where = request.POST.get("where", "card")
    case = _reachable_case(request, customer=customer, case_id=request.POST.get("case", ""))
    return render(request, "customers/_revealed_phone.html", {
        "value": value, "customer": customer, "case": case if where in ("card", "row") else None, "where": where,
        "results": ContactResult.choices,
    })


def _reachable_case(request: HttpRequest, *, customer: Customer, case_id: str):
    if not case_id.isdigit() or int(case_id) > MAX_ID:
        return None
    return retention_selectors.case_scope_for_user(user=request.user).filter(
        pk=int(case_id), customer_id=customer.pk, status__in=OPEN_STATUSES).first()


@login_required
@require_POST
def customer_segment(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _scoped_customer(request, pk)
    if not user_can_override_segment(request.user):
        customer_action_refused(customer=customer, action="segment_override", origin=origin_from_request(request))
        raise Http404
    form = SegmentOverrideForm(request.POST, instance=customer)
    saved = False
    if form.is_valid():
        customer_segment_override(customer=customer, segment_override=form.cleaned_data["segment_override"],
                                  reason=form.cleaned_data["segment_override_reason"],
                                  origin=origin_from_request(request))
        saved = True
    context = {"customer": customer, "segment_form": form, "can_override_segment": True, "saved": saved}
    return render(request, "customers/_segment.html", context, status=200 if saved or form.is_valid() else 422)


@login_required
@require_POST
def customer_consent(request: HttpRequest, pk: int) -> HttpResponse:
    """Record or clear a do-not-contact request on one channel (every member of staff who may
    see the customer may); the service audits it. htmx gets the refreshed card and, out of
    band, the customer's cases (whose contact form the flag may now hide)."""
    customer = _scoped_customer(request, pk)
    form = ConsentForm(request.POST, prefix="consent")
    error = ""
    if form.is_valid():
        data = form.cleaned_data
        try:
            contact_consent_set(customer=customer, channel=data["channel"], do_not_contact=data["do_not_contact"],
                                reason=data["reason"], effective_on=data["effective_on"],
                                origin=origin_from_request(request))
        except PermissionDenied as exc:  # audited by the service
            raise Http404 from exc
        except ValidationError as exc:
            error = " ".join(exc.messages)
    else:
        error = " ".join(str(message) for errors in form.errors.values() for message in errors)
    if not request.headers.get("HX-Request"):
        if error:
            messages.error(request, error)
        else:
            messages.success(request, _("Contact preference saved."))
        return redirect(reverse("customers:detail", args=[customer.pk]) + "#consents")
    today = timezone.localdate()
    context = {
        **_consents_context(customer=customer, today=today, form=form if error else None),
        **customer_cases_context(user=request.user, customer=customer),
        "customer": customer, "consent_error": error, "consent_saved": not error, "cases_out_of_band": not error,
        "contact_form": ContactForm(auto_id=False), "today": today, "snooze_horizon": snooze_horizon(today=today),
    }
    return render(request, "customers/_consents.html", context, status=422 if error else 200)


# --- competitor comparison ------------------------------------------------------------


def _sparkline(values: list[float], width: int = 96, height: int = 22) -> str:
    """SVG polyline points for a yield history (drawn server-side: no script, no inline style)."""
    if len(values) < 2:
        return ""
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    step = width / (len(values) - 1)
    return " ".join(f"{i * step:.1f},{height - 2 - (v - low) / span * (height - 4):.1f}" for i, v in enumerate(values))


@login_required
@require_GET
def competitors(request: HttpRequest) -> HttpResponse:
    kinds = [(value, ProductKind(value).label) for value in retention_selectors.YIELD_COMPARED_KINDS]
    kind = request.GET.get("kind", "")
    if kind not in dict(kinds):
        kind = ""
    since = month_start(timezone.localdate()) - dt.timedelta(days=365)
    groups = retention_selectors.product_comparison_table(kind=kind or None, since=since)
    for group in groups:
        group["label"] = ProductKind(group["kind"]).label
        for product in group["ours"] + group["competitors"]:
            product["spark_points"] = _sparkline([float(pct) for _month, pct in product["history"]])
    return render(request, "customers/competitors.html", {"groups": groups, "kind": kind, "kinds": kinds})
