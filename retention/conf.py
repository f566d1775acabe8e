"""Retention settings: the one place this app reads the settings.

Each value is read when used (functions, not import-time constants), so a
test's ``settings`` fixture or an operator's override takes effect without a
restart of the module. Every name below may be set in ``config/settings.py``;
the defaults are the ones from the product brief. Those the environment may set
(the README's configuration table) have their default in ``config/settings.py``,
marked ``IN_SETTINGS`` here; the others have it in this table. Either way it is
written once. A value of the wrong type fails loudly rather than being ignored
(``core.conf.setting``).
"""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ImproperlyConfigured

from churn import conf as churn_conf
from core.conf import IN_SETTINGS, setting
from customers import conf as customers_conf

# name -> (default, type). Kept in one table so the README can list them from here.
DEFAULTS: dict[str, tuple[object, type]] = {
    # Model-risk rule: which risk bands raise an alert, and a probability floor on top.
    "RETENTION_RISK_BANDS": (("high", "medium"), tuple),
    "RETENTION_RISK_MIN_PROBABILITY": (0.0, float),
    # "At risk" for the own-product rollover rule: the customer's latest band is one of these.
    "RETENTION_AT_RISK_BANDS": (("high", "medium"), tuple),
    # Event windows, in days from the run date.
    "RETENTION_COMPETITOR_MATURITY_DAYS": (IN_SETTINGS, int),
    "RETENTION_OWN_MATURITY_DAYS": (IN_SETTINGS, int),
    "RETENTION_APPOINTMENT_DAYS_AHEAD": (1, int),
    "RETENTION_LARGE_APPOINTMENT_MIN_AMOUNT": (0.0, float),
    # Tier downgrade ahead: AUM at most this fraction above its tier floor, and falling.
    "RETENTION_TIER_MARGIN": (IN_SETTINGS, float),
    # Sharp drop: AUM fell by at least this fraction from one month to the next.
    "RETENTION_AUM_DROP_RATIO": (IN_SETTINGS, float),
    # Recovery campaign: last month's drop must be at least this large to count as a drop.
    "RETENTION_RECOVERY_MIN_DROP_RATIO": (0.10, float),
    # Satisfaction fell: latest score at or below LOW_SCORE, or down by DROP_POINTS from the previous one.
    "RETENTION_SATISFACTION_LOW_SCORE": (6, int),
    "RETENTION_SATISFACTION_DROP_POINTS": (3, int),
    "RETENTION_SATISFACTION_LOOKBACK_DAYS": (90, int),
    "RETENTION_COMPLAINT_LOOKBACK_DAYS": (14, int),
    # Priority = probability x AUM at risk x save rate - contact cost.
    "RETENTION_SAVE_RATE_PRIOR": (IN_SETTINGS, float),
    # Weight of the prior in pseudo-alerts: the observed rate takes over as outcomes accumulate.
    "RETENTION_SAVE_RATE_PRIOR_WEIGHT": (50, int),
    "RETENTION_EVENT_PROBABILITY_PRIOR": (0.3, float),
    "RETENTION_CONTACT_COST": (IN_SETTINGS, float),
    "RETENTION_DAILY_BUDGET": (IN_SETTINGS, int),
    # Share of customers held out as a control group, drawn per customer and measurement period.
    "RETENTION_CONTROL_SHARE": (IN_SETTINGS, float),
    # The measurement period of the control draw, in months (3: a calendar quarter).
    "RETENTION_CONTROL_PERIOD_MONTHS": (3, int),
    # Changing the salt starts a fresh assignment (from the next period on, by convention).
    "RETENTION_CONTROL_SALT": ("retention-control-v1", str),
    # The branch head calls a core customer whose satisfaction fell within this many days.
    "RETENTION_CALLBACK_DAYS": (2, int),
    # The RM calls this many days before a competitor's product matures.
    "RETENTION_MATURITY_CALL_DAYS_BEFORE": (7, int),
    # A case staff dismissed or closed is not opened again for this many days.
    "RETENTION_SUPPRESS_DAYS": (30, int),
    # A snooze ends at most this many days ahead: a case is put off, never forgotten.
    "RETENTION_SNOOZE_MAX_DAYS": (IN_SETTINGS, int),
    # Already lost: a customer who met the churn definition within this many of the latest
    # known months, and has not come back since, gets a win-back case.
    "RETENTION_WIN_BACK_LOOKBACK_MONTHS": (6, int),
    # ... and only if at least this much AUM (CNY) left: a customer hovering at a tier floor
    # with a few hundred CNY is not a win-back case.
    "RETENTION_WIN_BACK_MIN_AUM_LOST": (10_000.0, float),
    # Contact-frequency cap: at most COUNT outbound contacts with a customer in DAYS days
    # (today included), counted from the contact log (retention.contactability).
    "RETENTION_CONTACT_CAP_COUNT": (IN_SETTINGS, int),
    "RETENTION_CONTACT_CAP_DAYS": (IN_SETTINGS, int),

    # The team's day (retention.escalation, retention.digest): a task overdue by this many days
    # goes up to the branch head; the morning digest's hour; a new case from this expected
    # value (CNY) is "high value"; at most this many rows per part of a digest; its links' site.
    "RETENTION_ESCALATE_AFTER_DAYS": (IN_SETTINGS, int),
    "RETENTION_DIGEST_HOUR": (IN_SETTINGS, int),
    "RETENTION_DIGEST_HIGH_VALUE_CNY": (IN_SETTINGS, float),
    "RETENTION_DIGEST_MAX_ROWS": (20, int),
    "SITE_URL": (IN_SETTINGS, str),
}


