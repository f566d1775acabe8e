"""Branch work during the demo's replayed nights, and the simulated world's answer to it.

After each replayed night ``setup_demo`` calls ``demo_branch_work``: simulated staff work
a share of the cases the night opened and showed them, through the same services the pages call
(``retention.case_services``: a call logged as a contact, an interception or a callback
ticked with its outcome), each task by its owner. The customers of the worked cases then
answer as the simulated world says (``demo.world.WorldResponse``): for the playbooks that
work in this world, a worked customer stays with the recorded probability, and the
months after the night, already imported, are re-drawn from a "stays" trajectory and
imported again through ``customers.services.bank_data_import`` (kept in
``world/<night>/monthly.csv`` beside the demo bank's files). The next nights score the
changed balances, and the outcomes measured at the end of the churn windows see them.

Nothing here touches the report or the outcomes: the effect comes from the balances,
and the retention report has to find it by comparing shown and held-out cases.
What the world did is recorded (``demo_world.json``): per worked case whether its
customer was drawn to stay and whether, on the balances as they were, the customer
would have left by the churn definition; ``demo_effects`` compares that with the report.

Staff actions happen on the days after the night, not when the simulation runs: their
timestamps (task done, case worked, case history, contact log) are moved to the
simulated working day, so the dashboard's months show the work where it happened. The
audit trail is append-only and keeps the real time of the simulation.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from churn.labels import build_labels
from core.months import add_months, month_end, month_start
from customers.models import ContactLog, ContactResult, Customer, MonthlyBalance
from customers.services import bank_data_import
from demo.world import MONTHLY_COLUMNS, WORLD_FILE, WorldResponse, stays_trajectory, world_response_write
from retention import case_services, conf
from retention.models import (
    WORKABLE_STATUSES,
    Case,
    CaseEvent,
    OwnerRole,
    Task,
    TaskOutcome,
    TaskStatus,
)
from retention.report import retention_report

# The hour of the simulated working day at which staff act (local time).
WORK_HOUR = 10


@dataclass(frozen=True)
class NightWork:
    run_date: dt.date
    cases_shown: int
    cases_worked: int
    tasks_done: int
    contacts_logged: int
    customers_staying: int
    months_redrawn: int
    seconds: float


def world_state_read(directory: Path) -> dict[str, Any]:
    path = Path(directory) / WORLD_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def world_state_start(directory: Path, response: WorldResponse) -> dict[str, Any]:
    """A fresh record of the world's answers (a new demo bank), with its response."""
    world_response_write(directory, response)
    state = world_state_read(directory)
    state.update(nights={}, worked_cases=[])
    _state_write(directory, state)
    return state


def _state_write(directory: Path, state: dict[str, Any]) -> None:
    path = Path(directory) / WORLD_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(path)


def _new_shown_cases(*, run_date: dt.date) -> list[tuple[int, int, str, dt.date]]:
    """(case, customer, playbook key, churn-window anchor) of every case the night of
    ``run_date`` opened and showed, with a task to do, in a fixed order. Each case has one
    chance of being worked, on the days after the night it opened: the share of shown cases
    worked is the response's ``work_share``."""
    return list(
        Case.objects.filter(opened_on=run_date, is_control=False, status__in=WORKABLE_STATUSES,
                            worked_at__isnull=True, tasks__status=TaskStatus.OPEN)
        .distinct().order_by("pk")
        .values_list("pk", "customer_id", "playbook__key", "window_start_month")
    )


def _work_day(run_date: dt.date, *, offset: int, today: dt.date) -> dt.datetime:
    """``offset`` days after the night, in office hours; never later than now."""
    day = min(run_date + dt.timedelta(days=offset), today)
    return min(timezone.make_aware(dt.datetime.combine(day, dt.time(WORK_HOUR))), timezone.now())


