"""The branch dashboard's figures hold together, for every month of a simulated bank.

The bank: two branches, RMs, a head who takes the cases of customers without an RM, a
lobby manager who owns none; nine months of cases (one open at a time per customer),
held out per customer and quarter by ``retention.control``, some worked, closed by
staff or by the system, their churn windows measured (some not yet); the nightly scores
of every month-end. Every month is checked against the invariants of the issue, against
figures recounted here from the rows one by one, and on the page itself.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from collections import Counter
from dataclasses import dataclass, fields
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from churn.models import ChurnScore
from core.months import add_months, month_end
from customers.models import Branch, Role, User
from retention.control import control_draw, is_held_out, period_start
from retention.dashboard import SUMMED, MonthTotals, branch_dashboard, dashboard_month
from retention.models import Case, Playbook
from retention.summary import dashboard_summary_refresh
from tests.retention.factories import (
    BranchFactory,
    CaseFactory,
    ChurnScoreFactory,
    CustomerFactory,
    ModelVersionFactory,
    UserFactory,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
FIRST_MONTH = dt.date(2024, 1, 1)
TODAY = dt.date(2024, 9, 20)
MONTHS = [add_months(FIRST_MONTH, i) for i in range(9)]  # January .. September (under way)
PASSWORD = "dashboard-test-pass"
CONTROL_SHARE = 0.2


@pytest.fixture(autouse=True)
def plain_static_storage(settings):
    # The manifest storage needs `collectstatic`; these tests render the page without it.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.SECURE_SSL_REDIRECT = False
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@dataclass
class SimulatedBank:
    branch: Branch
    other_branch: Branch
    head: User
    lobby: User
    rms: list[User]
    admin: User


def _aware(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=SHANGHAI)


def build_bank(*, seed: int = 7, customers_per_branch: int = 120, today: dt.date = TODAY) -> SimulatedBank:
    """Cases, outcomes and scores as the nightly chain and the staff would leave them."""
    rng = random.Random(seed)
    branch, other = BranchFactory(code="SH01", name="Shanghai Centre"), BranchFactory(code="BJ01", name="Beijing")
    head = UserFactory(username="head", display_name="Head Han", branch=branch, role=Role.HEAD)
    lobby = UserFactory(username="lobby", display_name="Lobby Lu", branch=branch, role=Role.LOBBY)
    rms = [UserFactory(username=f"rm{i}", display_name=f"RM {i}", branch=branch, role=Role.RM) for i in range(3)]
    other_rm = UserFactory(username="rm_bj", display_name="RM Beijing", branch=other, role=Role.RM)
    # An RM with customers but no case in any month: never a row.
    idle_rm = UserFactory(username="rm_idle", display_name="RM Idle", branch=branch, role=Role.RM)
    admin = UserFactory(username="admin", role=Role.ADMIN, branch=None, is_superuser=True, is_staff=True)
    for user in (head, lobby, admin, *rms):
        user.set_password(PASSWORD)
        user.save()
    playbooks = list(Playbook.objects.filter(key__in=["segment_product", "aum_drop", "large_withdrawal", "win_back"]))
    model = ModelVersionFactory()

    customers = []
    for i in range(customers_per_branch):
        # One customer in eight has no RM: the head owns their cases.
        rm = None if i % 8 == 0 else rms[i % len(rms)]
        customers.append(CustomerFactory(branch=branch, rm=rm))
    customers.append(CustomerFactory(branch=branch, rm=idle_rm))
    customers += [CustomerFactory(branch=other, rm=other_rm) for _ in range(customers_per_branch // 4)]

    cases = []
    for customer in customers:
        if customer.rm == idle_rm:
            continue
        owner = customer.rm or head
        day = FIRST_MONTH + dt.timedelta(days=rng.randrange(0, 60))
        while day <= today:
            period = period_start(day, months=3)
            draw = control_draw(customer_key=customer.customer_id, period=period, salt="test")
            held_out = is_held_out(draw=draw, share=CONTROL_SHARE)
            anchor = add_months(day, -1)
            window_ends_on = month_end(add_months(anchor, 3))
            closes_on = day + dt.timedelta(days=rng.randrange(3, 80))
            still_open = closes_on > today
            if still_open:
                status, closed_at = rng.choice(["open", "in_progress", "snoozed"]), None
            else:
                status = rng.choice(["cleared", "closed_retained", "closed_lost", "dismissed"])
                # Late in the day: a local date after midnight UTC, so time zones matter.
                closed_at = _aware(closes_on, rng.choice([1, 9, 23]))
            worked_at = None
            if not held_out and rng.random() < 0.55:
                worked_on = day + dt.timedelta(days=rng.randrange(0, 10))
                if worked_on <= today:
                    worked_at = _aware(worked_on, 10)
            outcome, measured_on, start_aum, kept = "", None, None, None
            if window_ends_on < today and rng.random() < 0.9:
                start_aum = Decimal(rng.randrange(10, 900) * 1000)
                retained_odds = 0.6 if held_out else (0.75 if worked_at else 0.65)
                outcome = "retained" if rng.random() < retained_odds else "lost"
                kept = start_aum if outcome == "retained" else (start_aum * Decimal("0.2")).quantize(Decimal("1"))
                measured_on = window_ends_on + dt.timedelta(days=1)
            playbook = rng.choice(playbooks)
            cases.append(CaseFactory.build(
                customer=customer, branch=customer.branch, owner=owner, status=status, opened_on=day,
                last_signal_on=day, leading_kind=playbook.signal_kind or "model_risk", playbook=playbook,
                kind="win_back" if playbook.key == "win_back" else "retention",
                is_control=held_out, control_period=period, control_draw=draw, closed_at=closed_at,
                worked_at=worked_at, window_start_month=anchor, window_ends_on=window_ends_on, outcome=outcome,
                outcome_measured_on=measured_on, aum_at_window_start=start_aum, aum_kept=kept,
            ))
            if still_open:
                break
            day = closes_on + dt.timedelta(days=rng.randrange(1, 50))
    Case.objects.bulk_create(cases)

    scores = []
    score_days = [month_end(m) for m in MONTHS if month_end(m) <= today] + [today - dt.timedelta(days=1)]
    # A mid-month night too: the month's figures read its *last* scores.
    score_days.append(dt.date(2024, 3, 14))
    for day in score_days:
        for customer in customers:
            probability = rng.random() ** 2
            band = "high" if probability >= 0.3 else ("medium" if probability >= 0.1 else "low")
            aum = Decimal(rng.randrange(5, 2000) * 1000)
            scores.append(ChurnScoreFactory.build(
                customer=customer, scored_on=day, model_version=model, probability=probability, risk_band=band,
                aum=aum, expected_aum_at_risk=(Decimal(str(probability)) * aum).quantize(Decimal("0.01")),
                is_month_end=day == month_end(day)))
    ChurnScore.objects.bulk_create(scores)
    # What the nightly job does last: the dashboard's summaries of these cases and scores.
    dashboard_summary_refresh(today=today)
    return SimulatedBank(branch=branch, other_branch=other, head=head, lobby=lobby, rms=rms, admin=admin)


@pytest.fixture
def sim(db) -> SimulatedBank:
    return build_bank()


# --- the figures recounted one case at a time ------------------------------------------------


def _local_date(moment: dt.datetime) -> dt.date:
    return moment.astimezone(SHANGHAI).date()


def recount(*, cases: list[Case], month: dt.date, as_of: dt.date) -> tuple[MonthTotals, dict[int, dict]]:
    """The month's tiles and per-owner columns, counted case by case."""
    totals = MonthTotals()
    per_owner: dict[int, Counter] = {}
    after = add_months(month, 1)
    for case in cases:
        row = per_owner.setdefault(case.owner_id, Counter())
        if month <= case.opened_on < after:
            totals.opened += 1
            if case.is_control:
                totals.held_out += 1
            else:
                row["shown"] += 1
                row["worked"] += case.worked_at is not None
        # A window has ended once its last day has passed (in the current month: before as-of).
        if month <= case.window_ends_on < after and (as_of >= month_end(month) or case.window_ends_on < as_of):
            if case.is_control:
                totals.held_out_windows_ended += 1
                totals.held_out_measured += case.outcome != ""
                totals.held_out_retained += case.outcome == "retained"
                totals.held_out_lost += case.outcome == "lost"
            else:
                row["windows_ended"] += 1
                row["measured"] += case.outcome != ""
                row["retained"] += case.outcome == "retained"
                row["lost"] += case.outcome == "lost"
                if case.outcome == "retained":
                    row["aum_kept"] += case.aum_kept
                if case.outcome == "lost":
                    row["aum_lost"] += case.aum_at_window_start - case.aum_kept
        closed_after = case.closed_at is None or _local_date(case.closed_at) > as_of
        if not case.is_control and case.opened_on <= as_of and (case.is_open or closed_after):
            row["open_cases"] += 1
    rows = {owner: dict(counts) for owner, counts in per_owner.items() if any(counts.values())}
    for counts in rows.values():
        for name in SUMMED:
            setattr(totals, name, getattr(totals, name) + counts.get(name, 0))
    return totals, rows


