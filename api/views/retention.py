"""Branch dashboard and the retention report: aggregates only, no customer is named."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from api.base import ApiView
from api.permissions import IsHeadAnalystOrAdmin
from audit.services import origin_from_request
from customers.services import customer_data_shown
from retention import selectors
from retention.report import retention_report

TAGS = ["retention"]


class _MonthInputSerializer(serializers.Serializer):
    month = serializers.DateField(input_formats=["%Y-%m"], required=False)


class DashboardMeasuresSerializer(serializers.Serializer):
    open_alerts = serializers.IntegerField()
    aum_at_risk = serializers.DecimalField(max_digits=20, decimal_places=2)
    raised = serializers.IntegerField()
    worked = serializers.IntegerField()
    retained_customers = serializers.IntegerField()
    retained_aum = serializers.DecimalField(max_digits=20, decimal_places=2)
    lost_customers = serializers.IntegerField()
    lost_aum = serializers.DecimalField(max_digits=20, decimal_places=2)


class DashboardOwnerSerializer(DashboardMeasuresSerializer):
    owner_id = serializers.IntegerField()
    owner_username = serializers.CharField(source="owner__username")
    owner_name = serializers.CharField(source="owner__display_name")
    owner_role = serializers.CharField(source="owner__role")


class DashboardApi(ApiView):
    """The branch dashboard for a month (default: this month): AUM at risk, alerts raised and
    worked, customers and AUM retained vs lost, in total and per owner. Branch heads, analysts
    and administrators."""

    permission_classes = [IsHeadAnalystOrAdmin]

    class DashboardOutputSerializer(serializers.Serializer):
        month = serializers.DateField()
        totals = DashboardMeasuresSerializer()
        per_owner = DashboardOwnerSerializer(many=True)

    @extend_schema(tags=TAGS, parameters=[OpenApiParameter("month", str, description="YYYY-MM")],
                   responses=DashboardOutputSerializer, operation_id="dashboard_retrieve")
    def get(self, request):
        params = _MonthInputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        month = selectors.dashboard_month(requested=params.validated_data.get("month"), today=timezone.localdate())
        board = selectors.branch_dashboard(user=request.user, month=month)
        customer_data_shown(origin=origin_from_request(request), what="dashboard",
                            filters={"month": month.strftime("%Y-%m")}, customer_ids=[], rows=len(board["per_owner"]))
        return Response(self.DashboardOutputSerializer(board).data)


class IntervalSerializer(serializers.Serializer):
    estimate = serializers.FloatField()
    low = serializers.FloatField()
    high = serializers.FloatField()


class GroupStatsSerializer(serializers.Serializer):
    n = serializers.IntegerField()
    retained = serializers.IntegerField()
    retention_rate = serializers.FloatField(allow_null=True)
    aum_kept_total = serializers.FloatField()
    aum_kept_mean = serializers.FloatField(allow_null=True)


class RetentionReportApi(ApiView):
    """Did the playbooks keep customers? Worked vs held-out alerts with a measured outcome,
    per playbook or per branch, with 95% intervals. Branch heads see their branch's alerts;
    analysts and administrators the whole bank."""

    permission_classes = [IsHeadAnalystOrAdmin]

    class RetentionReportInputSerializer(serializers.Serializer):
        group_by = serializers.ChoiceField(choices=["playbook", "branch"], default="playbook")

    class RetentionReportRowSerializer(serializers.Serializer):
        key = serializers.CharField()
        # Declared fields are taken off the class by DRF's metaclass: this does not replace
        # Field.label, whatever the stubs think.
        label = serializers.CharField()  # type: ignore[assignment]
        worked = GroupStatsSerializer()
        held_out = GroupStatsSerializer()
        retention_difference = IntervalSerializer(allow_null=True)
        aum_kept_difference = IntervalSerializer(allow_null=True)
        retention_effect = serializers.BooleanField()
        aum_effect = serializers.BooleanField()
        verdict = serializers.CharField()

    @extend_schema(tags=TAGS, parameters=[RetentionReportInputSerializer],
                   responses=RetentionReportRowSerializer(many=True), operation_id="retention_report")
    def get(self, request):
        params = self.RetentionReportInputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        measured = selectors.measured_alerts_for_user(user=request.user)
        rows = retention_report(group_by=params.validated_data["group_by"], alerts=measured)
        return Response(self.RetentionReportRowSerializer(rows, many=True).data)

