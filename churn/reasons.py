"""Reasons: the model's per-customer attributions turned into short sentences.

Two halves, kept apart on purpose:

- ``reasons_from_contributions`` (scoring time) groups the per-feature
  contributions into reason kinds (the three ``segment_*`` columns are one
  reason, ``aum_drop_from_peak`` and ``months_since_peak`` another, ...), keeps
  the three that raise this customer's risk the most, and stores for each the
  contribution, the value and the customer's own numbers the sentence needs.
  Group sums keep the attributions additive.
- ``render_reasons`` (display time) turns those JSON entries into sentences in
  the active language through gettext, so a Chinese and an English reader see
  the same reason in their own words.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable

import numpy as np
import pandas as pd
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

# reason kind -> the feature columns whose contributions it sums
REASON_GROUPS: dict[str, tuple[str, ...]] = {
    "aum_change_1m": ("aum_change_1m",),
    "aum_change_3m": ("aum_change_3m",),
    "aum_change_6m": ("aum_change_6m",),
    "aum_level": ("aum", "aum_avg_3m"),
    "aum_peak": ("aum_drop_from_peak", "months_since_peak"),
    "aum_volatility": ("aum_volatility_6m",),
    "deposits": ("deposit_share", "deposit_share_change_3m", "deposit_change_3m"),
    "wealth": ("wealth_share", "wealth_share_change_3m", "wealth_change_3m"),
    "loans": ("loan_balance", "loan_change_3m"),
    "card_spend": ("card_spend_3m", "card_spend_trend"),
    "transactions": ("txn_count_3m", "txn_count_trend"),
    "digital_logins": ("digital_logins_3m", "digital_logins_trend"),
    "products_held": ("products_held", "products_held_change_3m"),
    "month_end_vs_daily_avg": ("month_end_to_daily_avg", "month_end_to_daily_avg_3m",
                               "month_end_to_daily_avg_change_1m"),
    "daily_avg_change": ("daily_avg_change_1m", "daily_avg_change_3m"),
    "spend_to_balance": ("card_spend_to_aum", "card_spend_to_aum_3m", "card_spend_to_aum_change_3m",
                         "card_spend_to_deposits"),
    "tier": ("tier", "aum_above_tier_floor", "tier_floor_headroom"),
    "ours_maturing": ("ours_maturing_30d",),
    "competitor_maturity": ("competitor_maturing_7d", "competitor_maturing_30d", "competitor_days_to_maturity"),
    "competitor_share": ("competitor_holdings_share",),
    "survey": ("survey_last_score", "survey_score_change", "days_since_survey"),
    "large_withdrawal": ("large_withdrawal_amount", "large_withdrawal_to_aum", "days_to_large_withdrawal"),
    "contact": ("days_since_contact", "contacts_90d"),
    "tenure": ("tenure_years",),
    "age": ("age",),
    "income": ("annual_income",),
    "credit_score": ("credit_score",),
    "segment": ("segment_product", "segment_consumption", "segment_service"),
}
# What each group of signals is, in a few words (the analyst's feature-importance table).
REASON_GROUP_LABELS: dict[str, str] = {
    "aum_change_1m": gettext_noop("AUM change, 1 month"),
    "aum_change_3m": gettext_noop("AUM change, 3 months"),
    "aum_change_6m": gettext_noop("AUM change, 6 months"),
    "aum_level": gettext_noop("AUM level"),
    "aum_peak": gettext_noop("distance from the AUM peak"),
    "aum_volatility": gettext_noop("AUM volatility"),
    "deposits": gettext_noop("deposits"),
    "wealth": gettext_noop("wealth products"),
    "loans": gettext_noop("loans"),
    "card_spend": gettext_noop("card spend"),
    "transactions": gettext_noop("transactions"),
    "digital_logins": gettext_noop("digital banking logins"),
    "products_held": gettext_noop("products held"),
    "month_end_vs_daily_avg": gettext_noop("month-end balance against the daily average"),
    "daily_avg_change": gettext_noop("daily-average AUM change"),
    "spend_to_balance": gettext_noop("card spend against the balance"),
    "tier": gettext_noop("headroom above the tier floor"),
    "ours_maturing": gettext_noop("our products maturing"),
    "competitor_maturity": gettext_noop("competitor products maturing"),
    "competitor_share": gettext_noop("share held at competitors"),
    "survey": gettext_noop("satisfaction surveys"),
    "large_withdrawal": gettext_noop("large withdrawal booked"),
    "contact": gettext_noop("contact with staff"),
    "tenure": gettext_noop("years as a customer"),
    "age": gettext_noop("age"),
    "income": gettext_noop("annual income"),
    "credit_score": gettext_noop("credit score"),
    "segment": gettext_noop("segment"),
}
_GROUP_OF = {column: kind for kind, columns in REASON_GROUPS.items() for column in columns}


def sentence_case(text: str) -> str:
    """``text`` with its first letter a capital: every reason and label starts the same way on
    the page ("AUM down 32%", "A large withdrawal ...", "Satisfaction score fell ..."), whether
    its wording begins with an acronym or a plain word. The catalogue keeps its wording in
    lower case (it is also used inside longer sentences); Chinese text is unchanged."""
    return text[:1].upper() + text[1:]


def feature_label(feature: str) -> str:
    """The signal group a model feature belongs to, in the active language ("" if none)."""
    kind = _GROUP_OF.get(feature)
    return sentence_case(_(REASON_GROUP_LABELS[kind])) if kind else ""


# The feature whose value is stored as the reason's ``value``.
_PRIMARY = {kind: features[0] for kind, features in REASON_GROUPS.items()}
_PRIMARY.update({"aum_level": "aum", "tier": "aum_above_tier_floor", "segment": "segment",
                 "competitor_maturity": "competitor_maturing_30d"})


def _floats(frame_columns: dict[str, np.ndarray], name: str, rows: np.ndarray) -> np.ndarray:
    """Column ``name`` at ``rows`` as floats; NaN where missing, non-numeric or infinite (or no such column)."""
    column = frame_columns.get(name)
    if column is None:
        return np.full(len(rows), np.nan)
    values = column[rows]
    if values.dtype == object:
        values = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy()
    values = values.astype(float)
    values[~np.isfinite(values)] = np.nan
    return values


def _strings(frame_columns: dict[str, np.ndarray], name: str, rows: np.ndarray) -> list[str]:
    column = frame_columns.get(name)
    if column is None:
        return [""] * len(rows)
    return [value if isinstance(value, str) else "" for value in column[rows].tolist()]


def _wholes(values: np.ndarray) -> list[int | None]:
    """Rounded to whole numbers (half to even, as ``round``), None where NaN."""
    out = np.full(len(values), None, dtype=object)
    known = ~np.isnan(values)
    out[known] = np.rint(values[known]).astype(np.int64).tolist()
    return out.tolist()


def _pcts(values: np.ndarray) -> list[int | None]:
    return _wholes(np.abs(values) * 100)


def _downs(values: np.ndarray) -> list[bool]:
    return (values < 0).tolist()  # NaN < 0 is False


def _params(kind: str, c: dict[str, np.ndarray], rows: np.ndarray) -> dict[str, list]:
    """The numbers the sentence for ``kind`` needs, for each of ``rows``: name -> one value per row.

    Column-wise (numpy) rather than row by row: a million-customer night explains
    a hundred thousand of them.
    """
    def f(name: str) -> np.ndarray:
        return _floats(c, name, rows)

    n = len(rows)
    if kind in ("aum_change_1m", "aum_change_3m", "aum_change_6m"):
        change = f(kind)
        return {"pct": _pcts(change), "down": _downs(change), "months": [int(kind.split("_")[-1].rstrip("m"))] * n}
    if kind == "aum_level":
        return {"amount": _wholes(f("aum"))}
    if kind == "aum_peak":
        return {"pct": _pcts(f("aum_drop_from_peak")), "months": _wholes(f("months_since_peak")),
                "peak": _wholes(f("aum_peak_12m"))}
    if kind == "aum_volatility":
        return {"pct": _pcts(f("aum_volatility_6m"))}
    if kind in ("deposits", "wealth"):
        change = f(f"{'deposit' if kind == 'deposits' else 'wealth'}_change_3m")
        return {"pct": _pcts(change), "down": _downs(change)}
    if kind == "loans":
        change = f("loan_change_3m")
        return {"amount": _wholes(f("loan_balance")), "pct": _pcts(change), "down": _downs(change)}
    if kind in ("card_spend", "transactions", "digital_logins"):
        column = {"card_spend": "card_spend", "transactions": "txn_count", "digital_logins": "digital_logins"}[kind]
        trend = f(f"{column}_trend")
        return {"level": _wholes(f(f"{column}_3m")), "pct": _pcts(trend), "down": _downs(trend)}
    if kind == "products_held":
        change = np.rint(f("products_held_change_3m"))
        return {"count": _wholes(f("products_held")), "fewer": _wholes(np.where(change < 0, -change, 0.0))}
    if kind == "month_end_vs_daily_avg":
        return {"pct": _wholes(f("month_end_to_daily_avg") * 100)}
    if kind == "daily_avg_change":
        change = f("daily_avg_change_1m")
        return {"pct": _pcts(change), "down": _downs(change)}
    if kind == "spend_to_balance":
        return {"pct": _wholes(f("card_spend_to_aum") * 100), "level": _wholes(f("card_spend_3m"))}
    if kind == "tier":
        return {"amount": _wholes(f("aum_above_tier_floor")), "tier": _strings(c, "tier_name", rows)}
    if kind == "ours_maturing":
        return {"amount": _wholes(f("ours_maturing_30d"))}
    if kind == "competitor_maturity":
        return {"amount": _wholes(f("competitor_next_amount")), "days": _wholes(f("competitor_days_to_maturity")),
                "kind": _strings(c, "competitor_next_kind", rows), "total": _wholes(f("competitor_maturing_30d"))}
    if kind == "competitor_share":
        return {"pct": _pcts(f("competitor_holdings_share"))}
    if kind == "survey":
        return {"score": _wholes(f("survey_last_score")), "previous": _wholes(f("survey_previous_score")),
                "days": _wholes(f("days_since_survey"))}
    if kind == "large_withdrawal":
        return {"amount": _wholes(f("large_withdrawal_amount")), "pct": _pcts(f("large_withdrawal_to_aum")),
                "days": _wholes(f("days_to_large_withdrawal"))}
    if kind == "contact":
        return {"days": _wholes(f("days_since_contact"))}
    if kind == "tenure":
        return {"years": _wholes(f("tenure_years")), "since": _wholes(f("opened_year"))}
    if kind == "age":
        return {"years": _wholes(f("age"))}
    if kind == "income":
        return {"amount": _wholes(f("annual_income"))}
    if kind == "credit_score":
        return {"score": _wholes(f("credit_score"))}
    if kind == "segment":
        return {"segment": _strings(c, "segment", rows)}
    return {}


def _values(kind: str, c: dict[str, np.ndarray], rows: np.ndarray) -> list:
    """The reason's ``value``: the primary feature, rounded to 4 places (a string for the segment)."""
    primary = _PRIMARY[kind]
    column = c.get(primary)
    if column is not None and column.dtype == object:
        raw = column[rows].tolist()
        if any(isinstance(value, str) for value in raw):
            return [value if isinstance(value, str) else None for value in raw]
    values = _floats(c, primary, rows)
    return [None if math.isnan(value) else round(value, 4) for value in values.tolist()]


