"""Model versions and nightly runs: analysts and administrators."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from api.base import ApiView, scoped_get
from api.pagination import ApiCursorPagination
from api.permissions import IsAnalystOrAdmin
from churn.models import ModelVersion, NightlyRun

TAGS = ["models"]


class ModelVersionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    algorithm = serializers.CharField()
    parameters = serializers.JSONField()
    features = serializers.JSONField()
    train_months = serializers.JSONField()
    evaluation_month = serializers.DateField()
    metrics = serializers.JSONField()
    baselines = serializers.JSONField()
    artifact_sha256 = serializers.CharField()
    format_version = serializers.IntegerField()
    is_active = serializers.BooleanField()
    activation_note = serializers.CharField()


class ModelVersionListApi(ApiView):
    """Trained model versions with their evaluation, newest first."""

    permission_classes = [IsAnalystOrAdmin]
    pagination_class = ApiCursorPagination

    @extend_schema(tags=TAGS, responses=ModelVersionSerializer(many=True), operation_id="model_versions_list")
    def get(self, request):
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(ModelVersion.objects.all(), request, view=self)
        return paginator.get_paginated_response(ModelVersionSerializer(page, many=True).data)


class ModelVersionDetailApi(ApiView):
    """One model version with its evaluation."""

    permission_classes = [IsAnalystOrAdmin]

    @extend_schema(tags=TAGS, responses={200: ModelVersionSerializer, 404: OpenApiResponse(description="Not found")},
                   operation_id="model_versions_retrieve")
    def get(self, request, pk: int):
        version = scoped_get(request, ModelVersion.objects.all(), pk=pk, object_type="churn.modelversion")
        return Response(ModelVersionSerializer(version).data)


class NightlyRunSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    run_date = serializers.DateField()
    model_version = serializers.IntegerField(source="model_version_id", allow_null=True)
    status = serializers.ChoiceField(choices=NightlyRun.Status.choices)
    started_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    chunks_total = serializers.IntegerField()
    chunks_done = serializers.IntegerField()
    customers_scored = serializers.IntegerField()
    errors = serializers.JSONField()


class NightlyRunListApi(ApiView):
    """Nightly scoring runs, newest first."""

    permission_classes = [IsAnalystOrAdmin]
    pagination_class = ApiCursorPagination

    @extend_schema(tags=TAGS, responses=NightlyRunSerializer(many=True), operation_id="nightly_runs_list")
    def get(self, request):
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(NightlyRun.objects.all(), request, view=self)
        return paginator.get_paginated_response(NightlyRunSerializer(page, many=True).data)
