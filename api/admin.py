"""API tokens in the Django admin: issued here (the plaintext is shown once, on the
page that answers the form, never stored, never put in a cookie or message) and revoked
here (kept, with the time of revocation, so the audit trail still names them)."""

from __future__ import annotations

import secrets

from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from api.models import TOKEN_PREFIX_LENGTH, ApiToken, token_digest
from audit.models import AuditAction
from audit.services import audit_record


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "prefix", "created_at", "created_by", "expires_at", "revoked_at", "last_used_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "user__username", "prefix"]
    raw_id_fields = ["user"]
    actions = ["revoke"]
    fields = ["user", "name", "expires_at", "prefix", "created_at", "created_by", "revoked_at", "last_used_at"]
    readonly_fields = ["prefix", "created_at", "created_by", "revoked_at", "last_used_at"]

    def get_readonly_fields(self, request, obj=None):
        # Once issued, a token acts for the same user for ever: issue a new one instead.
        return [*self.readonly_fields, "user"] if obj is not None else self.readonly_fields

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if not change:
            plaintext = secrets.token_urlsafe(32)
            obj.prefix = plaintext[:TOKEN_PREFIX_LENGTH]
            obj.digest = token_digest(plaintext)
            obj.created_by = request.user
            request._issued_token_plaintext = plaintext
        super().save_model(request, obj, form, change)
        audit_record(action=AuditAction.CHANGE, request=request, obj=obj,
                     detail={"api_token": "issued" if not change else "changed", "user": obj.user.get_username(),
                             "prefix": obj.prefix})

    def response_add(self, request, obj, post_url_continue=None):
        plaintext = getattr(request, "_issued_token_plaintext", None)
        if plaintext is None:
            return super().response_add(request, obj, post_url_continue)
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "token": obj,
                   "plaintext": plaintext, "title": _("API token issued")}
        response = TemplateResponse(request, "admin/api/apitoken/issued.html", context)
        response["Cache-Control"] = "no-store"
        return response

    @admin.action(description=_("Revoke selected tokens"))
    def revoke(self, request, queryset):
        now = timezone.now()
        tokens = list(queryset.filter(revoked_at__isnull=True))
        for token in tokens:
            ApiToken.objects.filter(pk=token.pk).update(revoked_at=now)
            audit_record(action=AuditAction.CHANGE, request=request, obj=token,
                         detail={"api_token": "revoked", "user": token.user.get_username(), "prefix": token.prefix})
        self.message_user(request, _("%(count)d token(s) revoked.") % {"count": len(tokens)}, messages.SUCCESS)
