"""/api/v1/ — one view per operation. Every URL here must have a rule in
tests/security/test_permission_matrix.py, or that test fails."""

from django.urls import path

from api.views import appointments, audit, cases, churn, customers, docs, imports, me, monitoring, retention

app_name = "api"

urlpatterns = [
    path("schema/", docs.SchemaApi.as_view(), name="schema"),
    path("docs/", docs.SwaggerDocs.as_view(), name="docs"),
    path("redoc/", docs.RedocDocs.as_view(), name="redoc"),
    path("me/", me.MeApi.as_view(), name="me"),
    # customers
    path("customers/", customers.CustomerListApi.as_view(), name="customer_list"),
    path("customers/search/", customers.CustomerSearchApi.as_view(), name="customer_search"),
    path("customers/export/", customers.CustomerExportApi.as_view(), name="customer_export"),
    path("customers/<int:pk>/", customers.CustomerDetailApi.as_view(), name="customer_detail"),
    path("customers/<int:pk>/reveal/", customers.CustomerRevealApi.as_view(), name="customer_reveal"),
    path("customers/<int:pk>/balances/", customers.CustomerBalanceListApi.as_view(), name="customer_balances"),
    path("customers/<int:pk>/holdings/", customers.CustomerHoldingListApi.as_view(), name="customer_holdings"),
    path("customers/<int:pk>/scores/", customers.CustomerScoreListApi.as_view(), name="customer_scores"),
    path("appointments/", appointments.AppointmentListApi.as_view(), name="appointment_list"),
    # retention cases and their tasks
    path("cases/", cases.CaseListApi.as_view(), name="case_list"),
    path("cases/export/", cases.CaseExportApi.as_view(), name="case_export"),
    path("cases/reassign/", cases.CaseReassignApi.as_view(), name="case_reassign"),
    path("cases/<int:pk>/", cases.CaseDetailApi.as_view(), name="case_detail"),
    path("cases/<int:pk>/start/", cases.CaseStartApi.as_view(), name="case_start"),
    path("cases/<int:pk>/snooze/", cases.CaseSnoozeApi.as_view(), name="case_snooze"),
    path("cases/<int:pk>/dismiss/", cases.CaseDismissApi.as_view(), name="case_dismiss"),
    path("cases/<int:pk>/close/", cases.CaseCloseApi.as_view(), name="case_close"),
    path("cases/<int:pk>/contacts/", cases.CaseContactApi.as_view(), name="case_contact"),
    path("tasks/", cases.TaskListApi.as_view(), name="task_list"),
    path("tasks/<int:pk>/done/", cases.TaskDoneApi.as_view(), name="task_done"),
    path("tasks/<int:pk>/undo/", cases.TaskUndoApi.as_view(), name="task_undo"),
    path("tasks/<int:pk>/interception/", cases.TaskInterceptionApi.as_view(), name="task_interception"),
    path("tasks/<int:pk>/callback/", cases.TaskCallbackApi.as_view(), name="task_callback"),
    path("interceptions/", cases.InterceptionListApi.as_view(), name="interception_list"),
    path("callbacks/", cases.CallbackListApi.as_view(), name="callback_list"),
    # aggregates
    path("dashboard/", retention.DashboardApi.as_view(), name="dashboard"),
    path("retention-report/", retention.RetentionReportApi.as_view(), name="retention_report"),
    path("model-versions/", churn.ModelVersionListApi.as_view(), name="model_version_list"),
    path("model-versions/<int:pk>/", churn.ModelVersionDetailApi.as_view(), name="model_version_detail"),
    path("model-versions/<int:pk>/monitoring/", monitoring.ModelVersionMonitoringApi.as_view(),
         name="model_version_monitoring"),
    path("model-versions/<int:pk>/model-card/", monitoring.ModelVersionCardApi.as_view(), name="model_version_card"),
    path("training-runs/", churn.TrainingRunStartApi.as_view(), name="training_run_start"),
    path("training-runs/<int:pk>/", churn.TrainingRunDetailApi.as_view(), name="training_run_detail"),
    path("nightly-runs/", churn.NightlyRunListApi.as_view(), name="nightly_run_list"),
    path("nightly-runs/start/", churn.NightlyRunStartApi.as_view(), name="nightly_run_start"),
    path("nightly-runs/<str:run_date>/", churn.NightlyRunDetailApi.as_view(), name="nightly_run_detail"),
    path("imports/", imports.ImportCreateApi.as_view(), name="import_create"),
    # audit trail
    path("audit-events/", audit.AuditEventListApi.as_view(), name="audit_event_list"),
    path("audit-events/export/", audit.AuditEventExportApi.as_view(), name="audit_event_export"),
]
