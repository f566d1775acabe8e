"""Branch dashboard and the retention report: aggregates only, no customer is named."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from api.base import ApiView
from api.permissions import IsHeadAnalystOrAdmin
from audit.services import origin_from_request
from customers.services import customer_data_shown
from retention import selectors
from retention.dashboard import EARLIEST_MONTH, branch_dashboard, dashboard_month
from retention.report import retention_report

TAGS = ["retention"]


class _MonthInputSerializer(serializers.Serializer):
    month = serializers.DateField(input_formats=["%Y-%m"], required=False)

    def validate_month(self, value):
        # The same floor as the page's form: the trend steps back six months from the month
        # asked for, and a date cannot go below year 1.
        if value is not None and value < EARLIEST_MONTH:
            raise serializers.ValidationError(_("Choose a month from %(first)s on.") % {"first": "1900-01"})
        return value


class OwnerFiguresSerializer(serializers.Serializer):
    """Shown cases only: open on the as-of day; opened in the month (of which worked); churn
    window ended in the month (measured, retained, lost, AUM kept, AUM that left)."""

    open_cases = serializers.IntegerField()
    shown = serializers.IntegerField()
    worked = serializers.IntegerField()
    windows_ended = serializers.IntegerField()
    measured = serializers.IntegerField()
    retained = serializers.IntegerField()
    lost = serializers.IntegerField()
    aum_kept = serializers.DecimalField(max_digits=20, decimal_places=2)
    aum_lost = serializers.DecimalField(max_digits=20, decimal_places=2)


class DashboardOwnerSerializer(OwnerFiguresSerializer):
    owner_id = serializers.IntegerField()
    owner_name = serializers.CharField(source="name")
    owner_role = serializers.CharField(source="role")


class DashboardTotalsSerializer(OwnerFiguresSerializer):
    """The owners' columns summed, with the cases opened (held out + shown) and the held-out
    cases whose churn window ended in the month."""

    opened = serializers.IntegerField()
    held_out = serializers.IntegerField()
    held_out_windows_ended = serializers.IntegerField()
    held_out_measured = serializers.IntegerField()
    held_out_retained = serializers.IntegerField()
    held_out_lost = serializers.IntegerField()


class BandSerializer(serializers.Serializer):
    band = serializers.CharField()
    customers = serializers.IntegerField()
    expected_aum_at_risk = serializers.DecimalField(max_digits=20, decimal_places=2)


class RiskSerializer(serializers.Serializer):
    scored_on = serializers.DateField(allow_null=True)
    customers = serializers.IntegerField()
    expected_aum_at_risk = serializers.DecimalField(max_digits=20, decimal_places=2)
    bands = BandSerializer(many=True)


class TrendPointSerializer(serializers.Serializer):
    month = serializers.DateField()
    totals = DashboardTotalsSerializer()


class DashboardApi(ApiView):
    """The branch dashboard for a month (default: this month), the page's figures: cases
    opened (held out, shown, worked), shown cases open on the as-of day (the month's last day,
    today for this month), outcomes of the cases whose churn window ended in the month,
    expected AUM at risk by band from the month's last scores, in total and per case owner,
    and the six-month trend. Branch heads, analysts and administrators."""

    permission_classes = [IsHeadAnalystOrAdmin]

    class DashboardOutputSerializer(serializers.Serializer):
        month = serializers.DateField()
        as_of = serializers.DateField()
        totals = DashboardTotalsSerializer()
        per_owner = DashboardOwnerSerializer(many=True)
        risk = RiskSerializer()
        trend = TrendPointSerializer(many=True)

    @extend_schema(tags=TAGS, parameters=[OpenApiParameter("month", str, description="YYYY-MM")],
                   responses=DashboardOutputSerializer, operation_id="dashboard_retrieve")
    def get(self, request):
        params = _MonthInputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        today = timezone.localdate()
        month = dashboard_month(requested=params.validated_data.get("month"), today=today)
        board = branch_dashboard(user=request.user, month=month, today=today)
        customer_data_shown(origin=origin_from_request(request), what="dashboard",
                            filters={"month": month.strftime("%Y-%m")}, customer_ids=[], rows=len(board.per_owner))
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
    """Did the playbooks keep customers? Shown vs held-out cases with a measured outcome, per
    playbook of the leading signal or per branch, with 95% intervals; the worked cases (of the
    shown) beside. Branch heads see their branch's cases; analysts and administrators the bank's."""

    permission_classes = [IsHeadAnalystOrAdmin]

    class RetentionReportInputSerializer(serializers.Serializer):
        group_by = serializers.ChoiceField(choices=["playbook", "branch"], default="playbook")

    class RetentionReportRowSerializer(serializers.Serializer):
        key = serializers.CharField()
        # Declared fields are taken off the class by DRF's metaclass: this does not replace
        # Field.label, whatever the stubs think.
        label = serializers.CharField()  # type: ignore[assignment]
        shown = GroupStatsSerializer()
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
        measured = selectors.measured_cases_for_user(user=request.user)
        rows = retention_report(group_by=params.validated_data["group_by"], cases=measured)
        return Response(self.RetentionReportRowSerializer(rows, many=True).data)

