"""Retention cases and their tasks: the list (one row per case), one case with its
signals, tasks and history, the CSV export, the caller's tasks, and the staff actions
(start, snooze, dismiss, close as retained or lost, log a contact; a task done or
undone).

Reads go through ``retention.selectors`` (scoped to the caller; held-out cases are
excluded there, so no list, detail or export here can show one), writes through
``retention.case_services``, which audit every change with the request's origin.
"""

from __future__ import annotations

import django_filters
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db.models import Prefetch, QuerySet
from django.http import Http404
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.exceptions import PermissionDenied as ApiPermissionDenied
from rest_framework.response import Response

from api.base import ApiView, IdFilter, audit_denied, scoped_get
from api.pagination import ApiCursorPagination
from api.serializers import CustomerSummarySerializer, MaskedField, StaffSerializer
from audit.services import origin_from_request
from churn.reasons import render_reasons
from core.spreadsheet import csv_response
from customers.models import ContactChannel, ContactResult, Segment, User
from customers.permissions import user_can_reassign_cases
from customers.selectors import effective_segment_is
from customers.services import customer_data_shown, customer_viewed
from retention import branch_selectors, branch_services, case_services, reassigning, selectors
from retention.contactability import cases_with_contactability
from retention.models import (
    OPEN_STATUSES,
    Case,
    CaseEvent,
    CaseKind,
    CaseStatus,
    Outcome,
    OwnerRole,
    Signal,
    SignalKind,
    Task,
    TaskOutcome,
    TaskStatus,
    catalogue_text,
)

TAGS = ["cases"]
TASK_TAGS = ["tasks"]


# --- output ----------------------------------------------------------------------------------


class CatalogueTextField(serializers.CharField):
    """A stored message id of the nightly job (a clear or close reason), in the request's
    language; staff's own words come back unchanged."""

    def to_representation(self, value):
        return catalogue_text(super().to_representation(value))


class PlaybookRefSerializer(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()


class SignalSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=SignalKind.choices)
    kind_label = serializers.CharField(source="get_kind_display")
    playbook = PlaybookRefSerializer()
    is_active = serializers.BooleanField()
    first_seen_on = serializers.DateField()
    last_seen_on = serializers.DateField()
    seen_count = serializers.IntegerField()
    event_on = serializers.DateField(allow_null=True, help_text="Maturity, booking, survey or balance month.")
    probability = serializers.FloatField()
    aum_at_risk = serializers.DecimalField(max_digits=18, decimal_places=2)
    expected_aum_at_risk = serializers.DecimalField(max_digits=18, decimal_places=2)
    priority = serializers.FloatField(help_text="This signal's expected value.")
    reasons = serializers.JSONField(help_text="The stored reasons: feature, contribution, params.")
    reason_texts = serializers.SerializerMethodField(help_text="The reasons in plain words, in the request's language.")
    details = serializers.JSONField()
    cleared_on = serializers.DateField(allow_null=True)
    clear_reason = CatalogueTextField()

    def get_reason_texts(self, signal) -> list[str]:
        return render_reasons(signal.reasons)


class TaskSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    case = serializers.IntegerField(source="case_id")
    signal_kind = serializers.SerializerMethodField(help_text="The kind of the signal the task is for.")
    playbook = serializers.CharField(source="playbook.key")
    order = serializers.IntegerField()
    owner_role = serializers.ChoiceField(choices=OwnerRole.choices)
    owner = StaffSerializer(allow_null=True)
    channel = serializers.ChoiceField(choices=ContactChannel.choices)
    due_on = serializers.DateField()
    text = serializers.CharField(help_text="The playbook step, in the request's language.")
    status = serializers.ChoiceField(choices=TaskStatus.choices)
    done_at = serializers.DateTimeField(allow_null=True)
    done_by = StaffSerializer(allow_null=True)
    contact = serializers.IntegerField(source="contact_id", allow_null=True,
                                       help_text="The logged contact that completed the task.")
    outcome = serializers.CharField(help_text="Empty, or one of the task outcomes.")
    outcome_note = serializers.CharField()
    amount_kept = serializers.DecimalField(max_digits=18, decimal_places=2, allow_null=True)
    created_on = serializers.DateField()

    @extend_schema_field(serializers.ChoiceField(choices=SignalKind.choices, allow_null=True))
    def get_signal_kind(self, task):
        return task.signal.kind if task.signal_id else None


