"""The nightly job's case work: tonight's signals into cases and tasks, set-based.

The rules (``retention.rules``) say which customers have a signal of each kind
tonight. Everything after that is SQL over one staging table of tonight's
signals, the same statements on PostgreSQL and SQLite:

1. snoozed cases whose date has come are open again;
2. an active signal found again is renewed (last seen, figures);
3. an active signal not found again has cleared: closed with its reason, its
   open tasks cancelled (kinds whose rule could not run tonight are left alone);
4. a new signal of a customer with an open case joins that case;
5. a customer with signals and no open case gets one case, drawn into the
   control group or not by the customer's draw for the period;
6. new signals of shown cases bring their playbooks' steps as tasks, each with an
   owner (RM, the branch's lobby manager, its head) and a due date from the event;
7. each open case takes its expected value and its parts from its leading signal
   (highest expected value; the signal and playbook it opened with stay, for the
   report); a case with an "already left" signal is a win-back case;
8. a case with no active signal left closes itself ("cleared");
9. each owner's workable, shown cases are ranked: time-critical first, then by
   expected value; the first RETENTION_DAILY_BUDGET are today's budget.

All in one transaction: a process killed half-way leaves no trace of the night,
and a rerun does it all. Idempotent: a second run for the same date changes
nothing (a signal last seen on the run date is not renewed again, a case or
signal is only created where none is open, tasks only where the step has none).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from churn.models import ChurnScore
from core.months import add_months
from customers.models import Role, User
from customers.selectors import branch_staff
from retention import conf
from retention.contactability import case_blocked_sql
from retention.control import control_draw, is_held_out, period_start
from retention.models import (
    CLOSED_BY_STAFF,
    OPEN_STATUSES,
    WORKABLE_STATUSES,
    Case,
    CaseEvent,
    OwnerRole,
    Playbook,
    PlaybookStep,
    Signal,
    SignalKind,
    Task,
    TaskStatus,
)
from retention.outcomes import window_of
from retention.priority import expected_value, playbook_save_rates
from retention.rules import RULES, CustomerFacts, RuleContext, Trigger

logger = logging.getLogger(__name__)

# What the nightly job writes when a signal clears. Stored as the English message id
# (gettext_noop marks it for the catalogue) and translated when shown
# (``retention.models.catalogue_text``): the job runs in no user's language.
CLEAR_REASONS: dict[str, str] = {
    SignalKind.MODEL_RISK: gettext_noop("The churn score is no longer in an alerting risk band."),
    SignalKind.COMPETITOR_MATURITY: gettext_noop("No competitor product matures within the alert window any more."),
    SignalKind.OWN_MATURITY: gettext_noop("No maturing product of ours for an at-risk customer any more."),
    SignalKind.TIER_DOWNGRADE: gettext_noop("AUM is no longer close to the tier floor and falling."),
    SignalKind.AUM_DROP: gettext_noop("The latest month shows no sharp AUM drop."),
    SignalKind.LARGE_WITHDRAWAL: gettext_noop("No large withdrawal or transfer is booked for today or tomorrow."),
    SignalKind.SATISFACTION_DROP: gettext_noop("The latest satisfaction survey no longer shows a drop."),
    SignalKind.SERVICE_FAILURE: gettext_noop("No complaint within the look-back period."),
    SignalKind.RECOVERY_ELIGIBLE: gettext_noop("The recovery month has passed."),
    SignalKind.ALREADY_LOST: gettext_noop(
        "No longer lost within the win-back look-back: the AUM came back, or the loss is older."),
}
ALL_CLEARED = gettext_noop("Every signal of the case has cleared.")

# Who takes work meant for a role when its holder is missing: a customer without an RM
# (rm_code left empty by the bank), a branch without a lobby manager or a head. The RM's
# work goes to the branch head first: the head assigns RMs.
_OWNER_ORDER: dict[str, tuple[str, ...]] = {
    OwnerRole.RM: (OwnerRole.RM, OwnerRole.HEAD, OwnerRole.LOBBY),
    OwnerRole.LOBBY: (OwnerRole.LOBBY, OwnerRole.RM, OwnerRole.HEAD),
    OwnerRole.HEAD: (OwnerRole.HEAD, OwnerRole.RM, OwnerRole.LOBBY),
}

_T = {
    "case": Case._meta.db_table,
    "signal": Signal._meta.db_table,
    "task": Task._meta.db_table,
    "event": CaseEvent._meta.db_table,
    "step": PlaybookStep._meta.db_table,
}
_OPEN = "(" + ", ".join(f"'{status}'" for status in OPEN_STATUSES) + ")"
_WORKABLE = "(" + ", ".join(f"'{status}'" for status in WORKABLE_STATUSES) + ")"
_STAFF_CLOSED = "(" + ", ".join(f"'{status}'" for status in CLOSED_BY_STAFF) + ")"
_CALLBACK = "('satisfaction_drop', 'service_failure')"
# Signals whose event date is a deadline (a maturity, a booking, a survey to answer), not a
# balance month: their tasks due by tomorrow make a case time-critical.
_DEADLINE_KINDS = ("('competitor_maturity', 'own_maturity', 'large_withdrawal', 'satisfaction_drop', "
                   "'service_failure')")

_STAGE_COLUMNS = (
    "customer_id", "kind", "playbook_id", "branch_id", "owner_id", "probability", "aum", "aum_at_risk",
    "expected_aum_at_risk", "priority", "event_on", "reasons", "details", "is_control", "control_draw",
)


# --- SQL that differs between the two databases ------------------------------------------------


def _pg() -> bool:
    return connection.vendor == "postgresql"


def _json(expr: str) -> str:
    return f"CAST({expr} AS jsonb)" if _pg() else expr


def _plus_days(date_expr: str, days_expr: str) -> str:
    if _pg():
        return f"(CAST({date_expr} AS date) + CAST({days_expr} AS integer))"
    return f"date({date_expr}, (CAST({days_expr} AS integer)) || ' days')"


def _later(a: str, b: str) -> str:
    return f"GREATEST({a}, {b})" if _pg() else f"max({a}, {b})"


def _json_object(*pairs: str) -> str:
    """A JSON object built in SQL from alternating literal keys and SQL expressions."""
    items = ", ".join(f"'{pairs[i]}', {pairs[i + 1]}" for i in range(0, len(pairs), 2))
    return f"json_build_object({items})" if _pg() else f"json_object({items})"


def _json_text(expr: str, key: str) -> str:
    """The text of ``key`` in the JSON object ``expr``."""
    return f"({expr} ->> '{key}')" if _pg() else f"json_extract({expr}, '$.{key}')"


def _as_date(expr: str) -> str:
    """An ISO date text as a date (SQLite keeps dates as that text)."""
    return f"CAST({expr} AS date)" if _pg() else expr


def _money_type() -> str:
    return "numeric(18, 2)" if _pg() else "NUMERIC"


def _true() -> str:
    return "TRUE" if _pg() else "1"


def _false() -> str:
    return "FALSE" if _pg() else "0"


def _date(value: dt.date) -> Any:
    return connection.ops.adapt_datefield_value(value)


def _now() -> Any:
    return connection.ops.adapt_datetimefield_value(timezone.now())


# --- owners ------------------------------------------------------------------------------------


def _staff() -> tuple[dict[int, dict[str, int]], int | None]:
    """branch id -> {"lobby": user id, "head": user id}, and the first active administrator
    (owner of last resort)."""
    staff = {
        branch: {role: user.pk for role, user in by_role.items()}
        for branch, by_role in branch_staff(roles=[Role.LOBBY, Role.HEAD]).items()
    }
    administrator = (
        User.objects.filter(is_active=True, role=Role.ADMIN).order_by("pk").values_list("pk", flat=True).first()
    )
    return staff, administrator


def _owner_for(role: str, facts: CustomerFacts, staff: dict[int, dict[str, int]], admin: int | None) -> int | None:
    """Who owns work meant for ``role``: its holder, else the next in ``_OWNER_ORDER``, else an
    administrator. None only when there is nobody at all."""
    branch = staff.get(facts.branch_id, {})
    for candidate in _OWNER_ORDER.get(role, (role,)):
        owner_id = facts.rm_id if candidate == OwnerRole.RM else branch.get(candidate)
        if owner_id is not None:
            return owner_id
    return admin


# --- the night ---------------------------------------------------------------------------------


class _Clock:
    """Seconds per step, for the stage's result (the nightly benchmark prints them)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.seconds[name] = round(self.seconds.get(name, 0.0) + now - self._last, 3)
        self._last = now