def _board(user: User, month: dt.date):
    return branch_dashboard(user=user, month=month, today=TODAY)


@pytest.mark.parametrize("month", MONTHS, ids=lambda m: m.strftime("%Y-%m"))
def test_every_figure_of_every_month_holds_together(sim, month):
    scope_cases = list(Case.objects.filter(branch=sim.branch))
    board = _board(sim.head, month)
    t = board.totals

    # Cases opened in the month: opened >= shown >= worked, and opened = held out + shown.
    assert t.opened >= t.shown >= t.worked
    assert t.opened == t.held_out + t.shown
    # Outcomes: cases whose window ended in the month; retained + lost = measured <= cases.
    assert t.retained + t.lost == t.measured <= t.windows_ended
    assert t.held_out_retained + t.held_out_lost == t.held_out_measured <= t.held_out_windows_ended
    # Per owner: only staff who own cases, and their columns add up to the tiles.
    owners = {row.owner_id for row in board.per_owner}
    assert owners <= set(Case.objects.filter(is_control=False).values_list("owner_id", flat=True))
    for name in SUMMED:
        assert sum(getattr(row, name) for row in board.per_owner) == getattr(t, name), name
    assert all(row.has_figures for row in board.per_owner)
    # The head and the lobby manager are rows only when they own cases with a figure.
    assert sim.lobby.pk not in owners
    # The risk bands add up to the headline, which is the month's last scores.
    scored_on = max(s for s in ChurnScore.objects.values_list("scored_on", flat=True)
                    if month <= s <= board.as_of)
    assert board.risk.scored_on == scored_on
    scores = ChurnScore.objects.filter(scored_on=scored_on, customer__branch=sim.branch)
    assert board.risk.expected_aum_at_risk == sum(b.expected_aum_at_risk for b in board.risk.bands)
    assert board.risk.expected_aum_at_risk == sum(s.expected_aum_at_risk for s in scores)
    assert board.risk.customers == sum(b.customers for b in board.risk.bands) == scores.count()

    # And each figure is what counting the cases one by one gives.
    expected, rows = recount(cases=scope_cases, month=month, as_of=board.as_of)
    assert t == expected
    assert {row.owner_id: {n: getattr(row, n) for n in SUMMED if getattr(row, n)} for row in board.per_owner} == {
        owner: {n: v for n, v in counts.items() if v} for owner, counts in rows.items()}
    # The trend's last point is the month itself.
    assert board.trend[-1].month == month and board.trend[-1].totals.opened == t.opened
    assert [p.month for p in board.trend] == [add_months(month, -i) for i in range(5, -1, -1)]


