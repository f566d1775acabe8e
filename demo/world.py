"""How the simulated bank's customers answer to branch work: pure pandas/numpy, no Django.

The demo bank's balances are written before any night is replayed (``demo.bank``), with
every customer's future already drawn: who leaves, when and how. ``setup_demo`` then
replays the nightly job on past month-ends, and after each night simulated staff work a
share of the cases shown to them (``demo.branch_work``). This module is the world's side
of that: a customer whose case was worked, and whose playbook works in this world, stays
with probability ``stay_probability[playbook]``: the months after the night, already
imported, are re-drawn from a "stays" trajectory. Playbooks missing from the table do
nothing, so the retention report should find no effect for them.

The response is a property of the simulated customers, recorded where the generator
writes its files (``demo_world.json``), and nothing else in the app reads it: the report
has to find the effect by comparing shown and held-out cases, as it would in a real bank.

The "stays" trajectory keeps the customer at or above a level: the higher of the AUM at
the case's churn-window anchor month and the average of the months up to it, the two
figures the churn definition compares against (``churn.labels``). A month that already
reaches that level is left as it was; a month below it (or closed) gets the anchor
month's mix of deposits, wealth products and other AUM, scaled to the level and growing
a little, with the anchor month's activity. So a customer who would have left by the
churn definition no longer does, and one who was staying anyway keeps their own path.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

WORLD_FILE = "demo_world.json"

# The columns of monthly.csv the trajectory writes (docs/interchange-format.md).
MONTHLY_COLUMNS = [
    "customer_id", "month", "aum", "deposit_balance", "wealth_balance", "loan_balance", "card_spend",
    "txn_count", "digital_logins", "products_held", "status",
]


@dataclass(frozen=True)
class WorldResponse:
    """The simulated bank's answer to branch work.

    ``work_share``: the chance that simulated staff work a shown case on the days after the
    night it opened (a contact logged, the tasks due by then done). ``stay_probability``: per playbook key, the chance
    that a worked customer keeps their money (the months after the night re-drawn from
    the "stays" trajectory); a playbook not listed has no effect. ``days_to_work``: staff
    work a case within this many days after the night.
    """

    work_share: float = 0.6
    stay_probability: dict[str, float] = field(default_factory=lambda: {
        # Product-oriented customers called with our replacement product ready, and
        # service-oriented ones whose satisfaction the head followed up, stay more often;
        # the consumption playbook and the event playbooks change nothing in this world.
        "segment_product": 0.6,
        "segment_service": 0.5,
    })
    days_to_work: int = 5

    def stays_for(self, playbook: str) -> float:
        return float(self.stay_probability.get(playbook, 0.0))


def world_response_write(directory: Path, response: WorldResponse) -> Path:
    path = Path(directory) / WORLD_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"response": asdict(response)}, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def world_response_read(directory: Path) -> WorldResponse | None:
    """The response recorded in ``directory``, or None when the generator wrote none."""
    path = Path(directory) / WORLD_FILE
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))["response"]
    return WorldResponse(
        work_share=float(data["work_share"]),
        stay_probability={str(k): float(v) for k, v in data["stay_probability"].items()},
        days_to_work=int(data.get("days_to_work", WorldResponse.days_to_work)),
    )


def stays_trajectory(
    monthly: pd.DataFrame, *, anchors: pd.Series, after_month: pd.Timestamp, rng: np.random.Generator,
    window_months: int,
) -> pd.DataFrame:
    """The re-drawn monthly rows, months after ``after_month``, of customers who stay.

    ``monthly``: their rows (``MONTHLY_COLUMNS``, ``month`` as a Timestamp of the month's
    first day), at least from ``window_months - 1`` months before each anchor to the last
    month imported. ``anchors``: customer id -> the churn-window anchor month of the worked
    case. Returns only the rows that change, same columns; customers without an active
    row with AUM at their anchor month are left alone (nothing to keep).
    """
    if monthly.empty or anchors.empty:
        return monthly.iloc[0:0][MONTHLY_COLUMNS]
    rows = monthly[monthly["customer_id"].isin(anchors.index)].copy()
    rows["anchor"] = rows["customer_id"].map(anchors)
    lag = (rows["anchor"].dt.year - rows["month"].dt.year) * 12 + (rows["anchor"].dt.month - rows["month"].dt.month)
    in_baseline = (lag >= 0) & (lag < window_months)
    baseline = rows[in_baseline].groupby("customer_id")["aum"].mean()
    base = rows[(lag == 0) & (rows["status"] == "active") & (rows["aum"] > 0)].set_index("customer_id")
    level = np.maximum(base["aum"], baseline.reindex(base.index))

    later = rows[(rows["month"] > after_month) & rows["customer_id"].isin(base.index)].copy()
    if later.empty:
        return later[MONTHLY_COLUMNS]
    customer = later["customer_id"]
    months_on = ((later["month"].dt.year - later["anchor"].dt.year) * 12
                 + later["month"].dt.month - later["anchor"].dt.month).to_numpy()
    # A little growth per customer (0-1% a month): money kept, not money frozen.
    growth = pd.Series(rng.uniform(0.0, 0.01, len(base)), index=base.index)
    floor = level.reindex(customer).to_numpy() * (1 + growth.reindex(customer).to_numpy()) ** months_on
    below = (later["status"].to_numpy() != "active") | (later["aum"].to_numpy() < floor)
    later, floor = later[below], floor[below]
    if later.empty:
        return later[MONTHLY_COLUMNS]
    anchor_row = base.reindex(later["customer_id"])
    scale = floor / anchor_row["aum"].to_numpy()
    deposit = np.round(anchor_row["deposit_balance"].to_numpy() * scale, 2)
    wealth = np.round(anchor_row["wealth_balance"].to_numpy() * scale, 2)
    other = np.round(np.maximum(anchor_row["aum"].to_numpy() - anchor_row["deposit_balance"].to_numpy()
                                - anchor_row["wealth_balance"].to_numpy(), 0.0) * scale, 2)
    spend_noise = rng.uniform(0.8, 1.2, len(later))
    out = pd.DataFrame({
        "customer_id": later["customer_id"].to_numpy(),
        "month": later["month"].to_numpy(),
        # Each part rounded to the cent before summing, as the generator does: aum >= deposits + wealth.
        "aum": np.round(deposit + wealth + other, 2),
        "deposit_balance": deposit,
        "wealth_balance": wealth,
        "loan_balance": anchor_row["loan_balance"].to_numpy(),
        "card_spend": np.round(anchor_row["card_spend"].to_numpy() * spend_noise, 2),
        "txn_count": anchor_row["txn_count"].to_numpy().astype(np.int64),
        "digital_logins": anchor_row["digital_logins"].to_numpy().astype(np.int64),
        "products_held": np.maximum(anchor_row["products_held"].to_numpy().astype(np.int64), 1),
        "status": "active",
    })
    return out[MONTHLY_COLUMNS].reset_index(drop=True)