def reasons_from_contributions(
    rows: pd.DataFrame, contributions: np.ndarray, features: list[str], *, top: int = 3
) -> list[list[dict]]:
    """For each row, up to ``top`` reasons that push its churn risk up, strongest first.

    ``contributions`` is ``(len(rows), len(features))`` in log-odds; a reason's
    contribution is the sum over its group's features. Vectorised per reason
    kind: the only per-row Python left is building the small dicts stored as JSON.
    """
    kinds = [kind for kind, columns in REASON_GROUPS.items() if any(c in features for c in columns)]
    grouping = np.zeros((len(features), len(kinds)))
    for j, kind in enumerate(kinds):
        for column in REASON_GROUPS[kind]:
            if column in features:
                grouping[features.index(column), j] = 1.0
    n = len(rows)
    result: list[list[dict]] = [[] for _ in range(n)]
    if n == 0 or not kinds:
        return result
    grouped = np.asarray(contributions) @ grouping
    order = np.argsort(-grouped, axis=1, kind="stable")[:, :top]
    strongest = np.take_along_axis(grouped, order, axis=1)
    columns = {name: rows[name].to_numpy() for name in rows.columns}
    # Rank by rank, so each row's list comes out strongest first; a reason must raise the risk.
    for rank in range(order.shape[1]):
        positive = strongest[:, rank] > 0
        for j, kind in enumerate(kinds):
            members = np.flatnonzero(positive & (order[:, rank] == j))
            if not len(members):
                continue
            params = _params(kind, columns, members)
            names = list(params)
            for i, contribution, value, *param_values in zip(
                members.tolist(), strongest[members, rank].tolist(), _values(kind, columns, members),
                *params.values(), strict=True,
            ):
                result[i].append({"feature": kind, "contribution": round(contribution, 4), "value": value,
                                  "params": dict(zip(names, param_values, strict=True))})
    return result


