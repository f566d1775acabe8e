"""Customers: list, search (walk-in lookup), detail, balance history, holdings,
scores, reveal of a masked field, CSV export.

Every read starts from ``customer_scope(user=)``; a customer outside it is a 404.
Every view of a customer's record is audited (a list as one event naming the
customers on the page).
"""

from __future__ import annotations

import django_filters
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response

from api.base import ApiView, IdFilter, scoped_get
from api.pagination import ApiCursorPagination
from api.serializers import CustomerSummarySerializer, MaskedField, StaffSerializer
from audit.services import origin_from_request
from churn.reasons import render_reasons
from core.spreadsheet import csv_response
from customers.models import Customer, CustomerStatus, Segment, Tier
from customers.selectors import customer_scope, effective_segment_is, walkin_lookup
from customers.services import customer_data_shown, customer_field_reveal, customer_viewed

TAGS = ["customers"]


def _scoped_customers(request):
    return customer_scope(user=request.user).select_related("branch", "rm")


def _customer(request, pk) -> Customer:
    return scoped_get(request, _scoped_customers(request), pk=pk, object_type="customers.customer")


def _audit_view(request, customer: Customer, part: str) -> None:
    customer_viewed(customer=customer, origin=origin_from_request(request), part=part)


def _audit_list(request, customers, what: str) -> None:
    customer_data_shown(origin=origin_from_request(request), what=what, filters=request.query_params.dict(),
                        customer_ids=[c.customer_id for c in customers])


class CustomerFilter(django_filters.FilterSet):
    segment = django_filters.ChoiceFilter(choices=Segment.choices, method="filter_segment")
    tier = django_filters.ChoiceFilter(choices=Tier.choices)
    status = django_filters.ChoiceFilter(choices=CustomerStatus.choices)
    branch = django_filters.CharFilter(field_name="branch__code", label="branch code")
    rm = IdFilter(field_name="rm_id", label="RM user id")
    customer_id = django_filters.CharFilter(field_name="customer_id")
    min_aum = django_filters.NumberFilter(field_name="latest_aum", lookup_expr="gte", min_value=0,
                                          max_value=10**15)

    class Meta:
        model = Customer
        fields = ["segment", "tier", "status", "branch", "rm", "customer_id", "min_aum"]

    def filter_segment(self, queryset, name, value):
        return queryset.filter(effective_segment_is(value))


class CustomerListPagination(ApiCursorPagination):
    ordering = "customer_id"


class CustomerListApi(ApiView):
    """Customers in the caller's scope, masked."""

    filter_backends = [DjangoFilterBackend]
    filterset_class = CustomerFilter
    queryset = Customer.objects.none()
    pagination_class = CustomerListPagination

    @extend_schema(tags=TAGS, responses=CustomerSummarySerializer(many=True), operation_id="customers_list")
    def get(self, request):
        filterset = CustomerFilter(request.query_params, queryset=_scoped_customers(request), request=request)
        if not filterset.is_valid():
            raise serializers.ValidationError(filterset.errors)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(filterset.qs, request, view=self)
        _audit_list(request, page, "customers")
        return paginator.get_paginated_response(CustomerSummarySerializer(page, many=True).data)


class CustomerSearchApi(ApiView):
    """Walk-in lookup: a name prefix, or the last four digits of the phone or ID number.
    A POST so that the name typed stays out of URLs, proxy logs and browser history."""

    class CustomerSearchInputSerializer(serializers.Serializer):
        q = serializers.CharField(max_length=100)

    LIMIT = 20

    @extend_schema(tags=TAGS, request=CustomerSearchInputSerializer,
                   responses=CustomerSummarySerializer(many=True), operation_id="customers_search")
    def post(self, request):
        data = self.CustomerSearchInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        # The same audited lookup as the lobby page's (customers.selectors.walkin_lookup).
        matches, _more = walkin_lookup(user=request.user, query=data.validated_data["q"], limit=self.LIMIT,
                                       origin=origin_from_request(request))
        customers = list(Customer.objects.filter(pk__in=[c.pk for c in matches])
                         .select_related("branch", "rm").order_by("name", "pk"))
        return Response(CustomerSummarySerializer(customers, many=True).data)