class CaseSerializer(serializers.Serializer):
    """One row of the list: the case, its expected value with the parts it is made of,
    its active signals (each with its reasons) and its tasks."""

    id = serializers.IntegerField()
    customer = CustomerSummarySerializer()
    kind = serializers.ChoiceField(choices=CaseKind.choices)
    status = serializers.ChoiceField(choices=CaseStatus.choices)
    owner = StaffSerializer()
    branch_code = serializers.CharField(source="branch.code")
    opened_on = serializers.DateField()
    last_signal_on = serializers.DateField()
    leading_kind = serializers.ChoiceField(choices=SignalKind.choices, help_text="The signal that leads the case.")
    playbook = PlaybookRefSerializer(help_text="The leading signal's playbook.")
    probability = serializers.FloatField()
    aum = serializers.DecimalField(max_digits=18, decimal_places=2)
    aum_at_risk = serializers.DecimalField(max_digits=18, decimal_places=2)
    save_rate = serializers.FloatField()
    contact_cost = serializers.FloatField()
    priority = serializers.FloatField(
        help_text="Expected value: probability x AUM at risk x save rate - contact cost.")
    expected_aum_at_risk = serializers.DecimalField(max_digits=18, decimal_places=2)
    urgent = serializers.BooleanField(help_text="Time-critical: a task due today or tomorrow, or a large "
                                                "withdrawal booked. Ranked first.")
    rank = serializers.IntegerField(allow_null=True, help_text="Place in the owner's list (1 = first).")
    ranked_on = serializers.DateField(allow_null=True)
    in_budget = serializers.BooleanField(help_text="Among the owner's first RETENTION_DAILY_BUDGET rows.")
    snoozed_until = serializers.DateField(allow_null=True)
    worked_at = serializers.DateTimeField(allow_null=True, help_text="First task done or contact logged by staff.")
    lost_month = serializers.DateField(allow_null=True, help_text="Win-back: the month the customer left.")
    aum_lost = serializers.DecimalField(max_digits=18, decimal_places=2, allow_null=True,
                                        help_text="Win-back: the AUM that left.")
    signals = serializers.SerializerMethodField(help_text="The active signals, highest expected value first.")
    tasks = TaskSerializer(many=True)
    contact_blocked_reason = serializers.SerializerMethodField(
        help_text="Why working the case today would break the customer's wishes (every open task is on a channel "
                  "they asked not to be contacted on, or the contact-frequency cap is reached), in the request's "
                  "language; empty when it would not. Such a case is out of today's budget.")

    def get_contact_blocked_reason(self, case) -> str:
        return getattr(case, "contact_blocked_reason", "")

    @extend_schema_field(SignalSerializer(many=True))
    def get_signals(self, case):
        return SignalSerializer([s for s in case.signals.all() if s.is_active], many=True).data


class CaseEventSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    actor = StaffSerializer(allow_null=True, help_text="Null: the nightly job.")
    action = serializers.ChoiceField(choices=CaseEvent.Action.choices)
    task = serializers.IntegerField(source="task_id", allow_null=True)
    from_status = serializers.CharField()
    to_status = serializers.CharField()
    note = CatalogueTextField()


class CaseDetailSerializer(CaseSerializer):
    """The case with every signal (cleared ones too), its tasks and its history."""

    all_signals = SignalSerializer(source="signals", many=True)
    close_reason = CatalogueTextField()
    closed_at = serializers.DateTimeField(allow_null=True)
    closed_by = StaffSerializer(allow_null=True)
    window_ends_on = serializers.DateField()
    outcome = serializers.CharField(help_text="Measured at the end of the churn window: retained, lost or empty.")
    outcome_measured_on = serializers.DateField(allow_null=True)
    aum_kept = serializers.DecimalField(max_digits=18, decimal_places=2, allow_null=True)
    events = CaseEventSerializer(many=True)


class CaseRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=CaseKind.choices)
    status = serializers.ChoiceField(choices=CaseStatus.choices)
    leading_kind = serializers.ChoiceField(choices=SignalKind.choices)
    priority = serializers.FloatField()
    urgent = serializers.BooleanField()


class TaskRowSerializer(TaskSerializer):
    """A task in the caller's task list, with its customer and case."""

    customer = CustomerSummarySerializer(source="case.customer")
    case_summary = CaseRefSerializer(source="case")


# --- reads -------------------------------------------------------------------------------------


def _signals():
    return Prefetch("signals", queryset=Signal.objects.select_related("playbook").order_by("-is_active",
                                                                                           "-priority", "pk"))


def _tasks():
    return Prefetch("tasks", queryset=Task.objects.select_related("owner", "done_by", "signal", "playbook")
                    .order_by("due_on", "order", "pk"))


def _with_rows(cases: QuerySet[Case]) -> QuerySet[Case]:
    # The selector's own prefetches are replaced by the ones the serializers read, so a list
    # is a fixed number of queries whatever its length.
    return (cases.select_related("customer__branch", "customer__rm", "owner", "branch", "playbook")
            .prefetch_related(None).prefetch_related(_signals(), _tasks()))


def _case(request, pk) -> Case:
    # A miss is audited where the scope refuses it (retention.selectors), as on the pages.
    try:
        return selectors.case_get_for_user(user=request.user, case_id=pk, origin=origin_from_request(request))
    except Http404:
        raise NotFound() from None


def _case_detail(request, pk) -> dict:
    # Re-read after an action (no audit: the case was in scope a moment ago).
    case = _with_rows(selectors.case_scope_for_user(user=request.user).filter(pk=pk)).prefetch_related(
        Prefetch("events", queryset=CaseEvent.objects.select_related("actor").order_by("at", "pk"))).get()
    cases_with_contactability(cases=[case] if case.is_open else [], today=timezone.localdate())
    return CaseDetailSerializer(case).data


class CaseFilter(django_filters.FilterSet):
    # ``status`` goes to the selector (its default is the workable statuses); the rest narrows its result.
    status = django_filters.MultipleChoiceFilter(choices=CaseStatus.choices, method="noop",
                                                 help_text="Default: open and in progress.")
    kind = django_filters.ChoiceFilter(choices=CaseKind.choices)
    signal = django_filters.ChoiceFilter(choices=SignalKind.choices, method="filter_signal",
                                         help_text="Cases with an active signal of this kind.")
    leading_kind = django_filters.ChoiceFilter(choices=SignalKind.choices)
    playbook = django_filters.CharFilter(field_name="playbook__key", help_text="The leading signal's playbook key.")
    segment = django_filters.ChoiceFilter(choices=Segment.choices, method="filter_segment")
    in_budget = django_filters.BooleanFilter()
    urgent = django_filters.BooleanFilter()
    customer = IdFilter(field_name="customer_id")
    owner = IdFilter(field_name="owner_id")
    branch = django_filters.CharFilter(field_name="branch__code")
    ordering = django_filters.ChoiceFilter(
        choices=[("priority", "priority"), ("rank", "rank")], method="noop",
        help_text="priority (default): highest expected value first, across owners; rank: each owner's "
                  "daily list in order (time-critical first, then expected value), ranked cases only.")

    class Meta:
        model = Case
        fields = ["status", "kind", "signal", "leading_kind", "playbook", "segment", "in_budget", "urgent",
                  "customer", "owner", "branch", "ordering"]

    def noop(self, queryset, name, value):
        return queryset

    def filter_signal(self, queryset, name, value):
        return queryset.filter(pk__in=Signal.objects.filter(kind=value, is_active=True).values("case_id"))

    def filter_segment(self, queryset, name, value):
        return queryset.filter(effective_segment_is(value, through="customer__"))


class CasePagination(ApiCursorPagination):
    # The stored rank is per owner; across owners (a branch head's view) expected value orders.
    ordering = ("-priority", "-pk")


