"""Analyst pages: model versions with their evaluation (lift and calibration charts),
starting a retraining or a nightly run with its progress, and the bank data import (the import lives
in the customers app; its page sits with the analyst's other pages)."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import time_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from audit.services import origin_from_request
from churn import conf as churn_conf
from churn.models import ModelVersion, NightlyRun, TrainingRun
from churn.monitoring import PSI_ACT_ABOVE, PSI_STABLE_BELOW, psi_band
from churn.monitoring_selectors import (
    model_version_card,
    model_version_monitoring,
    model_warnings_of_active_version,
)
from churn.monitoring_text import (
    band_label,
    group_label,
    limit_sentence,
    metric_set_label,
    subject_label,
    warning_sentence,
)
from churn.reasons import evaluation_method_sentence, feature_label
from churn.retraining import TrainingBusy
from churn.selectors import model_version_report, nightly_run_get
from churn.tasks import training_run_start
from customers.importing.uploads import KNOWN_NAMES
from customers.permissions import user_can_use_model_pages
from customers.services import bank_data_upload_import
from nightly import tasks as nightly_tasks
from nightly.services import RunStart


def _headline_label(key: str) -> str:
    if key == "model":
        return _("This model")
    if key == "gradient_boosting":
        return _("Gradient-boosted model")
    if key == "logistic_regression":
        return _("Baseline: logistic regression")
    if key.startswith("rule"):
        return _("Baseline: rule of thumb (%(rule)s)") % {"rule": key.removeprefix("rule_")}
    return key


def _polled(request: HttpRequest, response: HttpResponse, *, finished: bool) -> HttpResponse:
    """A progress partial that htmx polls: once the job has ended, 286 stops the polling and
    the page reloads once, so its tables show what the job produced."""
    if finished and request.headers.get("HX-Request"):
        response.status_code = 286
        response["HX-Refresh"] = "true"
    return response


def _require_analyst(user) -> None:
    # A 404, like every page outside a user's reach: no hint that the page exists.
    if not user_can_use_model_pages(user):
        raise Http404


@login_required
@require_GET
def model_list(request: HttpRequest) -> HttpResponse:
    _require_analyst(request.user)
    versions = list(ModelVersion.objects.order_by("-created_at")[:20])
    runs = list(NightlyRun.objects.order_by("-run_date")[:10])
    today = timezone.localdate()
    return render(request, "churn/model_list.html", {
        "versions": versions, "runs": runs, "today": today, "today_run": next(
            (run for run in runs if run.run_date == today), None),
        # Just started from this page: the run's row may not exist yet, so poll until it does.
        "watch_run": request.GET.get("started") == "nightly",
        "training": TrainingRun.objects.select_related("model_version", "requested_by").first(),
        "min_history_months": max(churn_conf.min_history_months(), churn_conf.window_months() + 1),
        "active_warnings": _active_warnings(),
    })


def _active_warnings() -> list[dict]:
    """The active version's recorded warnings, worded (the list page shows them at the top)."""
    return [{"text": warning_sentence(w), "level": w["level"]} for w in model_warnings_of_active_version()]


@login_required
@require_POST
def training_run_create(request: HttpRequest) -> HttpResponse:
    """Start a retraining (a Celery task; the page then polls its progress)."""
    _require_analyst(request.user)
    force = request.POST.get("force") == "1"
    try:
        training_run_start(user=request.user, force=force, origin=origin_from_request(request))
    except TrainingBusy as busy:
        messages.warning(request, _("A retraining is already running (started %(time)s). Its progress shows below.")
                         % {"time": timezone.localtime(busy.run.started_at).strftime("%H:%M")})
        return redirect("churn:model_list")
    messages.success(request, _("Retraining started. Progress shows below; the new version appears when it ends."))
    return redirect("churn:model_list")


@login_required
@require_GET
def training_run_status(request: HttpRequest, pk: int) -> HttpResponse:
    """Progress of one retraining, polled by htmx every two seconds until it ends."""
    _require_analyst(request.user)
    run = get_object_or_404(TrainingRun.objects.select_related("model_version", "requested_by"), pk=pk)
    response = render(request, "churn/_training_status.html", {"training": run})
    return _polled(request, response, finished=run.status != TrainingRun.Status.RUNNING)