def cases_raise_for_date(*, run_date: dt.date, data_month: dt.date | None = None) -> dict:
    """Tonight's signals into cases and tasks, then today's ranking: the nightly chain's
    cases stage. ``data_month``: the month of balances the night's scores came from; the
    rules read balances up to it (None: up to the last complete month).

    Returns counts (``opened``, ``held_out``, ``signals_added``, ``signals_renewed``,
    ``signals_cleared``, ``cases_cleared``, ``tasks_created``, ``woken``, ``ranked``,
    ``suppressed``, ``unowned``, ``no_playbook``, ``skipped_rules``, ``by_kind``: triggers per
    kind) and ``seconds`` per step."""
    clock = _Clock()
    ctx = RuleContext(run_date=run_date, data_month=data_month)
    counts: dict[str, Any] = {"skipped_rules": [], "by_kind": {}}
    with transaction.atomic():
        triggers: dict[str, list[Trigger]] = {}
        for kind, rule in RULES.items():
            found = rule(ctx)
            if found is None:
                counts["skipped_rules"].append(str(kind))
                continue
            triggers[str(kind)] = found
            counts["by_kind"][str(kind)] = len(found)
        clock.lap("rules")
        # Memory at a million customers: the balances go once the rules have run, the triggers
        # as pricing turns them into rows, the rest of the rules' data after pricing.
        ctx.balances_release()
        evaluated = sorted(triggers)
        tonight = _tonight(ctx=ctx, triggers=triggers)
        del ctx, triggers
        counts.update(tonight.dropped)
        clock.lap("pricing")
        with connection.cursor() as cursor:
            _stage(cursor, tonight)
            clock.lap("staging")
            counts.update(_merge(cursor, run_date=run_date, period=tonight.period, anchor_month=tonight.anchor_month,
                                 evaluated=evaluated, clock=clock))
            _win_back_figures(cursor)
            counts["ranked"] = _rank(cursor, run_date=run_date)
            clock.lap("ranking")
            cursor.execute("DROP TABLE IF EXISTS retention_tonight")
            cursor.execute("DROP TABLE IF EXISTS retention_tonight_rates")
            cursor.execute("DROP TABLE IF EXISTS retention_tonight_staff")
    counts["seconds"] = clock.seconds
    logger.info("cases for %s: %s", run_date, counts)
    return counts