# --- rendering -----------------------------------------------------------------------------------


def _amount(value) -> str:
    return f"{value:,}" if isinstance(value, int) else "-"


def _kind_label(kind: str) -> str:
    return {
        "deposit": _("deposit"), "wealth": _("wealth"), "fund": _("fund"), "insurance": _("insurance"),
        "loan": _("loan"), "card": _("card"),
    }.get(kind, _("investment"))


def _tier_label(tier: str) -> str:
    return {"mass": _("mass"), "gold": _("gold"), "platinum": _("platinum"), "private": _("private banking")}.get(
        tier, tier)


def _change_sentence(p: dict) -> str:
    if p["months"] == 1:
        text = _("AUM down %(pct)s%% in the last month") if p["down"] else _("AUM up %(pct)s%% in the last month")
    else:
        text = (_("AUM down %(pct)s%% over %(months)s months") if p["down"]
                else _("AUM up %(pct)s%% over %(months)s months"))
    return text % p


def _peak_sentence(p: dict) -> str:
    if not p.get("pct"):
        return _("AUM at its 12-month peak")
    return _("AUM %(pct)s%% below its 12-month peak of %(peak)s CNY") % {**p, "peak": _amount(p.get("peak"))}


def _trend_sentence(down: str, level: str) -> Callable[[dict], str]:
    def render(p: dict) -> str:
        if p.get("down") and p.get("pct") is not None:
            return _(down) % p
        return _(level) % {**p, "level": _amount(p.get("level"))}
    return render


