import logging

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = _("REST API")

    def ready(self) -> None:
        from api import schema  # noqa: F401  (registers the token auth scheme with drf-spectacular)

        # django-axes logs every login, success or failure, at INFO with the user name and path;
        # the audit trail records the same with access control around it. Warnings still show.
        logging.getLogger("axes").setLevel(logging.WARNING)