@dataclass(frozen=True)
class _Tonight:
    """What the SQL works on: tonight's rows, and beside them the playbooks' save rates,
    the branches' lobby managers and heads, and the measurement period."""

    rows: list[tuple]
    dropped: dict[str, int]
    rates: list[tuple[int, float]]
    staff: list[tuple[int, str, int]]
    period: dt.date
    # The day of tonight's scores (the reasons of the model-risk signals are theirs).
    scored_on: dt.date
    # The last month of balances the night knows: the churn window of tonight's new cases
    # starts after it.
    anchor_month: dt.date


def _tonight(*, ctx: RuleContext, triggers: dict[str, list[Trigger]]) -> _Tonight:
    """One staging row per (customer, kind) of tonight: priced, owned, drawn. Triggers of a
    customer and kind staff closed a case over lately are left out (staff decided about
    it), as are triggers whose playbook is missing or switched off (counted and logged).
    Empties ``triggers`` kind by kind as it goes, so that a kind's triggers (their reasons
    and details as Python objects) are freed once its rows hold them as JSON text."""
    playbooks = {playbook.key: playbook for playbook in Playbook.objects.filter(is_active=True)}
    save_rates = playbook_save_rates()
    staff, admin = _staff()
    suppressed = _recently_closed(run_date=ctx.run_date)
    share, salt, months = conf.control_share(), conf.control_salt(), conf.control_period_months()
    period = period_start(ctx.run_date, months=months)
    cost = conf.contact_cost()
    prior = conf.event_probability_prior()
    dropped = {"suppressed": 0, "unowned": 0, "no_playbook": 0}
    missing: dict[str, int] = {}
    draws: dict[int, float] = {}
    rows = []
    scores = ctx.latest_scores_for(trigger.customer_id for found in triggers.values() for trigger in found)
    customers = ctx.customers_for(trigger.customer_id for found in triggers.values() for trigger in found)
    for kind in list(triggers):
        for trigger in triggers.pop(kind):
            facts = customers.get(trigger.customer_id)
            if facts is None:
                continue
            playbook = playbooks.get(trigger.playbook_key)
            if playbook is None:
                dropped["no_playbook"] += 1
                missing[trigger.playbook_key] = missing.get(trigger.playbook_key, 0) + 1
                continue
            if (trigger.customer_id, kind) in suppressed:
                dropped["suppressed"] += 1
                continue
            owner_id = _owner_for(OwnerRole.RM, facts, staff, admin)
            if owner_id is None:
                # Nobody at all to own it (no RM, head, lobby manager or administrator): not
                # raised tonight, but loudly; the rule fires again each night.
                logger.warning("%s signal for customer %s not raised: nobody to own it (branch %s)",
                               kind, facts.customer_id, facts.branch_id)
                dropped["unowned"] += 1
                continue
            score = scores.get(trigger.customer_id)
            probability = trigger.probability
            if probability is None:
                probability = score.probability if score is not None else prior
            aum = score.aum if score is not None else facts.latest_aum
            draw = draws.get(trigger.customer_id)
            if draw is None:
                draw = draws[trigger.customer_id] = control_draw(
                    customer_key=facts.customer_id, period=period, salt=salt)
            rows.append((
                trigger.customer_id, kind, playbook.pk, facts.branch_id, owner_id, probability, aum,
                trigger.aum_at_risk, (Decimal(str(probability)) * trigger.aum_at_risk).quantize(Decimal("0.01")),
                expected_value(probability=probability, aum_at_risk=float(trigger.aum_at_risk),
                               save_rate=save_rates.get(playbook.pk, conf.save_rate_prior()), contact_cost=cost),
                trigger.event_on,
                # None: the score's reasons, joined in SQL (``_stage``).
                None if trigger.reasons_from_score else json.dumps(trigger.reasons, default=str),
                json.dumps(trigger.details, default=str),
                is_held_out(draw=draw, share=share), draw,
            ))
    for key, count in missing.items():
        # Counted in the result too: a playbook switched off (or never loaded) must not make
        # a night's signals vanish without a word.
        logger.warning("%s trigger(s) dropped: playbook %r is missing or inactive", count, key)
    return _Tonight(
        rows=rows,
        dropped=dropped,
        rates=[(playbook.pk, save_rates.get(playbook.pk, conf.save_rate_prior())) for playbook in playbooks.values()],
        staff=[(branch, role, user) for branch, by_role in staff.items() for role, user in by_role.items()],
        period=period,
        scored_on=ctx.run_date,
        anchor_month=add_months(ctx.balance_cutoff, -1),
    )


def _recently_closed(*, run_date: dt.date) -> set[tuple[int, str]]:
    """(customer, kind) of the signals of cases staff dismissed or closed within the
    suppression period: not raised again at once, staff decided about it."""
    since = timezone.make_aware(dt.datetime.combine(run_date - dt.timedelta(days=conf.suppress_days()), dt.time.min))
    return set(
        Signal.objects.filter(case__status__in=CLOSED_BY_STAFF, case__closed_at__gte=since)
        .values_list("customer_id", "kind")
    )


