"""The lobby's talking points and interception record through the test client: the walk-in
lookup says each of the customer's own signals with its day and days left, then the segment's
lines; a customer not at risk gets only the segment's lines, marked so; tiers come up only near
a floor; a booked withdrawal is recorded from the lookup as from the interception list, by the
branch's lobby manager or head only (the customer's RM, a colleague and an outsider get a 404);
the RM's step names our replacement product."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse
from django.utils import translation
from django.utils.formats import date_format

from customers.models import Customer
from retention.models import Task
from tests.pages.branch_world import TODAY, book_withdrawal, branch_world, interception_task, night, satisfaction_fell
from tests.retention.factories import CustomerFactory, HoldingFactory, MonthlyBalanceFactory, ProductFactory

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


@pytest.fixture
def world(settings):
    settings.RETENTION_CONTROL_SHARE = 0.0
    with time_machine.travel(dt.datetime.combine(TODAY, dt.time(9), tzinfo=ZoneInfo("Asia/Shanghai")), tick=False):
        yield branch_world()


def _as(client, user, language="en"):
    client.force_login(user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = language
    return client


def _lookup(client, user, query, language="en") -> str:
    response = _as(client, user, language).post(reverse("customers:walkin_results"), {"q": query}, headers=HTMX)
    assert response.status_code == 200
    return response.content.decode()


def _talking_points(page: str) -> str:
    start = page.index('<ul class="talking-points')
    return page[start:page.index("</ul>", start)]


def competitor_matures(customer: Customer, *, on: dt.date) -> None:
    """A competitor's 90-day wealth product of the customer matures ``on``; our catalogue has a
    90-day and a one-year wealth product."""
    ProductFactory(product_code="DB-WM-090", name="稳盈90天", kind="wealth", yield_pct=Decimal("3.100"), term_days=90)
    ProductFactory(product_code="DB-WM-365", name="稳盈一年", kind="wealth", yield_pct=Decimal("3.400"),
                   term_days=365)
    theirs = ProductFactory(product_code="ICBC-W90", provider="ICBC", is_ours=False, kind="wealth",
                            yield_pct=Decimal("3.300"), term_days=90)
    HoldingFactory(customer=customer, product=theirs, amount=Decimal("300000"),
                   start_on=on - dt.timedelta(days=90), maturity_on=on)


# --- talking points ------------------------------------------------------------------------------


@pytest.mark.parametrize("language,competitor,withdrawal", [
    ("en", "Competitor wealth product matures on 19 May (in 4 days): refer to the RM, have our 稳盈90天 (3.10%) ready",
     "Large cash withdrawal of 500,000 CNY booked for 16 May (tomorrow): seat them in the wealth area and call "
     "the RM"),
    # The day in the language's own month-and-day format (Django's: 05月19日).
    ("zh-hans", "他行理财{may19}到期（4天后）：请转介理财经理，备好本行稳盈90天（年化3.10%）",
     "已预约{may16}（明天）大额取现500,000元：请引导至理财区就座，并通知理财经理"),
])
def test_the_lookup_says_each_signal_with_its_day_and_days_left(client, world, language, competitor, withdrawal):
    with translation.override(language):
        days = {"may19": date_format(dt.date(2024, 5, 19), "MONTH_DAY_FORMAT"),
                "may16": date_format(dt.date(2024, 5, 16), "MONTH_DAY_FORMAT")}
    competitor, withdrawal = competitor.format(**days), withdrawal.format(**days)
    competitor_matures(world.customer, on=TODAY + dt.timedelta(days=4))
    book_withdrawal(world.customer, on=TODAY + dt.timedelta(days=1))
    night()

    points = _talking_points(_lookup(client, world.lobby, "王小", language))

    assert competitor in points and withdrawal in points
    # The events' own reasons are not said twice beside them (the model's reasons would be listed).
    assert '<ul class="reasons' not in _lookup(client, world.lobby, "王小", language)
    # The signals' lines first, the segment's after them.
    assert points.index('class="point-signal"') < points.index('class="point-segment"')


def test_a_mass_customer_far_below_any_floor_hears_nothing_about_tiers(client, world):
    poor = CustomerFactory(name="王小贫", branch=world.branch, rm=world.owner, tier="mass", latest_aum=Decimal("205"),
                           segment="product")
    for month in range(1, 5):
        MonthlyBalanceFactory(customer=poor, month=dt.date(2024, month, 1), aum=Decimal("205"))
    satisfaction_fell(poor)
    night()

    page = _lookup(client, world.lobby, "王小贫")

    assert "match flagged" in page
    points = _talking_points(page)
    assert "Satisfaction fell from 9 to 3" in points
    assert "tier" not in points and "floor" not in points and "downgrade" not in points


def test_a_customer_just_above_the_gold_floor_is_reminded_of_the_downgrade(client, world):
    near = CustomerFactory(name="王小金", branch=world.branch, rm=world.owner, tier="gold",
                           latest_aum=Decimal("52000"), segment="product")

    points = _talking_points(_lookup(client, world.lobby, "王小金"))

    assert near.name in _lookup(client, world.lobby, "王小金")
    assert "Their AUM is just above the Gold floor" in points


def test_a_customer_not_at_risk_gets_only_the_segments_lines_marked_so(client, world):
    CustomerFactory(name="王安然", branch=world.branch, rm=world.owner, segment="service",
                    latest_aum=Decimal("300000"), tier="gold")

    page = _lookup(client, world.lobby, "王安然", "zh-hans")

    assert "无流失风险：常规接待" in page and "match flagged" not in page
    assert ('<ul class="talking-points generic"><li class="point-segment">称呼客户问候，请其就座，尽量减少等候</li>'
            '</ul>') in page


def test_the_interception_card_carries_the_customers_other_talking_points(client, world):
    competitor_matures(world.customer, on=TODAY + dt.timedelta(days=4))
    book_withdrawal(world.customer)
    night()

    page = _as(client, world.lobby).get(reverse("customers:interceptions")).content.decode()

    points = _talking_points(page)
    assert "Competitor wealth product matures on 19 May (in 4 days)" in points
    # The booking is the card itself: not said again among the points.
    assert "Large cash withdrawal of 500,000 CNY" not in points


# --- recording an interception from the lookup -------------------------------------------------------


def _record(client, user, task, data, language="en"):
    return _as(client, user, language).post(reverse("customers:interception_record", args=[task.pk]),
                                            {"shown_in": "walkin", **data}, headers=HTMX)


@pytest.mark.parametrize("who", ["lobby", "head"])
def test_the_branchs_lobby_or_head_records_the_visit_from_the_lookup(client, world, who):
    book_withdrawal(world.customer)
    night()
    task = interception_task(world.customer)
    user = getattr(world, who)
    page = _lookup(client, user, "王小")
    assert f'id="walkin-interception-{task.pk}"' in page and "Record the visit" in page

    response = _record(client, user, task, {"outcome": "funds_kept", "amount_kept": "350000"})

    assert response.status_code == 200
    block = response.content.decode()
    assert block.startswith('<div class="walkin-interception done"') and "Interception recorded." in block
    assert "Came in: funds kept" in block and "350,000 CNY kept" in block
    task.refresh_from_db()
    assert task.status == "done" and task.outcome == "funds_kept" and task.done_by == user
    # Looked up again, the customer shows the recorded visit instead of the form.
    again = _lookup(client, user, "王小")
    assert "Came in: funds kept" in again and 'name="shown_in" value="walkin"' not in again
    # ... and the booking is no longer a thing to say: its record says it.
    assert "Large cash withdrawal of 500,000 CNY" not in _talking_points(again)


@pytest.mark.parametrize("who", ["owner", "colleague", "outsider", "other_lobby", "other_head"])
def test_nobody_else_records_the_visit_from_the_lookup(client, world, who):
    book_withdrawal(world.customer)
    night()
    task = interception_task(world.customer)

    assert _record(client, getattr(world, who), task, {"outcome": "did_not_come"}).status_code == 404
    assert Task.objects.get(pk=task.pk).status == "open"


def test_the_customers_rm_sees_the_booking_in_the_lookup_without_the_form(client, world):
    book_withdrawal(world.customer)
    night()
    task = interception_task(world.customer)

    page = _lookup(client, world.owner, "王小")

    assert f'id="walkin-interception-{task.pk}"' in page and 'name="shown_in"' not in page
    assert "For Lobby to record when the customer arrives." in page


@pytest.mark.parametrize("language,data,message", [
    ("en", {"outcome": "funds_kept"}, "Enter the amount the customer kept with us."),
    ("en", {"outcome": "funds_kept", "amount_kept": "600000"}, "At most the booked 500,000.00 CNY can be kept."),
    ("en", {"outcome": "did_not_come", "amount_kept": "10"}, "The customer did not come in: no amount was kept."),
    ("en", {}, "Say whether the customer came in and what became of the funds."),
    ("zh-hans", {"outcome": "funds_kept"}, "请填写客户留存在我行的金额。"),
])
def test_an_impossible_record_from_the_lookup_is_answered_in_the_lookup(client, world, language, data, message):
    book_withdrawal(world.customer)
    night()
    task = interception_task(world.customer)

    response = _record(client, world.lobby, task, data, language)

    assert response.status_code == 422
    block = response.content.decode()
    assert block.startswith(f'<div class="walkin-interception" id="walkin-interception-{task.pk}"')
    assert message in block and "<details class=\"action\" open>" in block
    assert Task.objects.get(pk=task.pk).status == "open"


# --- our replacement product in the RM's step --------------------------------------------------------


@pytest.mark.parametrize("language,note", [("en", "Have our 稳盈90天 (3.10%) ready"),
                                           ("zh-hans", "备好本行稳盈90天（年化3.10%）")])
def test_the_360_names_our_replacement_in_the_step_that_prepares_it(client, world, language, note):
    competitor_matures(world.customer, on=TODAY + dt.timedelta(days=4))
    night()

    page = _as(client, world.owner, language).get(reverse("customers:detail", args=[world.customer.pk]))

    assert page.status_code == 200
    assert page.content.decode().count(f'<strong class="replacement">{note}</strong>') == 1