def _balance_sentence(down: str, up: str, unknown: str) -> Callable[[dict], str]:
    def render(p: dict) -> str:
        if p.get("pct") is None:
            return _(unknown)
        return (_(down) if p.get("down") else _(up)) % p
    return render


def _loans(p: dict) -> str:
    if not p.get("amount"):
        return _("no loans with us")
    if p.get("down") and p.get("pct"):
        return _("loans down %(pct)s%% over 3 months") % p
    return _("loan balance of %(amount)s CNY") % {"amount": _amount(p.get("amount"))}


def _products(p: dict) -> str:
    if p.get("fewer"):
        return _("holds %(count)s products, %(fewer)s fewer than 3 months ago") % p
    return _("holds %(count)s products") % p


def _competitor(p: dict) -> str:
    if p.get("days") is not None and p.get("amount"):
        return _("a competitor's %(kind)s product of %(amount)s CNY matures in %(days)s days") % {
            "kind": _kind_label(p.get("kind", "")), "amount": _amount(p["amount"]), "days": p["days"]}
    return _("no competitor product maturing in the next 30 days")


def _survey(p: dict) -> str:
    if p.get("score") is None:
        return _("no satisfaction survey on record")
    if p.get("previous") is not None and p["previous"] > p["score"]:
        return _("satisfaction score fell from %(previous)s to %(score)s") % p
    return _("satisfaction score %(score)s") % p


def _withdrawal(p: dict) -> str:
    if not p.get("amount"):
        return _("no large withdrawal booked")
    return _("a large withdrawal of %(amount)s CNY (%(pct)s%% of AUM) is booked in %(days)s days") % {
        **p, "amount": _amount(p["amount"])}


def _contact(p: dict) -> str:
    if p.get("days") is None:
        return _("never contacted by staff")
    return _("not contacted for %(days)s days") % p


def _segment(p: dict) -> str:
    return {"product": _("product-oriented customer"), "consumption": _("consumption-oriented customer"),
            "service": _("service-oriented customer")}.get(p.get("segment", ""), _("customer with no segment"))