def test_the_head_owns_rows_only_in_months_he_owns_cases_in(sim):
    months_with_head = set()
    for month in MONTHS:
        board = _board(sim.head, month)
        if sim.head.pk in {row.owner_id for row in board.per_owner}:
            months_with_head.add(month)
            [row] = [r for r in board.per_owner if r.owner_id == sim.head.pk]
            assert row.role == Role.HEAD and row.role_label
    assert months_with_head, "the head owns the unassigned customers' cases"
    # Give the unassigned customers an RM: the head owns nothing, and is never a row.
    Case.objects.filter(owner=sim.head).update(owner=sim.rms[0])
    dashboard_summary_refresh(today=TODAY)  # the night that reassigns them rewrites the summaries
    for month in MONTHS:
        assert sim.head.pk not in {row.owner_id for row in _board(sim.head, month).per_owner}


def test_changing_the_month_changes_every_figure_that_depends_on_it(sim):
    boards = [_board(sim.head, month) for month in MONTHS]
    for name in [f.name for f in fields(MonthTotals) if f.name not in ("owner_id", "name", "role", "role_label")]:
        values = [getattr(b.totals, name) for b in boards]
        assert len(set(values)) > 1, f"{name} is the same in every month: {values}"
    assert len({b.risk.expected_aum_at_risk for b in boards}) == len(boards)
    assert len({b.risk.scored_on for b in boards}) == len(boards)
    assert len({b.as_of for b in boards}) == len(boards)
    # Neighbouring months differ in the figures a head compares first.
    for before, after in zip(boards, boards[1:], strict=False):
        assert (before.totals.opened, before.totals.open_cases, before.risk.expected_aum_at_risk) != (
            after.totals.opened, after.totals.open_cases, after.risk.expected_aum_at_risk)


