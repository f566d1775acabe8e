"""What the lobby manager says and does when a customer walks in: one line per active signal
of the customer's case, in plain words with its date and how far off it is ("Competitor
wealth product matures on December 5 (in 4 days): refer to the RM, have our 稳盈90天
ready"), then the case's own open lobby steps, then the segment's lines for the lobby.

Pure functions over plain facts (``SignalFacts``, ``CustomerFacts``): no query, testable
without a database; ``retention.branch_selectors`` turns rows into facts. Text in the
reader's language (gettext), dates in its format.

The tier is mentioned only when it matters: a tier-downgrade signal says it with its figures,
and the segment's tier line is added only for a customer whose AUM is just above their tier's
floor (``customers.tiers.tier_floor_near``); never to a mass-tier customer, who has no lower
tier, nor to one far above their floor.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext

from customers.models import Segment, Tier
from retention.models import SignalKind
from retention.replacement import CatalogueProduct

# The lobby manager reads them standing at the desk: every signal's line, then at most this many in all.
TALKING_POINTS_MAX = 6


@dataclass(frozen=True)
class SignalFacts:
    """What a line needs of an active signal (``retention.models.Signal``)."""

    kind: str
    event_on: dt.date | None = None
    details: Mapping = field(default_factory=dict)
    probability: float = 0.0
    # Our product to offer, for a maturing holding (``retention.replacement``).
    replacement: CatalogueProduct | None = None


@dataclass(frozen=True)
class CustomerFacts:
    segment: str
    # The tier whose floor the customer's AUM is just above, if it is (None: far from any floor).
    near_floor_tier: str | None = None


@dataclass(frozen=True)
class TalkingPoint:
    text: str
    # "signal": from the customer's own signals; "step": an open lobby step of the case;
    # "segment": the segment's lines, the same for every customer of the segment.
    source: str
    # The kind of the signal a "signal" line says.
    signal_kind: str = ""


# --- the pieces ---------------------------------------------------------------------------------


def day_text(day: dt.date) -> str:
    """"December 5" / "12月5日"."""
    return date_format(day, "MONTH_DAY_FORMAT")


def when_text(day: dt.date, *, today: dt.date) -> str:
    """How far off ``day`` is: "today", "tomorrow", "in 4 days", "3 days ago"."""
    days = (day - today).days
    if days == 0:
        return pgettext("lobby: when", "today")
    if days == 1:
        return pgettext("lobby: when", "tomorrow")
    if days == -1:
        return pgettext("lobby: when", "yesterday")
    if days > 1:
        return ngettext("in %(days)s day", "in %(days)s days", days) % {"days": days}
    return ngettext("%(days)s day ago", "%(days)s days ago", -days) % {"days": -days}


def money_text(value) -> str:
    try:
        return f"{int(round(Decimal(str(value)))):,}"
    except (ArithmeticError, TypeError, ValueError):
        return "-"


def _date(value) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _kind_word(kind: str) -> str:
    return {
        "wealth": pgettext("lobby: product kind", "wealth product"),
        "deposit": pgettext("lobby: product kind", "deposit"),
        "fund": pgettext("lobby: product kind", "fund"),
        "insurance": pgettext("lobby: product kind", "insurance policy"),
    }.get(kind, pgettext("lobby: product kind", "product"))


def _product_text(product: CatalogueProduct) -> str:
    if product.yield_pct is None:
        return product.name
    return _("%(product)s (%(yield)s%%)") % {"product": product.name, "yield": f"{product.yield_pct:.2f}"}


def _dated(signal: SignalFacts, key: str) -> dt.date | None:
    return signal.event_on or _date(signal.details.get(key))


# --- one line per signal ------------------------------------------------------------------------


def _competitor_maturity(signal: SignalFacts, today: dt.date) -> str | None:
    day = _dated(signal, "maturity_on")
    if day is None:
        return None
    values = {"kind": _kind_word(signal.replacement.kind if signal.replacement else ""), "day": day_text(day),
              "when": when_text(day, today=today)}
    if signal.replacement is None:
        return _("Competitor %(kind)s matures on %(day)s (%(when)s): refer to the RM") % values
    return _("Competitor %(kind)s matures on %(day)s (%(when)s): refer to the RM, have our %(product)s ready") % {
        **values, "product": _product_text(signal.replacement)}


def _own_maturity(signal: SignalFacts, today: dt.date) -> str | None:
    day = _dated(signal, "maturity_on")
    if day is None:
        return None
    values = {"product": signal.details.get("product_name") or _kind_word(""), "day": day_text(day),
              "when": when_text(day, today=today)}
    replacement = signal.replacement
    if replacement is None or replacement.code == signal.details.get("product"):
        return _("Our %(product)s matures on %(day)s (%(when)s): refer to the RM to roll it over") % values
    return _("Our %(product)s matures on %(day)s (%(when)s): refer to the RM, have our %(replacement)s ready") % {
        **values, "replacement": _product_text(replacement)}


def _large_withdrawal(signal: SignalFacts, today: dt.date) -> str | None:
    day = _dated(signal, "scheduled_on")
    if day is None:
        return None
    values = {"amount": money_text(signal.details.get("amount")), "day": day_text(day),
              "when": when_text(day, today=today)}
    if signal.details.get("appointment_kind") == "transfer":
        return _("Large transfer of %(amount)s CNY booked for %(day)s (%(when)s): seat them in the wealth area "
                 "and call the RM") % values
    return _("Large cash withdrawal of %(amount)s CNY booked for %(day)s (%(when)s): seat them in the wealth "
             "area and call the RM") % values


def _satisfaction_drop(signal: SignalFacts, today: dt.date) -> str | None:
    day = _dated(signal, "surveyed_on")
    score = signal.details.get("score")
    if day is None or score is None:
        return None
    values = {"score": score, "previous": signal.details.get("previous_score"), "day": day_text(day),
              "when": when_text(day, today=today)}
    if values["previous"] is not None:
        return _("Satisfaction fell from %(previous)s to %(score)s in the survey of %(day)s (%(when)s): apologise "
                 "for how we served them and tell the branch head") % values
    return _("Satisfaction score %(score)s in the survey of %(day)s (%(when)s): apologise for how we served them "
             "and tell the branch head") % values


def _service_failure(signal: SignalFacts, today: dt.date) -> str | None:
    day = _dated(signal, "complained_on")
    if day is None:
        return _("Complained about our service: apologise and tell the branch head")
    return _("Complained about our service on %(day)s (%(when)s): apologise and tell the branch head") % {
        "day": day_text(day), "when": when_text(day, today=today)}


def _tier_downgrade(signal: SignalFacts, today: dt.date) -> str | None:
    tier, floor = signal.details.get("tier"), signal.details.get("floor")
    if tier not in Tier.values or floor is None:
        return None
    return _("AUM %(aum)s CNY is just above the %(tier)s floor of %(floor)s CNY: tell them a downgrade would "
             "reduce their service and privileges") % {
        "aum": money_text(signal.details.get("aum")), "tier": Tier(tier).label, "floor": money_text(floor)}


def _aum_drop(signal: SignalFacts, today: dt.date) -> str | None:
    try:
        before, now = Decimal(str(signal.details["previous_aum"])), Decimal(str(signal.details["aum"]))
    except (KeyError, ArithmeticError):
        return None
    if before <= 0:
        return None
    month = _dated(signal, "month")
    values = {"pct": int(round((1 - now / before) * 100)),
              "month": date_format(month, "YEAR_MONTH_FORMAT") if month else ""}
    return _("AUM fell %(pct)s%% in %(month)s: ask kindly whether anything is wrong and refer to the RM") % values


def _recovery_eligible(signal: SignalFacts, today: dt.date) -> str | None:
    return _("AUM is back to its level before the drop: tell them they are in this month's prize draw")


def _model_risk(signal: SignalFacts, today: dt.date) -> str | None:
    return _("Likely to leave us (churn risk %(pct)s%%): refer to the RM") % {
        "pct": int(round(signal.probability * 100))}


_LINES: dict[str, Callable[[SignalFacts, dt.date], str | None]] = {
    SignalKind.COMPETITOR_MATURITY: _competitor_maturity,
    SignalKind.OWN_MATURITY: _own_maturity,
    SignalKind.LARGE_WITHDRAWAL: _large_withdrawal,
    SignalKind.SATISFACTION_DROP: _satisfaction_drop,
    SignalKind.SERVICE_FAILURE: _service_failure,
    SignalKind.TIER_DOWNGRADE: _tier_downgrade,
    SignalKind.AUM_DROP: _aum_drop,
    SignalKind.RECOVERY_ELIGIBLE: _recovery_eligible,
    SignalKind.MODEL_RISK: _model_risk,
    # A win-back (already left) is said by the lookup's own win-back line.
}


def signal_point(signal: SignalFacts, *, today: dt.date) -> str | None:
    """The line of one active signal; None for a kind without one, or one missing its date."""
    line = _LINES.get(signal.kind)
    return line(signal, today) if line else None


# --- the segment's lines ------------------------------------------------------------------------


def segment_points(customer: CustomerFacts) -> list[str]:
    """The segment's lines for the lobby (the product brief's playbooks, in the lobby's words),
    and the tier line only for a customer just above their tier's floor."""
    by_segment: dict[str, list[str]] = {
        Segment.PRODUCT: [_("Ask whether they are comparing yields with another bank; offer our side-by-side "
                            "table of products")],
        Segment.CONSUMPTION: [_("Ask about plans that will need money soon (home, car, education, business) and "
                                "hand them to the RM to introduce our loans")],
        Segment.SERVICE: [_("Greet them by name, offer a seat and keep their wait short")],
    }
    lines = by_segment.get(customer.segment, [_("Greet them, offer a seat and ask what brings them in today")])
    if customer.near_floor_tier in Tier.values:
        lines.append(_("Their AUM is just above the %(tier)s floor: mention that a downgrade would reduce their "
                       "service and privileges") % {"tier": Tier(customer.near_floor_tier).label})
    return lines


def talking_points(
    *, customer: CustomerFacts, signals: Sequence[SignalFacts], lobby_steps: Sequence[str] = (),
    today: dt.date,
) -> list[TalkingPoint]:
    """Everything the lobby manager says, in order: a line per active signal (as given: the
    leading signal first), the case's open lobby steps, the segment's lines; no line twice, at
    most ``TALKING_POINTS_MAX`` (every signal line kept first). With no signal (a customer
    not at risk) only the segment's lines. A tier-downgrade signal already says the tier, so
    the segment's tier line is not repeated."""
    points = [TalkingPoint(line, "signal", signal.kind) for signal in signals
              if (line := signal_point(signal, today=today))]
    points += [TalkingPoint(step, "step") for step in lobby_steps if step]
    if any(signal.kind == SignalKind.TIER_DOWNGRADE for signal in signals):
        customer = CustomerFacts(segment=customer.segment)
    points += [TalkingPoint(line, "segment") for line in segment_points(customer)]
    unique: dict[str, TalkingPoint] = {}
    for point in points:
        unique.setdefault(point.text, point)
    return list(unique.values())[:TALKING_POINTS_MAX]
