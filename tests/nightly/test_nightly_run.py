from __future__ import annotations

import time
from datetime import date

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.utils import translation

from churn import services
from churn.models import ChurnScore, ModelVersion, NightlyChunk, NightlyRun
from churn.reasons import version_activation_text as activation_text
from customers.models import Customer
from nightly import services as nightly_services
from nightly.models import NightlyStage
from retention.models import Case, Task
from tests.churn.helpers import load_bank, small_bank

RUN_DATE = date(2026, 1, 5)


@pytest.fixture
def bank(db, model_dir, settings):
    settings.CHURN_SCORE_CHUNK_SIZE = 70
    settings.CHURN_RISK_BANDS = {"medium": 0.05, "high": 0.3}
    load_bank(small_bank(customers=300))
    version = services.model_version_train(force=True)
    assert version.is_active
    return version


def _snapshot():
    return sorted(ChurnScore.objects.values_list("customer_id", "scored_on", "model_version_id", "probability",
                                                 "risk_band", "aum", "expected_aum_at_risk", "reasons",
                                                 "is_month_end"))


def test_run_scores_every_scoreable_active_customer_once_with_reasons_for_the_flagged(bank):
    run = nightly_services.nightly_run(run_date=RUN_DATE)
    assert run.status == NightlyRun.Status.DONE and run.chunks_total == run.chunks_done >= 4
    active = Customer.objects.filter(status="active").count()
    assert run.customers_scored + run.customers_skipped == active
    scores = ChurnScore.objects.filter(scored_on=RUN_DATE)
    assert scores.count() == run.customers_scored > 0
    flagged = scores.exclude(risk_band="low")
    assert flagged.exists() and not flagged.filter(reasons=[]).exists()
    assert not scores.filter(is_month_end=True).exists()


def test_running_twice_for_the_same_date_leaves_the_same_rows(bank):
    call_command("run_nightly", "--date", RUN_DATE.isoformat())
    first = _snapshot()
    call_command("run_nightly", "--date", RUN_DATE.isoformat())
    assert _snapshot() == first
    # Even if every chunk is redone, the upsert leaves the same rows.
    NightlyRun.objects.filter(run_date=RUN_DATE).update(status=NightlyRun.Status.RUNNING)
    NightlyChunk.objects.update(status=NightlyChunk.Status.PENDING)
    nightly_services.nightly_run(run_date=RUN_DATE)
    assert _snapshot() == first


def test_a_run_that_died_half_way_is_completed_without_duplicates(bank, monkeypatch):
    real = services.nightly_chunk_score
    calls = {"n": 0}

    def dies_after_two(**kwargs):
        calls["n"] += 1
        if calls["n"] > 2:
            raise SystemExit("worker killed")  # not an Exception: the run stops here, as a dead process would
        return real(**kwargs)

    monkeypatch.setattr(services, "nightly_chunk_score", dies_after_two)
    with pytest.raises(SystemExit):
        nightly_services.nightly_run(run_date=RUN_DATE)
    run = NightlyRun.objects.get(run_date=RUN_DATE)
    assert run.status == NightlyRun.Status.RUNNING
    assert run.chunks.filter(status=NightlyChunk.Status.DONE).count() == 2
    half = ChurnScore.objects.filter(scored_on=RUN_DATE).count()
    monkeypatch.setattr(services, "nightly_chunk_score", real)
    run = nightly_services.nightly_run(run_date=RUN_DATE)
    assert run.status == NightlyRun.Status.DONE
    total = ChurnScore.objects.filter(scored_on=RUN_DATE).count()
    assert total == run.customers_scored > half
    assert total == ChurnScore.objects.filter(scored_on=RUN_DATE).values("customer_id").distinct().count()


