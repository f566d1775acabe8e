from django.contrib import admin

from churn.models import ChurnScore, ModelVersion, NightlyChunk, NightlyRun


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ("id", "created_at", "algorithm", "evaluation_month", "is_active", "activation_note")
    list_filter = ("is_active",)
    search_fields = ("algorithm", "activation_note", "artifact_sha256")
    readonly_fields = ("created_at", "artifact_path", "artifact_sha256", "format_version", "is_active")


class NightlyChunkInline(admin.TabularInline):
    model = NightlyChunk
    extra = 0
    can_delete = False
    readonly_fields = ("first_id", "last_id", "status", "customers_scored", "customers_skipped", "attempts",
                       "error", "finished_at")


@admin.register(NightlyRun)
class NightlyRunAdmin(admin.ModelAdmin):
    list_display = ("run_date", "status", "model_version", "chunks_done", "chunks_total", "customers_scored",
                    "started_at", "finished_at")
    list_filter = ("status",)
    date_hierarchy = "run_date"
    inlines = [NightlyChunkInline]


@admin.register(ChurnScore)
class ChurnScoreAdmin(admin.ModelAdmin):
    list_display = ("customer", "scored_on", "probability", "risk_band", "aum", "expected_aum_at_risk",
                    "model_version", "is_month_end")
    list_filter = ("risk_band", "is_month_end", "scored_on", "model_version")
    search_fields = ("customer__customer_id", "customer__name")
    raw_id_fields = ("customer",)
    list_select_related = ("customer", "model_version")
    show_full_result_count = False  # counting millions of scores on every page load is slow