def _case_work(case: Case, *, stays: bool, day: dt.date) -> tuple[int, int]:
    """A day's work on ``case``, as staff would do it on the pages: its owner calls (or meets,
    or messages) the customer and logs the contact, which completes their first task on
    that channel; the lobby manager's interception and the head's callback due by then are
    ticked with what happened. Returns (tasks done, contacts logged)."""
    tasks = list(Task.objects.filter(case=case, status=TaskStatus.OPEN).select_related("owner", "case")
                 .order_by("due_on", "order", "pk"))
    tasks = [t for t in tasks if t.owner is not None]  # nobody to do an unowned task
    first = next((t for t in tasks if t.owner_role == OwnerRole.RM), tasks[0] if tasks else None)
    done = contacts = 0
    if first is not None and first.owner is not None:
        try:
            case_services.contact_log(case=case, user=first.owner, channel=first.channel,
                                      result=ContactResult.AGREED if stays else ContactResult.REACHED)
        except ValidationError:
            pass  # the customer's wishes forbid it today (retention.contactability): staff leave it
        else:
            contacts += 1
            done += Task.objects.filter(pk=first.pk, status=TaskStatus.DONE).count()
    for task in tasks:
        if task is first or task.owner is None or task.owner_role == OwnerRole.RM or task.due_on > day:
            continue
        if task.owner_role == OwnerRole.LOBBY:
            outcome = TaskOutcome.FUNDS_KEPT if stays else TaskOutcome.FUNDS_MOVED
        else:
            outcome = TaskOutcome.REASON_LEARNT
        try:
            case_services.task_done(task=task, user=task.owner, outcome=outcome)
        except ValidationError:
            continue  # as above
        done += 1
    return done, contacts


def _backdate(*, case_ids: list[int], customer_ids: list[int], since: dt.datetime, at: dt.datetime) -> None:
    """Staff acted on ``at`` (a simulated working day), not when the simulation ran."""
    Task.objects.filter(case_id__in=case_ids, done_at__gte=since).update(done_at=at)
    Case.objects.filter(pk__in=case_ids, worked_at__gte=since).update(worked_at=at)
    CaseEvent.objects.filter(case_id__in=case_ids, at__gte=since, actor__isnull=False).update(at=at)
    ContactLog.objects.filter(customer_id__in=customer_ids, contacted_at__gte=since).update(contacted_at=at)


def _monthly_frame(customer_ids: list[int], *, first_month: dt.date) -> pd.DataFrame:
    rows = MonthlyBalance.objects.filter(customer_id__in=customer_ids, month__gte=first_month).values_list(
        "customer_id", "month", *MONTHLY_COLUMNS[2:])
    frame = pd.DataFrame(list(rows), columns=MONTHLY_COLUMNS)
    for column in ("aum", "deposit_balance", "wealth_balance", "loan_balance", "card_spend"):
        frame[column] = frame[column].astype(float)
    frame["month"] = pd.to_datetime(frame["month"])
    return frame


def _monthly_csv(path: Path, changed: pd.DataFrame) -> None:
    codes = dict(Customer.objects.filter(pk__in=changed["customer_id"].unique().tolist())
                 .values_list("pk", "customer_id"))
    out = changed.copy()
    out["customer_id"] = out["customer_id"].map(codes)
    out["month"] = out["month"].dt.strftime("%Y-%m")
    for column in ("aum", "deposit_balance", "wealth_balance", "loan_balance", "card_spend"):
        out[column] = out[column].map(lambda value: f"{value:.2f}")
    path.parent.mkdir(parents=True, exist_ok=True)
    out[MONTHLY_COLUMNS].to_csv(path, index=False)


def _world_answers(
    *, out_dir: Path, run_date: dt.date, data_month: dt.date, staying: dict[int, dt.date],
    rng: np.random.Generator,
) -> int:
    """Re-draw the months after ``data_month`` of the customers who stay (customer -> the
    anchor month of their worked case) and import them; return the monthly rows re-drawn."""
    if not staying:
        return 0
    window = conf.churn_window_months()
    first = add_months(month_start(min(staying.values())), -(window - 1))
    before = _monthly_frame(list(staying), first_month=first)
    anchors = pd.Series({c: pd.Timestamp(a) for c, a in staying.items()})
    changed = stays_trajectory(before, anchors=anchors, after_month=pd.Timestamp(month_start(data_month)),
                               rng=rng, window_months=window)
    if changed.empty:
        return 0
    directory = out_dir / "world" / run_date.isoformat()
    _monthly_csv(directory / "monthly.csv", changed)
    result = bank_data_import(directory=directory)
    if not result.ok:
        raise RuntimeError(f"the world's re-drawn balances did not import: {result.problems[:3]}")
    return len(changed)