def _get(name: str):
    default, kind = DEFAULTS[name]
    return setting(name, kind, default)


def risk_bands() -> tuple[str, ...]:
    return _get("RETENTION_RISK_BANDS")


def risk_min_probability() -> float:
    return _get("RETENTION_RISK_MIN_PROBABILITY")


def at_risk_bands() -> tuple[str, ...]:
    return _get("RETENTION_AT_RISK_BANDS")


def competitor_maturity_days() -> int:
    return _get("RETENTION_COMPETITOR_MATURITY_DAYS")


def own_maturity_days() -> int:
    return _get("RETENTION_OWN_MATURITY_DAYS")


def appointment_days_ahead() -> int:
    return _get("RETENTION_APPOINTMENT_DAYS_AHEAD")


def large_appointment_min_amount() -> Decimal:
    return Decimal(str(_get("RETENTION_LARGE_APPOINTMENT_MIN_AMOUNT")))


def tier_margin() -> float:
    return _get("RETENTION_TIER_MARGIN")


def aum_drop_ratio() -> float:
    return _get("RETENTION_AUM_DROP_RATIO")


def recovery_min_drop_ratio() -> float:
    return _get("RETENTION_RECOVERY_MIN_DROP_RATIO")


def satisfaction_low_score() -> int:
    return _get("RETENTION_SATISFACTION_LOW_SCORE")


def satisfaction_drop_points() -> int:
    return _get("RETENTION_SATISFACTION_DROP_POINTS")


def satisfaction_lookback_days() -> int:
    return _get("RETENTION_SATISFACTION_LOOKBACK_DAYS")


def complaint_lookback_days() -> int:
    return _get("RETENTION_COMPLAINT_LOOKBACK_DAYS")


def save_rate_prior() -> float:
    return _get("RETENTION_SAVE_RATE_PRIOR")


def save_rate_prior_weight() -> int:
    return _get("RETENTION_SAVE_RATE_PRIOR_WEIGHT")


def event_probability_prior() -> float:
    return _get("RETENTION_EVENT_PROBABILITY_PRIOR")


def contact_cost() -> float:
    return _get("RETENTION_CONTACT_COST")


def daily_budget() -> int:
    return _get("RETENTION_DAILY_BUDGET")


def control_share() -> float:
    return _get("RETENTION_CONTROL_SHARE")


def control_period_months() -> int:
    return _get("RETENTION_CONTROL_PERIOD_MONTHS")


def control_salt() -> str:
    return _get("RETENTION_CONTROL_SALT")


def callback_days() -> int:
    return _get("RETENTION_CALLBACK_DAYS")


def maturity_call_days_before() -> int:
    return _get("RETENTION_MATURITY_CALL_DAYS_BEFORE")


def suppress_days() -> int:
    return _get("RETENTION_SUPPRESS_DAYS")


def snooze_max_days() -> int:
    return _get("RETENTION_SNOOZE_MAX_DAYS")


def win_back_lookback_months() -> int:
    return _get("RETENTION_WIN_BACK_LOOKBACK_MONTHS")


def win_back_min_aum_lost() -> float:
    return _get("RETENTION_WIN_BACK_MIN_AUM_LOST")


def contact_cap_count() -> int:
    return _at_least_one("RETENTION_CONTACT_CAP_COUNT")


def contact_cap_days() -> int:
    return _at_least_one("RETENTION_CONTACT_CAP_DAYS")


def _at_least_one(name: str) -> int:
    # A cap of 0 contacts (or over 0 days) would block every call or none: a typing mistake.
    value = _get(name)
    if value < 1:
        raise ImproperlyConfigured(f"{name} must be at least 1, got {value!r}")
    return value

def escalate_after_days() -> int:
    return _get("RETENTION_ESCALATE_AFTER_DAYS")


def digest_hour() -> int:
    return _get("RETENTION_DIGEST_HOUR")


def digest_high_value() -> float:
    return _get("RETENTION_DIGEST_HIGH_VALUE_CNY")


def digest_max_rows() -> int:
    return _get("RETENTION_DIGEST_MAX_ROWS")


def site_url() -> str:
    return _get("SITE_URL").rstrip("/")


# Shared with the bank data and the churn engine, read by their readers.


def core_tiers() -> tuple[str, ...]:
    return customers_conf.core_tiers()


def tier_floors() -> dict[str, float]:
    return customers_conf.tier_floors()


def churn_window_months() -> int:
    return churn_conf.window_months()


def churn_aum_drop_ratio() -> float:
    return churn_conf.aum_drop_ratio()


def churn_min_avg_aum() -> float:
    return churn_conf.min_avg_aum()