def test_a_failing_chunk_is_reported_not_skipped(bank, monkeypatch):
    real = services.score_frames

    def fails_once(**kwargs):
        if not getattr(fails_once, "done", False):
            fails_once.done = True
            raise ValueError("bad data in chunk")
        return real(**kwargs)

    monkeypatch.setattr(services, "score_frames", fails_once)
    run = nightly_services.nightly_run(run_date=RUN_DATE)
    assert run.status == NightlyRun.Status.FAILED
    chunk_errors = [error for error in run.errors if "chunk" in error]
    assert len(chunk_errors) == 1 and "bad data" in chunk_errors[0]["error"]
    assert [error["stage"] for error in run.errors if "stage" in error] == ["score"]
    assert NightlyStage.objects.get(run=run, name="outcomes").status == "pending"  # the chain stopped there
    run = nightly_services.nightly_run(run_date=RUN_DATE)  # the next run redoes just that chunk
    assert run.status == NightlyRun.Status.DONE and run.errors == []


def test_daily_scores_are_pruned_after_the_retention_period_month_ends_kept(bank, settings):
    settings.CHURN_DAILY_SCORE_RETENTION_DAYS = 3
    for day in (date(2025, 12, 30), date(2025, 12, 31), date(2026, 1, 1), date(2026, 1, 4)):
        with time_machine.travel(day):
            call_command("run_nightly")
    days = set(ChurnScore.objects.values_list("scored_on", flat=True))
    assert days == {date(2025, 12, 31), date(2026, 1, 1), date(2026, 1, 4)}
    assert ChurnScore.objects.filter(scored_on=date(2025, 12, 31), is_month_end=False).count() == 0
    assert ChurnScore.objects.filter(scored_on=date(2025, 12, 31)).count() > 0


def test_reasons_on_demand_are_computed_once_and_kept(bank):
    nightly_services.nightly_run(run_date=RUN_DATE)
    score = ChurnScore.objects.filter(scored_on=RUN_DATE, risk_band="low").first()
    assert score is not None and score.reasons == []
    services.score_reasons_ensure(score=score)
    score.refresh_from_db()
    assert 0 < len(score.reasons) <= 3
    NightlyRun.objects.filter(run_date=RUN_DATE).update(status=NightlyRun.Status.RUNNING)
    NightlyChunk.objects.update(status=NightlyChunk.Status.PENDING)
    nightly_services.nightly_run(run_date=RUN_DATE)
    score.refresh_from_db()
    assert score.reasons  # a re-run with the same model keeps them


def test_new_version_is_not_activated_unless_it_beats_the_active_one(bank):
    again = services.model_version_train()
    assert not again.is_active and "does not beat" in again.activation_note  # same data, same model: a tie
    forced = services.model_version_train(force=True)
    assert forced.is_active
    assert ModelVersion.objects.filter(is_active=True).count() == 1
    # The pages say why, in the reader's language, from the decision recorded with each version.
    assert bank.metrics["activation"]["reason"] == "first"
    assert again.metrics["activation"] == {**again.metrics["activation"], "reason": "not_better", "forced": False,
                                           "incumbent": bank.pk}
    with translation.override("en"):
        assert activation_text(bank).endswith("The first model, so it is active.")
        assert f"Not active: does not beat #{bank.pk} on " in activation_text(again)
    with translation.override("zh-hans"):
        assert "手动启用：在 " in activation_text(forced)
        assert f"#{bank.pk}" in activation_text(forced)  # the active one when it was trained


def test_model_version_report_is_ready_for_charts(bank):
    from churn.selectors import model_version_report

    report = model_version_report(version=bank)
    assert {"model", "logistic_regression", "rule_aum_drop_30pct_3m"} <= set(report["headline"])
    assert len(report["lift_curve"]) == 20 and report["calibration"] and report["feature_importance"]
    assert report["evaluation_month"] == bank.evaluation_month.isoformat()


