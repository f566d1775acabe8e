from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from audit.exports import audit_events_csv
from audit.models import AuditAction, AuditEvent
from audit.services import audit_record


class ObjectTypeFilter(admin.AllValuesFieldListFilter):
    """The object types in the trail; events about no object (a login) have an empty one, listed
    as the admin's empty value rather than as a link without text."""

    def choices(self, changelist):
        for choice in super().choices(changelist):
            yield {**choice, "display": choice["display"] or self.empty_value_display}


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["at", "actor_name", "action", "object_type", "object_id", "customer", "ip_address"]
    list_filter = ["action", ("object_type", ObjectTypeFilter)]
    search_fields = ["actor_name", "object_id", "customer__customer_id", "path"]
    date_hierarchy = "at"
    raw_id_fields = ["actor", "customer"]
    actions = ["export_csv"]

    # Viewable, never editable: the trail is evidence.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Export selected events as CSV"))
    def export_csv(self, request, queryset):
        # The same spreadsheet-safe CSV as the API's export; the export is itself audited.
        response, count = audit_events_csv(queryset.select_related("customer").order_by("-pk"))
        audit_record(action=AuditAction.EXPORT, request=request,
                     detail={"via": "admin", "what": "audit_events", "rows": count})
        return response