class RankedCasePagination(ApiCursorPagination):
    ordering = ("rank", "pk")


def _filtered_cases(request) -> tuple[QuerySet[Case], type[ApiCursorPagination]]:
    filterset = CaseFilter(request.query_params, queryset=Case.objects.none())
    if not filterset.is_valid():
        raise serializers.ValidationError(filterset.errors)
    status = filterset.form.cleaned_data.get("status") or None
    # No list_rank (a window over the whole list): the API orders by expected value or stored rank.
    cases = selectors.case_list_for_user(user=request.user, filters={"status": status}, ranked=False)
    cases = filterset.filter_queryset(cases)
    if filterset.form.cleaned_data.get("ordering") == "rank":
        return cases.filter(rank__isnull=False), RankedCasePagination
    return cases, CasePagination


class CaseListApi(ApiView):
    """The caller's cases, one row per customer episode (an RM: only their own; held-out
    cases never). Each row carries its expected value and the parts it is made of, every
    active signal with its reasons, and its tasks."""

    filter_backends = [DjangoFilterBackend]
    filterset_class = CaseFilter
    pagination_class = CasePagination
    queryset = Case.objects.none()

    @extend_schema(tags=TAGS, responses=CaseSerializer(many=True), operation_id="cases_list")
    def get(self, request):
        cases, pagination_class = _filtered_cases(request)
        paginator = pagination_class()
        page = paginator.paginate_queryset(_with_rows(cases), request, view=self)
        page = cases_with_contactability(cases=page, today=timezone.localdate())
        customer_data_shown(origin=origin_from_request(request), what="cases", filters=request.query_params.dict(),
                            customer_ids=[c.customer.customer_id for c in page])
        return paginator.get_paginated_response(CaseSerializer(page, many=True).data)


class CaseExportApi(ApiView):
    """The list (with its filters) as CSV: masked, spreadsheet formulas neutralised, at
    most EXPORT_MAX_ROWS rows, in the list's order. Audited as an export."""

    EXPORT_MAX_ROWS = 10_000
    filter_backends = [DjangoFilterBackend]
    filterset_class = CaseFilter
    queryset = Case.objects.none()

    HEADER = ["case_id", "customer_id", "name", "phone_masked", "branch_code", "owner", "kind", "status",
              "rank", "in_budget", "urgent", "expected_value", "probability", "aum_at_risk", "save_rate",
              "contact_cost", "leading_kind", "playbook", "signals", "next_task_due_on", "opened_on",
              "snoozed_until"]

    @extend_schema(
        tags=TAGS,
        filters=True,
        responses={(200, "text/csv"): OpenApiResponse(response=str, description="CSV, UTF-8 with BOM")},
        operation_id="cases_export",
    )
    def get(self, request):
        cases, pagination_class = _filtered_cases(request)
        cases = _with_rows(cases).order_by(*pagination_class.ordering)[: self.EXPORT_MAX_ROWS]
        masked = MaskedField()

        def row(case: Case) -> list:
            active = [s for s in case.signals.all() if s.is_active]
            open_tasks = [t.due_on for t in case.tasks.all() if t.status == TaskStatus.OPEN]
            return [case.pk, case.customer.customer_id, case.customer.name,
                    masked.to_representation(case.customer.phone), case.branch.code, str(case.owner), case.kind,
                    case.status, case.rank if case.rank is not None else "", case.in_budget, case.urgent,
                    round(case.priority, 2), round(case.probability, 4), case.aum_at_risk, case.save_rate,
                    case.contact_cost, case.leading_kind, case.playbook.key, " ".join(s.kind for s in active),
                    min(open_tasks).isoformat() if open_tasks else "",
                    case.opened_on.isoformat(), case.snoozed_until.isoformat() if case.snoozed_until else ""]

        response, count = csv_response(header=self.HEADER, rows=(row(c) for c in cases), filename="cases")
        customer_data_shown(origin=origin_from_request(request), what="cases", filters=request.query_params.dict(),
                            customer_ids=[], rows=count, export=True)
        return response


