from __future__ import annotations

import re

import numpy as np
import pytest
from django.utils import translation

from churn.labels import labelled_month_ends
from churn.reasons import _RENDERERS, reasons_from_contributions, render_reasons
from churn.training import build_training_rows, train_and_evaluate
from demo.synthetic import generate_bank

FLOORS = {"gold": 50_000, "platinum": 500_000, "private": 6_000_000}


@pytest.fixture(scope="module")
def trained():
    frames = generate_bank(customers=800, months=24, seed=5)
    month_ends = labelled_month_ends(frames.monthly, window_months=3)[6:]
    rows = build_training_rows(frames, month_ends=month_ends, window_months=3, aum_drop_ratio=0.5,
                               min_avg_aum=1_000, tier_floors=FLOORS)
    return train_and_evaluate(rows, window_months=3, params={"max_iter": 40})


def test_contributions_add_up_to_the_models_calibrated_log_odds(trained):
    rows = trained.evaluation_rows
    contributions, bias = trained.model.contributions(rows)
    assert contributions.shape == (len(rows), len(trained.model.features))
    np.testing.assert_allclose(bias + contributions.sum(axis=1), trained.model.logit(rows), atol=1e-9)
    probability = 1 / (1 + np.exp(-(bias + contributions.sum(axis=1))))
    np.testing.assert_allclose(probability, trained.model.predict_proba(rows), atol=1e-12)


def test_top_reasons_are_the_largest_positive_group_contributions(trained):
    rows = trained.evaluation_rows.head(200)
    contributions, _ = trained.model.contributions(rows)
    reasons = reasons_from_contributions(rows, contributions, trained.model.features)
    for entry in reasons:
        assert len(entry) <= 3
        values = [r["contribution"] for r in entry]
        assert values == sorted(values, reverse=True) and all(v > 0 for v in values)


REASONS = [
    {"feature": "aum_change_3m", "contribution": 0.8, "value": -0.32, "params": {"pct": 32, "down": True, "months": 3}},
    {"feature": "competitor_maturity", "contribution": 0.5, "value": 200000.0,
     "params": {"amount": 200000, "days": 6, "kind": "wealth", "total": 200000}},
    {"feature": "survey", "contribution": 0.3, "value": 4.0, "params": {"score": 4, "previous": 9, "days": 12}},
    {"feature": "something_retired", "contribution": 0.1, "value": 1.0, "params": {}},
]


def test_sentences_in_english_with_the_customers_numbers():
    with translation.override("en"):
        assert render_reasons(REASONS) == [
            "AUM down 32% over 3 months",
            "A competitor's wealth product of 200,000 CNY matures in 6 days",
            "Satisfaction score fell from 9 to 4",
        ]


def test_sentences_in_chinese():
    with translation.override("zh-hans"):
        assert render_reasons(REASONS) == [
            "近3个月资产下降32%",
            "他行理财产品200,000元将于6天后到期",
            "满意度评分从9降至4",
        ]


def test_every_reason_kind_renders_in_both_languages(trained):
    rows = trained.evaluation_rows
    contributions, _ = trained.model.contributions(rows)
    stored = [r for entry in reasons_from_contributions(rows, -contributions, trained.model.features)
              + reasons_from_contributions(rows, contributions, trained.model.features) for r in entry]
    for language in ("en", "zh-hans"):
        with translation.override(language):
            sentences = render_reasons(stored)
        assert len(sentences) == len(stored) and all(sentences)


PARAM_VARIANTS = [
    {"pct": 32, "down": True, "months": 3, "amount": 200_000, "level": 1_200, "peak": 900_000, "days": 6,
     "kind": "wealth", "tier": "gold", "score": 4, "previous": 9, "count": 3, "fewer": 1, "segment": "product",
     "years": 2},
    {"pct": 12, "down": False, "months": 1, "amount": 0, "level": 40, "days": None, "score": None, "count": 2,
     "fewer": 0, "segment": ""},
    {"down": False, "months": 6},
]


@pytest.mark.parametrize("params", PARAM_VARIANTS)
def test_no_reason_reaches_a_chinese_page_in_english(params):
    """Every sentence template is in the catalogue: a Chinese page shows no English words."""
    for feature, render in _RENDERERS.items():
        with translation.override("zh-hans"):
            try:
                sentence = render(dict(params))
            except (KeyError, TypeError):
                continue  # these params do not fit this sentence; another variant covers it
        assert not re.search(r"[A-Za-z]{3,}", sentence), f"{feature}: {sentence}"


def test_a_customer_without_an_opening_date_has_an_unknown_tenure_not_none_years():
    reasons = [{"feature": "tenure", "contribution": 0.2, "value": None, "params": {"years": None}},
               {"feature": "tenure", "contribution": 0.1, "value": 7.2, "params": {"years": 7}}]
    with translation.override("en"):
        assert render_reasons(reasons) == ["Customer since an unknown date", "Customer for 7 years"]
    with translation.override("zh-hans"):
        assert render_reasons(reasons)[0] == "开户日期未知"


