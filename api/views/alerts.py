"""Alerts: the ranked list, one alert with its checklist and history, and the
actions on it (start, snooze, dismiss, tick a step, log a contact, record the
outcome). Reads through ``retention.selectors`` (scoped, held-out alerts never
shown), writes through ``retention.services``. Every change is audited."""

from __future__ import annotations

import django_filters
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from api.base import ApiView, IdFilter, audit_denied, id_in_range
from api.pagination import ApiCursorPagination
from api.serializers import CustomerSummarySerializer, StaffSerializer
from audit.services import origin_from_request
from churn.reasons import render_reasons
from customers.models import ContactChannel, ContactResult
from customers.services import customer_data_shown, customer_viewed
from retention import selectors, services
from retention.models import Alert, AlertKind, AlertStatus, AlertStep, Outcome, catalogue_text

TAGS = ["alerts"]


class PlaybookRefSerializer(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()


class AlertStepSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    order = serializers.IntegerField()
    owner_role = serializers.CharField()
    owner = StaffSerializer(allow_null=True)
    channel = serializers.CharField()
    due_on = serializers.DateField()
    text = serializers.CharField()
    done_at = serializers.DateTimeField(allow_null=True)


class AlertSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    customer = CustomerSummarySerializer()
    kind = serializers.ChoiceField(choices=AlertKind.choices)
    status = serializers.ChoiceField(choices=AlertStatus.choices)
    playbook = PlaybookRefSerializer()
    owner = StaffSerializer()
    owner_role = serializers.CharField()
    raised_on = serializers.DateField()
    last_triggered_on = serializers.DateField()
    event_on = serializers.DateField(allow_null=True)
    probability = serializers.FloatField(allow_null=True)
    aum = serializers.DecimalField(max_digits=18, decimal_places=2)
    aum_at_risk = serializers.DecimalField(max_digits=18, decimal_places=2)
    expected_aum_at_risk = serializers.DecimalField(max_digits=18, decimal_places=2)
    priority = serializers.FloatField()
    rank = serializers.IntegerField(allow_null=True)
    in_budget = serializers.BooleanField()
    snoozed_until = serializers.DateField(allow_null=True)
    next_step_on = serializers.DateField(allow_null=True)
    reasons = serializers.JSONField()
    reason_texts = serializers.SerializerMethodField(help_text="The reasons in plain words, in the request's language.")
    details = serializers.JSONField()
    steps = AlertStepSerializer(many=True)

    def get_reason_texts(self, alert) -> list[str]:
        return render_reasons(alert.reasons)


class CatalogueTextField(serializers.CharField):
    """A stored message id of the nightly job, shown in the request's language."""

    def to_representation(self, value):
        return catalogue_text(super().to_representation(value))


class AlertEventSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    actor = StaffSerializer(allow_null=True)
    action = serializers.CharField()
    from_status = serializers.CharField()
    to_status = serializers.CharField()
    note = CatalogueTextField()


class AlertDetailSerializer(AlertSerializer):
    dismiss_reason = serializers.CharField()
    close_reason = CatalogueTextField()
    closed_at = serializers.DateTimeField(allow_null=True)
    events = AlertEventSerializer(many=True)


class AlertFilter(django_filters.FilterSet):
    # ``status`` goes to the selector (its default is the workable statuses); the rest narrows its result.
    status = django_filters.MultipleChoiceFilter(choices=AlertStatus.choices, method="noop")
    kind = django_filters.ChoiceFilter(choices=AlertKind.choices)
    in_budget = django_filters.BooleanFilter()
    customer = IdFilter(field_name="customer_id")
    owner = IdFilter(field_name="owner_id")
    branch = django_filters.CharFilter(field_name="branch__code")

    class Meta:
        model = Alert
        fields = ["status", "kind", "in_budget", "customer", "owner", "branch"]

    def noop(self, queryset, name, value):
        return queryset


class AlertPagination(ApiCursorPagination):
    # The stored daily rank is per owner; across owners (a branch head's view) expected value orders.
    ordering = ("-priority", "-pk")


class AlertListApi(ApiView):
    """Alerts on the caller's customers, highest expected value first (RM: only their own)."""

    filter_backends = [DjangoFilterBackend]
    filterset_class = AlertFilter
    pagination_class = AlertPagination
    queryset = Alert.objects.none()

    @extend_schema(tags=TAGS, responses=AlertSerializer(many=True), operation_id="alerts_list")
    def get(self, request):
        filterset = AlertFilter(request.query_params, queryset=Alert.objects.none())
        if not filterset.is_valid():
            raise serializers.ValidationError(filterset.errors)
        status = filterset.form.cleaned_data.get("status") or None
        alerts = selectors.alert_list_for_user(user=request.user, filters={"status": status})
        alerts = filterset.filter_queryset(alerts).select_related("customer__branch", "customer__rm")
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(alerts, request, view=self)
        customer_data_shown(origin=origin_from_request(request), what="alerts", filters=request.query_params.dict(),
                            customer_ids=[a.customer.customer_id for a in page])
        return paginator.get_paginated_response(AlertSerializer(page, many=True).data)


def _alert(request, pk: int) -> Alert:
    # A miss is audited where the scope refuses it (retention.selectors), as on the pages.
    try:
        return selectors.alert_get_for_user(user=request.user, alert_id=pk, origin=origin_from_request(request))
    except Http404:
        raise NotFound() from None


class AlertDetailApi(ApiView):
    """One alert with its checklist and history."""

    @extend_schema(tags=TAGS, responses={200: AlertDetailSerializer, 404: OpenApiResponse(description="Not in scope")},
                   operation_id="alerts_retrieve")
    def get(self, request, pk: int):
        alert = _alert(request, pk)
        customer_viewed(customer=alert.customer, origin=origin_from_request(request), part="alert")
        return Response(AlertDetailSerializer(alert).data)


class _AlertActionApi(ApiView):
    """Runs one service on an alert in scope; answers with the refreshed alert."""

    action_name = ""

    def perform(self, request, alert: Alert, data: dict) -> None:
        """Run the service, handing it the origin: the service writes the audit event."""
        raise NotImplementedError

    def run(self, request, pk: int, input_serializer_class=None):
        alert = _alert(request, pk)
        data = {}
        if input_serializer_class is not None:
            serializer = input_serializer_class(data=request.data)
            serializer.is_valid(raise_exception=True)
            data = serializer.validated_data
        try:
            self.perform(request, alert, data)
        except DjangoPermissionDenied:
            # In scope but not the caller's to work: the same answer as out of scope.
            services.alert_action_refused(alert=alert, action=self.action_name, origin=origin_from_request(request))
            raise NotFound() from None
        return Response(AlertDetailSerializer(selectors.alert_get_for_user(user=request.user, alert_id=pk)).data)


class AlertStartApi(_AlertActionApi):
    """Start working an open or snoozed alert."""

    action_name = "start"

    def perform(self, request, alert, data):
        services.alert_start(alert=alert, user=request.user, origin=origin_from_request(request))

    @extend_schema(tags=TAGS, request=None, responses=AlertDetailSerializer, operation_id="alerts_start")
    def post(self, request, pk: int):
        return self.run(request, pk)


class AlertSnoozeApi(_AlertActionApi):
    """Snooze until a later date; the nightly job reopens it then."""

    action_name = "snooze"

    class AlertSnoozeInputSerializer(serializers.Serializer):
        until = serializers.DateField()
        note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")

    def perform(self, request, alert, data):
        services.alert_snooze(alert=alert, user=request.user, until=data["until"], note=data["note"],
                              origin=origin_from_request(request))

    @extend_schema(tags=TAGS, request=AlertSnoozeInputSerializer, responses=AlertDetailSerializer,
                   operation_id="alerts_snooze")
    def post(self, request, pk: int):
        return self.run(request, pk, self.AlertSnoozeInputSerializer)


class AlertDismissApi(_AlertActionApi):
    """Dismiss with a reason."""

    action_name = "dismiss"

    class AlertDismissInputSerializer(serializers.Serializer):
        reason = serializers.CharField(max_length=2000)

    def perform(self, request, alert, data):
        services.alert_dismiss(alert=alert, user=request.user, reason=data["reason"],
                               origin=origin_from_request(request))

    @extend_schema(tags=TAGS, request=AlertDismissInputSerializer, responses=AlertDetailSerializer,
                   operation_id="alerts_dismiss")
    def post(self, request, pk: int):
        return self.run(request, pk, self.AlertDismissInputSerializer)


class AlertOutcomeApi(_AlertActionApi):
    """Close the alert as retained or lost."""

    action_name = "outcome"

    class AlertOutcomeInputSerializer(serializers.Serializer):
        outcome = serializers.ChoiceField(choices=Outcome.choices)
        note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")

    def perform(self, request, alert, data):
        services.alert_outcome_record(alert=alert, user=request.user, outcome=data["outcome"], note=data["note"],
                                      origin=origin_from_request(request))

    @extend_schema(tags=TAGS, request=AlertOutcomeInputSerializer, responses=AlertDetailSerializer,
                   operation_id="alerts_outcome")
    def post(self, request, pk: int):
        return self.run(request, pk, self.AlertOutcomeInputSerializer)


class AlertContactApi(_AlertActionApi):
    """Log a contact with the alert's customer (writes the contact log, moves the alert on)."""

    action_name = "contact"

    class AlertContactInputSerializer(serializers.Serializer):
        channel = serializers.ChoiceField(choices=ContactChannel.choices)
        result = serializers.ChoiceField(choices=ContactResult.choices)
        note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
        next_step_on = serializers.DateField(required=False, allow_null=True, default=None)

    def perform(self, request, alert, data):
        services.contact_log(alert=alert, user=request.user, channel=data["channel"], result=data["result"],
                             note=data["note"], next_step_on=data["next_step_on"], origin=origin_from_request(request))

    @extend_schema(tags=TAGS, request=AlertContactInputSerializer, responses=AlertDetailSerializer,
                   operation_id="alerts_contact")
    def post(self, request, pk: int):
        return self.run(request, pk, self.AlertContactInputSerializer)


class AlertStepTickApi(_AlertActionApi):
    """Tick (or untick) one checklist step."""

    action_name = "step_tick"

    class AlertStepTickInputSerializer(serializers.Serializer):
        done = serializers.BooleanField(default=True)

    def perform(self, request, alert, data):
        step_id = self.kwargs["step_id"]
        step = AlertStep.objects.filter(pk=step_id, alert=alert).first() if id_in_range(step_id) else None
        if step is None:
            audit_denied(request, object_type="retention.alertstep", object_id=self.kwargs["step_id"],
                         reason="not_in_scope_or_missing")
            raise NotFound()
        services.alert_step_tick(step=step, user=request.user, done=data["done"], origin=origin_from_request(request))

    @extend_schema(tags=TAGS, request=AlertStepTickInputSerializer, responses=AlertDetailSerializer,
                   operation_id="alerts_step_tick")
    def post(self, request, pk: int, step_id: int):
        return self.run(request, pk, self.AlertStepTickInputSerializer)


class _DailyListMixin:
    LIMIT = 200


class InterceptionListApi(ApiView, _DailyListMixin):
    """Large withdrawals and transfers booked for today or tomorrow (the lobby's interception list).
    A short daily list: not paginated, at most 200, in the selector's order."""

    @extend_schema(tags=TAGS, responses=AlertSerializer(many=True), operation_id="interceptions_list")
    def get(self, request):
        alerts = list(selectors.interception_list(user=request.user, today=timezone.localdate())
                      .select_related("playbook", "customer__branch", "customer__rm")
                      .prefetch_related("steps__owner")[: self.LIMIT])
        customer_data_shown(origin=origin_from_request(request), what="interceptions",
                            filters=request.query_params.dict(), customer_ids=[a.customer.customer_id for a in alerts])
        return Response(AlertSerializer(alerts, many=True).data)


class CallbackListApi(ApiView, _DailyListMixin):
    """The branch head's satisfaction callbacks and apologies. Not paginated, at most 200."""

    @extend_schema(tags=TAGS, responses=AlertSerializer(many=True), operation_id="callbacks_list")
    def get(self, request):
        alerts = list(selectors.callback_queue(user=request.user)
                      .select_related("playbook", "customer__branch", "customer__rm")[: self.LIMIT])
        customer_data_shown(origin=origin_from_request(request), what="callbacks",
                            filters=request.query_params.dict(), customer_ids=[a.customer.customer_id for a in alerts])
        return Response(AlertSerializer(alerts, many=True).data)
