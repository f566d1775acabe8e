"""The demo shows the measurement working: a small demo bank through ``setup_demo``, whose
simulated staff work shown cases after each replayed night and whose simulated customers
stay more often when worked, for some playbooks only (``demo.world``). The retention
report, comparing shown with held-out cases, must find each effect the world put in
inside its 95% interval, and no effect where the world put in none.

The effect the world put into a playbook's row is computed here from what the simulation
recorded, not taken from the report: each measured case's outcome on the balances the
generator wrote (before any branch work, ``monthly.csv``) against its measured outcome.
A case the world changed (lost before, retained now) counts for its row, shown or held
out; the effect is the changed share of the shown cases minus that of the held-out ones.
The expected size, share worked x stay probability x share that would have left, is
about 0.10 for the product playbook here.

The statistics decide the size. With RETENTION_CONTROL_SHARE raised to 0.4 and about
1,000 measured cases in the product playbook's row, the interval of a difference of two
retention rates near 80% is about +-0.05 wide, enough to tell a 0.10 effect from none.
"""

from __future__ import annotations

import json
from io import StringIO

import pandas as pd
import pytest
from django.core.management import call_command
from django.utils import timezone, translation

from churn.labels import build_labels
from core.months import add_months, month_end
from customers import conf as customers_conf
from customers.models import Customer
from customers.services import bank_data_import
from demo.bank import generate_demo_bank
from demo.world import WORLD_FILE, WorldResponse
from retention import conf as retention_conf
from retention.models import Case, Outcome
from retention.report import retention_report

pytestmark = pytest.mark.django_db

CUSTOMERS = 10_000
HISTORY_MONTHS = 9
RESPONSE = WorldResponse(work_share=0.6, stay_probability={"segment_product": 0.8, "segment_service": 0.6})


def _left_before(out_dir, measured) -> dict[tuple[int, object], bool]:
    """(customer, anchor) -> left by the churn definition on the generated balances."""
    codes = dict(Customer.objects.values_list("customer_id", "pk"))
    monthly = pd.read_csv(out_dir / "monthly.csv", usecols=["customer_id", "month", "aum", "status"],
                          dtype={"customer_id": str, "month": str, "status": str})
    monthly["customer_id"] = monthly["customer_id"].map(codes)
    monthly["month"] = pd.to_datetime(monthly["month"])
    labels = build_labels(monthly, month_ends=sorted({month_end(m["window_start_month"]) for m in measured}),
                          window_months=retention_conf.churn_window_months(),
                          aum_drop_ratio=retention_conf.churn_aum_drop_ratio(), min_avg_aum=0.0,
                          tier_floors=retention_conf.tier_floors())
    churned = {(int(r.customer_id), r.as_of): bool(r.churned) for r in labels.itertuples()}
    return {(m["customer_id"], m["window_start_month"]):
            churned.get((m["customer_id"], month_end(m["window_start_month"])), True) for m in measured}


def test_the_retention_report_recovers_the_effects_the_simulated_bank_put_in(tmp_path, settings):
    settings.VAR_DIR = tmp_path
    settings.RETENTION_CONTROL_SHARE = 0.4
    out_dir = tmp_path / "demo_bank"
    today = timezone.localdate()
    # The demo bank's files with this test's world, imported as setup_demo would; setup_demo
    # then finds the customers there and replays the nights on them.
    generate_demo_bank(out_dir, customers=CUSTOMERS, months=24, seed=42, end_month=f"{add_months(today, -1):%Y-%m}",
                       today=today, tier_floors=customers_conf.tier_floors(), response=RESPONSE)
    assert bank_data_import(directory=out_dir).ok
    output = StringIO()
    with translation.override("en"):
        call_command("setup_demo", "--history-months", str(HISTORY_MONTHS), stdout=output)

    world = json.loads((out_dir / WORLD_FILE).read_text(encoding="utf-8"))
    assert len(world["nights"]) == HISTORY_MONTHS and world["worked_cases"]
    measured = list(Case.objects.filter(outcome__in=Outcome.values).values(
        "pk", "customer_id", "window_start_month", "is_control", "outcome", "playbook__key", "worked_at"))
    left_before = _left_before(out_dir, measured)

    tally: dict[str, dict[str, int]] = {}
    for case in measured:
        row = tally.setdefault(case["playbook__key"], {"shown": 0, "held_out": 0, "changed_shown": 0,
                                                       "changed_held_out": 0})
        group = "held_out" if case["is_control"] else "shown"
        left = left_before[(case["customer_id"], case["window_start_month"])]
        row[group] += 1
        row[f"changed_{group}"] += int(left and case["outcome"] == Outcome.RETAINED)
        # The world only ever keeps customers: no case is lost that was retained on the generated balances.
        assert not (not left and case["outcome"] == Outcome.LOST), case
        # Held-out cases are never worked.
        assert not (case["is_control"] and case["worked_at"] is not None), case

    report = {row.key: row for row in retention_report(group_by="playbook")}
    assert set(report) == set(tally)
    checked_effects = checked_nulls = 0
    for key, row in report.items():
        counts = tally[key]
        assert (row.shown.n, row.held_out.n) == (counts["shown"], counts["held_out"])
        if counts["shown"] < 100 or counts["held_out"] < 100:
            continue  # too few cases for an interval worth checking
        simulated = counts["changed_shown"] / counts["shown"] - counts["changed_held_out"] / counts["held_out"]
        interval = row.retention_difference
        assert interval.low <= simulated <= interval.high, (key, simulated, interval, counts)
        if RESPONSE.stays_for(key) > 0:
            # Worked customers of this playbook stay more often: the report sees it.
            assert interval.low > 0, (key, simulated, interval, counts)
            checked_effects += 1
        elif counts["changed_shown"] == counts["changed_held_out"] == 0:
            assert interval.low <= 0 <= interval.high, (key, interval, counts)
            checked_nulls += 1
    assert checked_effects >= 1 and checked_nulls >= 1, tally

    # setup_demo printed the same figures and wrote them beside the demo files.
    written = {e["playbook"]: e for e in json.loads((out_dir / "demo_effects.json").read_text(encoding="utf-8"))}
    for key, counts in tally.items():
        if counts["shown"] and counts["held_out"]:
            assert written[key]["flipped_shown"] == counts["changed_shown"]
            assert written[key]["flipped_held_out"] == counts["changed_held_out"]
    assert "simulated effect" in output.getvalue()
