from django.contrib import admin

from audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["at", "actor_name", "action", "object_type", "object_id", "customer", "ip_address"]
    list_filter = ["action", "object_type"]
    search_fields = ["actor_name", "object_id", "customer__customer_id", "path"]
    date_hierarchy = "at"
    raw_id_fields = ["actor", "customer"]

    # Viewable, never editable: the trail is evidence.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
