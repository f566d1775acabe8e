"""A snooze ends within a configurable horizon (the page and the API say why they refuse)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from retention.models import Case, CaseStatus
from tests.api import conftest as api_world
from tests.api.conftest import TODAY

pytestmark = pytest.mark.django_db

# The API tests' small bank (tests/api/conftest.py), with its settings and frozen day.
world = api_world.world
frozen_day = api_world.frozen_day
_test_settings = api_world._test_settings
HTMX = {"HX-Request": "true", "Accept-Language": "en"}


def _snooze_on_the_page(world, until: dt.date):
    case = world.cases["own"]
    return world.client("rm_owner").post(reverse("retention:case_snooze", args=[case.pk]),
                                         {"until": until.isoformat()}, headers=HTMX)


@pytest.mark.parametrize("days,message", [(0, "Snooze until a later date."), (-30, "Snooze until a later date."),
                                          (31, "Snooze for at most 30 days, until 2024-06-14 at the latest.")])
def test_a_snooze_out_of_bounds_gets_its_message_on_the_page(world, days, message):
    response = _snooze_on_the_page(world, TODAY + dt.timedelta(days=days))
    assert response.status_code == 422
    assert message in response.content.decode()
    assert Case.objects.get(pk=world.cases["own"].pk).status != CaseStatus.SNOOZED


def test_a_snooze_within_the_horizon_is_taken(world):
    response = _snooze_on_the_page(world, TODAY + dt.timedelta(days=30))
    assert response.status_code == 200
    assert Case.objects.get(pk=world.cases["own"].pk).snoozed_until == TODAY + dt.timedelta(days=30)


def test_the_horizon_is_a_setting(world, settings):
    settings.RETENTION_SNOOZE_MAX_DAYS = 90
    assert _snooze_on_the_page(world, TODAY + dt.timedelta(days=60)).status_code == 200


def test_the_api_refuses_a_snooze_past_the_horizon_with_a_400_and_the_message(world):
    case = world.cases["own"]
    response = world.client("rm_owner").post(f"/api/v1/cases/{case.pk}/snooze/",
                                             {"until": (TODAY + dt.timedelta(days=31)).isoformat()},
                                             content_type="application/json", headers={"Accept-Language": "en"})
    assert response.status_code == 400
    assert "at most 30 days" in str(response.json())
