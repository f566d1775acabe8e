import logging

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = _("REST API")

    def ready(self) -> None:
        from api import schema  # noqa: F401  (registers the token auth scheme with drf-spectacular)

        # The API's rate limit counts in the shared cache; when that cache is the database's
        # (no CACHE_URL), migrate creates its table, so a checkout, the demo and the tests need
        # no extra step. After every migrate, not in a migration: switching CACHE_URL from
        # Redis back to the database later must find the table too.
        post_migrate.connect(_cache_tables_create, sender=self)

        # django-axes logs every login, success or failure, at INFO with the user name and path;
        # the audit trail records the same with access control around it. Warnings still show.
        logging.getLogger("axes").setLevel(logging.WARNING)


def _cache_tables_create(using: str, **kwargs) -> None:
    from django.core.management import call_command

    # Idempotent: creates only the database caches' tables that are missing.
    call_command("createcachetable", database=using, verbosity=0)