def test_a_head_counts_the_branch_only_and_an_administrator_the_bank(sim):
    month = dt.date(2024, 5, 1)
    head, admin = _board(sim.head, month), _board(sim.admin, month)
    everything, _ = recount(cases=list(Case.objects.all()), month=month, as_of=admin.as_of)
    assert admin.totals == everything
    assert head.totals.opened < admin.totals.opened
    assert {row.owner_id for row in head.per_owner} <= set(
        User.objects.filter(branch=sim.branch).values_list("pk", flat=True))
    assert {r.key for r in admin.report_by_branch} == {"SH01", "BJ01"}
    assert {r.key for r in head.report_by_branch} == {"SH01"}


@pytest.mark.parametrize("report_months", [12, 3])
def test_the_report_counts_the_windows_ended_in_the_year_to_the_as_of_day_shown_and_held_out_apart(
        sim, report_months, monkeypatch):
    monkeypatch.setattr("retention.dashboard.REPORT_MONTHS", report_months)
    board = _board(sim.head, dt.date(2024, 7, 1))
    assert board.report_from == add_months(dt.date(2024, 7, 1), -(report_months - 1))
    measured = Case.objects.filter(branch=sim.branch, window_ends_on__gte=board.report_from,
                                   window_ends_on__lte=board.as_of).exclude(outcome="")
    assert measured.exists()
    [branch_row] = board.report_by_branch
    assert branch_row.shown.n == measured.filter(is_control=False).count()
    assert branch_row.held_out.n == measured.filter(is_control=True).count()
    assert branch_row.worked.n == measured.filter(is_control=False, worked_at__isnull=False).count()
    assert branch_row.worked.n <= branch_row.shown.n
    assert sum(r.shown.n for r in board.report_by_playbook) == branch_row.shown.n
    assert sum(r.held_out.n for r in board.report_by_playbook) == branch_row.held_out.n


def test_the_dashboard_takes_a_fixed_number_of_queries(sim, django_assert_num_queries):
    # From the summaries, a past month: the owners' months, the report's months, the owners,
    # the report's labels (two), the bands' night and its rows.
    with django_assert_num_queries(7):
        _board(sim.head, dt.date(2024, 6, 1))
    # More cases and owners: the same number.
    build_bank(seed=8, customers_per_branch=40)
    with django_assert_num_queries(7):
        _board(sim.admin, dt.date(2024, 6, 1))


# --- the page -------------------------------------------------------------------------------


def _tile(html: str, figure: str) -> str:
    match = re.search(rf'data-figure="{figure}">.*?<div class="tile-value">([^<]*)</div>', html, re.S)
    assert match, figure
    return match.group(1).strip()


