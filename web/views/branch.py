"""The branch's own pages: the lobby manager's walk-in lookup (flags, talking points,
hand-over) and interception list (recording what became of a booked withdrawal), the
branch head's callback queue (recording a call).

Reads through ``retention.branch_selectors`` (scoped, held-out cases never shown), writes
through ``retention.branch_services``, which audit. A task outside the user's scope, or one
that is not theirs to record, is a 404.
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from audit.services import origin_from_request
from churn.reasons import render_reasons
from core.keyset import CURSOR_PARAM, keyset_page
from customers.permissions import user_can_hand_over
from customers.selectors import (
    customer_get_for_user_or_404,
    customer_handover_recipients,
    survey_history,
    walkin_lookup,
)
from customers.services import customer_data_shown
from retention import branch_selectors, branch_services
from retention.models import SignalKind, Task
from web.forms.branch import CallbackForm, InterceptionForm
from web.forms.customers import HandoverForm, LookupForm

LOOKUP_LIMIT = 12
PAGE_SIZE = 25
CALLBACKS_PAGE_SIZE = 15


def _signal_reason_lines(signals) -> list[str]:
    """Every active signal's reasons, in the reader's language (leading signal first)."""
    return [line for signal in signals for line in render_reasons(signal.reasons)]


# --- walk-in lookup ----------------------------------------------------------------------------
# The query travels in POST bodies, never in the URL: a name typed at the lobby desk must not
# land in access logs, proxies or the browser history (the API's search is a POST too).


@login_required
@require_http_methods(["GET", "POST"])
def walkin(request: HttpRequest) -> HttpResponse:
    form = LookupForm(request.POST or None)
    query = form.cleaned_data["q"] if form.is_valid() else ""
    context = {"form": form, "query": query, **_walkin_results_context(request, query)}
    return render(request, "customers/walkin.html", context)


@login_required
@require_POST
def walkin_results(request: HttpRequest) -> HttpResponse:
    form = LookupForm(request.POST)
    query = form.cleaned_data["q"] if form.is_valid() else ""
    context = {"query": query, **_walkin_results_context(request, query)}
    return render(request, "customers/_walkin_results.html", context)


def _walkin_results_context(request: HttpRequest, query: str) -> dict:
    matches, more = walkin_lookup(user=request.user, query=query, limit=LOOKUP_LIMIT,
                                  origin=origin_from_request(request))
    today = timezone.localdate()
    if matches:
        flags = branch_selectors.walkin_flags(user=request.user, customer_ids=[c.pk for c in matches], today=today)
        recipients = customer_handover_recipients(customers=matches)
        for customer in matches:
            customer.handover_to = recipients[customer.pk]
            customer.flag = flag = flags.get(customer.pk)
            # The model's reasons: the events' own are said, with their days, by the talking points.
            customer.reason_lines = _signal_reason_lines(
                [signal for signal in flag.signals if signal.kind == SignalKind.MODEL_RISK]) if flag else []
            # A customer not at risk gets the segment's lines only, marked as such on the page.
            customer.talking_points = (flag.talking_points if flag else
                                       branch_selectors.customer_talking_points(customer=customer, today=today))
            if flag and flag.interception:
                flag.interception.can_record = branch_selectors.branch_task_doable_by(
                    user=request.user, task=flag.interception)
        # Flagged customers first: they are the reason for the lookup.
        matches.sort(key=lambda customer: customer.flag is None)
    return {
        "matches": matches,
        "more": more,
        "handover_form": HandoverForm(),
        "can_hand_over": user_can_hand_over(request.user),
        "form": InterceptionForm(auto_id=False),
        "today": today,
    }


@login_required
@require_POST
def customer_handover(request: HttpRequest, pk: int) -> HttpResponse:
    """The lobby manager hands a walk-in to the RM (``retention.branch_services.customer_handover``);
    with nobody to hand over to, nothing is written and the page says so."""
    origin = origin_from_request(request)
    customer = customer_get_for_user_or_404(user=request.user, pk=pk, origin=origin)
    form = HandoverForm(request.POST)
    try:
        handover = branch_services.customer_handover(
            customer=customer, user=request.user, note=form.cleaned_data["note"] if form.is_valid() else "",
            origin=origin)
    except PermissionDenied as exc:
        raise Http404 from exc
    return render(request, "customers/_handover_done.html", {"customer": customer, "handover": handover,
                                                             "recipient": handover.recipient})


# --- the lobby's interception list -------------------------------------------------------------


@login_required
@require_GET
def interceptions(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    page = keyset_page(branch_selectors.interception_tasks_for_user(user=request.user, today=today),
                       keys=branch_selectors.INTERCEPTION_KEYS, cursor=request.GET.get(CURSOR_PARAM), size=PAGE_SIZE)
    customer_data_shown(origin=origin_from_request(request), what="interceptions", filters=request.GET.dict(),
                        customer_ids=[task.case.customer.customer_id for task in page.object_list])
    flags = branch_selectors.walkin_flags(
        user=request.user, customer_ids=[task.case.customer_id for task in page.object_list], today=today)
    for task in page.object_list:
        task.can_record = branch_selectors.branch_task_doable_by(user=request.user, task=task)
        task.talking_points = _besides_the_booking(flags.get(task.case.customer_id))
    context = {"page": page, "today": today, "tomorrow": today + dt.timedelta(days=1),
               "form": InterceptionForm(auto_id=False)}
    return render(request, "customers/interceptions.html", context)


def _besides_the_booking(flag: branch_selectors.WalkinFlag | None) -> list:
    """An interception card's talking points: the booking is the card itself, so its own line
    is left out; the customer's other signals and the segment's lines stay."""
    if flag is None:
        return []
    return [point for point in flag.talking_points if point.signal_kind != branch_selectors.INTERCEPTION_KIND]


# Where the record form was posted from: the interception list's card, or the walk-in lookup's
# result (which answers with its own, smaller block).
_INTERCEPTION_TEMPLATES = {"list": "customers/_interception.html", "walkin": "customers/_walkin_interception.html"}


def _interception_card(request: HttpRequest, task: Task, form: InterceptionForm, *, status: int = 200,
                       flash: bool = False) -> HttpResponse:
    today = timezone.localdate()
    task.can_record = branch_selectors.branch_task_doable_by(user=request.user, task=task)
    flags = branch_selectors.walkin_flags(user=request.user, customer_ids=[task.case.customer_id], today=today)
    task.talking_points = _besides_the_booking(flags.get(task.case.customer_id))
    template = _INTERCEPTION_TEMPLATES.get(request.POST.get("shown_in", ""), _INTERCEPTION_TEMPLATES["list"])
    context = {"task": task, "form": form, "today": today, "flash": flash}
    return render(request, template, context, status=status)


@login_required
@require_POST
def interception_record(request: HttpRequest, pk: int) -> HttpResponse:
    origin = origin_from_request(request)
    task = branch_selectors.branch_task_get_for_user(user=request.user, task_id=pk, origin=origin)
    form = InterceptionForm(request.POST, auto_id=False)
    if form.is_valid():
        data = form.cleaned_data
        try:
            branch_services.interception_record(task=task, user=request.user, outcome=data["outcome"],
                                                amount_kept=data["amount_kept"], note=data["note"], origin=origin)
        except ValidationError as exc:
            form.add_error(None, exc)
        except PermissionDenied as exc:  # not an interception, or not the user's to record
            raise Http404 from exc
    if form.errors:
        return _interception_card(request, task, form, status=422)
    task = branch_selectors.branch_task_get_for_user(user=request.user, task_id=task.pk)
    return _interception_card(request, task, InterceptionForm(auto_id=False), flash=True)


# --- the branch head's callback queue ------------------------------------------------------------


def _decorate_callbacks(tasks: list[Task], user) -> None:
    surveys = survey_history(customer_ids=[task.case.customer_id for task in tasks])
    done_today = branch_selectors.callbacks_done_today(tasks=tasks, today=timezone.localdate())
    for task in tasks:
        task.done_today = done_today.get(task.case_id, [])
        task.surveys = surveys.get(task.case.customer_id, [])
        task.reason_lines = render_reasons(task.signal.reasons) if task.signal else []
        task.can_record = branch_selectors.branch_task_doable_by(user=user, task=task)


@login_required
@require_GET
def callback_queue(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    page = keyset_page(branch_selectors.callback_tasks_for_user(user=request.user, today=today),
                       keys=branch_selectors.CALLBACK_KEYS, cursor=request.GET.get(CURSOR_PARAM),
                       size=CALLBACKS_PAGE_SIZE)
    _decorate_callbacks(list(page.object_list), request.user)
    customer_data_shown(origin=origin_from_request(request), what="callbacks", filters=request.GET.dict(),
                        customer_ids=[task.case.customer.customer_id for task in page.object_list])
    return render(request, "retention/callback_queue.html",
                  {"page": page, "today": today, "form": CallbackForm(auto_id=False)})


def _callback_card(request: HttpRequest, task: Task, form: CallbackForm, *, status: int = 200,
                   flash: str = "", saved: Task | None = None) -> HttpResponse:
    """The customer's whole card on the queue, as a reload would show it: after a call is
    saved, its badge and status say what became of it (done, or due again tomorrow), and a
    check-back call that follows shows under the one just done."""
    if saved is not None:
        current = branch_selectors.callback_tasks_for_user(user=request.user, today=timezone.localdate()).filter(
            case_id=task.case_id).first()
        task = current or branch_selectors.branch_task_get_for_user(user=request.user, task_id=task.pk)
    _decorate_callbacks([task], request.user)
    context = {"task": task, "form": form, "today": timezone.localdate(), "flash": flash,
               "saved_pk": saved.pk if saved is not None else None}
    return render(request, "retention/_callback.html", context, status=status)


@login_required
@require_POST
def callback_record(request: HttpRequest, pk: int) -> HttpResponse:
    origin = origin_from_request(request)
    task = branch_selectors.branch_task_get_for_user(user=request.user, task_id=pk, origin=origin)
    form = CallbackForm(request.POST, auto_id=False)
    if form.is_valid():
        data = form.cleaned_data
        try:
            task = branch_services.callback_record(task=task, user=request.user, outcome=data["outcome"],
                                                   note=data["note"], origin=origin)
        except ValidationError as exc:
            form.add_error(None, exc)
        except PermissionDenied as exc:  # not a callback, or not the user's to record
            raise Http404 from exc
    if form.errors:
        return _callback_card(request, task, form, status=422)
    if not request.headers.get("HX-Request"):
        # A plain form post (no script): back to the queue, at the customer's card.
        return redirect(f"{reverse('retention:callback_queue')}#callback-{task.pk}")
    flash = ""
    if not task.is_done:
        # Not reached: the call stays on the queue, due again tomorrow.
        flash = _("Not reached: the call is on your list again for %(day)s.") % {
            "day": date_format(task.due_on, "SHORT_DATE_FORMAT")}
    return _callback_card(request, task, CallbackForm(auto_id=False), flash=flash, saved=task)
