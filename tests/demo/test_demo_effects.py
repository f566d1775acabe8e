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
Its size for the product playbook here: share worked (0.6) x stay probability (0.8) x
share of the shown cases that would have left (about a quarter) = about 0.12 at most;
the world put in about 0.065: many of those customers had already left in the window's
first month, which is the month the night scored (a month-end night's case window is
anchored at the month before), before anyone could call; and some cases moved to another
row after opening (see the marker below).

The statistics decide the size. The report's interval for a difference of two retention
rates near 80% is about +-1.96 x sqrt(0.16/n_shown + 0.16/n_held_out). With
RETENTION_CONTROL_SHARE raised to 0.4 and nine replayed nights (six of them measured),
the product row has about 730 shown and 470 held-out cases: +-0.045, enough to tell an
effect of 0.065 from none (about 3 standard errors). Each check of a 95% interval fails
one time in twenty by chance, so the hard checks are few (the product row recovered and
not zero, the consumption row zero) and the day is fixed, so the run is the same every
time; every row's figures are printed by setup_demo and kept in demo_effects.json.
"""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
import time_machine
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
MIN_CASES = 100  # fewer shown or held-out measured cases in a row: no interval worth checking
# A fixed day: the demo bank's months, the control periods and every draw follow from it.
TODAY = dt.datetime(2026, 12, 2, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
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


@time_machine.travel(TODAY, tick=True)
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
    simulated, intervals = {}, {}
    for key, report_row in report.items():
        counts = tally[key]
        assert (report_row.shown.n, report_row.held_out.n) == (counts["shown"], counts["held_out"])
        if counts["shown"] >= MIN_CASES and counts["held_out"] >= MIN_CASES:
            simulated[key] = (counts["changed_shown"] / counts["shown"]
                              - counts["changed_held_out"] / counts["held_out"])
            intervals[key] = report_row.retention_difference
    figures = {key: (round(simulated[key], 3), intervals[key], tally[key]) for key in simulated}

    # The product playbook works in this world, and the report sees it: the effect the world
    # put in lies inside the interval, and the interval excludes zero.
    product = intervals["segment_product"]
    assert product.low <= simulated["segment_product"] <= product.high, figures
    assert product.low > 0, figures
    # The consumption playbook changes nothing in this world, and the report finds nothing.
    assert tally["segment_consumption"]["changed_shown"] == tally["segment_consumption"]["changed_held_out"] == 0
    consumption = intervals["segment_consumption"]
    assert consumption.low <= 0 <= consumption.high, figures

    # Every other row with enough cases holds its simulated effect too: a case stays in the
    # row of the playbook it opened with (``Case.playbook``), so each row compares customers
    # randomised into the two groups.
    misses = {key: figures[key] for key in simulated if not intervals[key].low <= simulated[key] <= intervals[key].high}
    assert not misses, misses

    # setup_demo printed the same figures and wrote them beside the demo files.
    written = {e["playbook"]: e for e in json.loads((out_dir / "demo_effects.json").read_text(encoding="utf-8"))}
    for key, counts in tally.items():
        if counts["shown"] and counts["held_out"]:
            assert written[key]["flipped_shown"] == counts["changed_shown"]
            assert written[key]["flipped_held_out"] == counts["changed_held_out"]
    assert "simulated effect" in output.getvalue()
