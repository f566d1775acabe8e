from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebConfig(AppConfig):
    """The staff pages: every role's screens, above the domain apps (customers ← churn ← retention)."""

    name = "web"
    verbose_name = _("Staff pages")
