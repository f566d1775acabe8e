"""The lockout's attempts in the admin, every word through the catalogue (see config.lockout)."""

from __future__ import annotations

from axes.admin import AccessAttemptAdmin
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib import admin
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext


class LockoutAttemptAdmin(AccessAttemptAdmin):
    actions = ["cleanup_expired_attempts"]

    @admin.action(description=gettext_lazy("Clean up expired attempts"))
    def cleanup_expired_attempts(self, request, queryset):
        count = self.handler.clean_expired_user_attempts(request=request)
        self.message_user(request, ngettext("Cleaned up %(count)s expired access attempt.",
                                            "Cleaned up %(count)s expired access attempts.", count) % {"count": count})

    @admin.display(description=gettext_lazy("Expires at"))
    def expiration(self, obj: AccessAttempt):
        return obj.expiration.expires_at if hasattr(obj, "expiration") else _("Not set")

    @admin.display(description=gettext_lazy("Status"))
    def status(self, obj: AccessAttempt):
        left = settings.AXES_FAILURE_LIMIT - obj.failures_since_start
        if left > 0:
            return ngettext("%(count)s attempt left", "%(count)s attempts left", left) % {"count": left}
        return _("Locked Out")


def register() -> None:
    if admin.site.is_registered(AccessAttempt):
        admin.site.unregister(AccessAttempt)
    admin.site.register(AccessAttempt, LockoutAttemptAdmin)
