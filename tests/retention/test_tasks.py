from __future__ import annotations

from retention.tasks import alert_outcomes_mark_task


def test_the_outcomes_task_takes_a_date(db):
    assert alert_outcomes_mark_task.apply(args=["2024-08-01"]).get() == {
        "retained": 0, "lost": 0, "not_measurable": 0, "waiting_for_data": 0}
