"""Watching a model version after it goes live, and its model card: analysts and administrators."""

from __future__ import annotations

from django.utils import translation
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from api.base import ApiView, scoped_get
from api.permissions import IsAnalystOrAdmin
from churn.models import ModelVersion
from churn.monitoring_selectors import model_version_card, model_version_monitoring
from churn.monitoring_text import card_worded, warning_sentence

TAGS = ["models"]
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]


class WarningSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["drift", "performance"])
    subject = serializers.CharField(help_text='"score", a feature name, or "roc_auc"')
    level = serializers.ChoiceField(choices=["watch", "act"])
    first_seen = serializers.DateField()
    detail = serializers.JSONField()
    text = serializers.CharField(help_text="the warning in the requested language")


class ModelVersionMonitoringApi(ApiView):
    """Drift (PSI of the score and the strongest features, latest night and history), realised
    performance per closed month-end beside the training figures (overall, and per branch for
    the latest), group figures (alert rate, recall, precision by age band and gender) and warnings."""

    permission_classes = [IsAnalystOrAdmin]

    class MonitoringSerializer(serializers.Serializer):
        model_version = serializers.IntegerField()
        has_reference = serializers.BooleanField(help_text="false for versions trained before drift was kept")
        drift = serializers.JSONField()
        performance = serializers.JSONField()
        groups = serializers.JSONField()
        warnings = WarningSerializer(many=True)

    @extend_schema(tags=TAGS, responses={200: MonitoringSerializer, 404: OpenApiResponse(description="Not found")},
                   operation_id="model_versions_monitoring")
    def get(self, request, pk: int):
        version = scoped_get(request, ModelVersion.objects.all(), pk=pk, object_type="churn.modelversion")
        report = model_version_monitoring(version=version)
        report["warnings"] = [{**w, "text": warning_sentence(w)} for w in report["warnings"]]
        return Response(self.MonitoringSerializer(report).data)


class ModelVersionCardApi(ApiView):
    """The model card of a version in Chinese or English (``language``; default: the request's):
    data months, rows, features, evaluation method, metrics beside the baselines, calibration,
    groups and known limits."""

    permission_classes = [IsAnalystOrAdmin]

    class QuerySerializer(serializers.Serializer):
        language = serializers.ChoiceField(choices=LANGUAGES, required=False)

    class CardSerializer(serializers.Serializer):
        model_version = serializers.IntegerField()
        language = serializers.ChoiceField(choices=LANGUAGES)
        algorithm = serializers.CharField()
        is_active = serializers.BooleanField()
        # Not named "data": that is the serializer's own output.
        training_data = serializers.JSONField(source="data", help_text="month-ends, rows and churn rate")
        features = serializers.ListField(child=serializers.CharField())
        top_features = serializers.ListField(child=serializers.CharField())
        evaluation_method = serializers.CharField()
        evaluation_method_text = serializers.CharField()
        metrics = serializers.JSONField()
        metric_labels = serializers.JSONField()
        calibration = serializers.JSONField()
        groups = serializers.JSONField()
        group_gaps = serializers.JSONField()
        monitoring = serializers.JSONField()
        limits = serializers.JSONField()
        limits_text = serializers.ListField(child=serializers.CharField())

    @extend_schema(tags=TAGS, parameters=[OpenApiParameter("language", str, enum=[code for code, _ in LANGUAGES])],
                   responses={200: CardSerializer, 404: OpenApiResponse(description="Not found")},
                   operation_id="model_versions_card")
    def get(self, request, pk: int):
        query = self.QuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        version = scoped_get(request, ModelVersion.objects.all(), pk=pk, object_type="churn.modelversion")
        language = query.validated_data.get("language") or (
            "en" if (translation.get_language() or "").startswith("en") else "zh-hans")
        with translation.override(language):
            card = card_worded(model_version_card(version=version))
        return Response(self.CardSerializer({**card, "language": language}).data)