@login_required
@require_GET
def model_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _require_analyst(request.user)
    version = get_object_or_404(ModelVersion, pk=pk)
    report = model_version_report(version=version)
    lift = [point for point in report["lift_curve"] if point.get("lift") is not None]
    calibration = report["calibration"]
    # Versions trained with the baseline gate list every candidate, the one that scores marked.
    rows = report["candidates"] or report["headline"]
    headline_rows = [
        {"name": _headline_label(key), "live": key == report["champion"] or key == "model", **(figures or {})}
        for key, figures in rows.items()
    ]
    context = {
        "version": version,
        "report": report,
        "headline_rows": headline_rows,
        "importance": [{**item, "label": feature_label(item["feature"])} for item in report["feature_importance"][:12]],
        "lift_chart": {
            "labels": [f"{round(point['share'] * 100)}%" for point in lift],
            "values": [point["lift"] for point in lift],
            "label": _("Lift"),
            "baseline_label": _("Random list"),
            "axis": _("lift (x base rate)"),
            "x_axis": _("share of customers contacted, highest score first"),
        },
        "calibration_chart": _calibration_chart(calibration, label=_("Model")),
    }
    context.update(_monitoring_context(model_version_monitoring(version=version)))
    return render(request, "churn/model_detail.html", context)


def _groups_rows(groups: dict) -> list[dict]:
    return [{"grouping": grouping, "label": group_label(grouping, row["group"]), **row}
            for grouping in ("age_band", "gender") for row in groups.get(grouping, [])]


def _calibration_chart(deciles: list[dict], *, label: str) -> dict:
    """Predicted against observed churn by decile, for the page's calibration chart (training or realised)."""
    top = max([d["predicted"] for d in deciles] + [d["observed"] for d in deciles] + [0.05])
    return {
        "points": [{"x": d["predicted"], "y": d["observed"]} for d in deciles],
        "max": round(min(1.0, top * 1.1), 3),
        "label": label,
        "ideal_label": _("Perfect calibration"),
        "x_axis": _("predicted churn probability"),
        "y_axis": _("observed churn rate"),
    }


def _monitoring_context(monitoring: dict) -> dict:
    """Drift, realised performance over months beside training, groups and warnings, for the page."""
    latest = monitoring["drift"]["latest"]
    drift_rows = []
    if latest is not None:
        drift_rows.append({"subject": subject_label("score"), "psi": latest["score_psi"],
                           "band": band_label(psi_band(latest["score_psi"])), "key": psi_band(latest["score_psi"])})
        drift_rows += [{"subject": subject_label(f["feature"]), "psi": f["psi"], "band": band_label(f["band"]),
                        "key": f["band"]} for f in latest["features"]]
    history = monitoring["drift"]["history"]
    months = monitoring["performance"]["months"]
    training = monitoring["performance"]["training"]
    realised_calibration = months[-1]["calibration"] if months else []
    return {
        "monitoring": monitoring,
        "warning_texts": [{"text": warning_sentence(w), "level": w["level"]} for w in monitoring["warnings"]],
        "drift_rows": drift_rows,
        "drift_band": band_label(latest["band"]) if latest else None,
        "drift_chart": {
            "labels": [row["run_date"] for row in history],
            "series": [{"label": _("PSI of the score"), "values": [row["score_psi"] for row in history],
                        "colour": "model"},
                       {"label": _("watch from"), "values": [PSI_STABLE_BELOW] * len(history), "dashed": True,
                        "colour": "medium"},
                       {"label": _("act above"), "values": [PSI_ACT_ABOVE] * len(history), "dashed": True,
                        "colour": "high"}],
            "y_axis": "PSI", "min": 0,
        },
        "performance_rows": months,
        "branch_rows": monitoring["performance"]["latest_by_branch"],
        "training_figures": training,
        "performance_chart": {
            "labels": [row["month_end"][:7] for row in months],
            "series": [
                {"label": _("ROC AUC, realised"), "values": [row["roc_auc"] for row in months], "colour": "model"},
                {"label": _("ROC AUC, training"), "values": [training["roc_auc"]] * len(months), "dashed": True,
                 "colour": "model"},
                {"label": _("PR AUC, realised"), "values": [row["pr_auc"] for row in months], "colour": "deposits"},
                {"label": _("PR AUC, training"), "values": [training["pr_auc"]] * len(months), "dashed": True,
                 "colour": "deposits"},
            ],
            "y_axis": _("score (1 = perfect)"), "min": 0, "max": 1,
        },
        "realised_calibration_chart": _calibration_chart(realised_calibration, label=_("Realised")),
        "training_group_rows": _groups_rows(monitoring["groups"]["training"]),
        "realised_group_rows": _groups_rows(monitoring["groups"]["realised"]),
    }


