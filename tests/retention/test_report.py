from __future__ import annotations

import datetime as dt
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from customers.models import Customer
from retention.models import Alert, AlertStatus, Playbook
from retention.report import mean_difference_ci, proportion_difference_ci, retention_report
from tests.retention.factories import CustomerFactory


def make_measured_alerts(bank, *, playbook_key: str, worked: tuple[int, int], held_out: tuple[int, int],
                         aum_kept_retained: int = 100_000) -> None:
    """``worked`` / ``held_out``: (alerts, of which retained)."""
    playbook = Playbook.objects.get(key=playbook_key)
    total = worked[0] + held_out[0]
    customers = Customer.objects.bulk_create(
        [CustomerFactory.build(branch=bank.branch, rm=bank.owner) for _ in range(total)]
    )
    alerts = []
    groups = [(False, *worked), (True, *held_out)]
    customers_iter = iter(customers)
    for is_control, n, retained in groups:
        for i in range(n):
            kept = retained > i
            alerts.append(Alert(
                customer=next(customers_iter), branch=bank.branch, kind="model_risk", playbook=playbook,
                owner=bank.owner, owner_role="rm", status=AlertStatus.CLEARED, raised_on=dt.date(2024, 1, 10),
                last_triggered_on=dt.date(2024, 1, 10), window_start_month=dt.date(2023, 12, 1),
                window_ends_on=dt.date(2024, 3, 31), is_control=is_control,
                outcome="retained" if kept else "lost", outcome_measured_on=dt.date(2024, 4, 2),
                aum_kept=Decimal(aum_kept_retained + (i % 7) * 1000 if kept else 0),
            ))
    Alert.objects.bulk_create(alerts)


def test_proportion_interval_matches_the_textbook_formula():
    ci = proportion_difference_ci(successes_a=90, n_a=100, successes_b=80, n_b=100)
    assert ci.estimate == pytest.approx(0.10)
    se = (0.9 * 0.1 / 100 + 0.8 * 0.2 / 100) ** 0.5
    assert (ci.low, ci.high) == pytest.approx((0.10 - 1.96 * se, 0.10 + 1.96 * se), abs=1e-3)


def test_welch_interval_for_means():
    ci = mean_difference_ci(values_a=[10.0, 12.0, 14.0], values_b=[1.0, 2.0, 3.0])
    assert ci.estimate == pytest.approx(10.0)
    assert ci.excludes_zero


def test_an_interval_that_excludes_zero_reports_an_effect(bank):
    make_measured_alerts(bank, playbook_key="segment_product", worked=(300, 270), held_out=(100, 60))

    [row] = retention_report(group_by="playbook")

    assert row.key == "segment_product"
    assert row.worked.retention_rate == pytest.approx(0.9)
    assert row.held_out.retention_rate == pytest.approx(0.6)
    assert row.retention_difference.low > 0
    assert row.retention_effect and row.verdict == "playbook keeps more customers"
    assert row.aum_effect


def test_an_interval_that_includes_zero_says_no_measurable_effect(bank):
    make_measured_alerts(bank, playbook_key="aum_drop", worked=(60, 48), held_out=(20, 16))

    [row] = retention_report(group_by="branch")
    out = StringIO()
    call_command("retention_report", stdout=out)

    assert row.key == bank.branch.code
    assert row.retention_difference.low < 0 < row.retention_difference.high
    assert row.verdict == "no measurable effect"
    assert "no measurable effect" in out.getvalue()
    assert "aum_drop" in out.getvalue() and bank.branch.code in out.getvalue()