_RENDERERS: dict[str, Callable[[dict], str]] = {
    "aum_change_1m": _change_sentence,
    "aum_change_3m": _change_sentence,
    "aum_change_6m": _change_sentence,
    "aum_level": lambda p: _("AUM of %(amount)s CNY") % {"amount": _amount(p.get("amount"))},
    "aum_peak": _peak_sentence,
    "aum_volatility": lambda p: _("AUM unsteady: swings of %(pct)s%% over 6 months") % p,
    "deposits": _balance_sentence(gettext_noop("deposits down %(pct)s%% over 3 months"),
                                  gettext_noop("deposits up %(pct)s%% over 3 months"),
                                  gettext_noop("new deposits this quarter")),
    "wealth": _balance_sentence(gettext_noop("wealth products down %(pct)s%% over 3 months"),
                                gettext_noop("wealth products up %(pct)s%% over 3 months"),
                                gettext_noop("new wealth products this quarter")),
    "loans": _loans,
    "card_spend": _trend_sentence(gettext_noop("card spend down %(pct)s%% on the previous 3 months"),
                                  gettext_noop("card spend of %(level)s CNY a month")),
    "transactions": _trend_sentence(gettext_noop("transactions down %(pct)s%% on the previous 3 months"),
                                    gettext_noop("%(level)s transactions a month")),
    "digital_logins": _trend_sentence(gettext_noop("digital banking logins down %(pct)s%% on the previous 3 months"),
                                      gettext_noop("%(level)s digital banking logins a month")),
    "products_held": _products,
    "month_end_vs_daily_avg": lambda p: (
        _("month-end balance %(pct)s%% of the month's daily average") % p if p.get("pct") is not None
        else _("no daily-average balance on record")),
    "daily_avg_change": _balance_sentence(gettext_noop("daily-average AUM down %(pct)s%% in the last month"),
                                          gettext_noop("daily-average AUM up %(pct)s%% in the last month"),
                                          gettext_noop("no daily-average balance on record")),
    "spend_to_balance": lambda p: (
        _("card spend equal to %(pct)s%% of the balance a month") % p if p.get("pct") is not None
        else _("no card spend against the balance on record")),
    "tier": lambda p: _("AUM only %(amount)s CNY above the %(tier)s tier floor") % {
        "amount": _amount(p.get("amount")), "tier": _tier_label(p.get("tier", ""))},
    "ours_maturing": lambda p: _("our products of %(amount)s CNY mature within 30 days") % {
        "amount": _amount(p.get("amount"))},
    "competitor_maturity": _competitor,
    "competitor_share": lambda p: _("competitors' products equal to %(pct)s%% of AUM") % p,
    "survey": _survey,
    "large_withdrawal": _withdrawal,
    "contact": _contact,
    # From the opening date, not the months of balance data. No opening date (customers.csv
    # may leave opened_on empty): the tenure is unknown.
    "tenure": lambda p: (_("banked with us since %(since)s") % p if p.get("since") is not None
                         else _("customer for %(years)s years") % p if p.get("years") is not None
                         else _("customer since an unknown date")),
    "age": lambda p: _("aged %(years)s") % p,
    "income": lambda p: (_("annual income of %(amount)s CNY") % {"amount": _amount(p.get("amount"))}
                         if p.get("amount") is not None else _("annual income unknown")),
    "credit_score": lambda p: (_("credit score %(score)s") % p if p.get("score") is not None
                               else _("credit score unknown")),
    "segment": _segment,
}


# --- the alert rules' own reasons -------------------------------------------------------
# The event rules (retention.rules) store what fired them as {"feature", "value", extras...}
# rather than model contributions with "params"; these say it in the reader's language.


def _money_text(value) -> str:
    try:
        return _amount(int(round(float(value))))
    except (TypeError, ValueError):
        return "-"


def _day(value) -> str:
    try:
        return date_format(dt.date.fromisoformat(str(value)), "MONTH_DAY_FORMAT")
    except ValueError:
        return str(value)


def _percent(ratio) -> int:
    return int(round(abs(float(ratio)) * 100))


def _event_change(p: dict) -> str:
    return _change_sentence({"months": 1, "down": float(p["value"]) < 0, "pct": _percent(p["value"])})


