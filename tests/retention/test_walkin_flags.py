"""retention.branch_selectors.walkin_flags: the lobby's flag and talking points come from the
walk-in's open, shown case; a held-out customer looks like one with no case at all."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from retention.branch_selectors import walkin_flags
from retention.models import Playbook
from tests.retention.branch_factories import interception_case, win_back_case
from tests.retention.conftest import RUN_DATE
from tests.retention.factories import CaseFactory, CustomerFactory, SignalFactory, TaskFactory, UserFactory

pytestmark = pytest.mark.django_db


def _consumption_case(customer, lobby):
    """A model-risk case of a consumption-oriented customer: its playbook has a lobby step."""
    playbook = Playbook.objects.get(key="segment_consumption")
    case = CaseFactory(customer=customer, playbook=playbook)
    SignalFactory(case=case)
    step = playbook.steps.get(owner_role="lobby")
    TaskFactory(case=case, owner_role="lobby", owner=lobby, channel="branch", playbook_step=step,
                text_zh=step.text_zh, text_en=step.text_en)
    return case


def test_an_open_case_flags_the_walk_in_with_its_signals_leading_first(bank):
    case = _consumption_case(bank.customer, bank.lobby)
    SignalFactory(case=case, kind="aum_drop", priority=case.priority - 1, playbook=Playbook.objects.get(key="aum_drop"))

    flag = walkin_flags(user=bank.lobby, customer_ids=[bank.customer.pk])[bank.customer.pk]

    assert flag.case == case and not flag.is_win_back
    assert flag.signal_labels == ["Churn risk (model)", "Sharp AUM drop"]


def test_talking_points_are_the_signals_lines_then_the_lobbys_open_steps_then_the_segments(bank):
    bank.customer.segment = "consumption"
    bank.customer.save()
    case = _consumption_case(bank.customer, bank.lobby)

    points = walkin_flags(user=bank.lobby, customer_ids=[bank.customer.pk])[bank.customer.pk].talking_points

    step = case.playbook.steps.get(owner_role="lobby")
    assert [point.source for point in points] == ["signal", "step", "segment"]
    assert points[0].text.startswith("Likely to leave us (churn risk ")
    assert points[1].text == step.text_en
    assert points[2].text.startswith("Ask about plans that will need money soon")


def test_a_done_lobby_step_is_no_longer_a_talking_point(bank):
    case = _consumption_case(bank.customer, bank.lobby)
    case.tasks.update(status="done")

    points = walkin_flags(user=bank.lobby, customer_ids=[bank.customer.pk])[bank.customer.pk].talking_points

    assert "step" not in [point.source for point in points]


def test_an_interception_is_not_a_talking_point_it_is_on_the_interception_list(bank):
    _case, _signal, task = interception_case(bank.customer, lobby=bank.lobby, on=RUN_DATE)

    flag = walkin_flags(user=bank.lobby, customer_ids=[bank.customer.pk])[bank.customer.pk]

    assert task.text_en not in [point.text for point in flag.talking_points] and flag.lobby_tasks == []
    assert flag.interception == task
    assert flag.signal_labels == ["Large withdrawal or transfer booked"]


def test_a_held_out_customer_is_never_flagged(bank):
    held_out = CustomerFactory(branch=bank.branch, rm=bank.owner)
    case = CaseFactory(customer=held_out, is_control=True)
    SignalFactory(case=case)

    assert walkin_flags(user=bank.lobby, customer_ids=[held_out.pk]) == {}
    assert walkin_flags(user=bank.head, customer_ids=[held_out.pk]) == {}
    assert walkin_flags(user=bank.owner, customer_ids=[held_out.pk]) == {}


@pytest.mark.parametrize("status", ["dismissed", "closed_retained", "closed_lost", "cleared"])
def test_a_closed_case_is_no_flag(bank, status):
    SignalFactory(case=CaseFactory(customer=bank.customer, status=status))
    assert walkin_flags(user=bank.lobby, customer_ids=[bank.customer.pk]) == {}


def test_a_snoozed_case_still_flags_the_walk_in(bank):
    # The RM put the case off; the customer standing at the desk is still at risk.
    SignalFactory(case=CaseFactory(customer=bank.customer, status="snoozed",
                                   snoozed_until=RUN_DATE + dt.timedelta(days=5)))
    assert bank.customer.pk in walkin_flags(user=bank.lobby, customer_ids=[bank.customer.pk])


@pytest.mark.parametrize("who,flagged", [("owner", True), ("colleague", False), ("outsider", False),
                                         ("lobby", True), ("head", True)])
def test_the_flag_follows_the_users_scope(bank, who, flagged):
    SignalFactory(case=CaseFactory(customer=bank.customer))
    other_lobby = UserFactory(username="lobby_far", branch=bank.other_branch, role="lobby")
    user = getattr(bank, who)
    assert (bank.customer.pk in walkin_flags(user=user, customer_ids=[bank.customer.pk])) is flagged
    assert walkin_flags(user=other_lobby, customer_ids=[bank.customer.pk]) == {}


def test_a_win_back_case_says_when_the_customer_left_and_how_much_aum(bank):
    win_back_case(bank.customer, lost_month=dt.date(2024, 3, 1), aum_lost="880000.00")

    flag = walkin_flags(user=bank.lobby, customer_ids=[bank.customer.pk])[bank.customer.pk]

    assert flag.is_win_back
    assert flag.lost_month == dt.date(2024, 3, 1) and flag.aum_lost == Decimal("880000.00")
    assert flag.signal_labels == ["Already left (by the churn definition)"]
    # The lookup says "already left" itself; the talking points are the segment's.
    assert [point.source for point in flag.talking_points] == ["segment"]


def test_three_queries_for_any_number_of_walk_ins(bank, django_assert_num_queries):
    customers = [CustomerFactory(branch=bank.branch, rm=bank.owner) for _ in range(4)]
    for customer in customers:
        _consumption_case(customer, bank.lobby)
    with django_assert_num_queries(3):
        flags = walkin_flags(user=bank.lobby, customer_ids=[c.pk for c in customers])
        assert all(flag.talking_points and flag.signal_labels for flag in flags.values())
    assert len(flags) == 4
