from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from customers import models


@admin.register(models.Branch)
class BranchAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "city"]
    search_fields = ["code", "name", "city"]
    list_filter = ["city"]


@admin.register(models.User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "display_name", "staff_code", "role", "branch", "is_active"]
    list_filter = ["role", "branch", "is_active", "is_staff"]
    search_fields = ["username", "display_name", "staff_code", "email"]
    fieldsets = BaseUserAdmin.fieldsets + ((_("Bank"), {"fields": ["staff_code", "display_name", "branch", "role"]}),)
    add_fieldsets = BaseUserAdmin.add_fieldsets + (
        (_("Bank"), {"fields": ["staff_code", "display_name", "branch", "role"]}),
    )


@admin.register(models.Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = [
        "customer_id",
        "name",
        "branch",
        "rm",
        "tier",
        "segment",
        "segment_override",
        "status",
        "latest_aum",
    ]
    list_filter = ["status", "tier", "segment", "branch"]
    search_fields = ["customer_id", "name", "phone_tail", "id_tail"]
    raw_id_fields = ["rm"]
    list_select_related = ["branch", "rm"]
    readonly_fields = ["phone_tail", "id_tail", "latest_aum", "latest_month"]


@admin.register(models.MonthlyBalance)
class MonthlyBalanceAdmin(admin.ModelAdmin):
    list_display = ["customer", "month", "aum", "deposit_balance", "wealth_balance", "loan_balance", "status"]
    list_filter = ["month", "status"]
    search_fields = ["customer__customer_id", "customer__name"]
    raw_id_fields = ["customer"]
    list_select_related = ["customer"]
    date_hierarchy = "month"
    show_full_result_count = False


class ProductYieldInline(admin.TabularInline):
    model = models.ProductYield
    extra = 0


@admin.register(models.Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["product_code", "name", "provider", "is_ours", "kind", "yield_pct", "term_days"]
    list_filter = ["is_ours", "kind", "provider"]
    search_fields = ["product_code", "name", "provider"]
    inlines = [ProductYieldInline]


@admin.register(models.Holding)
class HoldingAdmin(admin.ModelAdmin):
    list_display = ["customer", "product", "amount", "start_on", "maturity_on"]
    list_filter = ["product__is_ours", "product__kind"]
    search_fields = ["customer__customer_id", "customer__name", "product__product_code", "product__name"]
    raw_id_fields = ["customer", "product"]
    list_select_related = ["customer", "product"]
    date_hierarchy = "maturity_on"


@admin.register(models.Survey)
class SurveyAdmin(admin.ModelAdmin):
    list_display = ["customer", "surveyed_on", "score", "channel"]
    list_filter = ["channel", "score"]
    search_fields = ["customer__customer_id", "customer__name", "comment"]
    raw_id_fields = ["customer"]
    list_select_related = ["customer"]
    date_hierarchy = "surveyed_on"


@admin.register(models.Appointment)
class AppointmentAdmin(admin.ModelAdmin):
    list_display = ["customer", "kind", "amount", "scheduled_on"]
    list_filter = ["kind"]
    search_fields = ["customer__customer_id", "customer__name"]
    raw_id_fields = ["customer"]
    list_select_related = ["customer"]
    date_hierarchy = "scheduled_on"


@admin.register(models.ContactLog)
class ContactLogAdmin(admin.ModelAdmin):
    list_display = ["customer", "staff", "contacted_at", "channel", "result", "next_step_on"]
    list_filter = ["channel", "result"]
    search_fields = ["customer__customer_id", "customer__name", "note"]
    raw_id_fields = ["customer", "staff"]
    list_select_related = ["customer", "staff"]
    date_hierarchy = "contacted_at"
