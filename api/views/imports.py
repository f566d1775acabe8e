"""Importing the bank's interchange files through the API: analysts and administrators.

File-level guards first (customers/importing/uploads.py), then the import engine itself, which
validates every row before writing anything and changes nothing if any row is bad.
The answer carries the error report (file:line:column: reason).
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import APIException
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from api.base import ApiView
from api.permissions import IsAnalystOrAdmin
from audit.services import origin_from_request
from customers import conf as customers_conf
from customers.importing.uploads import KNOWN_NAMES
from customers.services import bank_data_upload_import


class PayloadTooLarge(APIException):
    status_code = 413
    default_detail = "The upload is too large."
    default_code = "too_large"


class ImportFileSerializer(serializers.Serializer):
    name = serializers.CharField()
    rows = serializers.IntegerField()
    inserted = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()


class ImportReportSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    files = ImportFileSerializer(many=True)
    problems = serializers.ListField(child=serializers.CharField(),
                                     help_text="file:line:column: reason — the first problems found")
    problem_count = serializers.IntegerField()
    customers_refreshed = serializers.IntegerField()
    warnings = serializers.ListField(child=serializers.CharField(), required=False,
                                     help_text="imported, but looks wrong: e.g. no product, or every product, is ours")


class ImportCreateApi(ApiView):
    """Upload a set of interchange files (multipart, field ``files``, named as in the format:
    customers.csv, monthly.csv, ...) and import them, all or nothing."""

    permission_classes = [IsAnalystOrAdmin]
    parser_classes = [MultiPartParser]

    class ImportUploadSerializer(serializers.Serializer):
        files = serializers.ListField(child=serializers.FileField(), help_text=", ".join(KNOWN_NAMES))

    @extend_schema(tags=["imports"], request={"multipart/form-data": ImportUploadSerializer},
                   responses={201: ImportReportSerializer, 400: ImportReportSerializer,
                              413: OpenApiResponse(description="Upload too large")},
                   operation_id="imports_create")
    def post(self, request):
        # Refuse an oversized body before Django reads it into temporary files.
        limit = customers_conf.import_max_files() * customers_conf.import_max_file_bytes() + 1024 * 1024
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > limit:
            raise PayloadTooLarge()
        uploads = request.FILES.getlist("files")
        result = bank_data_upload_import(uploads=uploads, origin=origin_from_request(request))
        report = self._report(
            problems=[str(p) for p in result.problems], problem_count=result.problem_count,
            files=[{"name": f.name, "rows": f.rows, "inserted": f.inserted, "updated": f.updated,
                    "unchanged": f.unchanged} for f in result.files],
            customers_refreshed=result.customers_refreshed, warnings=list(result.warnings),
        )
        return Response(report, status=status.HTTP_201_CREATED if result.ok else status.HTTP_400_BAD_REQUEST)

    @staticmethod
    def _report(*, problems: list[str], problem_count: int | None = None, files=None, customers_refreshed=0,
                warnings: list[str] | None = None):
        return ImportReportSerializer({
            "ok": not problems and not problem_count, "files": files or [], "problems": problems,
            "problem_count": len(problems) if problem_count is None else problem_count,
            "customers_refreshed": customers_refreshed, "warnings": warnings or [],
        }).data