def test_every_model_feature_has_a_signal_label_in_both_languages():
    from churn.features import FEATURE_COLUMNS
    from churn.reasons import feature_label

    for language in ("en", "zh-hans"):
        with translation.override(language):
            labels = {feature: feature_label(feature) for feature in FEATURE_COLUMNS}
        assert all(labels.values()), [f for f, label in labels.items() if not label]
        if language == "zh-hans":
            assert not [label for label in labels.values() if re.search(r"[A-Za-z]{3,}", label)]


# What the alert rules (retention.rules) store when an event fires an alert.
EVENT_REASONS = [
    {"feature": "own_product_matures", "contribution": None, "value": 3, "product": "稳盈90天理财",
     "maturity_on": "2026-12-02"},
    {"feature": "competitor_product_matures", "contribution": None, "value": 6, "product": "远航半年盈",
     "provider": "远航银行", "maturity_on": "2026-12-05"},
    {"feature": "aum_near_tier_floor", "contribution": None, "value": 0.0575, "tier": "platinum", "floor": 500000},
    {"feature": "aum_change_1m", "contribution": None, "value": -0.3512, "previous_aum": "800000.00",
     "aum": "519040.00"},
    {"feature": "large_appointment", "contribution": None, "value": "770000.00", "appointment_kind": "transfer",
     "scheduled_on": "2026-11-30"},
    {"feature": "satisfaction_score", "contribution": None, "value": 3, "previous": 9, "surveyed_on": "2026-11-10"},
    {"feature": "complaint_logged", "contribution": None, "value": "2026-11-20", "note": "排队太久"},
    {"feature": "aum_recovered", "contribution": None, "value": "420000.00", "pre_drop_aum": "450000.00"},
]


def test_the_alert_rules_own_reasons_read_as_sentences():
    with translation.override("en"):
        assert render_reasons(EVENT_REASONS) == [
            "Our 稳盈90天理财 matures on 2 Dec, in 3 days",
            "远航银行's 远航半年盈 matures on 5 Dec, in 6 days",
            "AUM only 6% above the platinum tier floor of 500,000 CNY",
            "AUM down 35% in the last month",
            "A large transfer of 770,000 CNY is booked for 30 Nov",
            "Satisfaction score fell from 9 to 3",
            "Complaint logged on 20 Nov",
            "AUM back to 420,000 CNY, from 450,000 CNY after the drop",
        ]
    with translation.override("zh-hans"):
        sentences = render_reasons(EVENT_REASONS)
    assert len(sentences) == len(EVENT_REASONS)
    assert not [s for s in sentences if re.search(r"[A-Za-z]{3,}", s)], sentences


def test_the_tenure_is_worded_from_the_opening_date_not_the_months_of_data():
    from datetime import date

    import pandas as pd

    from churn.features import BankFrames, build_features

    customers = pd.DataFrame([{"customer_id": "A", "gender": "F", "birth_date": pd.Timestamp("1970-01-01"),
                               "opened_on": pd.Timestamp("2013-04-01"), "annual_income": 1, "credit_score": 1,
                               "region": "", "segment": ""}])
    monthly = pd.DataFrame({"customer_id": "A", "month": pd.date_range("2025-01-01", periods=7, freq="MS"),
                            "aum": 100_000.0, "deposit_balance": 100_000.0, "wealth_balance": 0.0,
                            "loan_balance": 0.0, "card_spend": 0.0, "txn_count": 1, "digital_logins": 1,
                            "products_held": 1, "status": "active"})
    features = build_features(BankFrames(customers=customers, monthly=monthly), as_of=date(2025, 7, 31),
                              tier_floors=FLOORS)
    features["tenure_years"] = features["tenure_years"].astype(float)
    [reasons] = reasons_from_contributions(features, np.array([[1.0]]), ["tenure_years"])
    with translation.override("en"):
        assert render_reasons(reasons) == ["Banked with us since 2013"]
    with translation.override("zh-hans"):
        assert render_reasons(reasons) == ["自2013年起在本行开户"]


def test_the_daily_average_and_spend_reasons_read_as_sentences_in_both_languages():
    reasons = [
        {"feature": "month_end_vs_daily_avg", "contribution": 0.5, "value": 2.4, "params": {"pct": 240}},
        {"feature": "daily_avg_change", "contribution": 0.4, "value": -0.4, "params": {"pct": 40, "down": True}},
        {"feature": "spend_to_balance", "contribution": 0.3, "value": 0.8, "params": {"pct": 80, "level": 9000}},
    ]
    with translation.override("en"):
        assert render_reasons(reasons) == ["Month-end balance 240% of the month's daily average",
                                           "Daily-average AUM down 40% in the last month",
                                           "Card spend equal to 80% of the balance a month"]
    with translation.override("zh-hans"):
        assert render_reasons(reasons) == ["月末余额为当月日均的240%", "月日均资产上月下降40%",
                                           "每月信用卡消费相当于余额的80%"]