def _stage(cursor, tonight: _Tonight) -> None:
    """Tonight's rows into a temporary table (COPY on PostgreSQL), with the playbooks' save
    rates and the branches' lobby managers and heads beside them."""
    money = "numeric(18, 2)" if _pg() else "decimal"
    cursor.execute("DROP TABLE IF EXISTS retention_tonight")
    cursor.execute(
        "CREATE TEMPORARY TABLE retention_tonight (customer_id bigint, kind varchar(32), playbook_id bigint, "
        f"branch_id bigint, owner_id bigint, probability double precision, aum {money}, aum_at_risk {money}, "
        f"expected_aum_at_risk {money}, priority double precision, event_on date, reasons text, details text, "
        "is_control boolean, control_draw double precision)"
    )
    if _pg():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        for row in tonight.rows:
            writer.writerow(["" if value is None else value for value in row])
        buffer.seek(0)
        cursor.cursor.copy_expert(
            f"COPY retention_tonight ({', '.join(_STAGE_COLUMNS)}) FROM STDIN WITH (FORMAT csv)", buffer
        )
    else:
        cursor.executemany(
            f"INSERT INTO retention_tonight ({', '.join(_STAGE_COLUMNS)}) VALUES ({', '.join(['%s'] * 15)})",
            [(*row[:6], str(row[6]), str(row[7]), str(row[8]), row[9], _date(row[10]) if row[10] else None,
              *row[11:]) for row in tonight.rows],
        )
    # The model-risk signals' reasons are tonight's scores': copied inside the database.
    score = ChurnScore._meta.db_table
    if _pg():
        cursor.execute(f"UPDATE retention_tonight t SET reasons = CAST(s.reasons AS text) FROM {score} s "
                       f"WHERE t.reasons IS NULL AND s.customer_id = t.customer_id AND s.scored_on = %s",
                       [_date(tonight.scored_on)])
    else:
        cursor.execute(f"UPDATE retention_tonight SET reasons = (SELECT s.reasons FROM {score} s "
                       f"WHERE s.customer_id = retention_tonight.customer_id AND s.scored_on = %s) "
                       f"WHERE reasons IS NULL", [_date(tonight.scored_on)])
    cursor.execute("UPDATE retention_tonight SET reasons = '[]' WHERE reasons IS NULL")
    cursor.execute("CREATE INDEX retention_tonight_customer ON retention_tonight (customer_id, kind)")
    cursor.execute("DROP TABLE IF EXISTS retention_tonight_rates")
    cursor.execute("CREATE TEMPORARY TABLE retention_tonight_rates (playbook_id bigint, save_rate double precision)")
    if tonight.rates:
        cursor.executemany("INSERT INTO retention_tonight_rates VALUES (%s, %s)", tonight.rates)
    cursor.execute("DROP TABLE IF EXISTS retention_tonight_staff")
    cursor.execute("CREATE TEMPORARY TABLE retention_tonight_staff (branch_id bigint, role varchar(8), user_id bigint)")
    if tonight.staff:
        cursor.executemany("INSERT INTO retention_tonight_staff VALUES (%s, %s, %s)", tonight.staff)
    if _pg():
        cursor.execute("ANALYZE retention_tonight")


def _run(cursor, sql: str, params: Sequence[Any] = ()) -> int:
    cursor.execute(sql, list(params))
    return max(cursor.rowcount, 0)


def _max_id(cursor, table: str) -> int:
    cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")
    return int(cursor.fetchone()[0])


