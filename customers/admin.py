from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group, Permission
from django.http import HttpRequest
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from audit.services import origin_from_request
from customers import models
from customers.masking import mask
from customers.permissions import user_can_reveal_personal_data
from customers.services import customer_data_shown, customer_viewed


@admin.register(models.Branch)
class BranchAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "city"]
    search_fields = ["code", "name", "city"]
    list_filter = ["city"]


# Django stores a permission's name in English when it migrates ("Can view customer"): the
# admin's permission pickers say it again in the reader's language.
_PERMISSION_ACTIONS = {
    "add": _("Can add %(model)s"), "change": _("Can change %(model)s"),
    "delete": _("Can delete %(model)s"), "view": _("Can view %(model)s"),
}


def permission_label(permission: Permission) -> str:
    """"app | model | what it allows", in the active language."""
    content_type = permission.content_type
    model = content_type.model_class()
    if model is None:
        return str(permission)
    opts = model._meta
    action, _sep, model_name = permission.codename.partition("_")
    if action in _PERMISSION_ACTIONS and model_name == opts.model_name:
        name = str(_PERMISSION_ACTIONS[action]) % {"model": opts.verbose_name}
    else:  # a permission of our own: its stored name is a msgid of the catalogue
        name = gettext(permission.name)
    return f"{opts.app_config.verbose_name} | {opts.verbose_name} | {name}"


class _TranslatedPermissions:
    def formfield_for_manytomany(self, db_field, request, **kwargs):
        field = super().formfield_for_manytomany(db_field, request, **kwargs)  # type: ignore[misc]
        if db_field.name in ("permissions", "user_permissions") and field is not None:
            field.label_from_instance = permission_label
        return field


admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(_TranslatedPermissions, BaseGroupAdmin):
    pass


@admin.register(models.User)
class UserAdmin(_TranslatedPermissions, BaseUserAdmin):
    list_display = ["username", "display_name", "staff_code", "role", "branch", "is_active"]
    list_filter = ["role", "branch", "is_active", "is_staff"]
    search_fields = ["username", "display_name", "staff_code", "email"]
    fieldsets = (
        *(BaseUserAdmin.fieldsets or ()),
        (_("Bank"), {"fields": ["staff_code", "display_name", "branch", "role", "language"]}),
    )
    add_fieldsets = BaseUserAdmin.add_fieldsets + (
        (_("Bank"), {"fields": ["staff_code", "display_name", "branch", "role"]}),
    )


# Field -> the read-only, masked stand-in shown to staff without the reveal permission.
MASKED_FIELDS = {"id_number": "masked_id_number", "phone": "masked_phone"}


@admin.register(models.Customer)
class CustomerAdmin(admin.ModelAdmin):
    """Customers in the admin follow the pages' rules: ID number and phone masked unless the
    user holds ``customers.reveal_personal_data`` — shown as read-only masked text, and left
    out of the form altogether, so that no widget, initial value or view-only rendering
    carries the raw value — and every change form opened is a customer view in the audit
    trail (changes are audited from the admin's log, audit/signals.py)."""

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

    @admin.display(description=_("ID number"))
    def masked_id_number(self, customer: models.Customer) -> str:
        return mask(customer.id_number)

    @admin.display(description=_("phone"))
    def masked_phone(self, customer: models.Customer) -> str:
        return mask(customer.phone)

    def _reveals(self, request: HttpRequest) -> bool:
        return user_can_reveal_personal_data(request.user)

    def get_fields(self, request, obj=None):
        fields = list(super().get_fields(request, obj))
        if self._reveals(request):
            return fields
        if obj is None:
            # Adding a customer means typing the values in: nothing to reveal yet.
            return fields
        return [MASKED_FIELDS.get(name, name) if isinstance(name, str) else name for name in fields]

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None and not self._reveals(request):
            readonly += list(MASKED_FIELDS.values())
        return readonly

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method == "GET":
            customer = self.get_object(request, object_id)
            if customer is not None and self.has_view_or_change_permission(request, customer):
                customer_viewed(customer=customer, origin=origin_from_request(request, via="admin"), part="admin")
        return super().change_view(request, object_id, form_url=form_url, extra_context=extra_context)

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context=extra_context)
        changelist = getattr(response, "context_data", {}).get("cl") if hasattr(response, "context_data") else None
        if changelist is not None:
            customer_data_shown(origin=origin_from_request(request, via="admin"), what="admin.customers",
                                filters=request.GET.dict(),
                                customer_ids=[customer.customer_id for customer in changelist.result_list])
        return response


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
