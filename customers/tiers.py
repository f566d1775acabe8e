"""AUM tiers: the one place that turns an AUM amount into a tier.

Floors come from ``settings.AUM_TIER_FLOORS`` through ``customers.conf.tier_floors``
(``{"gold": 50_000, "platinum": 500_000, "private": 6_000_000}`` by default) and are
passed in, so this module has no Django import: the churn engine's pure feature code
and the demo bank generator use it too. A floor belongs to the tier it opens: mass <
gold floor <= gold < platinum floor <= platinum < private floor <= private.

Four forms of the same rule: ``tier_for_aum`` for one customer, ``tiers_for_aum``
for a pandas Series of tier names, ``tier_codes`` for a numpy array of tier numbers
(0 mass .. 3 private, what the feature code computes with), and ``tier_case_sql`` for
set-based SQL (the import refreshes a million customers' tiers in one UPDATE).
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


def floor_values(floors: Mapping[str, float]) -> list[float]:
    """The floors of gold, platinum and private, in that order; ValueError unless they rise."""
    values = [float(floors[tier]) for tier in _FLOORED]
    if values != sorted(values):
        raise ValueError(f"tier floors must rise from gold to private, got {dict(floors)}")
    return values


def tier_for_aum(aum: float | Decimal, floors: Mapping[str, float]) -> str:
    """The tier of one AUM amount."""
    tier = MASS
    for name, floor in zip(_FLOORED, floor_values(floors), strict=True):
        if aum >= floor:
            tier = name
    return tier


def tier_floor_near(aum: float | Decimal, floors: Mapping[str, float], margin: float) -> str | None:
    """The tier whose floor ``aum`` is just above (at most ``margin``, e.g. 0.10 = 10%, above
    it), so that a fall would downgrade the customer; None for a mass-tier customer (there
    is no lower tier) and for anyone further above their tier's floor."""
    tier = tier_for_aum(aum, floors)
    if tier == MASS:
        return None
    return tier if float(aum) <= float(floors[tier]) * (1 + margin) else None


def tiers_for_aum(aum: pd.Series, floors: Mapping[str, float]) -> pd.Series:
    """The tier of every AUM in a Series; a missing AUM gets a missing tier."""
    codes = tier_codes(pd.to_numeric(aum, errors="coerce").to_numpy(dtype=float, na_value=np.nan), floors)
    names = np.array((*TIERS, None), dtype=object)[np.nan_to_num(codes, nan=len(TIERS)).astype(int)]
    return pd.Series(names, index=aum.index, name="tier", dtype=object)


def tier_codes(aum: np.ndarray, floors: Mapping[str, float]) -> np.ndarray:
    """The tier number of every AUM in an array, as floats: 0 mass, 1 gold, 2 platinum,
    3 private; a missing (NaN) AUM stays NaN. ``TIERS[code]`` is the tier's name."""
    aum = np.asarray(aum, dtype=float)
    # side="right": an AUM equal to a floor is already in the tier that floor opens.
    codes = np.searchsorted(np.array(floor_values(floors)), np.nan_to_num(aum, nan=0.0), side="right").astype(float)
    codes[np.isnan(aum)] = np.nan
    return codes


def tier_floor_of(codes: np.ndarray, floors: Mapping[str, float]) -> np.ndarray:
    """The floor of each tier number from ``tier_codes`` (0 for mass; NaN stays NaN)."""
    by_code = np.array([0.0, *floor_values(floors)])
    out = np.full(np.shape(codes), np.nan)
    known = ~np.isnan(codes)
    out[known] = by_code[np.asarray(codes)[known].astype(int)]
    return out


def tier_case_sql(column: str, floors: Mapping[str, float]) -> tuple[str, list[Decimal]]:
    """A SQL ``CASE`` giving the tier of ``column``, with its parameters.

    The floors go in as Decimals so a numeric column is compared exactly, not
    through a float cast.
    """
    whens = []
    params = []
    for name, floor in reversed(list(zip(_FLOORED, floor_values(floors), strict=True))):
        whens.append(f"WHEN {column} >= %s THEN '{name}'")
        params.append(Decimal(str(floor)))
    return f"CASE {' '.join(whens)} ELSE '{MASS}' END", params
