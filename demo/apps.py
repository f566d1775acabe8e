from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DemoConfig(AppConfig):
    """The demo bank, its logins and ``setup_demo``: on top of every other app, used by nothing."""

    name = "demo"
    verbose_name = _("Demo bank")