def _event_appointment(p: dict) -> str:
    text = (_("a large transfer of %(amount)s CNY is booked for %(day)s") if p.get("appointment_kind") == "transfer"
            else _("a large cash withdrawal of %(amount)s CNY is booked for %(day)s"))
    return text % {"amount": _money_text(p["value"]), "day": _day(p["scheduled_on"])}


def _month_text(value) -> str:
    try:
        return date_format(dt.date.fromisoformat(str(value)[:10]), "YEAR_MONTH_FORMAT")
    except ValueError:
        return str(value)


def _already_lost(p: dict) -> str:
    """A customer who has left by the churn definition (retention.rules.rule_already_lost):
    when, by which of its criteria, and how much AUM went."""
    values = {
        "month": _month_text(p["lost_month"]), "before": _money_text(p.get("aum_before")),
        "now": _money_text(p.get("aum_now")), "lost": _money_text(p.get("aum_lost")),
        "pct": _percent(p["value"]) if p.get("value") is not None else 0, "tier": _tier_label(p.get("tier", "")),
    }
    if p.get("criterion") == "closed":
        return _("left in %(month)s by the churn definition: accounts closed, %(lost)s CNY of AUM gone") % values
    if p.get("criterion") == "tier_downgrade":
        return _("left in %(month)s by the churn definition: fell out of the %(tier)s tier, AUM down from "
                 "%(before)s CNY to %(now)s CNY") % values
    return _("left in %(month)s by the churn definition: AUM down %(pct)s%% from %(before)s CNY to %(now)s CNY") % (
        values)


_EVENT_RENDERERS: dict[str, Callable[[dict], str]] = {
    "competitor_product_matures": lambda p: _("%(provider)s's %(product)s matures on %(day)s, in %(days)s days") % {
        "provider": p.get("provider", ""), "product": p.get("product", ""), "day": _day(p["maturity_on"]),
        "days": p["value"]},
    "own_product_matures": lambda p: _("our %(product)s matures on %(day)s, in %(days)s days") % {
        "product": p.get("product", ""), "day": _day(p["maturity_on"]), "days": p["value"]},
    "aum_near_tier_floor": lambda p: _("AUM only %(pct)s%% above the %(tier)s tier floor of %(floor)s CNY") % {
        "pct": _percent(p["value"]), "tier": _tier_label(p.get("tier", "")), "floor": _money_text(p["floor"])},
    "aum_change_1m": _event_change,
    "large_appointment": _event_appointment,
    "satisfaction_score": lambda p: _survey({"score": p["value"], "previous": p.get("previous")}),
    "complaint_logged": lambda p: _("complaint logged on %(day)s") % {"day": _day(p["value"])},
    "aum_recovered": lambda p: _("AUM back to %(amount)s CNY, from %(before)s CNY after the drop") % {
        "amount": _money_text(p["value"]), "before": _money_text(p.get("pre_drop_aum"))},
    "already_lost": _already_lost,
}


def render_reasons(reasons: list[dict]) -> list[str]:
    """Sentences for stored reasons, in the active language, each starting with a capital
    (``sentence_case``); unknown kinds are skipped."""
    sentences = []
    for reason in reasons or []:
        feature = reason.get("feature", "")
        if "params" in reason:
            renderer, params = _RENDERERS.get(feature), reason.get("params") or {}
        else:
            renderer = _EVENT_RENDERERS.get(feature)
            params = {key: value for key, value in reason.items() if key not in ("feature", "contribution")}
        if renderer is None:
            continue
        try:
            sentences.append(sentence_case(renderer(params)))
        except (KeyError, TypeError, ValueError):
            # A reason stored by an older version lacking a number: say less rather than fail the page.
            continue
    return sentences


# --- why a model version is (not) active ----------------------------------------------------


def model_kind_label(kind: str) -> str:
    return {"gradient_boosting": _("gradient-boosted model"), "logistic_regression": _("logistic baseline"),
            "rule_aum_drop_30pct_3m": _("rule baseline (AUM down more than %(pct)s%% in 3 months)") % {"pct": 30},
            }.get(kind, kind)


def algorithm_label(algorithm: str) -> str:
    """A version's algorithm (stored as the training code names it, in English) in the reader's
    language: the three kinds the training knows; anything else as stored."""
    text = (algorithm or "").lower()
    if "histgradientboosting" in text or "gradient" in text:
        return _("Gradient-boosted trees, calibrated (Platt scaling); reasons from the trees' paths")
    if "logistic" in text:
        return _("Logistic regression on standardised features, calibrated (Platt scaling)")
    if text.startswith("rule"):
        return _("Rule: AUM down more than %(pct)s%% in 3 months") % {"pct": 30}
    return algorithm