def _merge(cursor, *, run_date: dt.date, period: dt.date, anchor_month: dt.date, evaluated: list[str],
           clock: _Clock) -> dict[str, int]:
    case, signal, task, event = _T["case"], _T["signal"], _T["task"], _T["event"]
    day, now, empty = _date(run_date), _now(), "'{}'"
    counts: dict[str, int] = {}
    _analyze(cursor, case, signal, task)

    # 1. Snoozes that end tonight.
    woken_where = "status = 'snoozed' AND snoozed_until <= %s"
    _run(cursor, f"INSERT INTO {event} (case_id, at, action, from_status, to_status, note, data) "
                 f"SELECT id, %s, 'woken', 'snoozed', 'open', '', {_json(empty)} FROM {case} WHERE {woken_where}",
         [now, day])
    counts["woken"] = _run(cursor, f"UPDATE {case} SET status = 'open', updated_at = %s WHERE {woken_where}",
                           [now, day])

    # 2. Signals found again: renewed once per date; a moved event date is in the history.
    _run(cursor, f"INSERT INTO {event} (case_id, at, action, from_status, to_status, note, data) "
                 f"SELECT s.case_id, %s, 'signal_renewed', c.status, c.status, '', {_json(empty)} "
                 f"FROM {signal} s JOIN retention_tonight t ON t.customer_id = s.customer_id AND t.kind = s.kind "
                 f"JOIN {case} c ON c.id = s.case_id "
                 f"WHERE s.is_active = {_true()} AND s.last_seen_on < %s AND s.event_on IS DISTINCT FROM t.event_on",
         [now, day])
    counts["signals_renewed"] = _run(
        cursor,
        f"UPDATE {signal} AS s SET last_seen_on = %s, seen_count = s.seen_count + 1, event_on = t.event_on, "
        f"probability = t.probability, aum_at_risk = t.aum_at_risk, expected_aum_at_risk = t.expected_aum_at_risk, "
        f"priority = t.priority, reasons = {_json('t.reasons')}, details = {_json('t.details')} "
        f"FROM retention_tonight t WHERE t.customer_id = s.customer_id AND t.kind = s.kind "
        f"AND s.is_active = {_true()} AND s.last_seen_on < %s",
        [day, day],
    )
    clock.lap("renew")

    # 3. Signals not found again have cleared (only kinds whose rule ran tonight).
    if evaluated:
        kinds = ", ".join(["%s"] * len(evaluated))
        reason = "CASE s.kind " + " ".join("WHEN %s THEN %s" for _ in CLEAR_REASONS) + " ELSE '' END"
        reason_params = [value for pair in CLEAR_REASONS.items() for value in (str(pair[0]), pair[1])]
        cursor.execute("DROP TABLE IF EXISTS retention_tonight_cleared")
        _run(cursor,
             f"CREATE TEMPORARY TABLE retention_tonight_cleared AS SELECT s.id, s.case_id, {reason} AS reason "
             f"FROM {signal} s WHERE s.is_active = {_true()} AND s.kind IN ({kinds}) AND NOT EXISTS "
             f"(SELECT 1 FROM retention_tonight t WHERE t.customer_id = s.customer_id AND t.kind = s.kind)",
             [*reason_params, *evaluated])
        # Looked up by id once per cleared signal below: indexed, and counted for the planner.
        cursor.execute("CREATE INDEX retention_tonight_cleared_id ON retention_tonight_cleared (id)")
        _analyze(cursor, "retention_tonight_cleared")
        _run(cursor, f"INSERT INTO {event} (case_id, at, action, from_status, to_status, note, data) "
                     f"SELECT x.case_id, %s, 'signal_cleared', c.status, c.status, x.reason, {_json(empty)} "
                     f"FROM retention_tonight_cleared x JOIN {case} c ON c.id = x.case_id", [now])
        _run(cursor, f"UPDATE {task} SET status = 'cancelled' WHERE status = 'open' AND signal_id IN "
                     f"(SELECT id FROM retention_tonight_cleared)")
        counts["signals_cleared"] = _run(
            cursor,
            f"UPDATE {signal} SET is_active = {_false()}, cleared_on = %s, clear_reason = "
            f"(SELECT x.reason FROM retention_tonight_cleared x WHERE x.id = {signal}.id) "
            f"WHERE id IN (SELECT id FROM retention_tonight_cleared)",
            [day],
        )
        cursor.execute("DROP TABLE retention_tonight_cleared")
    else:
        counts["signals_cleared"] = 0
    clock.lap("clear")

    # 4. and 5. New cases for customers with none open; then every new signal, on its case.
    first_new_case = _max_id(cursor, case) + 1
    first_new_signal = _max_id(cursor, signal) + 1
    window_start, window_ends = window_of(anchor_month=anchor_month)
    counts["opened"] = _run(
        cursor,
        f"INSERT INTO {case} (customer_id, branch_id, owner_id, kind, status, opened_on, last_signal_on, leading_kind, "
        f"playbook_id, probability, aum, aum_at_risk, expected_aum_at_risk, save_rate, contact_cost, priority, "
        f"urgent, in_budget, is_control, control_period, control_draw, close_reason, window_start_month, "
        f"window_ends_on, outcome, created_at, updated_at) "
        f"SELECT l.customer_id, l.branch_id, l.owner_id, CASE WHEN EXISTS (SELECT 1 FROM retention_tonight w "
        f"WHERE w.customer_id = l.customer_id AND w.kind = 'already_lost') THEN 'win_back' ELSE 'retention' END, "
        f"'open', %s, %s, l.kind, l.playbook_id, l.probability, l.aum, l.aum_at_risk, l.expected_aum_at_risk, "
        f"COALESCE(r.save_rate, 0), %s, l.priority, {_false()}, {_false()}, l.is_control, %s, l.control_draw, '', "
        f"%s, %s, '', %s, %s "
        f"FROM (SELECT t.*, ROW_NUMBER() OVER (PARTITION BY t.customer_id ORDER BY t.priority DESC, t.kind) AS rn "
        f"FROM retention_tonight t WHERE NOT EXISTS (SELECT 1 FROM {case} o WHERE o.customer_id = t.customer_id "
        f"AND o.status IN {_OPEN})) l LEFT JOIN retention_tonight_rates r ON r.playbook_id = l.playbook_id "
        f"WHERE l.rn = 1 ORDER BY l.customer_id",
        [day, day, conf.contact_cost(), _date(period), _date(window_start), _date(window_ends), now, now],
    )
    counts["held_out"] = _count(cursor, f"SELECT COUNT(*) FROM {case} WHERE id >= %s AND is_control = {_true()}",
                                [first_new_case])
    _run(cursor, f"INSERT INTO {event} (case_id, at, action, from_status, to_status, note, data) "
                 f"SELECT id, %s, 'opened', '', 'open', '', {_json(empty)} FROM {case} WHERE id >= %s",
         [now, first_new_case])
    counts["signals_added"] = _run(
        cursor,
        f"INSERT INTO {signal} (case_id, customer_id, kind, playbook_id, is_active, first_seen_on, last_seen_on, "
        f"seen_count, event_on, probability, aum_at_risk, expected_aum_at_risk, priority, reasons, details, "
        f"clear_reason) "
        f"SELECT c.id, t.customer_id, t.kind, t.playbook_id, {_true()}, %s, %s, 1, t.event_on, t.probability, "
        f"t.aum_at_risk, t.expected_aum_at_risk, t.priority, {_json('t.reasons')}, {_json('t.details')}, '' "
        f"FROM retention_tonight t JOIN {case} c ON c.customer_id = t.customer_id AND c.status IN {_OPEN} "
        f"WHERE NOT EXISTS (SELECT 1 FROM {signal} s WHERE s.customer_id = t.customer_id AND s.kind = t.kind "
        f"AND s.is_active = {_true()}) ORDER BY c.id, t.kind",
        [day, day],
    )
    _run(cursor, f"INSERT INTO {event} (case_id, at, action, from_status, to_status, note, data) "
                 f"SELECT s.case_id, %s, 'signal_added', c.status, c.status, s.kind, {_json(empty)} "
                 f"FROM {signal} s JOIN {case} c ON c.id = s.case_id WHERE s.id >= %s AND c.id < %s",
         [now, first_new_signal, first_new_case])
    # Tonight's new cases and signals are in the statistics before the statements that join them.
    _analyze(cursor, case, signal)
    clock.lap("cases")

    # 6. Tasks: the playbook steps of tonight's new signals on shown cases, once per step and case.
    counts["tasks_created"] = _tasks_create(cursor, run_date=run_date, first_new_signal=first_new_signal)
    clock.lap("tasks")

    # 7a. A customer whose RM changed (re-imported, reassigned by the bank): the open case and
    # its open RM tasks move to tonight's owner, with the move in the history. The moved cases
    # are found once, into a table of their own (few a night): as a subquery of each statement
    # the planner ran it again for every open task (minutes at a million customers).
    cursor.execute("DROP TABLE IF EXISTS retention_tonight_moved")
    cursor.execute(
        f"CREATE TEMPORARY TABLE retention_tonight_moved AS "
        f"SELECT c.id AS case_id, c.owner_id AS owner_before, o.owner_id, o.branch_id FROM {case} c "
        f"JOIN (SELECT customer_id, MAX(owner_id) AS owner_id, MAX(branch_id) AS branch_id FROM retention_tonight "
        f"GROUP BY customer_id) o ON o.customer_id = c.customer_id "
        f"WHERE c.status IN {_OPEN} AND (c.owner_id <> o.owner_id OR c.branch_id <> o.branch_id)"
    )
    _analyze(cursor, "retention_tonight_moved")
    _run(cursor, f"INSERT INTO {event} (case_id, at, action, from_status, to_status, note, data) "
                 f"SELECT c.id, %s, 'reassigned', c.status, c.status, '', "
                 f"{_json(_json_object('owner_before', 'm.owner_before', 'owner', 'm.owner_id'))} "
                 f"FROM retention_tonight_moved m JOIN {case} c ON c.id = m.case_id "
                 f"WHERE m.owner_before <> m.owner_id", [now])
    _run(cursor, f"UPDATE {task} SET owner_id = (SELECT m.owner_id FROM retention_tonight_moved m "
                 f"WHERE m.case_id = {task}.case_id) "
                 f"WHERE status = 'open' AND owner_role = 'rm' AND case_id IN "
                 f"(SELECT case_id FROM retention_tonight_moved WHERE owner_before <> owner_id)")
    counts["reassigned"] = _run(
        cursor,
        f"UPDATE {case} SET owner_id = (SELECT m.owner_id FROM retention_tonight_moved m WHERE m.case_id = {case}.id), "
        f"branch_id = (SELECT m.branch_id FROM retention_tonight_moved m WHERE m.case_id = {case}.id), "
        f"updated_at = %s WHERE id IN (SELECT case_id FROM retention_tonight_moved)",
        [now],
    )
    cursor.execute("DROP TABLE retention_tonight_moved")

    # 7. Each open case's figures (expected value and its parts) from its leading signal; an
    # "already left" signal makes it a win-back case. The signal and playbook the case opened
    # with stay: the retention report groups by them, and working a case (which clears
    # signals in the shown group only) must not move it from one row of the report to another.
    _run(cursor, f"INSERT INTO {event} (case_id, at, action, from_status, to_status, note, data) "
                 f"SELECT c.id, %s, 'win_back', c.status, c.status, '', {_json(empty)} FROM {case} c "
                 f"WHERE c.status IN {_OPEN} AND c.kind = 'retention' AND c.id < %s "
                 f"AND EXISTS (SELECT 1 FROM {signal} s WHERE s.case_id = c.id AND s.kind = 'already_lost' "
                 f"AND s.is_active = {_true()})",
         [now, first_new_case])
    _run(
        cursor,
        f"UPDATE {case} AS c SET probability = l.probability, "
        f"aum_at_risk = l.aum_at_risk, expected_aum_at_risk = l.expected_aum_at_risk, priority = l.priority, "
        f"save_rate = COALESCE(l.save_rate, 0), last_signal_on = l.last_seen, "
        f"kind = CASE WHEN l.lost > 0 THEN 'win_back' ELSE c.kind END, updated_at = %s "
        f"FROM (SELECT s.case_id, s.kind, s.playbook_id, s.probability, s.aum_at_risk, s.expected_aum_at_risk, "
        f"s.priority, r.save_rate, "
        f"MAX(s.last_seen_on) OVER (PARTITION BY s.case_id) AS last_seen, "
        f"SUM(CASE WHEN s.kind = 'already_lost' THEN 1 ELSE 0 END) OVER (PARTITION BY s.case_id) AS lost, "
        f"ROW_NUMBER() OVER (PARTITION BY s.case_id ORDER BY s.priority DESC, s.kind) AS rn "
        f"FROM {signal} s LEFT JOIN retention_tonight_rates r ON r.playbook_id = s.playbook_id "
        f"WHERE s.is_active = {_true()}) l "
        f"WHERE l.case_id = c.id AND l.rn = 1 AND c.status IN {_OPEN} AND l.last_seen = %s "
        # Only the cases whose figures change (tonight's new cases opened with them already).
        f"AND (c.probability IS DISTINCT FROM l.probability OR c.aum_at_risk IS DISTINCT FROM l.aum_at_risk "
        f"OR c.expected_aum_at_risk IS DISTINCT FROM l.expected_aum_at_risk OR c.priority IS DISTINCT FROM l.priority "
        f"OR c.save_rate IS DISTINCT FROM COALESCE(l.save_rate, 0) OR c.last_signal_on IS DISTINCT FROM l.last_seen "
        f"OR (l.lost > 0 AND c.kind <> 'win_back'))",
        [now, day],
    )

    # 8. Cases left with no active signal close themselves.
    no_signal = (f"status IN {_OPEN} AND NOT EXISTS (SELECT 1 FROM {signal} s WHERE s.case_id = {case}.id "
                 f"AND s.is_active = {_true()})")
    _run(cursor, f"INSERT INTO {event} (case_id, at, action, from_status, to_status, note, data) "
                 f"SELECT id, %s, 'cleared', status, 'cleared', %s, {_json(empty)} FROM {case} WHERE {no_signal}",
         [now, ALL_CLEARED])
    _run(cursor, f"UPDATE {task} SET status = 'cancelled' WHERE status = 'open' AND case_id IN "
                 f"(SELECT id FROM {case} WHERE {no_signal})")
    counts["cases_cleared"] = _run(
        cursor,
        f"UPDATE {case} SET status = 'cleared', close_reason = %s, closed_at = %s, rank = NULL, "
        f"in_budget = {_false()}, urgent = {_false()}, updated_at = %s WHERE {no_signal}",
        [ALL_CLEARED, now, now],
    )
    clock.lap("leaders")
    return counts