class CaseDetailApi(ApiView):
    """One case with every signal (and its reasons), its tasks and its history."""

    @extend_schema(tags=TAGS, responses={200: CaseDetailSerializer, 404: OpenApiResponse(description="Not in scope")},
                   operation_id="cases_retrieve")
    def get(self, request, pk: int):
        case = _case(request, pk)
        customer_viewed(customer=case.customer, origin=origin_from_request(request), part="case")
        return Response(_case_detail(request, case.pk))


# --- staff actions on a case ---------------------------------------------------------------------


class _CaseActionApi(ApiView):
    """Runs one service on a case in scope; answers with the refreshed case."""

    action_name = ""
    input_serializer_class: type[serializers.Serializer] | None = None

    def perform(self, request, case: Case, data: dict) -> None:
        """Run the service, handing it the origin: the service writes the audit event."""
        raise NotImplementedError

    def post(self, request, pk: int):
        case = _case(request, pk)
        data: dict = {}
        if self.input_serializer_class is not None:
            serializer = self.input_serializer_class(data=request.data)
            serializer.is_valid(raise_exception=True)
            data = dict(serializer.validated_data)
        try:
            self.perform(request, case, data)
        except DjangoPermissionDenied:
            # In scope but not the caller's to work: the same answer as out of scope, audited.
            audit_denied(request, object_type="retention.case", object_id=case.pk, reason=self.action_name)
            raise NotFound() from None
        return Response(_case_detail(request, case.pk))


def _case_action_schema(operation_id: str, request_serializer=None):
    return extend_schema(tags=TAGS, request=request_serializer, responses=CaseDetailSerializer,
                         operation_id=operation_id)


class CaseStartApi(_CaseActionApi):
    """Start working an open or snoozed case."""

    action_name = "start"

    def perform(self, request, case, data):
        case_services.case_start(case=case, user=request.user, origin=origin_from_request(request))

    @_case_action_schema("cases_start")
    def post(self, request, pk: int):
        return super().post(request, pk)


class CaseSnoozeInputSerializer(serializers.Serializer):
    until = serializers.DateField(help_text="A later day, at most RETENTION_SNOOZE_MAX_DAYS ahead.")
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class CaseSnoozeApi(_CaseActionApi):
    """Put the case off until a later day (at most RETENTION_SNOOZE_MAX_DAYS ahead); it
    comes back to the list then. A date out of range is a 400 that says why."""

    action_name = "snooze"
    input_serializer_class = CaseSnoozeInputSerializer

    def perform(self, request, case, data):
        case_services.case_snooze(case=case, user=request.user, until=data["until"], note=data["note"],
                                  origin=origin_from_request(request))

    @_case_action_schema("cases_snooze", CaseSnoozeInputSerializer)
    def post(self, request, pk: int):
        return super().post(request, pk)


class CaseDismissInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class CaseDismissApi(_CaseActionApi):
    """Dismiss the case, with a reason."""

    action_name = "dismiss"
    input_serializer_class = CaseDismissInputSerializer

    def perform(self, request, case, data):
        case_services.case_dismiss(case=case, user=request.user, reason=data["reason"],
                                   origin=origin_from_request(request))

    @_case_action_schema("cases_dismiss", CaseDismissInputSerializer)
    def post(self, request, pk: int):
        return super().post(request, pk)


class CaseCloseInputSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=Outcome.choices)
    reason = serializers.CharField(max_length=2000, help_text="Why: what kept the customer, or why they left.")


class CaseCloseApi(_CaseActionApi):
    """Close the case as retained or lost. (The measured outcome at the end of the churn
    window is separate: the retention report counts that one.)"""

    action_name = "close"
    input_serializer_class = CaseCloseInputSerializer

    def perform(self, request, case, data):
        case_services.case_close(case=case, user=request.user, outcome=data["outcome"], reason=data["reason"],
                                 origin=origin_from_request(request))

    @_case_action_schema("cases_close", CaseCloseInputSerializer)
    def post(self, request, pk: int):
        return super().post(request, pk)


class CaseContactInputSerializer(serializers.Serializer):
    channel = serializers.ChoiceField(choices=ContactChannel.choices)
    result = serializers.ChoiceField(choices=ContactResult.choices)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    next_step_on = serializers.DateField(required=False, allow_null=True, default=None)


