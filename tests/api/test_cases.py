"""Cases and tasks through the API: one row per case with its expected value and its
parts, every signal's reasons, scoping per role, held-out cases shown to nobody, the
staff actions (each audited, each leaving its trace in the case's history) and the
caller's tasks."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest

from audit.models import AuditAction, AuditEvent
from customers.models import ContactLog
from retention.models import CaseEvent, CaseStatus, Task, TaskStatus
from tests.api.conftest import ROLES, TODAY, WITHDRAWAL_REASON, _case
from tests.retention.factories import CustomerFactory, SignalFactory, TaskFactory

pytestmark = pytest.mark.django_db

JSON = "application/json"


def _ids(response) -> list[str]:
    assert response.status_code == 200, response.content[:300]
    return [row["customer"]["customer_id"] for row in response.json()["results"]]


def _customer(world, rm, number: int):
    # Explicit ids: the factory's sequence would repeat the world's own C000001...
    return CustomerFactory(customer_id=f"C1{number:05d}", branch=world.branch, rm=rm)


def _post(world, role, path, data=None):
    return world.client(role).post(path, data or {}, content_type=JSON)


# --- the list ----------------------------------------------------------------------------------


def test_rm_lists_only_own_cases_one_row_each_with_the_expected_value_and_its_parts(world):
    SignalFactory(case=world.cases["own"], kind="large_withdrawal", playbook=world.cases["own"].playbook,
                  event_on=TODAY, priority=100.0, reasons=[WITHDRAWAL_REASON])
    response = world.client("rm_owner").get("/api/v1/cases/", headers={"Accept-Language": "en"})
    assert _ids(response) == ["C000001"]
    row = response.json()["results"][0]
    case = world.cases["own"]
    assert row["id"] == case.pk and row["rank"] == 1 and row["in_budget"] is True
    assert row["priority"] == pytest.approx(row["probability"] * float(row["aum_at_risk"]) * row["save_rate"]
                                            - row["contact_cost"])
    # Every active signal, each with its reasons in plain words (not only the leading one).
    assert [s["kind"] for s in row["signals"]] == ["model_risk", "large_withdrawal"]
    texts = [s["reason_texts"] for s in row["signals"]]
    assert "32%" in texts[0][0] and "500,000" in texts[1][0] and "15 May" in texts[1][0], texts
    assert sorted(t["status"] for t in row["tasks"]) == ["done", "open"]
    assert row["customer"]["phone_masked"].endswith("5678") and "13812345678" not in response.content.decode()


def test_the_branch_sees_its_cases_the_admin_all_the_analyst_none(world):
    def listed(role):
        return sorted(_ids(world.client(role).get("/api/v1/cases/")))

    assert listed("rm_colleague") == ["C000002"]
    assert listed("rm_outsider") == ["C000003"]
    assert listed("head") == listed("lobby") == ["C000001", "C000002"]
    assert listed("admin") == ["C000001", "C000002", "C000003"]
    assert listed("analyst") == []
    assert world.client("anonymous").get("/api/v1/cases/").status_code == 401


def test_the_list_is_audited_with_the_customers_it_shows(world):
    world.client("head").get("/api/v1/cases/", {"kind": "retention"})
    event = AuditEvent.objects.filter(action=AuditAction.VIEW, detail__list="cases").get()
    assert event.actor == world.users["head"]
    assert sorted(event.detail["customer_ids"]) == ["C000001", "C000002"]
    assert event.detail["filters"] == {"kind": "retention"}


def test_the_list_shows_workable_cases_unless_asked_for_other_statuses(world):
    closed = world.cases["own"]
    closed.status = CaseStatus.CLOSED_RETAINED
    closed.save()
    snoozed = world.cases["colleague"]
    snoozed.status, snoozed.snoozed_until = CaseStatus.SNOOZED, TODAY + dt.timedelta(days=3)
    snoozed.save()
    head = world.client("head")
    assert _ids(head.get("/api/v1/cases/")) == []
    assert _ids(head.get("/api/v1/cases/", {"status": "closed_retained"})) == ["C000001"]
    assert sorted(_ids(head.get("/api/v1/cases/?status=snoozed&status=closed_retained"))) == ["C000001", "C000002"]


def test_filters_narrow_the_list(world):
    win_back_customer = CustomerFactory(customer_id="C000010", branch=world.branch, rm=world.users["rm_owner"])
    win_back = _case(win_back_customer, kind="win_back", leading_kind="already_lost", rank=2,
                     lost_month=dt.date(2024, 4, 1), aum_lost=Decimal("380000.00"))
    head = world.client("head")
    assert _ids(head.get("/api/v1/cases/", {"kind": "win_back"})) == ["C000010"]
    row = head.get("/api/v1/cases/", {"kind": "win_back"}).json()["results"][0]
    assert row["lost_month"] == "2024-04-01" and row["aum_lost"] == "380000.00"
    assert _ids(head.get("/api/v1/cases/", {"owner": world.users["rm_colleague"].pk})) == ["C000002"]
    assert _ids(head.get("/api/v1/cases/", {"customer": world.customers["own"].pk})) == ["C000001"]
    SignalFactory(case=world.cases["colleague"], kind="satisfaction_drop", playbook=world.cases["colleague"].playbook)
    assert _ids(head.get("/api/v1/cases/", {"signal": "satisfaction_drop"})) == ["C000002"]
    win_back.in_budget = False
    win_back.save()
    assert sorted(_ids(head.get("/api/v1/cases/", {"in_budget": "false"}))) == ["C000010"]
    assert _ids(head.get("/api/v1/cases/", {"branch": "BJ01"})) == []


@pytest.mark.parametrize("query", [{"status": "nonsense"}, {"kind": "alert"}, {"owner": "0"}, {"owner": "x"},
                                   {"ordering": "name"}, {"signal": "model"}])
def test_a_bad_filter_is_a_400(world, query):
    response = world.client("head").get("/api/v1/cases/", query)
    assert response.status_code == 400 and response["Content-Type"].startswith(JSON)


def test_rank_ordering_is_the_owners_daily_list_and_pages_by_cursor(world):
    owner = world.users["rm_owner"]
    # Ranks as the nightly ranking leaves them: the time-critical case first, whatever its value.
    for rank, (priority, urgent) in enumerate([(10.0, True), (5000.0, False), (900.0, False)], start=2):
        _case(_customer(world, owner, rank), rank=rank, priority=priority, urgent=urgent)
    client = world.client("rm_owner")
    first = client.get("/api/v1/cases/", {"ordering": "rank", "page_size": 2}).json()
    second = client.get(first["next"]).json()
    ranks = [row["rank"] for row in first["results"] + second["results"]]
    assert ranks == [1, 2, 3, 4] and second["next"] is None
    by_value = client.get("/api/v1/cases/").json()["results"]
    assert [row["priority"] for row in by_value] == sorted((row["priority"] for row in by_value), reverse=True)


def test_the_list_is_a_fixed_number_of_queries(world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = world.client("rm_owner")

    def queries() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as captured:
            response = client.get("/api/v1/cases/")
        return len(captured), len(response.json()["results"])

    queries()  # the session and the user's first read
    one = queries()
    owner = world.users["rm_owner"]
    for rank in range(2, 12):
        case = _case(_customer(world, owner, rank), rank=rank)
        TaskFactory(case=case, order=1)
        SignalFactory(case=case, kind="aum_drop", playbook=case.playbook)
    eleven = queries()
    assert (one[1], eleven[1]) == (1, 11)
    assert eleven[0] == one[0]


# --- held out --------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [r for r in ROLES if r != "anonymous"])
def test_a_held_out_case_is_shown_to_nobody(world, held_out, role):
    client = world.client(role)
    for path in ("/api/v1/cases/", "/api/v1/cases/?status=open&status=in_progress&status=snoozed",
                 "/api/v1/tasks/"):
        assert "C000004" not in client.get(path).content.decode(), path
    export = client.get("/api/v1/cases/export/").content.decode("utf-8-sig")
    assert "C000004" not in export and "赵控制" not in export
    before = AuditEvent.objects.filter(action=AuditAction.DENIED).count()
    assert client.get(f"/api/v1/cases/{held_out.pk}/").status_code == 404
    for action, data in [("start", {}), ("snooze", {"until": (TODAY + dt.timedelta(days=2)).isoformat()}),
                         ("dismiss", {"reason": "x"}), ("close", {"outcome": "retained"}),
                         ("contacts", {"channel": "call", "result": "reached"})]:
        assert _post(world, role, f"/api/v1/cases/{held_out.pk}/{action}/", data).status_code == 404, action
    assert AuditEvent.objects.filter(action=AuditAction.DENIED).count() == before + 6
    held_out.refresh_from_db()
    assert held_out.status == CaseStatus.OPEN and not held_out.events.exists()


# --- one case ---------------------------------------------------------------------------------


def test_the_detail_has_every_signal_the_tasks_and_the_history_and_is_audited(world):
    case = world.cases["own"]
    SignalFactory(case=case, kind="aum_drop", playbook=case.playbook, is_active=False, cleared_on=TODAY,
                  clear_reason="AUM recovered")
    CaseEvent.objects.create(case=case, action=CaseEvent.Action.OPENED, to_status="open")
    response = world.client("rm_owner").get(f"/api/v1/cases/{case.pk}/", headers={"Accept-Language": "en"})
    assert response.status_code == 200
    body = response.json()
    assert [s["kind"] for s in body["signals"]] == ["model_risk"]
    assert sorted(s["kind"] for s in body["all_signals"]) == ["aum_drop", "model_risk"]
    cleared = next(s for s in body["all_signals"] if s["kind"] == "aum_drop")
    assert cleared["is_active"] is False and cleared["cleared_on"] == TODAY.isoformat()
    assert [e["action"] for e in body["events"]] == ["opened"] and body["events"][0]["actor"] is None
    assert {t["id"] for t in body["tasks"]} == {world.tasks["own"].pk, world.done_tasks["own"].pk}
    event = AuditEvent.objects.get(action=AuditAction.VIEW, customer=case.customer)
    assert event.actor == world.users["rm_owner"] and event.detail["part"] == "case"


def test_a_colleagues_case_is_a_404_and_the_attempt_is_audited(world):
    case = world.cases["colleague"]
    assert world.client("rm_owner").get(f"/api/v1/cases/{case.pk}/").status_code == 404
    event = AuditEvent.objects.get(action=AuditAction.DENIED)
    assert event.actor == world.users["rm_owner"] and event.detail["object_id"] == str(case.pk)


# --- staff actions ----------------------------------------------------------------------------


def _change_events(case):
    return list(AuditEvent.objects.filter(action=AuditAction.CHANGE, customer=case.customer))


def test_start_then_snooze_then_start_again(world):
    case = world.cases["own"]
    started = _post(world, "rm_owner", f"/api/v1/cases/{case.pk}/start/")
    assert started.status_code == 200 and started.json()["status"] == "in_progress"
    until = (TODAY + dt.timedelta(days=7)).isoformat()
    snoozed = _post(world, "rm_owner", f"/api/v1/cases/{case.pk}/snooze/", {"until": until, "note": "on holiday"})
    assert snoozed.status_code == 200
    assert snoozed.json()["status"] == "snoozed" and snoozed.json()["snoozed_until"] == until
    again = _post(world, "rm_owner", f"/api/v1/cases/{case.pk}/start/").json()
    assert again["status"] == "in_progress" and again["snoozed_until"] is None
    assert [e["action"] for e in again["events"]] == ["started", "snoozed", "started"]
    assert len(_change_events(case)) == 3


@pytest.mark.parametrize("days", [0, -1, 31, 400])
def test_a_snooze_out_of_range_is_a_400_that_says_why_and_changes_nothing(world, days):
    case = world.cases["own"]
    until = (TODAY + dt.timedelta(days=days)).isoformat()
    response = _post(world, "rm_owner", f"/api/v1/cases/{case.pk}/snooze/", {"until": until})
    assert response.status_code == 400 and response.json()["detail"]
    case.refresh_from_db()
    assert case.status == CaseStatus.OPEN and case.snoozed_until is None and not _change_events(case)


def test_the_last_snooze_day_is_accepted(world, settings):
    settings.RETENTION_SNOOZE_MAX_DAYS = 30
    case = world.cases["own"]
    until = (TODAY + dt.timedelta(days=30)).isoformat()
    assert _post(world, "rm_owner", f"/api/v1/cases/{case.pk}/snooze/", {"until": until}).status_code == 200


def test_dismissing_needs_a_reason(world):
    case = world.cases["own"]
    for data in ({}, {"reason": ""}, {"reason": "   "}):
        response = _post(world, "rm_owner", f"/api/v1/cases/{case.pk}/dismiss/", data)
        assert response.status_code == 400, data
    case.refresh_from_db()
    assert case.status == CaseStatus.OPEN


def test_dismiss_with_a_reason_closes_the_case_and_is_audited(world):
    case = world.cases["own"]
    response = _post(world, "rm_owner", f"/api/v1/cases/{case.pk}/dismiss/", {"reason": "moved abroad"})
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "dismissed" and body["close_reason"] == "moved abroad"
    assert body["closed_by"]["username"] == "rm_owner" and body["rank"] is None
    (event,) = _change_events(case)
    assert event.actor == world.users["rm_owner"] and event.detail["via"] == "api"
    # A closed case takes no more actions: a 400, not a 500.
    assert _post(world, "rm_owner", f"/api/v1/cases/{case.pk}/start/").status_code == 400


@pytest.mark.parametrize("outcome,status", [("retained", "closed_retained"), ("lost", "closed_lost")])
def test_closing_as_retained_or_lost(world, outcome, status):
    case = world.cases["own"]
    response = _post(world, "rm_owner", f"/api/v1/cases/{case.pk}/close/",
                     {"outcome": outcome, "reason": "funds moved to our 6-month product"})
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == status and body["closed_at"] and body["events"][-1]["action"] == "closed"
    case.refresh_from_db()
    assert case.status == status and case.closed_by == world.users["rm_owner"]
    assert len(_change_events(case)) == 1
    # A closed case leaves the default list, and shows when asked for.
    assert _ids(world.client("rm_owner").get("/api/v1/cases/")) == []
    assert _ids(world.client("rm_owner").get("/api/v1/cases/", {"status": status})) == ["C000001"]


def test_an_unknown_outcome_is_a_400(world):
    case = world.cases["own"]
    response = _post(world, "rm_owner", f"/api/v1/cases/{case.pk}/close/", {"outcome": "dismissed"})
    assert response.status_code == 400 and "outcome" in response.json()


def test_a_contact_on_the_tasks_channel_by_its_owner_completes_it(world):
    case, task = world.cases["own"], world.tasks["own"]
    response = _post(world, "rm_owner", f"/api/v1/cases/{case.pk}/contacts/",
                     {"channel": "call", "result": "reached", "note": "will keep the deposit"})
    assert response.status_code == 200
    contact = ContactLog.objects.get(customer=case.customer)
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE and task.contact == contact and task.done_by == world.users["rm_owner"]
    case.refresh_from_db()
    assert case.worked_at is not None
    assert "contact_logged" in [e["action"] for e in response.json()["events"]]


def test_a_contact_on_another_channel_completes_no_task(world):
    case, task = world.cases["own"], world.tasks["own"]
    response = _post(world, "rm_owner", f"/api/v1/cases/{case.pk}/contacts/",
                     {"channel": "visit", "result": "reached"})
    assert response.status_code == 200
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN
    assert ContactLog.objects.filter(customer=case.customer, channel="visit").exists()


# --- tasks ----------------------------------------------------------------------------------------


def test_the_task_list_is_what_is_to_do_in_the_callers_scope(world):
    def tasks(role, **query):
        response = world.client(role).get("/api/v1/tasks/", query)
        assert response.status_code == 200, response.content[:300]
        return sorted(row["id"] for row in response.json()["results"])

    assert tasks("rm_owner") == [world.tasks["own"].pk]
    assert tasks("head") == sorted([world.tasks["own"].pk, world.tasks["colleague"].pk])
    assert tasks("analyst") == []
    assert tasks("rm_owner", status="done") == [world.done_tasks["own"].pk]
    assert tasks("head", mine="true") == []
    lobby_task = TaskFactory(case=world.cases["own"], order=3, owner_role="lobby", owner=world.users["lobby"],
                             channel="branch")
    assert tasks("lobby", mine="true") == [lobby_task.pk]
    assert tasks("head", owner_role="lobby") == [lobby_task.pk]


def test_a_task_row_names_its_customer_and_case(world):
    row = world.client("rm_owner").get("/api/v1/tasks/").json()["results"][0]
    assert row["customer"]["customer_id"] == "C000001"
    assert row["case_summary"]["id"] == world.cases["own"].pk and row["signal_kind"] is None
    assert AuditEvent.objects.filter(action=AuditAction.VIEW, detail__list="tasks").exists()


def test_a_task_done_then_undone(world):
    task = world.tasks["own"]
    done = _post(world, "rm_owner", f"/api/v1/tasks/{task.pk}/done/", {"outcome": "reached", "note": "happy"})
    assert done.status_code == 200, done.content[:300]
    assert done.json()["status"] == "done" and done.json()["done_by"]["username"] == "rm_owner"
    task.refresh_from_db()
    assert task.outcome == "reached" and task.case.worked_at is not None
    undone = _post(world, "rm_owner", f"/api/v1/tasks/{task.pk}/undo/")
    assert undone.status_code == 200 and undone.json()["status"] == "open" and undone.json()["done_at"] is None
    actions = list(task.case.events.values_list("action", flat=True))
    assert actions[-2:] == [CaseEvent.Action.TASK_DONE, CaseEvent.Action.TASK_UNDONE]
    assert len(_change_events(task.case)) == 2


def test_an_interception_records_its_outcome_and_the_amount_kept(world):
    case = world.cases["own"]
    signal = SignalFactory(case=case, kind="large_withdrawal", playbook=case.playbook, event_on=TODAY)
    task = TaskFactory(case=case, signal=signal, order=4, owner_role="lobby", owner=world.users["lobby"],
                       channel="branch")
    response = _post(world, "lobby", f"/api/v1/tasks/{task.pk}/done/",
                     {"outcome": "funds_kept", "amount_kept": "300000.00", "note": "moved to a deposit"})
    assert response.status_code == 200, response.content[:300]
    body = response.json()
    assert body["outcome"] == "funds_kept" and body["amount_kept"] == "300000.00"
    assert body["signal_kind"] == "large_withdrawal"


@pytest.mark.parametrize("data", [{"outcome": "kept"}, {"amount_kept": "-1"}, {"amount_kept": "abc"}])
def test_bad_task_input_is_a_400(world, data):
    task = world.tasks["own"]
    assert _post(world, "rm_owner", f"/api/v1/tasks/{task.pk}/done/", data).status_code == 400
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN


def test_a_colleagues_task_is_a_404_and_audited(world):
    task = world.tasks["colleague"]
    assert _post(world, "rm_owner", f"/api/v1/tasks/{task.pk}/done/").status_code == 404
    assert AuditEvent.objects.filter(action=AuditAction.DENIED, detail__object_type="retention.task").exists()
    assert Task.objects.get(pk=task.pk).status == TaskStatus.OPEN


# --- export ----------------------------------------------------------------------------------


def test_the_export_is_the_list_masked_and_audited(world):
    response = world.client("head").get("/api/v1/cases/export/", {"ordering": "rank"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert sorted(r["customer_id"] for r in rows) == ["C000001", "C000002"]
    own = next(r for r in rows if r["customer_id"] == "C000001")
    assert own["phone_masked"].endswith("5678") and "13812345678" not in response.content.decode("utf-8-sig")
    assert own["signals"] == "model_risk" and own["next_task_due_on"] == TODAY.isoformat()
    assert float(own["expected_value"]) == pytest.approx(world.cases["own"].priority, abs=0.01)
    event = AuditEvent.objects.get(action=AuditAction.EXPORT, actor=world.users["head"])
    assert event.detail["list"] == "cases" and event.detail["rows"] == 2


# --- after a real night ---------------------------------------------------------------------------


def test_after_a_real_night_each_customer_is_one_row_ranked_without_gaps_and_held_out_ones_nowhere(
        world, settings):
    """The nightly raising (scores and bookings into cases and tasks, the ranking) for twenty
    more customers of the owner, a share of them held out: through the API each customer is
    one row, the owner's ranks run 1..n, and no held-out customer appears in any list."""
    from churn.models import ChurnScore
    from retention.models import Case
    from retention.raising import cases_raise_for_date
    from tests.retention.factories import AppointmentFactory, ChurnScoreFactory, MonthlyBalanceFactory

    settings.RETENTION_CONTROL_SHARE = 0.3
    owner = world.users["rm_owner"]
    model = world.model_version
    for number in range(20):
        customer = _customer(world, owner, 100 + number)
        MonthlyBalanceFactory(customer=customer, month=dt.date(2024, 4, 1))
        ChurnScoreFactory(customer=customer, scored_on=TODAY, model_version=model, risk_band="high",
                          probability=0.5 + number / 100)
        if number % 4 == 0:
            AppointmentFactory(customer=customer, scheduled_on=TODAY)
    assert ChurnScore.objects.filter(scored_on=TODAY).count() == 23
    cases_raise_for_date(run_date=TODAY)
    held_out = set(Case.objects.filter(is_control=True).values_list("customer__customer_id", flat=True))
    shown = set(Case.objects.filter(is_control=False, owner=owner).values_list("customer__customer_id", flat=True))
    assert held_out and shown  # the draw put customers on both sides

    client = world.client("rm_owner")
    rows, url = [], "/api/v1/cases/?ordering=rank&page_size=7"
    while url:
        page = client.get(url).json()
        rows += page["results"]
        url = page["next"]
    customers = [row["customer"]["customer_id"] for row in rows]
    assert len(customers) == len(set(customers)) == len(shown)
    assert [row["rank"] for row in rows] == list(range(1, len(rows) + 1))
    assert [row["in_budget"] for row in rows] == [rank <= settings.RETENTION_DAILY_BUDGET for rank in
                                                  range(1, len(rows) + 1)]
    # Time-critical cases first, then by expected value.
    keys = [(not row["urgent"], -row["priority"]) for row in rows]
    assert keys == sorted(keys)
    for role in ("rm_owner", "head", "lobby", "admin"):
        for path in ("/api/v1/cases/?page_size=200", "/api/v1/tasks/?page_size=200", "/api/v1/cases/export/"):
            body = world.client(role).get(path).content.decode("utf-8-sig")
            assert not [c for c in held_out if c in body], (role, path)