@login_required
@require_GET
def model_card(request: HttpRequest, pk: int) -> HttpResponse:
    """One version's model card, in the reader's language (the language switch gives the other)."""
    _require_analyst(request.user)
    version = get_object_or_404(ModelVersion, pk=pk)
    card = model_version_card(version=version)
    return render(request, "churn/model_card.html", {
        "version": version,
        "card": card,
        "evaluation_method": evaluation_method_sentence(card["evaluation_method"]),
        "metric_rows": [{"name": metric_set_label(name), **figures} for name, figures in card["metrics"].items()],
        "feature_rows": [{"feature": name, "label": feature_label(name)} for name in card["top_features"]],
        "group_rows": _groups_rows(card["groups"]),
        "limits": [limit_sentence(fact) for fact in card["limits"]],
        "drift_band": band_label(card["monitoring"]["drift_band"]),
    })


@login_required
@require_POST
def nightly_run_start(request: HttpRequest) -> HttpResponse:
    """Start today's nightly run now (a Celery task; the page then polls its progress), and say
    what it did: started, resumed at the stage that failed, or nothing (under way, done, no model)."""
    _require_analyst(request.user)
    today = timezone.localdate()
    answer = nightly_tasks.nightly_run_start(run_date=today, origin=origin_from_request(request))
    run = answer.run
    if answer.outcome == RunStart.STARTED:
        messages.success(request, _("Nightly run started. Progress shows below."))
    elif answer.outcome == RunStart.RESUMED:
        stage = answer.failed_stage.get_name_display() if answer.failed_stage else _("a stage")
        messages.success(request, _("Today's run had failed at the stage “%(stage)s”: it starts again from that "
                                    "stage. Progress shows below.") % {"stage": stage})
    elif answer.outcome == RunStart.RUNNING and run is not None:
        messages.info(request, _("Today's run is already running, since %(time)s: nothing more was started. "
                                 "Progress shows below.") % {"time": _clock(run.started_at)})
    elif answer.outcome == RunStart.DONE and run is not None:
        # A night done is never run again (its scores and cases are the day's record): no button to.
        messages.info(request, _("Today's run already finished at %(time)s: nothing was started. The next run "
                                 "starts tonight as scheduled.") % {"time": _clock(run.finished_at or run.started_at)})
    else:
        messages.warning(request, _("Nothing was started: there is no active model to score with. "
                                    "Retrain the model first."))
    if answer.starts:
        return redirect(f"{reverse('churn:model_list')}?started=nightly")
    return redirect("churn:model_list")


def _clock(moment: dt.datetime) -> str:
    return time_format(timezone.localtime(moment), "H:i")


@login_required
@require_GET
def nightly_run_status(request: HttpRequest, run_date: str) -> HttpResponse:
    """Progress of one run, polled by htmx every two seconds until it is done or failed."""
    _require_analyst(request.user)
    try:
        day = dt.date.fromisoformat(run_date)
    except ValueError as exc:
        raise Http404 from exc
    run = nightly_run_get(run_date=day)
    finished = run is not None and run.status != NightlyRun.Status.RUNNING
    response = render(request, "churn/_run_status.html", {"run": run, "run_date": day, "finished": finished})
    return _polled(request, response, finished=finished)


@login_required
@require_http_methods(["GET", "POST"])
def data_import(request: HttpRequest) -> HttpResponse:
    """Upload a set of interchange files and import them, all or nothing.

    The file-level guards (name, size, UTF-8, formulas) run first; then the import
    engine checks every row before it writes anything, and changes nothing if one row
    is wrong. Either way the page shows the report: rows per file, or file:line: reason.
    """
    _require_analyst(request.user)
    context = {"known_names": KNOWN_NAMES}
    if request.method == "POST":
        uploads = request.FILES.getlist("files")
        result = bank_data_upload_import(uploads=uploads, origin=origin_from_request(request))
        context.update(ok=result.ok, problems=[str(p) for p in result.problems], problem_count=result.problem_count,
                       files=result.files, customers_refreshed=result.customers_refreshed, warnings=result.warnings,
                       names=[upload.name for upload in uploads])
        status = 200 if context["ok"] else 422
        return render(request, "churn/data_import.html", context, status=status)
    return render(request, "churn/data_import.html", context)
