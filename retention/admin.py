from django.contrib import admin

from retention import models


class PlaybookStepInline(admin.TabularInline):
    model = models.PlaybookStep
    extra = 0
    fields = ["order", "owner_role", "due_offset_days", "channel", "text_zh", "text_en"]


@admin.register(models.Playbook)
class PlaybookAdmin(admin.ModelAdmin):
    list_display = ["key", "name_zh", "name_en", "segment", "signal_kind", "is_active", "save_rate_prior"]
    list_filter = ["is_active", "segment", "signal_kind"]
    search_fields = ["key", "name_zh", "name_en"]
    inlines = [PlaybookStepInline]


@admin.register(models.PlaybookStep)
class PlaybookStepAdmin(admin.ModelAdmin):
    list_display = ["playbook", "order", "owner_role", "due_offset_days", "channel", "text_en"]
    list_filter = ["playbook", "owner_role", "channel"]
    search_fields = ["text_zh", "text_en", "playbook__key"]
    list_select_related = ["playbook"]


class SignalInline(admin.TabularInline):
    model = models.Signal
    extra = 0
    can_delete = False
    fields = readonly_fields = ("kind", "is_active", "first_seen_on", "last_seen_on", "event_on", "priority",
                                "cleared_on", "clear_reason")

    def has_add_permission(self, request, obj=None):
        return False


class TaskInline(admin.TabularInline):
    model = models.Task
    extra = 0
    fields = ["order", "owner_role", "owner", "channel", "due_on", "text_zh", "text_en", "status", "done_at",
              "done_by", "outcome"]
    raw_id_fields = ["owner", "done_by"]
    readonly_fields = ["status", "done_at", "done_by", "outcome"]


class CaseEventInline(admin.TabularInline):
    model = models.CaseEvent
    extra = 0
    can_delete = False
    fields = readonly_fields = ("at", "actor", "action", "from_status", "to_status", "note")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(models.Case)
class CaseAdmin(admin.ModelAdmin):
    list_display = ["pk", "customer", "kind", "leading_kind", "status", "owner", "branch", "priority", "rank",
                    "in_budget", "is_control", "opened_on", "outcome"]
    list_filter = ["status", "kind", "leading_kind", "is_control", "in_budget", "outcome", "branch", "playbook"]
    search_fields = ["customer__customer_id", "customer__name", "owner__username", "owner__display_name"]
    raw_id_fields = ["customer", "owner", "closed_by"]
    list_select_related = ["customer", "owner", "branch"]
    date_hierarchy = "opened_on"
    # The draw and the measured outcome are evidence for the report: not editable by hand.
    readonly_fields = ["is_control", "control_period", "control_draw", "outcome", "outcome_measured_on", "aum_kept",
                       "aum_at_window_start", "worked_at", "created_at", "updated_at"]
    inlines = [SignalInline, TaskInline, CaseEventInline]
    show_full_result_count = False


@admin.register(models.Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ["case", "order", "owner_role", "owner", "channel", "due_on", "status", "done_at"]
    list_filter = ["owner_role", "channel", "status", "due_on"]
    search_fields = ["case__customer__customer_id", "case__customer__name", "text_zh", "text_en"]
    raw_id_fields = ["case", "signal", "owner", "done_by", "playbook_step", "contact"]


@admin.register(models.CaseEvent)
class CaseEventAdmin(admin.ModelAdmin):
    list_display = ["case", "at", "actor", "action", "from_status", "to_status"]
    list_filter = ["action", "to_status"]
    search_fields = ["case__customer__customer_id", "actor__username", "note"]
    raw_id_fields = ["case", "task", "actor"]
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
