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

import math
from collections.abc import Callable

import numpy as np
import pandas as pd
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop as N_

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
    "history": ("months_of_history",),
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
# The feature whose value is stored as the reason's ``value``.
_PRIMARY = {kind: features[0] for kind, features in REASON_GROUPS.items()}
_PRIMARY.update({"aum_level": "aum", "tier": "aum_above_tier_floor", "segment": "segment",
                 "competitor_maturity": "competitor_maturing_30d"})


def _num(value) -> float | None:
    if value is None:
        return None
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(value) else value


def _pct(value) -> int | None:
    value = _num(value)
    return None if value is None else int(round(abs(value) * 100))


def _whole(value) -> int | None:
    value = _num(value)
    return None if value is None else int(round(value))


def _params(kind: str, row: _Row) -> dict:
    """The numbers the sentence for ``kind`` needs, from this customer's feature row."""
    if kind in ("aum_change_1m", "aum_change_3m", "aum_change_6m"):
        change = _num(row[kind])
        return {"pct": _pct(change), "down": bool(change is not None and change < 0),
                "months": int(kind.split("_")[-1].rstrip("m"))}
    if kind == "aum_level":
        return {"amount": _whole(row["aum"])}
    if kind == "aum_peak":
        return {"pct": _pct(row["aum_drop_from_peak"]), "months": _whole(row["months_since_peak"]),
                "peak": _whole(row.get("aum_peak_12m"))}
    if kind == "aum_volatility":
        return {"pct": _pct(row["aum_volatility_6m"])}
    if kind in ("deposits", "wealth"):
        change = _num(row[f"{'deposit' if kind == 'deposits' else 'wealth'}_change_3m"])
        return {"pct": _pct(change), "down": bool(change is not None and change < 0)}
    if kind == "loans":
        change = _num(row["loan_change_3m"])
        return {"amount": _whole(row["loan_balance"]), "pct": _pct(change),
                "down": bool(change is not None and change < 0)}
    if kind in ("card_spend", "transactions", "digital_logins"):
        column = {"card_spend": "card_spend", "transactions": "txn_count", "digital_logins": "digital_logins"}[kind]
        trend = _num(row[f"{column}_trend"])
        return {"level": _whole(row[f"{column}_3m"]), "pct": _pct(trend),
                "down": bool(trend is not None and trend < 0)}
    if kind == "products_held":
        change = _whole(row["products_held_change_3m"])
        return {"count": _whole(row["products_held"]), "fewer": -change if change and change < 0 else 0}
    if kind == "history":
        return {"months": _whole(row["months_of_history"])}
    if kind == "tier":
        return {"amount": _whole(row["aum_above_tier_floor"]), "tier": row.get("tier_name") or ""}
    if kind == "ours_maturing":
        return {"amount": _whole(row["ours_maturing_30d"])}
    if kind == "competitor_maturity":
        kind_name = row.get("competitor_next_kind")
        return {"amount": _whole(row.get("competitor_next_amount")),
                "days": _whole(row["competitor_days_to_maturity"]),
                "kind": kind_name if isinstance(kind_name, str) else "",
                "total": _whole(row["competitor_maturing_30d"])}
    if kind == "competitor_share":
        return {"pct": _pct(row["competitor_holdings_share"])}
    if kind == "survey":
        return {"score": _whole(row["survey_last_score"]), "previous": _whole(row.get("survey_previous_score")),
                "days": _whole(row["days_since_survey"])}
    if kind == "large_withdrawal":
        return {"amount": _whole(row["large_withdrawal_amount"]), "pct": _pct(row["large_withdrawal_to_aum"]),
                "days": _whole(row["days_to_large_withdrawal"])}
    if kind == "contact":
        return {"days": _whole(row["days_since_contact"])}
    if kind == "tenure":
        return {"years": _whole(row["tenure_years"])}
    if kind == "age":
        return {"years": _whole(row["age"])}
    if kind == "income":
        return {"amount": _whole(row["annual_income"])}
    if kind == "credit_score":
        return {"score": _whole(row["credit_score"])}
    if kind == "segment":
        return {"segment": row.get("segment") or ""}
    return {}


