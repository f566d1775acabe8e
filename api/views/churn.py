"""Model versions, retraining and nightly runs: analysts and administrators."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from api.base import ApiView, scoped_get
from api.pagination import ApiCursorPagination
from api.permissions import IsAnalystOrAdmin
from audit.services import origin_from_request
from churn.models import ModelVersion, NightlyRun, TrainingRun
from churn.retraining import TrainingBusy
from churn.selectors import model_version_report, nightly_run_get
from churn.tasks import training_run_start
from nightly.selectors import nightly_stages_of
from nightly.services import RunStart
from nightly.tasks import nightly_run_start

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
    """One model version with its evaluation: headline metrics beside the baselines, lift
    curve, calibration and feature importance (``churn.selectors.model_version_report``)."""

    permission_classes = [IsAnalystOrAdmin]

    # The response's shape, for the schema: the version's fields and its report beside them.
    class ModelVersionDetailSerializer(ModelVersionSerializer):
        report = serializers.JSONField()

    @extend_schema(tags=TAGS,
                   responses={200: ModelVersionDetailSerializer, 404: OpenApiResponse(description="Not found")},
                   operation_id="model_versions_retrieve")
    def get(self, request, pk: int):
        version = scoped_get(request, ModelVersion.objects.all(), pk=pk, object_type="churn.modelversion")
        return Response({**ModelVersionSerializer(version).data, "report": model_version_report(version=version)})


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
    # Failed chunks ({"chunk": [first, last], "error"}) and a failed stage ({"stage", "error"}).
    # DRF's serializer metaclass takes declared fields off the class, so this API field does
    # not hide Serializer.errors; the stubs cannot see that.
    errors = serializers.JSONField()  # type: ignore[assignment]
    stages = serializers.SerializerMethodField()

    class StageSerializer(serializers.Serializer):
        name = serializers.CharField()
        status = serializers.CharField()
        started_at = serializers.DateTimeField(allow_null=True)
        finished_at = serializers.DateTimeField(allow_null=True)
        error = serializers.CharField()
        result = serializers.JSONField(allow_null=True)

    @extend_schema_field(StageSerializer(many=True))
    def get_stages(self, run: NightlyRun) -> list[dict]:
        """The chain's stages in order (prepare, score, alerts, reasons), each with its own status and error."""
        # many=True makes a list serializer, whose data is a list (the stubs type it as one dict).
        return list(self.StageSerializer(nightly_stages_of(run=run), many=True).data)


class NightlyRunListApi(ApiView):
    """Nightly scoring runs, newest first."""

    permission_classes = [IsAnalystOrAdmin]
    pagination_class = ApiCursorPagination

    @extend_schema(tags=TAGS, responses=NightlyRunSerializer(many=True), operation_id="nightly_runs_list")
    def get(self, request):
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(NightlyRun.objects.prefetch_related("stages"), request, view=self)
        return paginator.get_paginated_response(NightlyRunSerializer(page, many=True).data)


class NightlyRunStartApi(ApiView):
    """Start the nightly run for today now (a Celery task); poll ``nightly-runs/{run_date}/``."""

    permission_classes = [IsAnalystOrAdmin]

    class NightlyRunStartedSerializer(serializers.Serializer):
        run_date = serializers.DateField()
        # started / resumed (a failed run, at its failed stage): 202; running / done / no_model: 200, nothing started.
        outcome = serializers.ChoiceField(choices=RunStart.choices)

    @extend_schema(tags=TAGS, request=None,
                   responses={202: NightlyRunStartedSerializer, 200: NightlyRunStartedSerializer},
                   operation_id="nightly_runs_start")
    def post(self, request):
        today = timezone.localdate()
        answer = nightly_run_start(run_date=today, origin=origin_from_request(request))
        return Response({"run_date": today.isoformat(), "outcome": str(answer.outcome)},
                        status=status.HTTP_202_ACCEPTED if answer.starts else status.HTTP_200_OK)


class NightlyRunDetailApi(ApiView):
    """One run's progress, by date (YYYY-MM-DD)."""

    permission_classes = [IsAnalystOrAdmin]

    @extend_schema(tags=TAGS, responses={200: NightlyRunSerializer, 404: OpenApiResponse(description="No run")},
                   operation_id="nightly_runs_retrieve")
    def get(self, request, run_date: str):
        try:
            day = dt.date.fromisoformat(run_date)
        except ValueError:
            raise NotFound() from None
        run = nightly_run_get(run_date=day)
        if run is None:
            raise NotFound()
        return Response(NightlyRunSerializer(run).data)


class TrainingRunSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=TrainingRun.Status.choices)
    stage = serializers.ChoiceField(choices=TrainingRun.Stage.choices)
    percent = serializers.IntegerField()
    detail = serializers.CharField()
    force = serializers.BooleanField()
    started_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    model_version = serializers.IntegerField(source="model_version_id", allow_null=True)
    error = serializers.CharField()


class TrainingRunStartApi(ApiView):
    """Start a retraining (a Celery task); poll ``training-runs/{id}/``. 409 while one is running."""

    permission_classes = [IsAnalystOrAdmin]

    class TrainingRunStartSerializer(serializers.Serializer):
        force = serializers.BooleanField(default=False, help_text="activate the new version even if not better")

    @extend_schema(tags=TAGS, request=TrainingRunStartSerializer,
                   responses={202: TrainingRunSerializer, 409: TrainingRunSerializer},
                   operation_id="training_runs_start")
    def post(self, request):
        data = self.TrainingRunStartSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        force = data.validated_data["force"]
        try:
            run = training_run_start(user=request.user, force=force, origin=origin_from_request(request))
        except TrainingBusy as busy:
            return Response(TrainingRunSerializer(busy.run).data, status=status.HTTP_409_CONFLICT)
        return Response(TrainingRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class TrainingRunDetailApi(ApiView):
    """One retraining's stage and progress, and the version it produced."""

    permission_classes = [IsAnalystOrAdmin]

    @extend_schema(tags=TAGS, responses={200: TrainingRunSerializer, 404: OpenApiResponse(description="No run")},
                   operation_id="training_runs_retrieve")
    def get(self, request, pk: int):
        run = TrainingRun.objects.filter(pk=pk).first()
        if run is None:
            raise NotFound()
        return Response(TrainingRunSerializer(run).data)
