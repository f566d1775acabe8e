"""Large-transaction appointments on the caller's customers."""

from __future__ import annotations

import django_filters
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import serializers

from api.base import ApiView
from api.pagination import ApiCursorPagination
from api.serializers import CustomerSummarySerializer
from audit.services import origin_from_request
from customers.models import Appointment, AppointmentKind
from customers.selectors import customer_scope
from customers.services import customer_data_shown


class AppointmentFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=AppointmentKind.choices)
    scheduled_from = django_filters.DateFilter(field_name="scheduled_on", lookup_expr="gte")
    scheduled_to = django_filters.DateFilter(field_name="scheduled_on", lookup_expr="lte")
    min_amount = django_filters.NumberFilter(field_name="amount", lookup_expr="gte", min_value=0, max_value=10**15)

    class Meta:
        model = Appointment
        fields = ["kind", "scheduled_from", "scheduled_to", "min_amount"]


class AppointmentPagination(ApiCursorPagination):
    ordering = ("scheduled_on", "pk")


class AppointmentListApi(ApiView):
    """Appointments (large cash withdrawals and transfers) of customers in scope, soonest first."""

    filter_backends = [DjangoFilterBackend]
    filterset_class = AppointmentFilter
    queryset = Appointment.objects.none()
    pagination_class = AppointmentPagination

    class AppointmentOutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        customer = CustomerSummarySerializer()
        kind = serializers.ChoiceField(choices=AppointmentKind.choices)
        amount = serializers.DecimalField(max_digits=18, decimal_places=2)
        scheduled_on = serializers.DateField()

    @extend_schema(tags=["customers"], responses=AppointmentOutputSerializer(many=True),
                   operation_id="appointments_list")
    def get(self, request):
        appointments = Appointment.objects.filter(
            customer__in=customer_scope(user=request.user).values("pk")
        ).select_related("customer__branch", "customer__rm")
        filterset = AppointmentFilter(request.query_params, queryset=appointments)
        if not filterset.is_valid():
            raise serializers.ValidationError(filterset.errors)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(filterset.qs, request, view=self)
        customer_data_shown(origin=origin_from_request(request), what="appointments",
                            filters=request.query_params.dict(), customer_ids=[a.customer.customer_id for a in page])
        return paginator.get_paginated_response(self.AppointmentOutputSerializer(page, many=True).data)
