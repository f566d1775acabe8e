"""retention.conf: every setting has one default, read through the typed reader."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured

from churn import conf as churn_conf
from core.conf import IN_SETTINGS
from retention import conf


def test_a_setting_marked_as_defaulted_in_the_settings_module_is_defined_there():
    # Its default is written in config/settings.py (where the environment is read), not here.
    for name, (default, _kind) in conf.DEFAULTS.items():
        if default is IN_SETTINGS:
            assert hasattr(django_settings, name), name


def test_every_reader_answers_with_the_default_settings():
    readers = [getattr(conf, name) for name in dir(conf) if not name.startswith("_") and callable(getattr(conf, name))
               and getattr(conf, name).__module__ == conf.__name__]
    assert len(readers) > 20
    for reader in readers:
        reader()


def test_an_environment_backed_setting_is_read_from_the_settings(settings):
    settings.RETENTION_DAILY_BUDGET = 4
    settings.RETENTION_COMPETITOR_MATURITY_DAYS = "9"
    assert conf.daily_budget() == 4
    assert conf.competitor_maturity_days() == 9


def test_a_malformed_value_fails_loudly(settings):
    settings.RETENTION_CONTROL_SHARE = "a tenth"
    with pytest.raises(ImproperlyConfigured, match="RETENTION_CONTROL_SHARE"):
        conf.control_share()


def test_the_shared_settings_are_the_churn_engines_and_the_bank_datas(settings):
    settings.CHURN_WINDOW_MONTHS = 4
    settings.AUM_TIER_FLOORS = {"gold": 1, "platinum": 2, "private": 3}
    assert conf.churn_window_months() == churn_conf.window_months() == 4
    assert conf.tier_floors() == churn_conf.tier_floors() == {"gold": 1.0, "platinum": 2.0, "private": 3.0}
