from django.contrib import admin

from retention import models


class PlaybookStepInline(admin.TabularInline):
    model = models.PlaybookStep
    extra = 0
    fields = ["order", "owner_role", "due_offset_days", "channel", "text_zh", "text_en"]


@admin.register(models.Playbook)
class PlaybookAdmin(admin.ModelAdmin):
    list_display = ["key", "name_zh", "name_en", "segment", "alert_kind", "is_active", "control_share",
                    "save_rate_prior"]
    list_filter = ["is_active", "segment", "alert_kind"]
    search_fields = ["key", "name_zh", "name_en"]
    inlines = [PlaybookStepInline]


@admin.register(models.PlaybookStep)
class PlaybookStepAdmin(admin.ModelAdmin):
    list_display = ["playbook", "order", "owner_role", "due_offset_days", "channel", "text_en"]
    list_filter = ["playbook", "owner_role", "channel"]
    search_fields = ["text_zh", "text_en", "playbook__key"]
    list_select_related = ["playbook"]


class AlertStepInline(admin.TabularInline):
    model = models.AlertStep
    extra = 0
    fields = ["order", "owner_role", "owner", "channel", "due_on", "text_zh", "text_en", "done_at", "done_by"]
    raw_id_fields = ["owner", "done_by"]
    readonly_fields = ["done_at", "done_by"]


class AlertEventInline(admin.TabularInline):
    model = models.AlertEvent
    extra = 0
    can_delete = False
    fields = readonly_fields = ("at", "actor", "action", "from_status", "to_status", "note")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(models.Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ["pk", "customer", "kind", "status", "owner", "branch", "priority", "rank", "in_budget",
                    "is_control", "raised_on", "outcome"]
    list_filter = ["status", "kind", "is_control", "in_budget", "outcome", "owner_role", "branch", "playbook"]
    search_fields = ["customer__customer_id", "customer__name", "owner__username", "owner__display_name"]
    raw_id_fields = ["customer", "owner"]
    list_select_related = ["customer", "owner", "branch"]
    date_hierarchy = "raised_on"
    # The draw and the measured outcome are evidence for the report: not editable by hand.
    readonly_fields = ["is_control", "control_draw", "outcome", "outcome_measured_on", "aum_kept",
                       "aum_at_window_start", "created_at", "updated_at"]
    inlines = [AlertStepInline, AlertEventInline]
    show_full_result_count = False


@admin.register(models.AlertStep)
class AlertStepAdmin(admin.ModelAdmin):
    list_display = ["alert", "order", "owner_role", "owner", "channel", "due_on", "done_at"]
    list_filter = ["owner_role", "channel", "due_on"]
    search_fields = ["alert__customer__customer_id", "alert__customer__name", "text_zh", "text_en"]
    raw_id_fields = ["alert", "owner", "done_by", "playbook_step"]


@admin.register(models.AlertEvent)
class AlertEventAdmin(admin.ModelAdmin):
    list_display = ["alert", "at", "actor", "action", "from_status", "to_status"]
    list_filter = ["action", "to_status"]
    search_fields = ["alert__customer__customer_id", "actor__username", "note"]
    raw_id_fields = ["alert", "actor"]
    date_hierarchy = "at"

    # History is evidence: read-only in the admin.
    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(models.PrizeDraw)
class PrizeDrawAdmin(admin.ModelAdmin):
    list_display = ["month", "winners_count", "run_by", "run_by_name", "run_at", "seed"]
    list_filter = ["month"]
    search_fields = ["seed", "run_by_name", "run_by__username"]
    readonly_fields = ["month", "seed", "winners_count", "eligible", "winners", "run_by", "run_by_name", "run_at"]

    def has_add_permission(self, request):
        # Draws are run with `manage.py prize_draw`, which records the seed and who ran it.
        return False
