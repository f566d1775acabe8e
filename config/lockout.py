"""The login lockout (django-axes) as the admin shows it: a section named in the reader's
language, and the admin's words that axes leaves untranslatable (a count formatted into the
message before translation, columns named after methods) said through the catalogue."""

from __future__ import annotations

from axes.apps import AppConfig as AxesAppConfig
from django.utils.translation import gettext_lazy as _


class LockoutConfig(AxesAppConfig):
    verbose_name = _("Login lockout")

    def ready(self) -> None:
        super().ready()
        # The admin's autodiscovery (django.contrib.admin, earlier in INSTALLED_APPS) has
        # registered axes' own admin by now; this one replaces it.
        from config import lockout_admin

        lockout_admin.register()
