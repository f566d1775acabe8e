"""Case pages: the RM's daily list (one row per case) and its exports, and the actions on
a case and its tasks (htmx, answering with the refreshed case card; a plain form post
goes back to the customer 360). The customer 360's cases and timeline are built here too
(``customer_cases_context``), so the list and the 360 say the same thing the same way.

Reads go through ``retention.selectors`` (scoped, held-out cases never shown), writes
through ``retention.case_services`` (which audit). A case outside the user's scope is a
404 on every page, export and action.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.contrib import messages
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
from core.keyset import CURSOR_PARAM, keyset_page
from core.spreadsheet import Column, table_csv, table_xlsx
from customers.models import Customer, Role, Segment
from customers.selectors import contact_follow_ups_due
from customers.services import customer_data_shown
from retention import case_services, contactability, reassigning, selectors
from retention.models import (
    OPEN_STATUSES,
    Case,
    CaseEvent,
    CaseKind,
    CaseStatus,
    Signal,
    SignalKind,
    Task,
    TaskStatus,
    catalogue_text,
)
from retention.replacement import case_tasks_name_replacement
from web.forms.cases import CaseFilterForm, CloseForm, DismissForm, SnoozeForm
from web.forms.customers import ContactForm

PAGE_SIZE = 25
EXPORT_MAX_ROWS = 10_000


# --- what a case says, in the reader's language -----------------------------------------------


@dataclass(frozen=True)
class SignalLine:
    """One signal of a case as the page shows it: its kind, its reasons in sentences, its event date."""

    signal: Signal
    label: str
    lines: list[str]
    event_on: dt.date | None
    is_active: bool


def signal_lines(case: Case) -> list[SignalLine]:
    """Every signal of the case (prefetched by the selector: active ones first, highest
    expected value first), each with all its reasons, not only the first."""
    return [
        SignalLine(signal=signal, label=signal.get_kind_display(), lines=render_reasons(signal.reasons),
                   event_on=signal.event_on, is_active=signal.is_active)
        for signal in case.signals.all()
    ]


def next_open_task(case: Case) -> Task | None:
    """The first open task (prefetched, earliest due first)."""
    return next((task for task in case.tasks.all() if task.status == TaskStatus.OPEN), None)


def decorate_cases(cases: Iterable[Case], *, budget: int | None) -> None:
    """Display attributes, from what the selector prefetched: the signals with their
    reasons, the first reason, the next task, and whether the row is in today's budget
    (``budget``: the number of rows of an owner's list that are; None: no budget applies,
    e.g. a filtered list)."""
    for case in cases:
        case.signal_rows = signal_lines(case)
        active = [row for row in case.signal_rows if row.is_active]
        case.active_signal_rows = active
        case.first_reason = next((line for row in active for line in row.lines), "")
        case.reason_count = sum(len(row.lines) for row in active)
        case.next_task = next_open_task(case)
        rank = getattr(case, "list_rank", None)
        case.in_todays_budget = budget is not None and rank is not None and rank <= budget


def attach_contactability(cases: Iterable[Case], *, today: dt.date) -> None:
    """``contact_blocked_reason`` on each case: why working it today would break the
    customer's wishes (empty when it would not; ``retention.contactability``). A blocked
    case is out of today's budget and not time-critical. Three queries for any number."""
    for case in contactability.cases_with_contactability(cases=cases, today=today):
        if case.contact_blocked_reason:
            case.in_todays_budget = False


# --- the RM's list ---------------------------------------------------------------------------


def paginate(request: HttpRequest, items, per_page: int = PAGE_SIZE):
    return Paginator(items, per_page).get_page(request.GET.get("page"))


def _filtered_cases(request: HttpRequest, form: CaseFilterForm, *, ranked: bool = True) -> tuple[QuerySet[Case], dict]:
    filters = form.selector_filters()
    return selectors.case_list_for_user(user=request.user, filters=filters, ranked=ranked), filters


def _branch_wide(request: HttpRequest) -> bool:
    """A list over a branch or the bank (a head's, a lobby manager's, an administrator's),
    paged by keyset; an RM's own list (their book: a few hundred open cases at most) keeps
    numbered pages, its ranks from one window over it."""
    return request.user.role != Role.RM