def test_a_late_monthly_export_scores_everyone_from_the_latest_month_available(bank, capsys):
    # The bank's balances end with December 2025. On 3 February January's export is not in yet.
    late_date = date(2026, 2, 3)
    call_command("run_nightly", "--date", late_date.isoformat())
    run = NightlyRun.objects.get(run_date=late_date)
    assert run.data_month == date(2025, 12, 1)
    assert "not imported yet: scored from 2025-12" in capsys.readouterr().out
    on_time = nightly_services.nightly_run(run_date=RUN_DATE)  # 5 January: December is the last complete month
    assert on_time.data_month == date(2025, 12, 1)
    assert run.customers_scored == on_time.customers_scored > 0
    assert run.customers_skipped == on_time.customers_skipped
    assert not ChurnScore.objects.filter(scored_on=late_date, risk_band__in=["medium", "high"], reasons=[]).exists()
    # Reasons on demand use the run's month of balances too.
    low = ChurnScore.objects.filter(scored_on=late_date, risk_band="low").first()
    assert services.score_reasons_ensure(score=low).reasons


def test_low_band_customers_with_an_open_case_get_their_reasons_in_one_batch(bank, monkeypatch):
    from retention.models import Case

    calls = []
    real = services._reasons_for_customers

    def counted(**kwargs):
        calls.append(len(kwargs["customer_ids"]))
        return real(**kwargs)

    monkeypatch.setattr(services, "_reasons_for_customers", counted)
    run = nightly_services.nightly_run(run_date=RUN_DATE)
    assert run.status == NightlyRun.Status.DONE
    open_cases = Case.objects.filter(status__in=["open", "snoozed", "in_progress"]).values("customer_id")
    alerted = ChurnScore.objects.filter(scored_on=RUN_DATE, customer_id__in=open_cases)
    assert alerted.filter(risk_band="low").exists(), "the fixture should open event cases on low-band customers"
    assert not alerted.filter(reasons=[]).exists()
    assert calls and len(calls) <= 1 and calls[0] > 1  # one batch, not one customer at a time


def test_each_stage_is_recorded_in_order_with_its_timing_and_result(bank):
    run = nightly_services.nightly_run(run_date=RUN_DATE)

    stages = list(NightlyStage.objects.filter(run=run).order_by("pk"))
    assert [stage.name for stage in stages] == ["prepare", "score", "outcomes", "cases", "reasons", "monitoring"]
    assert all(stage.status == "done" and stage.error == "" for stage in stages)
    assert all(stage.started_at <= stage.finished_at for stage in stages)
    assert stages[0].result["chunks_total"] == run.chunks_total
    assert stages[1].result["customers_scored"] == run.customers_scored
    assert set(stages[2].result) >= {"retained", "lost", "waiting_for_data"}
    assert stages[3].result["opened"] == Case.objects.count() > 0
    assert stages[3].result["no_playbook"] == 0
    assert set(stages[3].result["seconds"]) >= {"rules", "cases", "tasks", "ranking"}
    assert stages[4].result["customers_with_open_case"] > 0
    assert stages[5].result["drift_band"] in {"stable", "watch", "act"}
    assert run.finished_at >= stages[5].finished_at


def _night_rows():
    from tests.nightly.helpers import night_snapshot

    return night_snapshot(run_date=RUN_DATE)


def test_case_raising_refused_by_the_database_fails_the_run_visibly_and_a_rerun_gives_a_clean_nights_rows(
    bank, capsys,
):
    from django.db import connection

    from tests.nightly.helpers import night_forget

    nightly_services.nightly_run(run_date=RUN_DATE)
    clean = _night_rows()
    night_forget(run_date=RUN_DATE)
    # The database refuses tasks once half the night's are in: the cases stage fails half-way.
    half = clean["tasks"] // 2
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE FUNCTION test_refuse_step() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                f"IF (SELECT count(*) FROM retention_task) >= {half} THEN "
                "RAISE EXCEPTION 'test fault: step insert refused'; END IF; RETURN NEW; END $$")
            cursor.execute("CREATE TRIGGER test_refuse_step BEFORE INSERT ON retention_task "
                           "FOR EACH ROW EXECUTE FUNCTION test_refuse_step()")
        else:
            cursor.execute(
                "CREATE TRIGGER test_refuse_step BEFORE INSERT ON retention_task "
                f"WHEN (SELECT count(*) FROM retention_task) >= {half} "
                "BEGIN SELECT RAISE(ABORT, 'test fault: step insert refused'); END")
    with pytest.raises(CommandError, match="is failed"):
        call_command("run_nightly", "--date", RUN_DATE.isoformat())
    err = capsys.readouterr().err
    assert "stage cases failed: " in err and "test fault: step insert refused" in err
    run = NightlyRun.objects.get(run_date=RUN_DATE)
    assert run.status == NightlyRun.Status.FAILED
    assert [error["stage"] for error in run.errors] == ["cases"]
    assert dict(NightlyStage.objects.filter(run=run).values_list("name", "status")) == {
        "prepare": "done", "score": "done", "outcomes": "done", "cases": "failed", "reasons": "pending",
        "monitoring": "pending"}
    assert not Case.objects.exists() and not Task.objects.exists()  # all or nothing

    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER test_refuse_step" + (" ON retention_task" if connection.vendor == "postgresql"
                                                           else ""))
    call_command("run_nightly", "--date", RUN_DATE.isoformat())
    run.refresh_from_db()
    assert run.status == NightlyRun.Status.DONE and run.errors == []
    assert _night_rows() == clean


