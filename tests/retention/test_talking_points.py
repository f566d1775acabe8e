"""retention.talking_points: what the lobby manager says, built from the customer's own signals,
in both languages, without a database."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import translation

from retention.replacement import CatalogueProduct
from retention.talking_points import (
    TALKING_POINTS_MAX,
    CustomerFacts,
    SignalFacts,
    signal_point,
    talking_points,
    when_text,
)

TODAY = dt.date(2026, 12, 1)
WENYING = CatalogueProduct(code="DB-WM-090", name="稳盈90天", kind="wealth", yield_pct=Decimal("3.100"),
                           term_days=90)
COMPETITOR = SignalFacts(kind="competitor_maturity", event_on=dt.date(2026, 12, 5),
                         details={"maturity_on": "2026-12-05", "amount": "300000.00"}, replacement=WENYING)
WITHDRAWAL = SignalFacts(kind="large_withdrawal", event_on=TODAY,
                         details={"appointment_kind": "cash_withdrawal", "amount": "500000.00",
                                  "scheduled_on": TODAY.isoformat()})
SATISFACTION = SignalFacts(kind="satisfaction_drop", event_on=dt.date(2026, 11, 28),
                           details={"score": 3, "previous_score": 9, "surveyed_on": "2026-11-28"})
TIER = SignalFacts(kind="tier_downgrade", event_on=dt.date(2026, 11, 1),
                   details={"tier": "gold", "floor": 50000, "aum": "52000.00", "previous_aum": "61000.00"})
PRODUCT_CUSTOMER = CustomerFacts(segment="product")


@pytest.mark.parametrize("language,line", [
    ("zh-hans", "他行理财12月5日到期（4天后）：请转介理财经理，备好本行稳盈90天（年化3.10%）"),
    ("en", "Competitor wealth product matures on 5 Dec (in 4 days): refer to the RM, have our "
           "稳盈90天 (3.10%) ready"),
])
def test_a_maturing_competitor_product_is_said_with_its_day_days_left_and_our_replacement(language, line):
    with translation.override(language):
        assert signal_point(COMPETITOR, today=TODAY) == line


def test_without_a_replacement_the_line_only_refers_to_the_rm():
    signal = SignalFacts(kind="competitor_maturity", event_on=dt.date(2026, 12, 5))
    with translation.override("en"):
        assert signal_point(signal, today=TODAY) == (
            "Competitor product matures on 5 Dec (in 4 days): refer to the RM")


@pytest.mark.parametrize("language,line", [
    ("zh-hans", "已预约12月1日（今天）大额取现500,000元：请引导至理财区就座，并通知理财经理"),
    ("en", "Large cash withdrawal of 500,000 CNY booked for 1 Dec (today): seat them in the wealth area "
           "and call the RM"),
])
def test_a_booked_withdrawal_says_the_amount_and_the_day(language, line):
    with translation.override(language):
        assert signal_point(WITHDRAWAL, today=TODAY) == line


@pytest.mark.parametrize("language,line", [
    ("zh-hans", "11月28日满意度调查评分从9分降至3分（3天前）：请向客户致歉，并告知网点负责人"),
    ("en", "Satisfaction fell from 9 to 3 in the survey of 28 Nov (3 days ago): apologise for how we "
           "served them and tell the branch head"),
])
def test_a_fallen_satisfaction_asks_for_an_apology_and_the_head(language, line):
    with translation.override(language):
        assert signal_point(SATISFACTION, today=TODAY) == line


@pytest.mark.parametrize("days,en,zh", [(0, "today", "今天"), (1, "tomorrow", "明天"), (-1, "yesterday", "昨天"),
                                        (4, "in 4 days", "4天后"), (-3, "3 days ago", "3天前")])
def test_how_far_off_a_day_is_in_both_languages(days, en, zh):
    day = TODAY + dt.timedelta(days=days)
    with translation.override("en"):
        assert when_text(day, today=TODAY) == en
    with translation.override("zh-hans"):
        assert when_text(day, today=TODAY) == zh


def test_signal_lines_come_first_then_the_lobbys_steps_then_the_segments():
    with translation.override("en"):
        points = talking_points(customer=PRODUCT_CUSTOMER, signals=[COMPETITOR, WITHDRAWAL],
                                lobby_steps=["Seat them in the wealth area"], today=TODAY)
    assert [point.source for point in points] == ["signal", "signal", "step", "segment"]
    assert points[0].text.startswith("Competitor wealth product matures")
    assert points[3].text.startswith("Ask whether they are comparing yields")


def test_a_customer_not_at_risk_gets_only_the_segments_lines():
    with translation.override("en"):
        points = talking_points(customer=CustomerFacts(segment="service"), signals=[], today=TODAY)
    assert [point.text for point in points] == ["Greet them by name, offer a seat and keep their wait short"]
    assert {point.source for point in points} == {"segment"}


def test_nothing_about_tiers_for_a_customer_far_from_a_floor():
    with translation.override("en"):
        points = talking_points(customer=CustomerFacts(segment="product", near_floor_tier=None),
                                signals=[WITHDRAWAL, SATISFACTION], today=TODAY)
    assert not any("tier" in point.text or "floor" in point.text or "downgrade" in point.text for point in points)


def test_a_customer_just_above_a_floor_is_told_about_the_downgrade_once():
    near = CustomerFacts(segment="product", near_floor_tier="gold")
    with translation.override("en"):
        segment_only = talking_points(customer=near, signals=[], today=TODAY)
        with_signal = talking_points(customer=near, signals=[TIER], today=TODAY)
    assert [point.text for point in segment_only][-1] == (
        "Their AUM is just above the Gold floor: mention that a downgrade would reduce their service and privileges")
    downgrade_lines = [point for point in with_signal if "downgrade" in point.text]
    assert [point.source for point in downgrade_lines] == ["signal"]
    assert downgrade_lines[0].text == ("AUM 52,000 CNY is just above the Gold floor of 50,000 CNY: tell them a "
                                       "downgrade would reduce their service and privileges")


def test_no_line_twice_and_no_more_than_the_desk_can_read():
    signals = [COMPETITOR, WITHDRAWAL, SATISFACTION, TIER,
               SignalFacts(kind="model_risk", probability=0.72),
               SignalFacts(kind="service_failure", event_on=TODAY, details={"complained_on": TODAY.isoformat()})]
    with translation.override("en"):
        points = talking_points(customer=PRODUCT_CUSTOMER, signals=signals, lobby_steps=["Greet", "Greet"],
                                today=TODAY)
    texts = [point.text for point in points]
    assert len(texts) == len(set(texts)) == TALKING_POINTS_MAX
    assert [point.source for point in points] == ["signal"] * TALKING_POINTS_MAX


def test_every_line_has_its_chinese():
    signals = [COMPETITOR, WITHDRAWAL, SATISFACTION, TIER, SignalFacts(kind="model_risk", probability=0.72),
               SignalFacts(kind="aum_drop", event_on=dt.date(2026, 11, 1),
                           details={"aum": "60000", "previous_aum": "100000"}),
               SignalFacts(kind="recovery_eligible"),
               SignalFacts(kind="own_maturity", event_on=dt.date(2026, 12, 3),
                           details={"product": "DB-WM-180", "product_name": "稳盈180天"}, replacement=WENYING),
               SignalFacts(kind="service_failure", event_on=TODAY, details={"complained_on": TODAY.isoformat()})]
    with translation.override("zh-hans"):
        lines = [signal_point(signal, today=TODAY) for signal in signals]
        lines += [point.text for segment in ("product", "consumption", "service", "")
                  for point in talking_points(customer=CustomerFacts(segment=segment, near_floor_tier="gold"),
                                              signals=[], today=TODAY)]
    for line in lines:
        assert line and not any("a" <= ch.lower() <= "z" for ch in line.replace("AUM", "")), line
