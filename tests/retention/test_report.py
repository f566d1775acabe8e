"""The retention report: shown vs held-out cases per playbook of the leading signal and per
branch, 95% intervals, worked kept apart from shown."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from customers.models import Customer
from retention.models import Case, Playbook
from retention.report import (
    mean_difference_ci,
    proportion_difference_ci,
    retention_report,
    wilson_interval,
)
from tests.retention.factories import BranchFactory, CaseFactory, CustomerFactory, UserFactory

WORKED_AT = dt.datetime(2024, 1, 12, 10, tzinfo=dt.UTC)


def make_measured_cases(bank, *, playbook_key: str, shown: tuple[int, int], held_out: tuple[int, int],
                        worked: tuple[int, int] = (0, 0), aum_kept_retained: int = 100_000, branch=None,
                        window_ends_on: dt.date = dt.date(2024, 3, 31)) -> None:
    """``shown`` / ``held_out``: (cases, of which retained); ``worked``: of the shown cases,
    (worked, of which retained), taken from the retained ones first."""
    branch = branch or bank.branch
    owner = bank.owner if branch == bank.branch else UserFactory(branch=branch)
    playbook = Playbook.objects.get(key=playbook_key)
    total = shown[0] + held_out[0]
    customers = Customer.objects.bulk_create(
        [CustomerFactory.build(branch=branch, rm=owner) for _ in range(total)]
    )
    customers_iter = iter(customers)
    cases = []
    for is_control, (n, retained) in ((False, shown), (True, held_out)):
        worked_left, worked_retained_left = worked if not is_control else (0, 0)
        for i in range(n):
            kept = i < retained
            is_worked = worked_left > 0 and (kept and worked_retained_left > 0 or not kept)
            if is_worked:
                worked_left -= 1
                worked_retained_left -= kept
            cases.append(CaseFactory.build(
                customer=next(customers_iter), branch=branch, owner=owner, playbook=playbook,
                leading_kind=playbook.signal_kind or "model_risk", status="cleared", opened_on=dt.date(2024, 1, 10),
                window_start_month=dt.date(2023, 12, 1), window_ends_on=window_ends_on, is_control=is_control,
                outcome="retained" if kept else "lost", outcome_measured_on=window_ends_on + dt.timedelta(days=1),
                aum_at_window_start=Decimal(aum_kept_retained),
                aum_kept=Decimal(aum_kept_retained + (i % 7) * 1000 if kept else 0),
                worked_at=WORKED_AT if is_worked else None,
            ))
    Case.objects.bulk_create(cases)


def test_wilson_interval_of_a_proportion():
    # Newcombe (1998), Statistics in Medicine 17:857, Table I: 81/263 -> 0.2553 to 0.3662.
    assert wilson_interval(successes=81, n=263) == pytest.approx((0.2553, 0.3662), abs=1e-4)


def test_difference_interval_is_newcombes_hybrid_score_interval():
    # Newcombe (1998), Statistics in Medicine 17:873, Table II example (a), method 10:
    # 56/70 - 48/80 = 0.2000, 95% interval 0.0524 to 0.3339.
    ci = proportion_difference_ci(successes_a=56, n_a=70, successes_b=48, n_b=80)
    assert ci.estimate == pytest.approx(0.2)
    assert (ci.low, ci.high) == pytest.approx((0.0524, 0.3339), abs=1e-4)


def test_a_small_group_all_retained_does_not_shrink_the_interval_to_a_point():
    # 3/3 against 0/2: the plain normal interval would be [1, 1], "an effect" from five cases.
    ci = proportion_difference_ci(successes_a=3, n_a=3, successes_b=0, n_b=2)
    assert ci.estimate == 1.0
    assert ci.low < 0.5 and ci.high == pytest.approx(1.0)
    assert proportion_difference_ci(successes_a=1, n_a=1, successes_b=0, n_b=0) is None


def test_welch_interval_for_means():
    ci = mean_difference_ci(values_a=[10.0, 12.0, 14.0], values_b=[1.0, 2.0, 3.0])
    assert ci.estimate == pytest.approx(10.0)
    se = (4 / 3 + 1 / 3) ** 0.5
    assert (ci.low, ci.high) == pytest.approx((10 - 1.959964 * se, 10 + 1.959964 * se))
    assert ci.excludes_zero


def test_an_interval_that_excludes_zero_reports_an_effect(bank):
    make_measured_cases(bank, playbook_key="segment_product", shown=(300, 270), held_out=(100, 60))

    [row] = retention_report(group_by="playbook")

    assert row.key == "segment_product"
    assert (row.shown.n, row.shown.retained, row.held_out.n, row.held_out.retained) == (300, 270, 100, 60)
    assert row.shown.retention_rate == pytest.approx(0.9)
    assert row.held_out.retention_rate == pytest.approx(0.6)
    assert row.retention_difference.estimate == pytest.approx(0.3)
    assert row.retention_difference.low > 0
    assert row.retention_effect and row.verdict == "shown customers kept more than held-out ones"
    assert row.aum_effect


def test_the_aum_kept_interval_is_welchs_on_the_cases_values(bank):
    make_measured_cases(bank, playbook_key="segment_product", shown=(40, 30), held_out=(20, 10))

    [row] = retention_report(group_by="playbook")

    values = {False: [], True: []}
    for case in Case.objects.all():
        values[case.is_control].append(float(case.aum_kept))
    expected = mean_difference_ci(values_a=values[False], values_b=values[True])
    assert row.shown.aum_kept_total == pytest.approx(sum(values[False]))
    assert (row.aum_kept_difference.estimate, row.aum_kept_difference.low, row.aum_kept_difference.high) == \
        pytest.approx((expected.estimate, expected.low, expected.high))


def test_worked_cases_are_kept_apart_and_the_effect_is_shown_vs_held_out(bank):
    # Staff worked the easy customers: worked cases look great, but shown vs held out shows nothing.
    make_measured_cases(bank, playbook_key="aum_drop", shown=(100, 60), held_out=(100, 60), worked=(40, 38))

    [row] = retention_report(group_by="playbook")

    assert (row.worked.n, row.worked.retained) == (40, 38)
    assert row.worked.retention_rate == pytest.approx(0.95)
    assert row.shown.n == 100 and row.shown.retention_rate == pytest.approx(0.6)
    assert row.retention_difference.estimate == pytest.approx(0.0)
    assert not row.retention_effect
    assert row.verdict == "no measurable effect"


def test_an_interval_that_includes_zero_says_no_measurable_effect(bank):
    make_measured_cases(bank, playbook_key="aum_drop", shown=(60, 48), held_out=(20, 16))

    [row] = retention_report(group_by="branch")
    out = StringIO()
    call_command("retention_report", stdout=out)

    assert row.key == bank.branch.code
    assert row.retention_difference.low < 0 < row.retention_difference.high
    assert row.verdict == "no measurable effect"
    text = out.getvalue()
    assert "no measurable effect" in text
    assert "aum_drop" in text and bank.branch.code in text
    assert "shown: n=60 retained=48 (80.0%)" in text
    assert "held out: n=20 retained=16 (80.0%)" in text


def test_rows_per_playbook_and_per_branch_count_each_case_once(bank):
    other = BranchFactory(code="HZ01")
    make_measured_cases(bank, playbook_key="aum_drop", shown=(10, 5), held_out=(4, 2))
    make_measured_cases(bank, playbook_key="segment_product", shown=(6, 6), held_out=(3, 0), branch=other)

    by_playbook = {row.key: row for row in retention_report(group_by="playbook")}
    by_branch = {row.key: row for row in retention_report(group_by="branch")}

    assert set(by_playbook) == {"aum_drop", "segment_product"}
    assert set(by_branch) == {bank.branch.code, "HZ01"}
    for rows in (by_playbook, by_branch):
        assert sum(r.shown.n for r in rows.values()) == 16
        assert sum(r.held_out.n for r in rows.values()) == 7
    assert by_branch["HZ01"].shown.retained == 6 and by_branch["HZ01"].held_out.retained == 0


def test_unmeasured_cases_are_not_in_the_report(bank):
    make_measured_cases(bank, playbook_key="aum_drop", shown=(5, 5), held_out=(5, 0))
    CaseFactory(customer=bank.customer, playbook=Playbook.objects.get(key="aum_drop"))  # open, no outcome

    [row] = retention_report(group_by="playbook")

    assert row.shown.n + row.held_out.n == 10


def test_the_command_reads_only_windows_ended_by_the_date_given(bank):
    make_measured_cases(bank, playbook_key="aum_drop", shown=(5, 5), held_out=(5, 0),
                        window_ends_on=dt.date(2024, 3, 31))
    make_measured_cases(bank, playbook_key="segment_product", shown=(5, 5), held_out=(5, 0),
                        window_ends_on=dt.date(2024, 6, 30))
    out = StringIO()

    call_command("retention_report", "--by", "playbook", "--until", "2024-04-30", stdout=out)

    assert "aum_drop" in out.getvalue() and "segment_product" not in out.getvalue()
