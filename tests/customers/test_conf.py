"""customers.conf: the bank data's settings, read once, checked when read."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from customers import conf


def test_the_tier_floors_and_core_tiers_are_the_configured_ones(settings):
    settings.AUM_TIER_FLOORS = {"gold": 10_000, "platinum": 100_000, "private": 1_000_000}
    settings.CORE_TIERS = "gold,platinum,private"
    assert conf.tier_floors() == {"gold": 10_000.0, "platinum": 100_000.0, "private": 1_000_000.0}
    assert conf.core_tiers() == ("gold", "platinum", "private")


def test_tier_floors_that_do_not_rise_or_miss_a_tier_stop_the_reader(settings):
    settings.AUM_TIER_FLOORS = {"gold": 500_000, "platinum": 50_000, "private": 6_000_000}
    with pytest.raises(ImproperlyConfigured, match="AUM_TIER_FLOORS"):
        conf.tier_floors()
    settings.AUM_TIER_FLOORS = {"gold": 50_000, "platinum": 500_000}
    with pytest.raises(ImproperlyConfigured, match="AUM_TIER_FLOORS"):
        conf.tier_floors()


def test_the_bank_name_and_report_length_come_from_the_settings(settings):
    settings.BANK_NAME = "Hangzhou City Bank"
    settings.IMPORT_MAX_ERRORS_SHOWN = 7
    assert conf.bank_name() == "Hangzhou City Bank"
    assert conf.import_max_errors_shown() == 7