class LatestScoreSerializer(serializers.Serializer):
    scored_on = serializers.DateField()
    probability = serializers.FloatField()
    risk_band = serializers.CharField()
    expected_aum_at_risk = serializers.DecimalField(max_digits=18, decimal_places=2)
    model_version = serializers.IntegerField(source="model_version_id")


class CustomerDetailApi(ApiView):
    """One customer's record, masked. Audited."""

    class CustomerDetailOutputSerializer(CustomerSummarySerializer):
        gender = serializers.CharField()
        age = serializers.SerializerMethodField()
        opened_on = serializers.DateField(allow_null=True)
        region = serializers.CharField()
        annual_income = serializers.DecimalField(max_digits=16, decimal_places=2, allow_null=True)
        credit_score = serializers.IntegerField(allow_null=True)
        segment_by_rules = serializers.CharField(source="segment")
        segment_override = serializers.CharField()
        segment_override_reason = serializers.CharField()
        latest_month = serializers.DateField(allow_null=True)
        latest_score = serializers.SerializerMethodField()

        def get_age(self, customer) -> int | None:
            if customer.birth_date is None:
                return None
            today = timezone.localdate()
            born = customer.birth_date
            return today.year - born.year - ((today.month, today.day) < (born.month, born.day))

        @extend_schema_field(LatestScoreSerializer(allow_null=True))
        def get_latest_score(self, customer):
            score = customer.churn_scores.order_by("-scored_on").first()
            return LatestScoreSerializer(score).data if score else None

    @extend_schema(tags=TAGS,
                   responses={200: CustomerDetailOutputSerializer, 404: OpenApiResponse(description="Not in scope")},
                   operation_id="customers_retrieve")
    def get(self, request, pk: int):
        customer = _customer(request, pk)
        _audit_view(request, customer, "detail")
        return Response(self.CustomerDetailOutputSerializer(customer).data)


class CustomerRevealApi(ApiView):
    """One masked field in full: the phone for the staff who call the customer, the ID number
    with the ``customers.reveal_personal_data`` permission (``customers.services.REVEAL_RULES``);
    every reveal (and every refused one) is in the audit trail."""

    class CustomerRevealInputSerializer(serializers.Serializer):
        field = serializers.ChoiceField(choices=["id_number", "phone"])

    class CustomerRevealOutputSerializer(serializers.Serializer):
        field = serializers.CharField()
        value = serializers.CharField()

    @extend_schema(tags=TAGS, request=CustomerRevealInputSerializer, responses=CustomerRevealOutputSerializer,
                   operation_id="customers_reveal")
    def post(self, request, pk: int):
        customer = _customer(request, pk)
        data = self.CustomerRevealInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        field = data.validated_data["field"]
        # The same audited reveal as the customer page's.
        value = customer_field_reveal(customer=customer, field=field, origin=origin_from_request(request))
        return Response({"field": field, "value": value})


class BalancePagination(ApiCursorPagination):
    ordering = "-month"


class CustomerBalanceListApi(ApiView):
    """Monthly AUM with its breakdown, newest month first."""

    pagination_class = BalancePagination

    class BalanceOutputSerializer(serializers.Serializer):
        month = serializers.DateField()
        aum = serializers.DecimalField(max_digits=18, decimal_places=2)
        deposit_balance = serializers.DecimalField(max_digits=18, decimal_places=2)
        wealth_balance = serializers.DecimalField(max_digits=18, decimal_places=2)
        loan_balance = serializers.DecimalField(max_digits=18, decimal_places=2)
        card_spend = serializers.DecimalField(max_digits=18, decimal_places=2)
        txn_count = serializers.IntegerField()
        digital_logins = serializers.IntegerField()
        products_held = serializers.IntegerField()
        status = serializers.CharField()

    @extend_schema(tags=TAGS, responses=BalanceOutputSerializer(many=True), operation_id="customers_balances_list")
    def get(self, request, pk: int):
        customer = _customer(request, pk)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(customer.balances.all(), request, view=self)
        _audit_view(request, customer, "balances")
        return paginator.get_paginated_response(self.BalanceOutputSerializer(page, many=True).data)


