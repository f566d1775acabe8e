from tests.api.conftest import _test_settings, frozen_day, world  # noqa: F401  (the same small bank)
