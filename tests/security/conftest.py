import pytest

from tests.api.conftest import _test_settings, frozen_day, world  # noqa: F401  (the same small bank)


@pytest.fixture(autouse=True)
def _english(settings):
    """The upload tests assert the English problems the code produces. Requests without
    Accept-Language get settings.LANGUAGE_CODE (zh-hans) from LocaleMiddleware, so pin
    English there as well as for code called directly."""
    from django.utils import translation

    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield
