"""customers.tiers: one tier rule in its scalar, Series, array and SQL forms; no Django."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from customers.models import Tier
from customers.tiers import TIERS, floor_values, tier_codes, tier_floor_of, tier_for_aum, tiers_for_aum

FLOORS = {"gold": 50_000, "platinum": 500_000, "private": 6_000_000}
ROOT = Path(__file__).resolve().parents[2]


def test_the_array_form_gives_the_same_tier_as_one_customer_at_a_time_around_every_floor():
    amounts = [0, 49_999.99, 50_000, 50_000.01, 499_999, 500_000, 5_999_999, 6_000_000, 2e8]
    codes = tier_codes(np.array(amounts), FLOORS)
    assert [TIERS[int(code)] for code in codes] == [tier_for_aum(aum, FLOORS) for aum in amounts]
    assert list(tiers_for_aum(pd.Series(amounts), FLOORS)) == [tier_for_aum(aum, FLOORS) for aum in amounts]


def test_a_missing_aum_has_no_tier_in_every_vectorised_form():
    codes = tier_codes(np.array([np.nan, 60_000.0]), FLOORS)
    assert np.isnan(codes[0]) and codes[1] == 1
    assert tiers_for_aum(pd.Series([None, 60_000]), FLOORS).tolist() == [None, "gold"]


def test_the_floor_of_each_tier_code_is_the_floor_that_opens_it():
    floors = tier_floor_of(np.array([0.0, 1.0, 2.0, 3.0, np.nan]), FLOORS)
    assert floors[:4].tolist() == [0.0, 50_000.0, 500_000.0, 6_000_000.0]
    assert np.isnan(floors[4])


def test_floors_that_do_not_rise_are_refused():
    with pytest.raises(ValueError, match="rise"):
        floor_values({"gold": 500_000, "platinum": 50_000, "private": 6_000_000})
    with pytest.raises(ValueError):
        tier_codes(np.array([1.0]), {"gold": 3, "platinum": 2, "private": 1})


@pytest.mark.parametrize("module", ["customers.tiers", "core.months", "churn.features", "demo.bank"])
def test_the_pure_modules_import_without_django(module):
    # A fresh interpreter: in this one the test runner has long imported Django.
    code = f"import sys, {module}; sys.exit(any(m.split('.')[0] == 'django' for m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr or f"{module} imported Django"


def test_the_tier_names_are_the_stored_tier_values_lowest_first():
    assert list(TIERS) == [Tier.MASS, Tier.GOLD, Tier.PLATINUM, Tier.PRIVATE] == list(Tier.values)


FLOORS_FOR_NEAR = {"gold": 50_000, "platinum": 500_000, "private": 6_000_000}


@pytest.mark.parametrize("aum,near", [
    (205, None),  # mass: there is no lower tier to fall into
    (49_999, None),
    (50_000, "gold"),
    (55_000, "gold"),  # exactly 10% above the floor
    (55_001, None),
    (300_000, None),
    (520_000, "platinum"),
    (6_100_000, "private"),
    (7_000_000, None),
])
def test_near_a_floor_means_at_most_the_margin_above_the_floor_of_ones_own_tier(aum, near):
    from customers.tiers import tier_floor_near

    assert tier_floor_near(aum, FLOORS_FOR_NEAR, 0.10) == near
