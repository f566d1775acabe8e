"""Our replacement product for a maturing holding: what the RM has ready when a competitor's
product (or one of ours) matures, and what the lobby manager names at the desk.

``replacement_choose`` is the rule, a pure function over plain catalogue entries (tested
without a database); ``replacements_for_signals`` reads the catalogue once and applies it to
the maturity signals of a page. One rule for the playbook step on the 360 and the case card
and for the lobby's talking points, so the two never name different products.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext as _

from customers.models import Holding, Product
from retention.models import Signal, SignalKind, Task

# The signals whose holding matures: the RM prepares our replacement (or the rollover) for them.
MATURITY_KINDS = (SignalKind.COMPETITOR_MATURITY, SignalKind.OWN_MATURITY)
# A term is "similar" within this share of the maturing holding's term, or this many days,
# whichever is wider: a 90-day product is similar to 63..117 days, a 14-day one to 0..44 days.
SIMILAR_TERM_SHARE = 0.3
SIMILAR_TERM_DAYS = 30


@dataclass(frozen=True)
class CatalogueProduct:
    """One product of our catalogue, as the rule reads it. ``min_amount``: the least one can
    buy, when the catalogue says (today's product catalogue has no such column: None)."""

    code: str
    name: str
    kind: str
    yield_pct: Decimal | None
    term_days: int | None
    min_amount: Decimal | None = None


def _term_is_similar(term_days: int | None, wanted: int) -> bool:
    if term_days is None:
        return False
    return abs(term_days - wanted) <= max(SIMILAR_TERM_DAYS, wanted * SIMILAR_TERM_SHARE)


def replacement_choose(
    *, kind: str, amount: Decimal | None, term_days: int | None, catalogue: Iterable[CatalogueProduct],

) -> CatalogueProduct | None:
    """The best of our products to offer for a maturing holding of ``kind`` and ``amount``.

    The rule: among our products of the same kind that have a yield and that the amount can
    buy (``min_amount`` at most ``amount``, where the catalogue has a minimum), those whose
    term is similar to the maturing holding's (within 30% or 30 days of ``term_days``) come
    first; among them the highest yield wins, then the term closest to ``term_days``, then the
    product code. Without a similar term, the same order over every product of the kind
    (the closest term breaking ties of yield). Without ``term_days``, the highest yield. For
    one of our own products maturing, the same rule: rolling over into it is offered when it
    is still the best. None when we have no product of that kind the amount can buy."""
    fitting = [
        product for product in catalogue
        if product.kind == kind and product.yield_pct is not None
        and (product.min_amount is None or amount is None or product.min_amount <= amount)
    ]
    if not fitting:
        return None

    def distance(product: CatalogueProduct) -> int:
        if term_days is None or product.term_days is None:
            return 0 if term_days is None else 10**6
        return abs(product.term_days - term_days)

    if term_days is not None:
        similar = [product for product in fitting if _term_is_similar(product.term_days, term_days)]
        fitting = similar or fitting
    return min(fitting, key=lambda product: (-(product.yield_pct or 0), distance(product), product.code))


def replacement_text(product: CatalogueProduct) -> str:
    """"Have our 稳盈90天 (3.10%) ready", in the reader's language."""
    if product.yield_pct is None:
        return _("Have our %(product)s ready") % {"product": product.name}
    return _("Have our %(product)s (%(yield)s%%) ready") % {"product": product.name,
                                                           "yield": f"{product.yield_pct:.2f}"}


def catalogue_load() -> list[CatalogueProduct]:
    """Our products, as the rule reads them: one query."""
    return [
        CatalogueProduct(code=code, name=name, kind=kind, yield_pct=yield_pct, term_days=term_days)
        for code, name, kind, yield_pct, term_days in Product.objects.filter(is_ours=True).values_list(
            "product_code", "name", "kind", "yield_pct", "term_days").order_by("product_code")
    ]


def _decimal(value) -> Decimal | None:
    try:
        return Decimal(str(value)) if value not in (None, "") else None
    except ArithmeticError:
        return None


def replacements_for_signals(*, signals: Sequence[Signal]) -> dict[int, CatalogueProduct]:
    """signal pk -> our product to offer, for the maturity signals among ``signals`` (others
    are skipped). The catalogue and the maturing holdings are read once for all of them (two
    queries; none without a maturity signal). The maturing holding's kind and term come from
    the holding (its own start and maturity dates, else its product's term)."""
    maturing = [signal for signal in signals if signal.kind in MATURITY_KINDS and signal.details]
    if not maturing:
        return {}
    holding_ids = {signal.details.get("holding_id") for signal in maturing} - {None}
    holdings = {holding.pk: holding for holding in Holding.objects.filter(pk__in=holding_ids).select_related("product")}
    catalogue = catalogue_load()
    chosen: dict[int, CatalogueProduct] = {}
    for signal in maturing:
        holding = holdings.get(signal.details.get("holding_id"))
        if holding is None:
            continue
        term = ((holding.maturity_on - holding.start_on).days if holding.maturity_on and holding.start_on
                else holding.product.term_days)
        product = replacement_choose(
            kind=holding.product.kind, amount=_decimal(signal.details.get("amount")) or holding.amount,
            term_days=term, catalogue=catalogue)
        if product is not None:
            chosen[signal.pk] = product
    return chosen


def case_tasks_name_replacement(*, cases: Iterable) -> None:
    """Name our replacement product in the playbook step that prepares it: the first task of
    each active maturity signal of ``cases`` (with their signals and tasks prefetched) gets
    ``replacement_note`` ("Have our 稳盈90天 (3.10%) ready"), shown beside the step's text on the
    360 and the RM's case card. Two queries for all the cases, none without a maturity signal."""
    cases = list(cases)
    signals = [signal for case in cases for signal in case.signals.all() if signal.is_active]
    chosen = replacements_for_signals(signals=signals)
    for case in cases:
        first_task: dict[int, Task] = {}
        for task in sorted(case.tasks.all(), key=lambda task: (task.order, task.pk)):
            if task.signal_id in chosen:
                first_task.setdefault(task.signal_id, task)
        for signal_id, task in first_task.items():
            task.replacement_note = replacement_text(chosen[signal_id])