def _analyze(cursor, *tables: str) -> None:
    """Fresh planner statistics for ``tables`` (PostgreSQL; inside the night's transaction, its
    own rows included). A night writes a large share of these tables at once, before
    autovacuum can look: measured at a million customers, a statement of the night after
    planned with the statistics of near-empty tables (a nested loop over 145,000 cases,
    each scanning the bitmap of every "already left" signal) ran for minutes instead of a
    second."""
    if _pg():
        for table in tables:
            cursor.execute(f"ANALYZE {table}")


def _count(cursor, sql: str, params: Sequence[Any]) -> int:
    cursor.execute(sql, list(params))
    return int(cursor.fetchone()[0])


def _tasks_create(cursor, *, run_date: dt.date, first_new_signal: int) -> int:
    """The steps of each new signal's playbook as tasks of its (shown) case, with an owner
    per role and a due date from the event:

    - a competitor's product matures: the steps count from ``RETENTION_MATURITY_CALL_DAYS_BEFORE``
      days before the maturity (never before today);
    - a large withdrawal or transfer is booked: every step is due on the booking day;
    - satisfaction fell or a complaint: the head's first call within ``RETENTION_CALLBACK_DAYS``;
    - otherwise: the step's offset after today.
    The lobby's and the head's steps go to the branch's lobby manager and head, else to the
    case's owner."""
    case, signal, task, step = _T["case"], _T["signal"], _T["task"], _T["step"]
    day = _date(run_date)
    maturity_start = _later("%s", _plus_days("s.event_on", "-%s"))
    due = (
        f"CASE WHEN s.kind = 'competitor_maturity' AND s.event_on IS NOT NULL "
        f"THEN {_plus_days(maturity_start, 'p.due_offset_days')} "
        f"WHEN s.kind = 'large_withdrawal' AND s.event_on IS NOT NULL THEN {_later('%s', 's.event_on')} "
        f"WHEN s.kind IN {_CALLBACK} AND p.owner_role = 'head' AND p.due_offset_days = 0 "
        f"THEN {_plus_days('%s', '%s')} "
        f"ELSE {_plus_days('%s', 'p.due_offset_days')} END"
    )
    return _run(
        cursor,
        f"INSERT INTO {task} (case_id, signal_id, playbook_id, playbook_step_id, \"order\", owner_role, owner_id, "
        f"channel, due_on, text_zh, text_en, status, outcome, outcome_note, created_on) "
        f"SELECT c.id, s.id, s.playbook_id, p.id, p.\"order\", p.owner_role, "
        f"CASE p.owner_role WHEN 'lobby' THEN COALESCE(lobby.user_id, c.owner_id) "
        f"WHEN 'head' THEN COALESCE(head.user_id, c.owner_id) ELSE c.owner_id END, "
        f"p.channel, {due}, p.text_zh, p.text_en, '{TaskStatus.OPEN}', '', '', %s "
        f"FROM {signal} s JOIN {case} c ON c.id = s.case_id JOIN {step} p ON p.playbook_id = s.playbook_id "
        f"LEFT JOIN retention_tonight_staff lobby ON lobby.branch_id = c.branch_id AND lobby.role = 'lobby' "
        f"LEFT JOIN retention_tonight_staff head ON head.branch_id = c.branch_id AND head.role = 'head' "
        f"WHERE s.id >= %s AND c.is_control = {_false()} AND NOT EXISTS (SELECT 1 FROM {task} x "
        f"WHERE x.case_id = c.id AND x.playbook_step_id = p.id AND x.status IN ('open', 'done')) "
        f"ORDER BY c.id, s.id, p.\"order\"",
        [day, conf.maturity_call_days_before(), day, day, conf.callback_days(), day, day, first_new_signal],
    )