@login_required
@require_GET
def case_list(request: HttpRequest) -> HttpResponse:
    form = CaseFilterForm(request.GET or None)
    branch_wide = _branch_wide(request)
    cases, filters = _filtered_cases(request, form, ranked=not branch_wide)
    # The budget is the first rows of an owner's whole list; a filtered list is a look-up, not the day's plan.
    budget = selectors.case_list_budget() if not filters else None
    if branch_wide:
        page = keyset_page(cases, keys=selectors.LIST_KEYS, cursor=request.GET.get(CURSOR_PARAM), size=PAGE_SIZE)
        selectors.case_list_ranks(cases=cases, page=page.object_list)
    else:
        page = paginate(request, cases)
    decorate_cases(page.object_list, budget=budget)
    today = timezone.localdate()
    attach_contactability(page.object_list, today=today)
    customer_data_shown(origin=origin_from_request(request), what="cases", filters=request.GET.dict(),
                        customer_ids=[case.customer.customer_id for case in page.object_list])
    today = timezone.localdate()
    due = filters.get("due")
    context = {
        "form": form,
        "page": page,
        # The head's bulk reassign (web.views.team); the digest's task filters.
        "reassign_targets": list(reassigning.reassign_targets_for_user(user=request.user)),
        "due": due,
        "due_count": show_due_tasks(page.object_list, user=request.user, today=today, due=due) if due else None,
        "budget": budget,
        "progress": selectors.progress_for_user(user=request.user, today=today),
        "follow_ups": contact_follow_ups_due(user=request.user, today=today),
        "today": today,
        "tomorrow": today + dt.timedelta(days=1),
        "query": request.GET.urlencode(),
    }
    return render(request, "retention/case_list.html", context)


def show_due_tasks(cases, *, user, today: dt.date, due: str) -> int:
    """On the list filtered by a digest filter (due today, overdue, escalated), each row's task
    is the one that matched (``more_due``: how many more of the case did), and the answer is
    how many tasks matched over the whole list: the digest's count, by the same selector."""
    matching = selectors.tasks_due_for_user(user=user, today=today, due=due)
    by_case: dict[int, list[Task]] = {}
    for task in matching.filter(case_id__in=[case.pk for case in cases]).order_by("due_on", "order", "pk"):
        by_case.setdefault(task.case_id, []).append(task)
    for case in cases:
        tasks = by_case.get(case.pk, [])
        if tasks:
            case.next_task, case.more_due = tasks[0], len(tasks) - 1
    return matching.count()


@login_required
@require_GET
def alert_list(request: HttpRequest) -> HttpResponse:
    """The old address of the list: the list of cases, with the same query."""
    query = request.GET.urlencode()
    return redirect(reverse("retention:case_list") + (f"?{query}" if query else ""), permanent=True)


def _segment_label(customer: Customer) -> str:
    return dict(Segment.choices).get(customer.effective_segment, "")


def _export_columns() -> list[Column]:
    """The export's columns, headed with the list's own words (its "Due" is the page's 截止)."""
    return [
        Column(_("Rank"), "integer"), Column(_("In today's budget")), Column(_("Time-critical")),
        Column(_("Customer ID")), Column(_("Customer")), Column(_("Tier")), Column(_("Segment")), Column(_("Case")),
        Column(_("Signals"), width=24), Column(_("Reasons"), width=60, wrap=True),
        Column(_("Churn probability"), "percent"), Column(_("AUM at risk (CNY)"), "cny"),
        Column(_("Save rate"), "percent"), Column(_("Contact cost (CNY)"), "cny"),
        Column(_("Expected value (CNY)"), "cny"), Column(_("Next task"), width=40), Column(_("Due"), "date"),
        Column(_("Status")), Column(_("Owner")), Column(_("Not to be contacted now"), width=40, wrap=True),
    ]