def demo_branch_work(
    *, out_dir: Path, run_date: dt.date, data_month: dt.date, response: WorldResponse, seed: int,
    today: dt.date,
) -> NightWork | None:
    """Simulate the days of branch work after the replayed night of ``run_date`` and the
    world's answer; record both in ``out_dir/demo_world.json``. None if that night's work
    is already recorded (``setup_demo`` run again)."""
    started = time.monotonic()
    state = world_state_read(out_dir)
    nights = state.setdefault("nights", {})
    if run_date.isoformat() in nights:
        return None
    rng = np.random.default_rng([seed, 11, run_date.toordinal()])
    shown = _new_shown_cases(run_date=run_date)
    work_draws, stay_draws = rng.random(len(shown)), rng.random(len(shown))
    offsets = rng.integers(1, response.days_to_work + 1, len(shown))
    worked = [(row, bool(stay_draw < response.stays_for(row[2])), int(offset))
              for row, draw, stay_draw, offset in zip(shown, work_draws, stay_draws, offsets, strict=True)
              if draw < response.work_share]

    tasks_done = contacts = 0
    cases = Case.objects.in_bulk([row[0] for row, _, _ in worked])
    # One transaction for the night's work (each service's own nests in it): one commit, not
    # one per task. One working day at a time, so what staff did that day is moved to it
    # in a few updates.
    with transaction.atomic():
        for offset in sorted({offset for _, _, offset in worked}):
            day = [(row, stays) for row, stays, o in worked if o == offset]
            since = timezone.now()
            at = _work_day(run_date, offset=offset, today=today)
            for (case_id, _customer, _playbook, _anchor), stays in day:
                done, logged = _case_work(cases[case_id], stays=stays, day=timezone.localdate(at))
                tasks_done += done
                contacts += logged
            for first in range(0, len(day), 500):
                chunk = [row for row, _ in day[first:first + 500]]
                _backdate(case_ids=[r[0] for r in chunk], customer_ids=[r[1] for r in chunk], since=since, at=at)

    staying = {row[1]: row[3] for row, stays, _ in worked if stays}
    redrawn = _world_answers(out_dir=out_dir, run_date=run_date, data_month=data_month, staying=staying, rng=rng)
    state.setdefault("worked_cases", []).extend(
        {"case": case_id, "customer": customer_id, "playbook": playbook, "night": run_date.isoformat(),
         "anchor": anchor.isoformat(), "stays": stays}
        for (case_id, customer_id, playbook, anchor), stays, _ in worked
    )
    work = NightWork(run_date=run_date, cases_shown=len(shown), cases_worked=len(worked), tasks_done=tasks_done,
                     contacts_logged=contacts, customers_staying=len(staying), months_redrawn=redrawn,
                     seconds=round(time.monotonic() - started, 1))
    nights[run_date.isoformat()] = {k: v for k, v in work.__dict__.items() if k != "run_date"}
    _state_write(out_dir, state)
    return work


# --- what the report found ----------------------------------------------------------------------


def original_leaves(*, out_dir: Path, cases: list[tuple[int, dt.date]]) -> dict[tuple[int, dt.date], bool]:
    """(customer pk, anchor month) -> whether the customer leaves, by the churn definition, in
    the window after the anchor on the balances the generator wrote (``monthly.csv``, before
    any branch work): the world without the demo's staff. A customer with no active row at
    the anchor month had already left."""
    codes = dict(Customer.objects.filter(pk__in={c for c, _ in cases}).values_list("customer_id", "pk"))
    monthly = pd.read_csv(Path(out_dir) / "monthly.csv", usecols=["customer_id", "month", "aum", "status"],
                          dtype={"customer_id": str, "month": str, "status": str})
    monthly = monthly[monthly["customer_id"].isin(codes)]
    monthly["customer_id"] = monthly["customer_id"].map(codes)
    monthly["month"] = pd.to_datetime(monthly["month"])
    labels = build_labels(
        monthly, month_ends=sorted({month_end(anchor) for _, anchor in cases}),
        window_months=conf.churn_window_months(), aum_drop_ratio=conf.churn_aum_drop_ratio(),
        min_avg_aum=0.0, tier_floors=conf.tier_floors(),
    )
    found = {(int(r.customer_id), r.as_of): bool(r.churned) for r in labels.itertuples()}
    return {(customer, anchor): found.get((customer, month_end(anchor)), True) for customer, anchor in cases}