# --- the lobby's and the head's tasks ------------------------------------------------------------


def _branch_task(world, *, role, kind, channel, obj="own"):
    case = world.cases[obj]
    signal = SignalFactory(case=case, kind=kind, playbook=case.playbook, event_on=TODAY, aum_at_risk=500000,
                           reasons=[WITHDRAWAL_REASON] if kind == "large_withdrawal" else [])
    return TaskFactory(case=case, signal=signal, order=6, owner_role=role, owner=world.users[role], channel=channel)


def test_the_lobby_records_an_interception_and_the_case_shows_it(world):
    task = _branch_task(world, role="lobby", kind="large_withdrawal", channel="branch")
    listed = world.client("lobby").get("/api/v1/interceptions/").json()
    assert [row["id"] for row in listed] == [task.pk]
    response = _post(world, "lobby", f"/api/v1/tasks/{task.pk}/interception/",
                     {"outcome": "funds_kept", "amount_kept": "450000.00", "note": "moved to a 1-year deposit"})
    assert response.status_code == 200, response.content[:300]
    body = response.json()
    assert body["status"] == "done" and body["outcome"] == "funds_kept" and body["amount_kept"] == "450000.00"
    detail = world.client("rm_owner").get(f"/api/v1/cases/{task.case_id}/").json()
    assert "task_outcome" in [e["action"] for e in detail["events"]]
    # Recorded, it stays on the day's list with its outcome.
    assert [row["status"] for row in world.client("lobby").get("/api/v1/interceptions/").json()] == ["done"]


