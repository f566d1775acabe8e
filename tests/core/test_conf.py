"""core.conf.setting: the typed settings reader that every app's conf module uses."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from core.conf import IN_SETTINGS, setting


def test_a_setting_is_read_with_its_type(settings):
    settings.SOME_DAYS = "14"
    assert setting("SOME_DAYS", int) == 14


def test_an_unset_setting_falls_back_to_its_one_default():
    assert setting("NOT_DEFINED_ANYWHERE", int, 7) == 7


def test_a_setting_whose_default_lives_in_the_settings_module_must_be_there():
    with pytest.raises(ImproperlyConfigured, match="NOT_DEFINED_ANYWHERE"):
        setting("NOT_DEFINED_ANYWHERE", int, IN_SETTINGS)


def test_a_value_of_the_wrong_type_fails_loudly(settings):
    settings.SOME_DAYS = "fourteen"
    with pytest.raises(ImproperlyConfigured, match="SOME_DAYS must be int"):
        setting("SOME_DAYS", int)
    settings.SOME_NAME = 5
    with pytest.raises(ImproperlyConfigured, match="text"):
        setting("SOME_NAME", str)


def test_a_list_setting_accepts_comma_separated_text_and_refuses_other_things(settings):
    settings.SOME_BANDS = "high, medium"
    assert setting("SOME_BANDS", tuple) == ("high", "medium")
    settings.SOME_BANDS = 3
    with pytest.raises(ImproperlyConfigured):
        setting("SOME_BANDS", tuple)


def test_a_mapping_setting_gives_floats_and_refuses_text_values(settings):
    settings.SOME_FLOORS = {"gold": 10, "platinum": "20"}
    assert setting("SOME_FLOORS", dict) == {"gold": 10.0, "platinum": 20.0}
    settings.SOME_FLOORS = {"gold": "lots"}
    with pytest.raises(ImproperlyConfigured):
        setting("SOME_FLOORS", dict)
