"""retention.replacement: the best of our products of the same kind for a maturing holding
(the rule, without a database), and the catalogue read once for a page's maturity signals."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import translation

from retention.models import Case
from retention.replacement import (
    CatalogueProduct,
    case_tasks_name_replacement,
    replacement_choose,
    replacement_text,
    replacements_for_signals,
)
from tests.retention.factories import CaseFactory, HoldingFactory, ProductFactory, SignalFactory, TaskFactory


def product(code, *, kind="wealth", yield_pct="3.00", term=90, min_amount=None, name=None):
    return CatalogueProduct(code=code, name=name or code, kind=kind,
                            yield_pct=Decimal(yield_pct) if yield_pct is not None else None, term_days=term,
                            min_amount=Decimal(min_amount) if min_amount is not None else None)


def choose(catalogue, *, kind="wealth", amount="200000", term=90):
    chosen = replacement_choose(kind=kind, amount=Decimal(amount) if amount else None, term_days=term,
                                catalogue=catalogue)
    return chosen.code if chosen else None


def test_the_highest_yield_of_a_similar_term_wins_over_a_higher_yield_of_a_far_term():
    catalogue = [product("W90", yield_pct="3.10", term=90), product("W80", yield_pct="2.90", term=80),
                 product("W365", yield_pct="3.60", term=365)]
    assert choose(catalogue, term=90) == "W90"
    assert choose(catalogue, term=360) == "W365"


def test_only_our_products_of_the_same_kind_are_offered():
    catalogue = [product("D90", kind="deposit", yield_pct="4.00"), product("W90", yield_pct="2.00")]
    assert choose(catalogue, kind="wealth") == "W90"
    assert choose(catalogue, kind="fund") is None


def test_a_product_the_amount_cannot_buy_is_left_out():
    catalogue = [product("BIG", yield_pct="3.80", min_amount="1000000"), product("SMALL", yield_pct="3.00")]
    assert choose(catalogue, amount="200000") == "SMALL"
    assert choose(catalogue, amount="1000000") == "BIG"


def test_without_a_similar_term_the_best_yield_of_the_kind_then_the_closest_term():
    catalogue = [product("W365", yield_pct="3.00", term=365), product("W730", yield_pct="3.00", term=730),
                 product("W14", yield_pct="2.00", term=14)]
    assert choose(catalogue, term=180) == "W365"


def test_without_a_term_the_best_yield():
    catalogue = [product("A", yield_pct="2.50", term=30), product("B", yield_pct="2.70", term=None)]
    assert choose(catalogue, term=None) == "B"


def test_a_product_without_a_yield_is_not_offered():
    assert choose([product("NOYIELD", yield_pct=None)]) is None


def test_a_tie_of_yield_goes_to_the_closer_term_then_the_code():
    catalogue = [product("B60", yield_pct="3.00", term=60), product("A100", yield_pct="3.00", term=100),
                 product("C100", yield_pct="3.00", term=100)]
    assert choose(catalogue, term=95) == "A100"


@pytest.mark.parametrize("language,text", [("en", "Have our 稳盈90天 (3.10%) ready"),
                                           ("zh-hans", "备好本行稳盈90天（年化3.10%）")])
def test_the_replacement_is_said_with_its_yield_in_the_readers_language(language, text):
    with translation.override(language):
        assert replacement_text(product("W90", yield_pct="3.100", name="稳盈90天")) == text


@pytest.mark.django_db
def test_the_maturity_signals_of_a_page_read_the_catalogue_once(bank, django_assert_num_queries):
    ProductFactory(product_code="OUR-W90", kind="wealth", yield_pct=Decimal("3.100"), term_days=90)
    ProductFactory(product_code="OUR-W365", kind="wealth", yield_pct=Decimal("3.500"), term_days=365)
    theirs = ProductFactory(product_code="ICBC-W", provider="ICBC", is_ours=False, kind="wealth", term_days=91)
    signals = []
    for _ in range(3):
        holding = HoldingFactory(product=theirs, amount=Decimal("300000"), start_on=dt.date(2026, 9, 5),
                                 maturity_on=dt.date(2026, 12, 5))
        signals.append(SignalFactory(case=CaseFactory(customer=holding.customer), kind="competitor_maturity",
                                     details={"holding_id": holding.pk, "amount": "300000.00"}))
    signals.append(SignalFactory(case=CaseFactory(), kind="model_risk"))

    with django_assert_num_queries(2):
        chosen = replacements_for_signals(signals=signals)

    assert {signal.pk: product.code for signal, product in ((s, chosen[s.pk]) for s in signals[:3])} == {
        signal.pk: "OUR-W90" for signal in signals[:3]}
    assert signals[3].pk not in chosen


@pytest.mark.django_db
def test_no_query_without_a_maturity_signal(bank, django_assert_num_queries):
    signals = [SignalFactory(kind="model_risk"), SignalFactory(kind="competitor_maturity", details={})]
    with django_assert_num_queries(0):
        assert replacements_for_signals(signals=signals) == {}


@pytest.mark.django_db
def test_the_step_that_prepares_the_replacement_names_it(bank):
    ProductFactory(product_code="OUR-W90", name="稳盈90天", kind="wealth", yield_pct=Decimal("3.100"), term_days=90)
    theirs = ProductFactory(product_code="ICBC-W", provider="ICBC", is_ours=False, kind="wealth", term_days=90)
    holding = HoldingFactory(customer=bank.customer, product=theirs, amount=Decimal("300000"),
                             start_on=dt.date(2026, 9, 5), maturity_on=dt.date(2026, 12, 5))
    case = CaseFactory(customer=bank.customer)
    signal = SignalFactory(case=case, kind="competitor_maturity", details={"holding_id": holding.pk})
    prepare = TaskFactory(case=case, signal=signal, order=1)
    call = TaskFactory(case=case, signal=signal, order=2)

    case = Case.objects.prefetch_related("signals", "tasks").get(pk=case.pk)  # as the 360's selector reads it

    with translation.override("en"):
        case_tasks_name_replacement(cases=[case])

    prepared = {task.pk: getattr(task, "replacement_note", "") for task in case.tasks.all()}
    assert prepared == {prepare.pk: "Have our 稳盈90天 (3.10%) ready", call.pk: ""}
