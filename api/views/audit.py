"""The audit trail, for administrators: read and export. Reading or exporting it is itself audited."""

from __future__ import annotations

import django_filters
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers

from api.base import ApiView
from api.pagination import ApiCursorPagination
from api.permissions import IsAdmin
from audit.exports import audit_events_csv
from audit.models import AuditAction, AuditEvent
from audit.services import audit_list_viewed, origin_from_request

TAGS = ["audit"]
EXPORT_MAX_ROWS = 100_000


class AuditEventFilter(django_filters.FilterSet):
    action = django_filters.ChoiceFilter(choices=AuditAction.choices)
    actor = django_filters.CharFilter(field_name="actor_name")
    customer = django_filters.CharFilter(field_name="customer__customer_id")
    since = django_filters.IsoDateTimeFilter(field_name="at", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="at", lookup_expr="lt")

    class Meta:
        model = AuditEvent
        fields = ["action", "actor", "customer", "since", "until"]


class AuditEventSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    at = serializers.DateTimeField()
    actor_name = serializers.CharField()
    action = serializers.ChoiceField(choices=AuditAction.choices)
    object_type = serializers.CharField()
    object_id = serializers.CharField()
    customer_id = serializers.CharField(source="customer.customer_id", allow_null=True, default=None)
    ip_address = serializers.IPAddressField(allow_null=True)
    path = serializers.CharField()
    detail = serializers.JSONField()


def _events(request):
    filterset = AuditEventFilter(request.query_params, queryset=AuditEvent.objects.select_related("customer"))
    if not filterset.is_valid():
        raise serializers.ValidationError(filterset.errors)
    return filterset.qs


class AuditEventListApi(ApiView):
    """Audit events, newest first."""

    permission_classes = [IsAdmin]
    filter_backends = [DjangoFilterBackend]
    filterset_class = AuditEventFilter
    queryset = AuditEvent.objects.none()
    pagination_class = ApiCursorPagination

    @extend_schema(tags=TAGS, responses=AuditEventSerializer(many=True), operation_id="audit_events_list")
    def get(self, request):
        events = _events(request)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(events, request, view=self)
        data = AuditEventSerializer(page, many=True).data
        audit_list_viewed(origin=origin_from_request(request), what="audit_events",
                          filters=request.query_params.dict(), rows=len(page))
        return paginator.get_paginated_response(data)


class AuditEventExportApi(ApiView):
    """The audit events matching the filters as CSV (at most 100,000, newest first)."""

    permission_classes = [IsAdmin]
    filter_backends = [DjangoFilterBackend]
    filterset_class = AuditEventFilter
    queryset = AuditEvent.objects.none()

    @extend_schema(tags=TAGS, filters=True,
                   responses={(200, "text/csv"): OpenApiResponse(response=str, description="CSV, UTF-8 with BOM")},
                   operation_id="audit_events_export")
    def get(self, request):
        events = _events(request).order_by("-pk")[:EXPORT_MAX_ROWS]
        response, count = audit_events_csv(events)
        audit_list_viewed(origin=origin_from_request(request), what="audit_events", action=AuditAction.EXPORT,
                          filters=request.query_params.dict(), rows=count)
        return response
