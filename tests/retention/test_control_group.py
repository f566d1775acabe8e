from __future__ import annotations

import math

import pytest
from django.utils import timezone

from retention.control import alert_key, control_draw, is_held_out
from retention.models import Alert
from retention.selectors import alert_list_for_user, interception_list
from retention.services import alerts_raise_for_date
from tests.retention.conftest import RUN_DATE
from tests.retention.factories import AppointmentFactory, ChurnScoreFactory, CustomerFactory


def test_the_held_out_share_holds_within_sampling_error_over_5000_draws():
    share, n = 0.10, 5000
    held = sum(
        is_held_out(draw=control_draw(alert_key=alert_key(customer_id=f"C{i:06d}", kind="model_risk",
                                                          raised_on_iso="2024-05-15"), salt="segment_product"),
                    share=share)
        for i in range(n)
    )
    # Four standard errors: fails by chance about once in 16,000 runs (and the draw is deterministic anyway).
    assert abs(held / n - share) < 4 * math.sqrt(share * (1 - share) / n)


def test_the_draw_is_deterministic_and_depends_on_the_salt():
    key = alert_key(customer_id="C000001", kind="aum_drop", raised_on_iso="2024-05-15")
    assert control_draw(alert_key=key, salt="aum_drop") == control_draw(alert_key=key, salt="aum_drop")
    assert 0 <= control_draw(alert_key=key, salt="aum_drop") < 1
    draws_a = [control_draw(alert_key=f"k{i}", salt="a") for i in range(50)]
    draws_b = [control_draw(alert_key=f"k{i}", salt="b") for i in range(50)]
    assert draws_a != draws_b


def test_held_out_alerts_are_recorded_but_never_shown(bank, frozen_day, settings):
    settings.RETENTION_CONTROL_SHARE = 1.0  # hold out everything
    ChurnScoreFactory(customer=bank.customer, scored_on=RUN_DATE)
    AppointmentFactory(customer=bank.customer, scheduled_on=RUN_DATE)

    counts = alerts_raise_for_date(run_date=timezone.localdate())

    assert counts["held_out"] == 2 and counts["raised"] == 0
    assert Alert.objects.filter(is_control=True).count() == 2
    assert not Alert.objects.filter(is_control=True, steps__isnull=False).exists()
    for user in (bank.owner, bank.head, bank.lobby):
        assert not alert_list_for_user(user=user).exists()
        assert not interception_list(user=user, today=RUN_DATE).exists()


def test_a_playbook_share_overrides_the_setting_and_a_rerun_does_not_move_alerts(bank, frozen_day, settings):
    settings.RETENTION_CONTROL_SHARE = 0.5
    for _ in range(40):
        ChurnScoreFactory(customer=CustomerFactory(branch=bank.branch, rm=bank.owner), scored_on=RUN_DATE)
    alerts_raise_for_date(run_date=RUN_DATE)
    before = dict(Alert.objects.values_list("pk", "is_control"))
    assert 0 < sum(before.values()) < 40

    alerts_raise_for_date(run_date=RUN_DATE)
    assert dict(Alert.objects.values_list("pk", "is_control")) == before


@pytest.mark.parametrize("share", [0.0, 1.0])
def test_extreme_shares(share):
    draws = [control_draw(alert_key=str(i), salt="s") for i in range(100)]
    assert sum(is_held_out(draw=d, share=share) for d in draws) == 100 * share