class CaseContactApi(_CaseActionApi):
    """Log a contact with the case's customer. A contact by the owner of an open task, on
    the task's channel, completes that task."""

    action_name = "contact"
    input_serializer_class = CaseContactInputSerializer

    def perform(self, request, case, data):
        case_services.contact_log(case=case, user=request.user, channel=data["channel"], result=data["result"],
                                  note=data["note"], next_step_on=data["next_step_on"],
                                  origin=origin_from_request(request))

    @_case_action_schema("cases_contact", CaseContactInputSerializer)
    def post(self, request, pk: int):
        return super().post(request, pk)


# --- tasks -------------------------------------------------------------------------------------


class TaskFilter(django_filters.FilterSet):
    # A task's own field: no DISTINCT (django-filter's default), which would sort every task in scope.
    status = django_filters.MultipleChoiceFilter(choices=TaskStatus.choices, help_text="Default: to do.",
                                                 distinct=False)
    owner_role = django_filters.ChoiceFilter(choices=OwnerRole.choices)
    mine = django_filters.BooleanFilter(method="filter_mine", help_text="Only the caller's own tasks.")
    owner = IdFilter(field_name="owner_id")
    signal_kind = django_filters.ChoiceFilter(choices=SignalKind.choices, field_name="signal__kind")
    channel = django_filters.ChoiceFilter(choices=ContactChannel.choices)
    due_from = django_filters.DateFilter(field_name="due_on", lookup_expr="gte")
    due_to = django_filters.DateFilter(field_name="due_on", lookup_expr="lte")
    customer = IdFilter(field_name="case__customer_id")
    case = IdFilter(field_name="case_id")

    class Meta:
        model = Task
        fields = ["status", "owner_role", "mine", "owner", "signal_kind", "channel", "due_from", "due_to",
                  "customer", "case"]

    def filter_mine(self, queryset, name, value):
        return queryset.filter(owner_id=self.request.user.pk) if value else queryset


class TaskPagination(ApiCursorPagination):
    ordering = ("due_on", "pk")


def _task_rows(tasks: QuerySet[Task]) -> QuerySet[Task]:
    return tasks.select_related("owner", "done_by", "signal", "playbook", "case__customer__branch",
                                "case__customer__rm")


class TaskListApi(ApiView):
    """Tasks of the cases in the caller's scope, soonest due first (default: those to do,
    of open cases), filtered by role, owner, signal, channel, due date. The lobby's day and
    the head's queue as the pages show them: ``interceptions/`` and ``callbacks/``."""

    filter_backends = [DjangoFilterBackend]
    filterset_class = TaskFilter
    pagination_class = TaskPagination
    queryset = Task.objects.none()

    @extend_schema(tags=TASK_TAGS, responses=TaskRowSerializer(many=True), operation_id="tasks_list")
    def get(self, request):
        tasks = selectors.task_scope_for_user(user=request.user)
        params = request.query_params.copy()
        if "status" not in params:
            params.setlist("status", [TaskStatus.OPEN])
            tasks = tasks.filter(case__status__in=OPEN_STATUSES)
        filterset = TaskFilter(params, queryset=tasks, request=request)
        if not filterset.is_valid():
            raise serializers.ValidationError(filterset.errors)
        paginator = self.pagination_class()
        # The page's tasks first (by the tasks' own index, no joins), then their rows: joined in
        # one query, the planner joins every open case of the bank before the limit.
        page_ids = [task.pk for task in paginator.paginate_queryset(filterset.qs.only("pk", "due_on"), request,
                                                                    view=self)]
        rows = {task.pk: task for task in _task_rows(Task.objects.filter(pk__in=page_ids))}
        page = [rows[pk] for pk in page_ids]
        customer_data_shown(origin=origin_from_request(request), what="tasks", filters=request.query_params.dict(),
                            customer_ids=[t.case.customer.customer_id for t in page])
        return paginator.get_paginated_response(TaskRowSerializer(page, many=True).data)