def _date_held_by_another_process():
    """Hold the date's lease as another process would: on PostgreSQL the advisory lock from a
    second connection (a lock is re-entrant within one); on SQLite a lease row naming a live
    process (this one, with another token). Returns how to make that holder die."""
    import os
    import socket

    from django.db import connection, connections
    from django.utils import timezone

    from nightly.lease import _ADVISORY_NAMESPACE
    from nightly.models import NightlyLease

    if connection.vendor == "postgresql":
        # Built from this connection's settings, so it opens the test database, not the configured one.
        wrapper = connections["default"]
        other = type(wrapper)(dict(wrapper.settings_dict), alias="another-process")
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", [_ADVISORY_NAMESPACE, RUN_DATE.toordinal()])
        return other.close  # the server drops the lock with the connection
    NightlyLease.objects.create(run_date=RUN_DATE, holder=f"{socket.gethostname()}:{os.getpid()}:other",
                                renewed_at=timezone.now())
    dead = 2**22 + 12345  # above Linux's default pid_max: no such process

    def die():
        assert not _process_exists(dead)
        NightlyLease.objects.update(holder=f"{socket.gethostname()}:{dead}:other")

    return die


def test_only_one_process_runs_a_date_and_a_killed_holder_does_not_keep_it(bank):
    from nightly.lease import LeaseBusy

    holder_dies = _date_held_by_another_process()
    with pytest.raises(LeaseBusy):
        nightly_services.nightly_run(run_date=RUN_DATE)
    with pytest.raises(CommandError, match="another process is running the night of 2026-01-05"):
        call_command("run_nightly", "--date", RUN_DATE.isoformat())
    assert not NightlyRun.objects.exists()
    holder_dies()
    # PostgreSQL drops the lock once the server has seen the connection go: a moment, not a period.
    deadline = time.monotonic() + 10
    while True:
        try:
            run = nightly_services.nightly_run(run_date=RUN_DATE)
            break
        except LeaseBusy:
            assert time.monotonic() < deadline, "the dead holder's lock was not released"
            time.sleep(0.05)
    assert run.status == NightlyRun.Status.DONE


def test_on_sqlite_a_lease_not_renewed_for_the_lease_period_is_taken_over(bank):
    import os
    import socket

    from django.db import connection
    from django.utils import timezone

    from nightly.lease import LeaseBusy
    from nightly.models import NightlyLease

    if connection.vendor != "sqlite":
        pytest.skip("the lease row is SQLite's; PostgreSQL's advisory lock has no period")
    NightlyLease.objects.create(run_date=RUN_DATE, holder=f"{socket.gethostname()}:{os.getpid()}:y",
                                renewed_at=timezone.now())
    with pytest.raises(LeaseBusy):
        nightly_services.nightly_run(run_date=RUN_DATE)
    NightlyLease.objects.update(renewed_at=timezone.now() - timezone.timedelta(hours=1))
    assert nightly_services.nightly_run(run_date=RUN_DATE).status == NightlyRun.Status.DONE
    assert not NightlyLease.objects.exists()  # released at the end


def _process_exists(pid: int) -> bool:
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
