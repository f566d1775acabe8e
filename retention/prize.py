"""The monthly recovery prize draw: customers back to their pre-drop AUM, drawn reproducibly."""

from __future__ import annotations

import datetime as dt
import random
import secrets

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from core.months import month_start
from customers.models import User
from retention.models import PrizeDraw
from retention.selectors import prize_eligibility_list


def prize_draw_winners(*, eligible: list[str], seed: str, winners: int) -> list[str]:
    """The draw itself: a pure function of the recorded eligible list and seed."""
    population = sorted(eligible)
    return random.Random(seed).sample(population, min(winners, len(population)))


@transaction.atomic
def prize_draw_run(
    *, month: dt.date, winners: int, run_by: User | None = None, run_by_name: str = "", seed: str | None = None
) -> PrizeDraw:
    """Draw ``winners`` customers from the month's recovery eligibility list, once per month.
    The seed, the eligible list and the winners are stored, so the draw can be replayed."""
    month = month_start(month)
    if winners < 1:
        raise ValidationError(_("At least one winner."))
    if PrizeDraw.objects.filter(month=month).exists():
        raise ValidationError(_("The draw for %(month)s has already been run.") % {"month": f"{month:%Y-%m}"})
    eligible = list(prize_eligibility_list(month=month).values_list("customer_id", flat=True))
    if not eligible:
        # Recording an empty draw would use up the month: refuse, so it can be run once the data is in.
        raise ValidationError(_("Nobody is eligible for the %(month)s draw.") % {"month": f"{month:%Y-%m}"})
    seed = seed or secrets.token_hex(16)
    return PrizeDraw.objects.create(
        month=month,
        seed=seed,
        winners_count=winners,
        eligible=sorted(eligible),
        winners=prize_draw_winners(eligible=eligible, seed=seed, winners=winners),
        run_by=run_by,
        run_by_name=run_by_name or (run_by.username if run_by else ""),
    )
