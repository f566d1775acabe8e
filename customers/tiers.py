"""AUM tiers: the one place that turns an AUM amount into a tier.

Floors come from ``settings.AUM_TIER_FLOORS`` (``{"gold": 50_000, "platinum": 500_000,
"private": 6_000_000}`` by default) and are passed in, so this module has no Django
import and the churn engine's pure feature code can use it. A floor belongs to the
tier it opens: mass < gold floor <= gold < platinum floor <= platinum < private floor
<= private.

Three forms of the same rule: ``tier_for_aum`` for one customer, ``tiers_for_aum``
for a pandas Series, and ``tier_case_sql`` for set-based SQL (the import refreshes
a million customers' tiers in one UPDATE).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

import numpy as np
import pandas as pd

# Lowest first; the values of customers.models.Tier.
MASS, GOLD, PLATINUM, PRIVATE = "mass", "gold", "platinum", "private"
TIERS: tuple[str, ...] = (MASS, GOLD, PLATINUM, PRIVATE)
_FLOORED = TIERS[1:]


def _floors(floors: Mapping[str, float]) -> list[float]:
    values = [float(floors[tier]) for tier in _FLOORED]
    if values != sorted(values):
        raise ValueError(f"tier floors must rise from gold to private, got {dict(floors)}")
    return values


def tier_for_aum(aum: float | Decimal, floors: Mapping[str, float]) -> str:
    """The tier of one AUM amount."""
    tier = MASS
    for name, floor in zip(_FLOORED, _floors(floors), strict=True):
        if aum >= floor:
            tier = name
    return tier


def tiers_for_aum(aum: pd.Series, floors: Mapping[str, float]) -> pd.Series:
    """The tier of every AUM in a Series; a missing AUM gets a missing tier."""
    values = pd.to_numeric(aum, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    # side="right": an AUM equal to a floor is already in the tier that floor opens.
    codes = np.searchsorted(np.array(_floors(floors)), np.nan_to_num(values, nan=0.0), side="right")
    tiers = np.array(TIERS, dtype=object)[codes]
    tiers[np.isnan(values)] = None
    return pd.Series(tiers, index=aum.index, name="tier", dtype=object)


def tier_case_sql(column: str, floors: Mapping[str, float]) -> tuple[str, list[Decimal]]:
    """A SQL ``CASE`` giving the tier of ``column``, with its parameters.

    The floors go in as Decimals so a numeric column is compared exactly, not
    through a float cast.
    """
    whens = []
    params = []
    for name, floor in reversed(list(zip(_FLOORED, _floors(floors), strict=True))):
        whens.append(f"WHEN {column} >= %s THEN '{name}'")
        params.append(Decimal(str(floor)))
    return f"CASE {' '.join(whens)} ELSE '{MASS}' END", params
