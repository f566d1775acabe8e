"""The analyst's model pages: versions, the evaluation charts, and a nightly run's progress."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from audit.models import AuditAction, AuditEvent
from churn.models import NightlyRun, TrainingRun
from tests.pages.conftest import SHANGHAI, TODAY
from tests.retention.factories import ModelVersionFactory

pytestmark = pytest.mark.django_db


def test_model_detail_carries_the_lift_and_calibration_data(client, bank):
    version = ModelVersionFactory(metrics={
        "n": 100, "roc_auc": 0.8, "lift_curve": [{"share": 0.1, "precision": 0.5, "recall": 0.4, "lift": 4.0}],
        "calibration": [{"predicted": 0.2, "observed": 0.25, "count": 10}],
    })
    client.force_login(bank.analyst)
    response = client.get(reverse("churn:model_detail", args=[version.pk]))
    assert response.status_code == 200
    assert response.context["lift_chart"]["values"] == [4.0]
    assert response.context["calibration_chart"]["points"] == [{"x": 0.2, "y": 0.25}]
    body = response.content.decode()
    assert 'id="lift-data"' in body and 'id="calibration-data"' in body


def test_a_running_nightly_run_is_polled_until_it_finishes(client, bank):
    run = NightlyRun.objects.create(run_date=TODAY, chunks_total=4, chunks_done=1)
    client.force_login(bank.analyst)
    page = client.get(reverse("churn:model_list")).content.decode()
    assert 'hx-trigger="every 2s"' in page
    url = reverse("churn:nightly_run_status", args=[TODAY.isoformat()])
    assert client.get(url, headers={"HX-Request": "true"}).status_code == 200
    run.status, run.chunks_done = NightlyRun.Status.DONE, 4
    run.save()
    # 286 tells htmx to stop polling.
    assert client.get(url, headers={"HX-Request": "true"}).status_code == 286


def test_a_failed_stage_shows_its_error_on_the_run_status(client, bank):
    from nightly.models import NightlyStage

    run = NightlyRun.objects.create(run_date=TODAY, chunks_total=4, chunks_done=4, status=NightlyRun.Status.FAILED,
                                    errors=[{"stage": "alerts", "error": "OperationalError('database is locked')"}])
    NightlyStage.objects.create(run=run, name="score", status="done")
    NightlyStage.objects.create(run=run, name="alerts", status="failed", error="OperationalError('database is locked')")
    client.force_login(bank.analyst)

    body = client.get(reverse("churn:nightly_run_status", args=[TODAY.isoformat()]),
                      headers={"HX-Request": "true"}).content.decode()

    assert "OperationalError(&#x27;database is locked&#x27;)" in body
    assert body.count('class="badge bad"') == 2  # the run and its alerts stage


def test_starting_a_run_runs_the_nightly_task_and_is_audited(client, bank):
    # No broker in tests: Celery runs the real task in-process (CELERY_TASK_ALWAYS_EAGER).
    client.force_login(bank.analyst)
    response = client.post(reverse("churn:nightly_run_start"))
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action=AuditAction.CHANGE, detail__action="nightly_run_start").exists()
    client.force_login(bank.owner)
    assert client.post(reverse("churn:nightly_run_start")).status_code == 404


# --- "start the run now" answers what it did --------------------------------------------------


@pytest.fixture
def tasks_inline():
    """The queued task runs in this process, before the page answers, even with a broker
    configured: so a test sees whether the click started the chain (its stages exist) or not."""
    from config.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


def _start(client, user, language="en"):
    client.force_login(user)
    response = client.post(reverse("churn:nightly_run_start"), HTTP_ACCEPT_LANGUAGE=language, follow=True)
    assert response.status_code == 200
    return response


def _run(status, *, started=(2, 5), finished=None):
    run = NightlyRun.objects.create(run_date=TODAY, chunks_total=4, chunks_done=4, status=status)
    NightlyRun.objects.filter(pk=run.pk).update(
        started_at=dt.datetime.combine(TODAY, dt.time(*started), tzinfo=SHANGHAI),
        finished_at=dt.datetime.combine(TODAY, dt.time(*finished), tzinfo=SHANGHAI) if finished else None)
    return run


def test_starting_the_run_when_none_ran_today_starts_it(client, bank, tasks_inline):
    # The real task ran in-process (tasks_inline): the run exists after the click.
    ModelVersionFactory(is_active=True)
    response = _start(client, bank.analyst)
    assert "Nightly run started. Progress shows below." in response.content.decode()
    assert response.redirect_chain[-1][0].endswith("?started=nightly")
    assert NightlyRun.objects.filter(run_date=TODAY).exists()
    assert AuditEvent.objects.get(detail__action="nightly_run_start").detail["outcome"] == "started"


def test_starting_the_run_when_it_is_done_says_when_it_finished_and_starts_nothing(client, bank, tasks_inline):
    from nightly.models import NightlyStage

    ModelVersionFactory(is_active=True)
    _run(NightlyRun.Status.DONE, finished=(2, 47))
    page = _start(client, bank.analyst).content.decode()
    assert "Today&#x27;s run already finished at 02:47: nothing was started." in page
    assert "started. Progress" not in page and 'hx-trigger="every 2s"' not in page
    assert not NightlyStage.objects.exists()  # the chain never began
    assert AuditEvent.objects.get(detail__action="nightly_run_start").detail["outcome"] == "done"
    zh = _start(client, bank.analyst, "zh-hans").content.decode()
    assert "今天的运行已于 02:47 完成" in zh


def test_starting_the_run_while_it_runs_says_since_when_and_starts_no_second(client, bank, tasks_inline):
    from nightly.models import NightlyStage

    ModelVersionFactory(is_active=True)
    _run(NightlyRun.Status.RUNNING, started=(8, 58))
    page = _start(client, bank.analyst).content.decode()
    assert "Today&#x27;s run is already running, since 08:58: nothing more was started." in page
    assert not NightlyStage.objects.exists() and 'hx-trigger="every 2s"' in page  # still polled: it runs
    assert NightlyRun.objects.get().status == NightlyRun.Status.RUNNING
    assert "今天的运行自 08:58 起正在进行" in _start(client, bank.analyst, "zh-hans").content.decode()


def test_starting_a_failed_run_names_the_failed_stage_and_resumes_it(client, bank, tasks_inline):
    from nightly.models import NightlyStage

    ModelVersionFactory(is_active=True)
    run = _run(NightlyRun.Status.FAILED)
    NightlyStage.objects.create(run=run, name="score", status="done")
    NightlyStage.objects.create(run=run, name="cases", status="failed", error="boom")
    response = _start(client, bank.analyst)
    page = response.content.decode()
    assert "Today&#x27;s run had failed at the stage “Cases and tasks”: it starts again from that stage." in page
    assert response.redirect_chain[-1][0].endswith("?started=nightly")
    # The chain ran again from there: the stage's old failure is gone.
    assert not NightlyStage.objects.filter(run=run, name="cases", error="boom").exists()
    assert AuditEvent.objects.get(detail__action="nightly_run_start").detail["outcome"] == "resumed"


def test_starting_the_run_without_an_active_model_says_nothing_started(client, bank, tasks_inline):
    page = _start(client, bank.analyst).content.decode()
    assert "Nothing was started: there is no active model to score with." in page
    assert not NightlyRun.objects.exists()


def test_the_api_says_what_starting_the_run_did(client, bank, tasks_inline):
    ModelVersionFactory(is_active=True)
    _run(NightlyRun.Status.DONE, finished=(2, 47))
    client.force_login(bank.analyst)
    response = client.post(reverse("api:nightly_run_start"))
    assert response.status_code == 200 and response.json() == {"run_date": TODAY.isoformat(), "outcome": "done"}


def test_the_model_page_starts_a_retraining_and_polls_it(client, bank, django_capture_on_commit_callbacks):
    client.force_login(bank.analyst)
    page = client.get(reverse("churn:model_list")).content.decode()
    assert reverse("churn:training_run_create") in page
    # The task itself is tested in tests/churn/test_retraining.py; here it is queued, not run.
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(reverse("churn:training_run_create"), {"force": "1"})
    assert response.status_code == 302 and len(callbacks) == 1
    run = TrainingRun.objects.get()
    assert run.force and run.requested_by == bank.analyst and run.status == TrainingRun.Status.RUNNING
    assert AuditEvent.objects.filter(action=AuditAction.CHANGE, detail__action="training_run_start").exists()

    page = client.get(reverse("churn:model_list")).content.decode()
    status_url = reverse("churn:training_run_status", args=[run.pk])
    assert status_url in page and 'hx-trigger="every 2s"' in page
    # A second click while it runs starts nothing.
    client.post(reverse("churn:training_run_create"))
    assert TrainingRun.objects.count() == 1

    TrainingRun.objects.filter(pk=run.pk).update(stage=TrainingRun.Stage.FITTING, percent=60)
    partial = client.get(status_url, headers={"HX-Request": "true"})
    assert partial.status_code == 200 and 'value="60"' in partial.content.decode()
    TrainingRun.objects.filter(pk=run.pk).update(status=TrainingRun.Status.FAILED, error="no customers")
    partial = client.get(status_url, headers={"HX-Request": "true"})
    assert partial.status_code == 286 and "no customers" in partial.content.decode()


def test_only_analysts_may_retrain(client, bank):
    client.force_login(bank.owner)
    assert client.post(reverse("churn:training_run_create")).status_code == 404
    assert not TrainingRun.objects.exists()


@pytest.mark.parametrize("language,label", [
    ("zh-hans", "标准化特征上的逻辑回归，经 Platt 校准"),
    ("en", "Logistic regression on standardised features, calibrated (Platt scaling)"),
])
def test_the_models_algorithm_reads_in_the_pages_language(client, bank, language, label):
    version = ModelVersionFactory(algorithm="sklearn LogisticRegression on standardised features + Platt calibration")
    client.force_login(bank.analyst)
    for url in (reverse("churn:model_list"), reverse("churn:model_detail", args=[version.pk])):
        page = client.get(url, HTTP_ACCEPT_LANGUAGE=language).content.decode()
        assert label in page and "sklearn LogisticRegression" not in page, url