def evaluation_method_sentence(method: str | None) -> str:
    """How a version was evaluated, for the model pages and the command's output."""
    if method == "held_out_customers":
        return _("Evaluated on held-out customers, not on a later period: the bank's history has too few "
                 "month-ends for a time split.")
    return _("Evaluated on a later month-end than the model was trained on.")


def champion_sentence(decision: dict) -> str:
    """Why a baseline, not the gradient-boosted model, scores the customers ("" when the model does)."""
    if not decision.get("champion") or decision["champion"] == "gradient_boosting":
        return ""
    lead = decision.get("lead_interval") or [None, None]
    values = {"baseline": model_kind_label(decision["champion"]), "model": decision.get("model_pr_auc") or 0.0,
              "other": decision.get("baseline_pr_auc") or 0.0, "low": lead[0] or 0.0, "high": lead[1] or 0.0}
    return _("The gradient-boosted model does not beat the %(baseline)s by PR AUC with its interval "
             "(%(model).3f vs %(other).3f; its lead, 95%% interval %(low).3f to %(high).3f, is not above zero), "
             "so the %(baseline)s scores the customers.") % values


def refusal_sentence(code: str, params: dict) -> str:
    """Why training refused, in one sentence in the active language (``training.TrainingRefused``)."""
    sentences = {
        "no_data": _("Cannot train: there are no customers or monthly balances yet. Import the bank's files first."),
        "short_history": _("Cannot train: training needs at least %(needed)s months of balances (one month-end and "
                           "the %(window)s-month churn window after it); the bank's data has %(have)s."),
        "no_month_ends": _("Cannot train: no month-end has a full %(window)s-month churn window after it."),
        "no_rows": _("Cannot train: no customer is eligible at any labelled month-end (active, with at least "
                     "the minimum average AUM)."),
        "no_churners": _("Cannot train: no customer churned after any labelled month-end (%(rows)s rows), so "
                         "there is nothing to learn."),
        "all_churners": _("Cannot train: every customer churned after every labelled month-end (%(rows)s rows), "
                          "so there is nothing to tell apart."),
        "too_few": _("Cannot train: too few churners or non-churners (%(positives)s churners and %(negatives)s "
                     "others at %(month)s; at least %(minimum)s of each are needed)."),
    }
    if code not in sentences:
        return _("Cannot train: %(reason)s.") % {"reason": params.get("reason", code)}
    return sentences[code] % params


def activation_sentence(decision: dict) -> str:
    """The activation decision training records (``ModelVersion.metrics["activation"]``),
    as sentences in the active language: which model scores and why, then whether it is active."""
    champion = champion_sentence(decision)
    active = _activation_only(decision)
    return f"{champion} {active}" if champion else active


def _activation_only(decision: dict) -> str:
    values = {"id": decision.get("incumbent"), "new": decision.get("pr_auc") or 0.0,
              "old": decision.get("incumbent_pr_auc") or 0.0, "month": ""}
    if decision.get("evaluation_month"):
        values["month"] = date_format(dt.date.fromisoformat(decision["evaluation_month"]), "YEAR_MONTH_FORMAT")
    reason = decision.get("reason")
    if reason == "first":
        return _("The first model, so it is active.")
    if reason == "incumbent_unreadable":
        return _("Active: model #%(id)s could not be evaluated on the new month.") % values
    if reason == "better":
        return _("Active: beats #%(id)s on %(month)s (PR AUC %(new).3f vs %(old).3f).") % values
    if decision.get("forced"):
        return _("Activated by hand although it does not beat #%(id)s on %(month)s "
                 "(PR AUC %(new).3f vs %(old).3f).") % values
    return _("Not active: does not beat #%(id)s on %(month)s (PR AUC %(new).3f vs %(old).3f).") % values


def version_activation_text(version) -> str:
    """Why ``version`` is active or not, from the decision training recorded in its metrics;
    versions trained before that was recorded keep their note."""
    decision = (version.metrics or {}).get("activation")
    return activation_sentence(decision) if decision else version.activation_note
