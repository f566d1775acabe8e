"""The control-group draw: which customers are held out for a measurement period.

The unit is the customer, not the case or the signal: a customer drawn into the
control group for a period (by default a calendar quarter) has every case opened in
that period recorded and measured, and shown to nobody. So a held-out customer is
never worked for another reason meanwhile, and one customer is never in both groups
of one period.

The draw is a hash, not ``random``: the same customer, period and salt give the same
answer on every machine and every rerun, so a replayed night cannot move a customer
between the groups, and an auditor can recompute it. The salt is bank-wide (the
``RETENTION_CONTROL_SALT`` setting).
"""

from __future__ import annotations

import datetime as dt
import hashlib

_SCALE = float(16**15)


def period_start(day: dt.date, *, months: int) -> dt.date:
    """The first day of the measurement period ``day`` falls in: periods of ``months``
    months counted from January (3: calendar quarters; 1: calendar months; 12: years)."""
    if months < 1 or 12 % months:
        raise ValueError("the control period must divide the year: 1, 2, 3, 4, 6 or 12 months")
    return dt.date(day.year, months * ((day.month - 1) // months) + 1, 1)


def control_draw(*, customer_key: str, period: dt.date, salt: str) -> float:
    """A number in [0, 1), uniform over customers, fixed for a (salt, customer, period)."""
    digest = hashlib.sha256(f"{salt}|{customer_key}|{period.isoformat()}".encode()).hexdigest()
    return int(digest[:15], 16) / _SCALE


def is_held_out(*, draw: float, share: float) -> bool:
    return draw < share