class _Row:
    """Read-only view of row ``i`` of a frame's columns: cheaper than ``iterrows``."""

    __slots__ = ("columns", "i")

    def __init__(self, columns: dict[str, np.ndarray], i: int) -> None:
        self.columns, self.i = columns, i

    def __getitem__(self, name: str):
        return self.columns[name][self.i]

    def get(self, name: str, default=None):
        column = self.columns.get(name)
        return default if column is None else column[self.i]


def reasons_from_contributions(
    rows: pd.DataFrame, contributions: np.ndarray, features: list[str], *, top: int = 3
) -> list[list[dict]]:
    """For each row, up to ``top`` reasons that push its churn risk up, strongest first.

    ``contributions`` is ``(len(rows), len(features))`` in log-odds; a reason's
    contribution is the sum over its group's features.
    """
    kinds = [kind for kind, columns in REASON_GROUPS.items() if any(c in features for c in columns)]
    grouping = np.zeros((len(features), len(kinds)))
    for j, kind in enumerate(kinds):
        for column in REASON_GROUPS[kind]:
            if column in features:
                grouping[features.index(column), j] = 1.0
    grouped = contributions @ grouping
    order = np.argsort(-grouped, axis=1)[:, :top]
    columns = {name: rows[name].to_numpy() for name in rows.columns}
    result: list[list[dict]] = []
    for i in range(len(rows)):
        row = _Row(columns, i)
        reasons = []
        for j in order[i]:
            contribution = float(grouped[i, j])
            if contribution <= 0:
                break
            kind = kinds[j]
            primary = _PRIMARY[kind]
            value = row.get(primary)
            value = value if isinstance(value, str) else _num(value)
            if isinstance(value, float):
                value = round(value, 4)
            reasons.append({"feature": kind, "contribution": round(contribution, 4), "value": value,
                            "params": _params(kind, row)})
        result.append(reasons)
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
    "deposits": _balance_sentence(N_("deposits down %(pct)s%% over 3 months"),
                                  N_("deposits up %(pct)s%% over 3 months"), N_("new deposits this quarter")),
    "wealth": _balance_sentence(N_("wealth products down %(pct)s%% over 3 months"),
                                N_("wealth products up %(pct)s%% over 3 months"),
                                N_("new wealth products this quarter")),
    "loans": _loans,
    "card_spend": _trend_sentence(N_("card spend down %(pct)s%% on the previous 3 months"),
                                  N_("card spend of %(level)s CNY a month")),
    "transactions": _trend_sentence(N_("transactions down %(pct)s%% on the previous 3 months"),
                                    N_("%(level)s transactions a month")),
    "digital_logins": _trend_sentence(N_("digital banking logins down %(pct)s%% on the previous 3 months"),
                                      N_("%(level)s digital banking logins a month")),
    "products_held": _products,
    "history": lambda p: _("only %(months)s months of history with us") % p,
    "tier": lambda p: _("AUM only %(amount)s CNY above the %(tier)s tier floor") % {
        "amount": _amount(p.get("amount")), "tier": _tier_label(p.get("tier", ""))},
    "ours_maturing": lambda p: _("our products of %(amount)s CNY mature within 30 days") % {
        "amount": _amount(p.get("amount"))},
    "competitor_maturity": _competitor,
    "competitor_share": lambda p: _("competitors' products equal to %(pct)s%% of AUM") % p,
    "survey": _survey,
    "large_withdrawal": _withdrawal,
    "contact": _contact,
    "tenure": lambda p: _("customer for %(years)s years") % p,
    "age": lambda p: _("aged %(years)s") % p,
    "income": lambda p: (_("annual income of %(amount)s CNY") % {"amount": _amount(p.get("amount"))}
                         if p.get("amount") is not None else _("annual income unknown")),
    "credit_score": lambda p: (_("credit score %(score)s") % p if p.get("score") is not None
                               else _("credit score unknown")),
    "segment": _segment,
}


def render_reasons(reasons: list[dict]) -> list[str]:
    """Sentences for stored reasons, in the active language; unknown kinds are skipped."""
    sentences = []
    for reason in reasons or []:
        renderer = _RENDERERS.get(reason.get("feature", ""))
        if renderer is None:
            continue
        try:
            sentences.append(renderer(reason.get("params") or {}))
        except (KeyError, TypeError, ValueError):
            # A reason stored by an older version lacking a number: say less rather than fail the page.
            continue
    return sentences