@dataclass(frozen=True)
class PlaybookEffect:
    """One playbook of the measured cases: what the simulated world did, what the report found."""

    playbook: str
    stay_probability: float
    shown: int
    held_out: int
    worked: int  # shown cases worked by the simulated staff
    drawn_to_stay: int  # of those, customers the world drew to stay
    # Measured cases whose outcome the world changed: lost on the generated balances,
    # retained as measured (or the other way, counted negative), shown and held out.
    flipped_shown: int
    flipped_held_out: int
    # The effect the world put in, intention to treat: flipped share of the shown cases
    # minus that of the held-out ones (not zero only where a held-out case's customer was
    # worked in a later case whose re-drawn months fall in its window).
    simulated_effect: float
    # What the world's parameters lead one to expect: the share of shown cases worked x the
    # stay probability x the share of the shown cases that would have left.
    expected_effect: float
    estimate: float | None
    low: float | None
    high: float | None

    @property
    def recovered(self) -> bool | None:
        """The simulated effect lies in the report's 95% interval (None: no interval)."""
        if self.low is None or self.high is None:
            return None
        return self.low <= self.simulated_effect <= self.high


def demo_effects(*, out_dir: Path) -> list[PlaybookEffect]:
    """Per playbook row of the retention report: the effect the simulated world put into the
    measured cases, beside the report's shown vs held-out difference and its 95% interval."""
    state = world_state_read(out_dir)
    response = WorldResponse(**state["response"]) if "response" in state else WorldResponse()
    measured = list(Case.objects.filter(outcome__in=("retained", "lost")).values_list(
        "pk", "customer_id", "window_start_month", "is_control", "outcome", "playbook__key"))
    before = original_leaves(out_dir=out_dir, cases=[(m[1], m[2]) for m in measured])
    records = {r["case"]: r for r in state.get("worked_cases", [])}
    tally: dict[str, dict[str, int]] = {}
    for case, customer, anchor, is_control, outcome, playbook in measured:
        t = tally.setdefault(playbook, dict.fromkeys(
            ("shown", "held_out", "worked", "drawn", "flip_shown", "flip_held_out", "would_leave_shown"), 0))
        group = "held_out" if is_control else "shown"
        t[group] += 1
        left_before = before[(customer, anchor)]
        t[f"flip_{group}"] += int(left_before and outcome == "retained") - int(not left_before and outcome == "lost")
        if not is_control:
            t["would_leave_shown"] += int(left_before)
            if case in records:
                t["worked"] += 1
                t["drawn"] += int(records[case]["stays"])
    effects = []
    for row in retention_report(group_by="playbook"):
        found = tally.get(row.key)
        if found is None or not found["shown"] or not found["held_out"]:
            continue
        t = found
        interval = row.retention_difference
        effects.append(PlaybookEffect(
            playbook=row.key, stay_probability=response.stays_for(row.key), shown=t["shown"],
            held_out=t["held_out"], worked=t["worked"], drawn_to_stay=t["drawn"],
            flipped_shown=t["flip_shown"], flipped_held_out=t["flip_held_out"],
            simulated_effect=t["flip_shown"] / t["shown"] - t["flip_held_out"] / t["held_out"],
            expected_effect=(t["worked"] / t["shown"]) * response.stays_for(row.key)
            * (t["would_leave_shown"] / t["shown"]),
            estimate=interval.estimate if interval else None, low=interval.low if interval else None,
            high=interval.high if interval else None,
        ))
    return effects


def demo_effects_write(*, out_dir: Path, effects: list[PlaybookEffect]) -> Path:
    """The effects beside the world's record, for the test and for anyone checking the demo."""
    path = Path(out_dir) / "demo_effects.json"
    path.write_text(json.dumps([{**e.__dict__, "recovered": e.recovered} for e in effects], indent=2) + "\n",
                    encoding="utf-8")
    return path
