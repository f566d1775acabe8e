from __future__ import annotations

from retention.models import Alert
from retention.tasks import alert_outcomes_mark_task, alerts_raise_for_date_task
from tests.retention.conftest import RUN_DATE
from tests.retention.factories import ChurnScoreFactory


def test_the_nightly_task_raises_alerts_for_the_date(bank, settings):
    settings.RETENTION_CONTROL_SHARE = 0.0
    ChurnScoreFactory(customer=bank.customer, scored_on=RUN_DATE)

    counts = alerts_raise_for_date_task.apply(args=[RUN_DATE.isoformat()]).get()

    assert counts["raised"] == 1
    assert Alert.objects.get().customer == bank.customer


def test_the_outcomes_task_takes_a_date(db):
    assert alert_outcomes_mark_task.apply(args=["2024-08-01"]).get() == {
        "retained": 0, "lost": 0, "not_measurable": 0, "waiting_for_data": 0}