def _rank(cursor, *, run_date: dt.date) -> int:
    """Rank each owner's workable, shown cases: time-critical first (a task due by tomorrow
    whose date comes from a deadline, e.g. the call before a competitor's product matures, or a
    large withdrawal booked for today or tomorrow), then by expected value; the first
    RETENTION_DAILY_BUDGET are today's budget. Stored, so the list pages read the day's
    order with a fixed number of queries.

    A case whose every open task would break the customer's wishes today (do not contact on
    its channel, or the contact-frequency cap reached: ``retention.contactability``) is
    skipped for today: not time-critical, ranked after the owner's other cases, and never in
    the budget."""
    case, signal, task = _T["case"], _T["signal"], _T["task"]
    day, tomorrow, now = _date(run_date), _date(run_date + dt.timedelta(days=1)), _now()
    blocked, blocked_params = case_blocked_sql(case_table=case, today=run_date)
    _run(cursor, f"UPDATE {case} SET rank = NULL, in_budget = {_false()}, urgent = {_false()} "
                 f"WHERE rank IS NOT NULL AND (status NOT IN {_WORKABLE} OR is_control = {_true()})")
    # The time-critical cases, found once as a set (not two lookups per case).
    urgent = (
        f"(SELECT k.case_id FROM {task} k JOIN {signal} e ON e.id = k.signal_id "
        f"WHERE k.status = 'open' AND k.due_on <= %s AND e.is_active = {_true()} "
        f"AND e.event_on IS NOT NULL AND e.kind IN {_DEADLINE_KINDS} "
        f"UNION SELECT s.case_id FROM {signal} s "
        f"WHERE s.is_active = {_true()} AND s.kind = 'large_withdrawal' AND s.event_on <= %s)"
    )
    # A blocked case is never time-critical today.
    urgent = f"(CASE WHEN {blocked} THEN {_false()} ELSE id IN {urgent} END)"
    # Only the cases whose flag changes are written: most keep theirs from one night to the
    # next, and each row written is a new row version with every index of the table updated.
    _run(
        cursor,
        f"UPDATE {case} SET urgent = NOT urgent WHERE status IN {_WORKABLE} AND is_control = {_false()} "
        f"AND urgent <> {urgent}",
        [*blocked_params, tomorrow, tomorrow],
    )
    return _run(
        cursor,
        f"UPDATE {case} AS c SET rank = r.position, ranked_on = %s, "
        f"in_budget = (r.position <= %s AND NOT r.blocked), updated_at = %s "
        f"FROM (SELECT id, blocked, ROW_NUMBER() OVER (PARTITION BY owner_id ORDER BY blocked, urgent DESC, "
        f"priority DESC, id) AS position FROM (SELECT id, owner_id, urgent, priority, {blocked} AS blocked "
        f"FROM {case} WHERE status IN {_WORKABLE} AND is_control = {_false()}) b) r WHERE r.id = c.id",
        [day, conf.daily_budget(), now, *blocked_params],
    )