class CustomerHoldingListApi(ApiView):
    """What the customer holds, ours and competitors', soonest maturity first."""

    pagination_class = ApiCursorPagination

    class HoldingOutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        product_code = serializers.CharField(source="product.product_code")
        product_name = serializers.CharField(source="product.name")
        provider = serializers.CharField(source="product.provider")
        is_ours = serializers.BooleanField(source="product.is_ours")
        kind = serializers.CharField(source="product.kind")
        yield_pct = serializers.DecimalField(source="product.yield_pct", max_digits=7, decimal_places=3,
                                             allow_null=True)
        amount = serializers.DecimalField(max_digits=18, decimal_places=2)
        start_on = serializers.DateField()
        maturity_on = serializers.DateField(allow_null=True)

    @extend_schema(tags=TAGS, responses=HoldingOutputSerializer(many=True), operation_id="customers_holdings_list")
    def get(self, request, pk: int):
        customer = _customer(request, pk)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(customer.holdings.select_related("product"), request, view=self)
        _audit_view(request, customer, "holdings")
        return paginator.get_paginated_response(self.HoldingOutputSerializer(page, many=True).data)


class ScorePagination(ApiCursorPagination):
    ordering = "-scored_on"


class CustomerScoreListApi(ApiView):
    """The customer's churn scores, newest first, with the reasons behind each."""

    pagination_class = ScorePagination

    class ReasonSerializer(serializers.Serializer):
        feature = serializers.CharField()
        contribution = serializers.FloatField()
        value = serializers.FloatField(allow_null=True, required=False)

    class ScoreOutputSerializer(serializers.Serializer):
        scored_on = serializers.DateField()
        probability = serializers.FloatField()
        risk_band = serializers.CharField()
        aum = serializers.DecimalField(max_digits=18, decimal_places=2)
        expected_aum_at_risk = serializers.DecimalField(max_digits=18, decimal_places=2)
        is_month_end = serializers.BooleanField()
        model_version = serializers.IntegerField(source="model_version_id")
        reasons = serializers.JSONField(help_text="The stored reasons: feature, contribution, params.")
        reason_texts = serializers.SerializerMethodField(
            help_text="The reasons in plain words, in the request's language.")

        def get_reason_texts(self, score) -> list[str]:
            return render_reasons(score.reasons)

    @extend_schema(tags=TAGS, responses=ScoreOutputSerializer(many=True), operation_id="customers_scores_list")
    def get(self, request, pk: int):
        customer = _customer(request, pk)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(customer.churn_scores.all(), request, view=self)
        _audit_view(request, customer, "scores")
        return paginator.get_paginated_response(self.ScoreOutputSerializer(page, many=True).data)


class CustomerExportApi(ApiView):
    """The customers in scope (with the list's filters) as CSV: masked, spreadsheet
    formulas neutralised, at most EXPORT_MAX_ROWS rows. Audited as an export."""

    EXPORT_MAX_ROWS = 10_000
    filter_backends = [DjangoFilterBackend]
    filterset_class = CustomerFilter
    queryset = Customer.objects.none()

    @extend_schema(
        tags=TAGS,
        filters=True,
        responses={(200, "text/csv"): OpenApiResponse(response=str, description="CSV, UTF-8 with BOM")},
        operation_id="customers_export",
    )
    def get(self, request):
        filterset = CustomerFilter(request.query_params, queryset=_scoped_customers(request), request=request)
        if not filterset.is_valid():
            raise serializers.ValidationError(filterset.errors)
        customers = filterset.qs.order_by("customer_id")[: self.EXPORT_MAX_ROWS]
        header = ["customer_id", "name", "branch_code", "rm", "segment", "tier", "status", "latest_aum",
                  "phone_masked", "id_number_masked"]
        masked = MaskedField()
        rows = (
            # An empty rm cell: not assigned to an RM (as an empty rm_code in customers.csv).
            [c.customer_id, c.name, c.branch.code, str(c.rm or ""), c.effective_segment, c.tier, c.status,
             str(c.latest_aum), masked.to_representation(c.phone), masked.to_representation(c.id_number)]
            for c in customers
        )
        response, count = csv_response(header=header, rows=rows, filename="customers")
        customer_data_shown(origin=origin_from_request(request), what="customers",
                            filters=request.query_params.dict(), customer_ids=[], rows=count, export=True)
        return response


__all__ = [
    "CustomerListApi", "CustomerSearchApi", "CustomerDetailApi", "CustomerRevealApi", "CustomerBalanceListApi",
    "CustomerHoldingListApi", "CustomerScoreListApi", "CustomerExportApi", "StaffSerializer",
]
