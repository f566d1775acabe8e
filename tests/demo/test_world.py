"""The simulated world's "stays" trajectory (demo/world.py), without a database: a customer
who would leave by the churn definition no longer does once re-drawn; one who was staying
keeps their own path; the months up to the night are never touched."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from churn.labels import build_labels
from demo.world import MONTHLY_COLUMNS, WorldResponse, stays_trajectory, world_response_read, world_response_write

FLOORS = {"gold": 50_000, "platinum": 500_000, "private": 6_000_000}
MONTHS = pd.date_range("2026-01-01", periods=8, freq="MS")
ANCHOR = pd.Timestamp("2026-04-01")


def _rows(customer: int, aum: list[float], status: list[str] | None = None) -> pd.DataFrame:
    status = status or ["active"] * len(aum)
    return pd.DataFrame({
        "customer_id": customer, "month": MONTHS[:len(aum)], "aum": aum,
        "deposit_balance": [a * 0.5 for a in aum], "wealth_balance": [a * 0.3 for a in aum],
        "loan_balance": 0.0, "card_spend": 1200.0, "txn_count": 20, "digital_logins": 8, "products_held": 3,
        "status": status,
    })[MONTHLY_COLUMNS]


def _churned(frame: pd.DataFrame, customer: int) -> bool:
    labels = build_labels(frame, month_ends=[ANCHOR.date().replace(day=30)], window_months=3, aum_drop_ratio=0.5,
                          min_avg_aum=0.0, tier_floors=FLOORS)
    return bool(labels.set_index("customer_id").loc[customer, "churned"])


def _apply(frame: pd.DataFrame, changed: pd.DataFrame) -> pd.DataFrame:
    return (pd.concat([frame, changed]).drop_duplicates(["customer_id", "month"], keep="last")
            .sort_values(["customer_id", "month"]).reset_index(drop=True))


@pytest.fixture
def bank() -> pd.DataFrame:
    return pd.concat([
        _rows(1, [600_000, 610_000, 590_000, 600_000, 300_000, 120_000, 90_000, 80_000]),  # drains to a competitor
        _rows(2, [80_000, 82_000, 85_000, 86_000, 90_000, 93_000, 95_000, 99_000]),  # grows: staying anyway
        _rows(3, [40_000, 41_000, 40_500, 40_000, 0, 0, 0, 0], ["active"] * 4 + ["closed"] * 4),  # closes
        _rows(4, [70_000, 70_000, 69_000, 60_000, 20_000, 10_000, 5_000, 5_000]),  # never worked
    ], ignore_index=True)


def test_a_customer_who_would_leave_stays_and_one_who_stays_keeps_their_path(bank):
    anchors = pd.Series({1: ANCHOR, 2: ANCHOR, 3: ANCHOR})
    changed = stays_trajectory(bank, anchors=anchors, after_month=ANCHOR, rng=np.random.default_rng(1),
                               window_months=3)
    after = _apply(bank, changed)

    assert _churned(bank, 1) and _churned(bank, 3) and not _churned(bank, 2)
    assert not _churned(after, 1) and not _churned(after, 3) and not _churned(after, 2)
    # The customer staying anyway and the one nobody worked are left alone.
    assert set(changed["customer_id"]) == {1, 3}
    assert _churned(after, 4)
    # Only months after the night are re-drawn; the re-drawn months are active, at or
    # above the anchor month's AUM, with the anchor month's mix of deposits and wealth.
    assert (changed["month"] > ANCHOR).all() and (changed["status"] == "active").all()
    assert (changed.loc[changed["customer_id"] == 1, "aum"] >= 600_000).all()
    assert (changed["aum"] + 0.01 >= changed["deposit_balance"] + changed["wealth_balance"]).all()
    assert np.allclose(changed["deposit_balance"] / changed["aum"], 0.5, atol=1e-4)


def test_months_up_to_the_night_are_never_redrawn(bank):
    night = pd.Timestamp("2026-06-01")
    changed = stays_trajectory(bank, anchors=pd.Series({1: ANCHOR}), after_month=night,
                               rng=np.random.default_rng(1), window_months=3)
    assert list(changed["month"]) == list(MONTHS[6:])
    # The drain in May and June had already happened: the world cannot undo it.
    assert _churned(_apply(bank, changed), 1)


def test_a_customer_without_an_active_anchor_month_is_left_alone(bank):
    changed = stays_trajectory(bank, anchors=pd.Series({3: pd.Timestamp("2026-06-01")}),
                               after_month=pd.Timestamp("2026-06-01"), rng=np.random.default_rng(1), window_months=3)
    assert changed.empty


def test_the_response_is_recorded_beside_the_files_and_read_back(tmp_path):
    assert world_response_read(tmp_path) is None
    response = WorldResponse(work_share=0.4, stay_probability={"segment_product": 0.7}, days_to_work=3)
    world_response_write(tmp_path, response)
    assert world_response_read(tmp_path) == response
    assert response.stays_for("segment_consumption") == 0.0