def _task(request, pk) -> Task:
    return scoped_get(request, _task_rows(selectors.task_scope_for_user(user=request.user)), pk=pk,
                      object_type="retention.task")


class _TaskActionApi(ApiView):
    action_name = ""
    # The branch services audit their own refusals (before refusing); the others leave it to us.
    service_audits_refusal = False

    def perform(self, request, task: Task, data: dict) -> None:
        raise NotImplementedError

    def run(self, request, pk: int, input_serializer_class=None):
        task = _task(request, pk)
        data: dict = {}
        if input_serializer_class is not None:
            serializer = input_serializer_class(data=request.data)
            serializer.is_valid(raise_exception=True)
            data = dict(serializer.validated_data)
        try:
            self.perform(request, task, data)
        except DjangoPermissionDenied:
            # Not the caller's to record (an RM and the lobby's task), or not that kind of task:
            # the same answer as out of scope.
            if not self.service_audits_refusal:
                audit_denied(request, object_type="retention.task", object_id=task.pk, reason=self.action_name)
            raise NotFound() from None
        return Response(TaskRowSerializer(_task_rows(Task.objects.filter(pk=task.pk)).get()).data)


class TaskDoneInputSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=TaskOutcome.choices, required=False, allow_blank=True, default="")
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    amount_kept = serializers.DecimalField(max_digits=18, decimal_places=2, min_value=0, required=False,
                                           allow_null=True, default=None,
                                           help_text="An interception: the amount the customer kept with us.")


class TaskDoneApi(_TaskActionApi):
    """Mark a task done, with its outcome (an interception: funds kept, moved, or the
    customer did not come, and the amount kept; a call: reached, reason learnt...)."""

    action_name = "task_done"

    def perform(self, request, task, data):
        case_services.task_done(task=task, user=request.user, outcome=data["outcome"], note=data["note"],
                                amount_kept=data["amount_kept"], origin=origin_from_request(request))

    @extend_schema(tags=TASK_TAGS, request=TaskDoneInputSerializer, responses=TaskRowSerializer,
                   operation_id="tasks_done")
    def post(self, request, pk: int):
        return self.run(request, pk, TaskDoneInputSerializer)


class TaskUndoApi(_TaskActionApi):
    """Undo a task marked done by mistake: it is to do again."""

    action_name = "task_undo"

    def perform(self, request, task, data):
        case_services.task_undo(task=task, user=request.user, origin=origin_from_request(request))

    @extend_schema(tags=TASK_TAGS, request=None, responses=TaskRowSerializer, operation_id="tasks_undo")
    def post(self, request, pk: int):
        return self.run(request, pk)


class TaskInterceptionInputSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=[(o.value, o.label) for o in branch_services.INTERCEPTION_OUTCOMES])
    amount_kept = serializers.DecimalField(max_digits=18, decimal_places=2, min_value=0, required=False,
                                           allow_null=True, default=None,
                                           help_text="Funds kept: required, at most the booked amount.")
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class TaskInterceptionApi(_TaskActionApi):
    """The lobby records a booked large withdrawal or transfer: the customer came in and kept
    the funds (with the amount kept), came in and moved them, or did not come. Only a lobby
    interception task; only the lobby, the head or an administrator (an RM: 404)."""

    action_name = "interception"
    service_audits_refusal = True

    def perform(self, request, task, data):
        branch_services.interception_record(task=task, user=request.user, outcome=data["outcome"],
                                            amount_kept=data["amount_kept"], note=data["note"],
                                            origin=origin_from_request(request))

    @extend_schema(tags=TASK_TAGS, request=TaskInterceptionInputSerializer, responses=TaskRowSerializer,
                   operation_id="tasks_interception")
    def post(self, request, pk: int):
        return self.run(request, pk, TaskInterceptionInputSerializer)


class TaskCallbackInputSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=[(o.value, o.label) for o in branch_services.CALLBACK_OUTCOMES])
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="",
                                 help_text="The reason the customer gave: required with reason_learnt.")