def cases_rank(*, run_date: dt.date) -> int:
    """Today's ranking alone (after staff changed the lists, or for a test)."""
    with transaction.atomic(), connection.cursor() as cursor:
        return _rank(cursor, run_date=run_date)



def _win_back_figures(cursor=None) -> int:
    """A win-back case shows when the customer left and the AUM that left: from its
    "already left" signal. One statement: a win-back case per customer who left is tens of
    thousands a night at a million customers, not a few."""
    if cursor is None:
        with connection.cursor() as own:
            return _win_back_figures(own)
    case, signal = _T["case"], _T["signal"]
    lost_month = f"NULLIF({_json_text('s.details', 'lost_month')}, '')"
    aum_lost = f"COALESCE(NULLIF({_json_text('s.details', 'aum_lost')}, ''), '0')"
    leaving = (f"FROM {signal} s WHERE s.case_id = {case}.id AND s.kind = 'already_lost' "
               f"AND s.is_active = {_true()} AND {lost_month} IS NOT NULL")
    return _run(
        cursor,
        f"UPDATE {case} SET lost_month = (SELECT {_as_date(f'substr({lost_month}, 1, 10)')} {leaving}), "
        f"aum_lost = (SELECT CAST({aum_lost} AS {_money_type()}) {leaving}) "
        f"WHERE kind = 'win_back' AND status IN {_OPEN} AND lost_month IS NULL AND EXISTS (SELECT 1 {leaving})",
    )