def test_an_interception_without_the_amount_kept_is_a_400_that_says_so(world):
    task = _branch_task(world, role="lobby", kind="large_withdrawal", channel="branch")
    response = _post(world, "lobby", f"/api/v1/tasks/{task.pk}/interception/", {"outcome": "funds_kept"})
    assert response.status_code == 400 and response.json()["detail"]
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN


def test_an_rm_cannot_record_the_lobbys_interception_and_the_attempt_is_audited_once(world):
    task = _branch_task(world, role="lobby", kind="large_withdrawal", channel="branch")
    response = _post(world, "rm_owner", f"/api/v1/tasks/{task.pk}/interception/", {"outcome": "did_not_come"})
    assert response.status_code == 404
    assert AuditEvent.objects.filter(action=AuditAction.DENIED, detail__object_id=str(task.pk)).count() == 1
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN


def test_a_call_task_is_not_an_interception(world):
    task = world.tasks["own"]
    assert _post(world, "head", f"/api/v1/tasks/{task.pk}/interception/", {"outcome": "did_not_come"}).status_code \
        == 404


def test_the_head_records_a_callback_with_the_reason_learnt(world):
    task = _branch_task(world, role="head", kind="satisfaction_drop", channel="call")
    assert [row["id"] for row in world.client("head").get("/api/v1/callbacks/").json()] == [task.pk]
    refused = _post(world, "head", f"/api/v1/tasks/{task.pk}/callback/", {"outcome": "reason_learnt"})
    assert refused.status_code == 400 and refused.json()["detail"]
    response = _post(world, "head", f"/api/v1/tasks/{task.pk}/callback/",
                     {"outcome": "reason_learnt", "note": "kept waiting at the counter twice"})
    assert response.status_code == 200
    assert response.json()["status"] == "done" and response.json()["outcome_note"].startswith("kept waiting")
    assert ContactLog.objects.filter(customer=task.case.customer, staff=world.users["head"]).exists()
    assert _post(world, "lobby", f"/api/v1/tasks/{task.pk}/callback/", {"outcome": "reached"}).status_code == 404