def _export_rows(cases: Iterable[Case]) -> Iterator[list]:
    for case in cases:
        customer = case.customer
        task = case.next_task
        yield [
            case.list_rank,
            _("yes") if case.in_todays_budget else "",
            _("yes") if case.urgent and not getattr(case, "contact_blocked_reason", "") else "",
            customer.customer_id,
            customer.name,
            customer.get_tier_display(),
            _segment_label(customer),
            case.get_kind_display(),
            "; ".join(row.label for row in case.active_signal_rows),
            # Every reason of every active signal, one a line (the page shows them all under "why").
            "\n".join(line for row in case.active_signal_rows for line in row.lines),
            round(case.probability, 4),
            case.aum_at_risk,
            round(case.save_rate, 4),
            case.contact_cost,
            round(case.priority, 2),
            task.text if task else "",
            task.due_on if task else None,
            case.get_status_display(),
            str(case.owner),
            getattr(case, "contact_blocked_reason", ""),
        ]


@login_required
@require_GET
def case_export(request: HttpRequest, fmt: str) -> HttpResponse:
    """The list as the user sees it (their scope, their filters, held-out cases never), as
    CSV or Excel; spreadsheet formulas in names are neutralised; audited as an export."""
    if fmt not in ("csv", "xlsx"):
        raise Http404
    form = CaseFilterForm(request.GET or None)
    cases, filters = _filtered_cases(request, form)
    budget = selectors.case_list_budget() if not filters else None
    rows_of_cases = list(cases[:EXPORT_MAX_ROWS])
    decorate_cases(rows_of_cases, budget=budget)
    attach_contactability(rows_of_cases, today=timezone.localdate())
    columns, rows = _export_columns(), list(_export_rows(rows_of_cases))
    stamp = timezone.localdate().isoformat()
    customer_data_shown(origin=origin_from_request(request), what="case_list", filters=request.GET.dict(),
                        customer_ids=[case.customer.customer_id for case in rows_of_cases], export=True,
                        extra={"format": fmt})
    if fmt == "csv":
        response = HttpResponse(table_csv(columns=columns, rows=rows), content_type="text/csv; charset=utf-8")
    else:
        response = HttpResponse(
            table_xlsx(title=_("Cases"), columns=columns, rows=rows),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    response["Content-Disposition"] = f'attachment; filename="cases-{stamp}.{fmt}"'
    return response


# --- the customer 360's cases and timeline -----------------------------------------------------


@dataclass(frozen=True)
class TimelineEntry:
    at: dt.datetime
    actor: str  # empty: the nightly job
    label: str
    detail: str
    tone: str  # a CSS badge class: ok, bad, warn or ""


_TONES = {
    CaseStatus.CLOSED_RETAINED: "ok",
    CaseStatus.CLOSED_LOST: "bad",
    CaseStatus.DISMISSED: "",
    CaseStatus.CLEARED: "",
}


def _event_detail(event: CaseEvent) -> str:
    data = event.data or {}
    parts = []
    if event.task is not None:
        parts.append(event.task.text)
    if event.action == CaseEvent.Action.SNOOZED and data.get("until"):
        parts.append(_("until %(date)s") % {"date": data["until"]})
    if event.action in (CaseEvent.Action.OUTCOME_MEASURED, CaseEvent.Action.CLEARED) and event.to_status \
            and event.to_status != event.from_status:
        parts.append(CaseStatus(event.to_status).label)
    if event.action == CaseEvent.Action.OUTCOME_MEASURED and data.get("outcome"):
        parts.append(_("measured: %(outcome)s") % {"outcome": _("retained") if data["outcome"] == "retained"
                                                   else _("lost")})
    if data.get("kind") and event.action in (CaseEvent.Action.SIGNAL_ADDED, CaseEvent.Action.SIGNAL_CLEARED,
                                             CaseEvent.Action.SIGNAL_RENEWED, CaseEvent.Action.OPENED):
        try:
            parts.append(SignalKind(data["kind"]).label)
        except ValueError:
            pass
    if event.action == CaseEvent.Action.SIGNAL_ADDED and event.note in SignalKind.values:
        # The nightly job notes which signal joined the case.
        parts.append(SignalKind(event.note).label)
    elif event.note:
        parts.append(catalogue_text(event.note))
    return " · ".join(str(part) for part in parts if part)


def case_timeline(case: Case) -> list[TimelineEntry]:
    """The case's history, newest first, from its events (prefetched): opened, signals,
    tasks done and undone, contacts, snoozes, closing, the measured outcome."""
    events = sorted(case.events.all(), key=lambda event: (event.at, event.pk), reverse=True)
    return [
        TimelineEntry(
            at=event.at,
            actor=str(event.actor) if event.actor is not None else "",
            label=_event_label(event),
            detail=_event_detail(event),
            tone=_TONES.get(event.to_status, "") if event.to_status != event.from_status else "",
        )
        for event in events
    ]


def _event_label(event: CaseEvent) -> str:
    # A case closed by staff reads as what it was closed as ("Closed: retained"): the bare
    # "Closed" is also a customer's status (account closed) in the catalogue.
    if event.action == CaseEvent.Action.CLOSED and event.to_status in CaseStatus.values:
        return CaseStatus(event.to_status).label
    if event.action in CaseEvent.Action.values:
        return CaseEvent.Action(event.action).label
    return event.action


def decorate_case_card(case: Case) -> None:
    decorate_cases([case], budget=None)
    case_tasks_name_replacement(cases=[case])
    case.timeline = case_timeline(case)
    case.in_todays_budget = case.in_budget and case.status in (CaseStatus.OPEN, CaseStatus.IN_PROGRESS)


def customer_cases_context(*, user, customer: Customer) -> dict:
    """The 360's cases: the open one (with its actions) and the past ones, each with its
    signals, tasks and timeline, and the win-back fact ("already left by the churn
    definition", when and how much AUM) when a case of the customer says so."""
    cases = selectors.customer_cases_for_user(user=user, customer_id=customer.pk)
    for case in cases:
        decorate_case_card(case)
    open_cases = [case for case in cases if case.status in OPEN_STATUSES]
    attach_contactability(open_cases, today=timezone.localdate())
    win_back = next((case for case in cases if case.kind == CaseKind.WIN_BACK), None)
    return {
        "open_cases": open_cases,
        "past_cases": [case for case in cases if case.status not in OPEN_STATUSES],
        "win_back_case": win_back,
        "already_lost": win_back is not None and win_back.status in OPEN_STATUSES,
    }


# --- actions on one case ---------------------------------------------------------------------


def _case_card(request: HttpRequest, case_id: int, *, error: str = "", flash: str = "", status: int = 200):
    case = selectors.case_get_for_user(user=request.user, case_id=case_id)
    decorate_case_card(case)
    if case.is_open:
        attach_contactability([case], today=timezone.localdate())
    context = {
        "case": case, "action_error": error, "flash": flash, "contact_form": ContactForm(auto_id=False),
        "today": timezone.localdate(), "snooze_horizon": case_services.snooze_horizon(today=timezone.localdate()),
    }
    return render(request, "retention/_case_card.html", context, status=status)


def _after_action(request: HttpRequest, case: Case, *, error: str = "", flash: str = ""):
    """htmx gets the refreshed card (422 with the message when refused); a plain form post
    goes back to the customer page, with the message."""
    if request.headers.get("HX-Request"):
        return _case_card(request, case.pk, error=error, flash=flash, status=422 if error else 200)
    # Without htmx (no script): the message travels to the customer page, shown at its top.
    if error:
        messages.error(request, error)
    elif flash:
        messages.success(request, flash)
    return redirect(reverse("customers:detail", args=[case.customer_id]) + f"#case-{case.pk}")


def _run_action(request: HttpRequest, case: Case, action, *, flash: str, name: str, reply=None):
    """Run one service on the case; the service audits the change (given the origin).
    ``reply(result=, error=)``, when given, answers instead of the refreshed card."""
    try:
        result = action()
    except ValidationError as exc:
        if reply is not None:
            return reply(result=None, error=" ".join(exc.messages))
        return _after_action(request, case, error=" ".join(exc.messages))
    except PermissionDenied as exc:  # in view but not the user's to act on
        case_services.case_action_refused(case=case, action=name, origin=origin_from_request(request))
        raise Http404 from exc
    if reply is not None:
        return reply(result=result, error="")
    return _after_action(request, case, flash=flash)


def _call_logged_reply(request: HttpRequest, case: Case):
    """The answer to a call logged from a list row (after revealing the number there): what
    was logged and the task it completed, in place of the row's log form."""
    def reply(*, result, error: str) -> HttpResponse:
        completed = selectors.tasks_completed_by_contact(contact_id=result.pk) if result is not None else []
        return render(request, "retention/_call_logged.html",
                      {"case": case, "completed": completed, "action_error": error}, status=422 if error else 200)
    return reply


def _form_error(form) -> str:
    return " ".join(str(message) for errors in form.errors.values() for message in errors)


def _case_for_action(request: HttpRequest, pk: int) -> Case:
    return selectors.case_get_for_user(user=request.user, case_id=pk, origin=origin_from_request(request))


@login_required
@require_POST
def case_start(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case_for_action(request, pk)
    return _run_action(
        request, case, lambda: case_services.case_start(case=case, user=request.user,
                                                        origin=origin_from_request(request)),
        flash=_("Started."), name="start",
    )


@login_required
@require_POST
def case_snooze(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case_for_action(request, pk)
    form = SnoozeForm(request.POST)
    if not form.is_valid():
        return _after_action(request, case, error=_form_error(form))
    until, note = form.cleaned_data["until"], form.cleaned_data["note"]
    return _run_action(
        request, case, lambda: case_services.case_snooze(case=case, user=request.user, until=until, note=note,
                                                         origin=origin_from_request(request)),
        flash=_("Snoozed."), name="snooze",
    )


@login_required
@require_POST
def case_dismiss(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case_for_action(request, pk)
    form = DismissForm(request.POST)
    if not form.is_valid():
        return _after_action(request, case, error=_form_error(form))
    reason = form.cleaned_data["reason"]
    return _run_action(
        request, case, lambda: case_services.case_dismiss(case=case, user=request.user, reason=reason,
                                                          origin=origin_from_request(request)),
        flash=_("Dismissed."), name="dismiss",
    )


@login_required
@require_POST
def case_close(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case_for_action(request, pk)
    form = CloseForm(request.POST)
    if not form.is_valid():
        return _after_action(request, case, error=_form_error(form))
    outcome, reason = form.cleaned_data["outcome"], form.cleaned_data["reason"]
    return _run_action(
        request, case, lambda: case_services.case_close(case=case, user=request.user, outcome=outcome,
                                                        reason=reason, origin=origin_from_request(request)),
        flash=_("Case closed."), name="close",
    )


@login_required
@require_POST
def case_contact(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case_for_action(request, pk)
    form = ContactForm(request.POST)
    # A call logged from a list row answers in the row (see customers/_revealed_phone.html).
    reply = _call_logged_reply(request, case) if request.POST.get("reply") == "row" else None
    if not form.is_valid():
        if reply is not None:
            return reply(result=None, error=_form_error(form))
        return _after_action(request, case, error=_form_error(form))
    data = form.cleaned_data
    return _run_action(
        request, case,
        lambda: case_services.contact_log(case=case, user=request.user, channel=data["channel"],
                                          result=data["result"], note=data["note"],
                                          next_step_on=data["next_step_on"], origin=origin_from_request(request)),
        flash=_("Contact logged."), name="contact", reply=reply,
    )


@login_required
@require_POST
def task_toggle(request: HttpRequest, pk: int, task_id: int) -> HttpResponse:
    """Tick a task done (``done=1``) or undo it (``done=0``)."""
    case = _case_for_action(request, pk)
    task = get_object_or_404(Task, pk=task_id, case=case)
    if request.POST.get("done", "1") == "1":
        def action():
            return case_services.task_done(task=task, user=request.user, origin=origin_from_request(request))
        flash = _("Task done.")
    else:
        def action():
            return case_services.task_undo(task=task, user=request.user, origin=origin_from_request(request))
        flash = _("Task open again.")
    return _run_action(request, case, action, flash=flash, name="task")