class TaskCallbackApi(_TaskActionApi):
    """The branch head records a satisfaction or apology call: reached and the reason learnt,
    reached, or not reached (the call is then due again tomorrow). Only a head's callback
    task; only the head or an administrator."""

    action_name = "callback"
    service_audits_refusal = True

    def perform(self, request, task, data):
        branch_services.callback_record(task=task, user=request.user, outcome=data["outcome"], note=data["note"],
                                        origin=origin_from_request(request))

    @extend_schema(tags=TASK_TAGS, request=TaskCallbackInputSerializer, responses=TaskRowSerializer,
                   operation_id="tasks_callback")
    def post(self, request, pk: int):
        return self.run(request, pk, TaskCallbackInputSerializer)


class _BranchTaskListApi(ApiView):
    """A short daily list, not paginated: at most LIMIT rows, in the selector's order."""

    LIMIT = 200
    what = ""

    def tasks(self, request) -> QuerySet[Task]:
        raise NotImplementedError

    def list(self, request):
        tasks = list(_task_rows(self.tasks(request))[: self.LIMIT])
        customer_data_shown(origin=origin_from_request(request), what=self.what, filters=request.query_params.dict(),
                            customer_ids=[t.case.customer.customer_id for t in tasks])
        return Response(TaskRowSerializer(tasks, many=True).data)


class InterceptionListApi(_BranchTaskListApi):
    """The lobby's interceptions: the lobby tasks of large withdrawals and transfers booked for
    today or tomorrow, to do and recorded (with their outcome)."""

    what = "interceptions"

    def tasks(self, request):
        return branch_selectors.interception_tasks_for_user(user=request.user, today=timezone.localdate())

    @extend_schema(tags=TASK_TAGS, responses=TaskRowSerializer(many=True), operation_id="interceptions_list")
    def get(self, request):
        return self.list(request)


class CallbackListApi(_BranchTaskListApi):
    """The branch head's callback queue: one call per case, the next to make (or today's, done)."""

    what = "callbacks"

    def tasks(self, request):
        return branch_selectors.callback_tasks_for_user(user=request.user, today=timezone.localdate())

    @extend_schema(tags=TASK_TAGS, responses=TaskRowSerializer(many=True), operation_id="callbacks_list")
    def get(self, request):
        return self.list(request)


# --- the head's bulk reassign (retention.reassigning) ---------------------------------------------


class CaseReassignInputSerializer(serializers.Serializer):
    cases = serializers.ListField(child=serializers.IntegerField(min_value=1), min_length=1,
                                  max_length=reassigning.MAX_CASES, help_text="Ids of open cases of one branch.")
    to = serializers.IntegerField(min_value=1, help_text="Id of an active relationship manager of that branch.")


class CaseReassignOutputSerializer(serializers.Serializer):
    to = StaffSerializer()
    moved = serializers.ListField(child=serializers.IntegerField(), help_text="Cases now the RM's.")
    unchanged = serializers.ListField(child=serializers.IntegerField(), help_text="Cases that were already theirs.")
    tasks_moved = serializers.IntegerField(help_text="Open RM tasks moved with the cases.")


class CaseReassignApi(ApiView):
    """The branch head (or an administrator) moves one or many open cases, with their open RM
    tasks and the customers, to another RM of the same branch, in one action: all or nothing.
    403 for anyone else; 404 when a case is out of the caller's scope (another branch's);
    400 when the RM is not an active RM of the cases' branch, or a case is closed."""

    @extend_schema(tags=TAGS, request=CaseReassignInputSerializer, responses=CaseReassignOutputSerializer,
                   operation_id="cases_reassign")
    def post(self, request):
        origin = origin_from_request(request)
        if not user_can_reassign_cases(request.user):
            reassigning.reassign_refused(origin=origin)
            raise ApiPermissionDenied()
        serializer = CaseReassignInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        to = User.objects.filter(pk=data["to"]).first()
        if to is None:
            raise serializers.ValidationError({"to": ["No such member of staff."]})
        try:
            result = reassigning.cases_reassign(user=request.user, case_ids=data["cases"], to=to, origin=origin)
        except DjangoPermissionDenied:
            raise NotFound() from None
        return Response(CaseReassignOutputSerializer(result).data)