def _count(value: int | Decimal) -> str:
    return f"{value:,.0f}"


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_page_shows_the_selectors_figures_for_every_month(client, sim, language):
    client.login(username="head", password=PASSWORD)
    with time_machine.travel(_aware(TODAY, 9), tick=False):
        for month in MONTHS:
            response = client.get(reverse("retention:dashboard"), {"month": month.strftime("%Y-%m")},
                                  headers={"accept-language": language})
            assert response.status_code == 200
            html = response.content.decode()
            board = _board(sim.head, month)
            t = board.totals
            assert _tile(html, "expected_aum_at_risk") == _count(board.risk.expected_aum_at_risk)
            assert _tile(html, "open_cases") == _count(t.open_cases)
            assert _tile(html, "opened") == _count(t.opened)
            assert _tile(html, "windows_ended") == _count(t.windows_ended)
            assert _tile(html, "retained") == _count(t.retained)
            assert _tile(html, "lost") == _count(t.lost)
            start = html.index('data-testid="per-owner"')
            table = html[start:html.index("</table>", start)]
            assert sim.lobby.display_name not in table
            for row in board.per_owner:
                assert row.name in table
    labels = {"en": ["Cases opened in", "held out", "shown", "worked", "Churn windows ended in", "Open cases on",
                     "Shown (intention to treat)", "of which worked", "Held out"],
              "zh-hans": ["新开案例", "对照组", "已展示", "已跟进", "流失观察期结束的案例", "未结案例",
                          "展示组（意向处理）", "其中已跟进"]}
    for label in labels[language]:
        assert label in html, label


# --- the API's dashboard --------------------------------------------------------------------


def test_the_api_answers_the_pages_figures_for_a_month(client, sim):
    client.login(username="head", password=PASSWORD)
    month = dt.date(2024, 7, 1)
    with time_machine.travel(_aware(TODAY, 9), tick=False):
        response = client.get(reverse("api:dashboard"), {"month": "2024-07"})
    assert response.status_code == 200
    data = response.json()
    board = _board(sim.head, month)
    assert data["month"] == "2024-07-01" and data["as_of"] == "2024-07-31"
    for name in [f.name for f in fields(MonthTotals) if f.name not in ("owner_id", "name", "role", "role_label")]:
        assert Decimal(str(data["totals"][name])) == getattr(board.totals, name), name
    assert [row["owner_id"] for row in data["per_owner"]] == [row.owner_id for row in board.per_owner]
    assert Decimal(data["risk"]["expected_aum_at_risk"]) == board.risk.expected_aum_at_risk == sum(
        Decimal(b["expected_aum_at_risk"]) for b in data["risk"]["bands"])
    assert [p["month"] for p in data["trend"]] == [p.month.isoformat() for p in board.trend]
    # Aggregates only: no customer and no case is named.
    assert set(data) == {"month", "as_of", "totals", "per_owner", "risk", "trend"}
    assert "customer_id" not in response.content.decode() and '"case' not in response.content.decode()


@pytest.mark.parametrize("username", ["lobby", "rm0"])
def test_the_api_dashboard_is_for_heads_analysts_and_administrators(client, sim, username):
    client.login(username=username, password=PASSWORD)
    assert client.get(reverse("api:dashboard")).status_code == 403


def test_the_dashboard_month_is_the_one_asked_for_but_never_a_later_one():
    today = dt.date(2024, 5, 15)
    assert dashboard_month(requested=None, today=today) == dt.date(2024, 5, 1)
    assert dashboard_month(requested=dt.date(2024, 2, 20), today=today) == dt.date(2024, 2, 1)
    assert dashboard_month(requested=dt.date(2025, 1, 1), today=today) == dt.date(2024, 5, 1)


def test_a_month_without_nightly_scores_has_no_score_date_and_zero_bands(sim):
    board = branch_dashboard(user=sim.head, month=dt.date(2023, 12, 1), today=TODAY)
    assert board.risk.scored_on is None
    assert [b.band for b in board.risk.bands] == ["high", "medium", "low"]
    assert board.risk.expected_aum_at_risk == 0 and board.risk.customers == 0
