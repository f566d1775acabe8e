from django.urls import path

from web.views import branch, cases, team
from web.views import dashboard as dashboard_views

app_name = "retention"

urlpatterns = [
    path("cases/", cases.case_list, name="case_list"),
    path("cases/reassign/", team.case_reassign, name="case_reassign"),
    path("digest/", team.digest, name="digest"),
    path("cases/export.<str:fmt>", cases.case_export, name="case_export"),
    path("cases/<int:pk>/start/", cases.case_start, name="case_start"),
    path("cases/<int:pk>/snooze/", cases.case_snooze, name="case_snooze"),
    path("cases/<int:pk>/dismiss/", cases.case_dismiss, name="case_dismiss"),
    path("cases/<int:pk>/close/", cases.case_close, name="case_close"),
    path("cases/<int:pk>/contact/", cases.case_contact, name="case_contact"),
    path("cases/<int:pk>/tasks/<int:task_id>/", cases.task_toggle, name="task_toggle"),
    # The list's old address.
    path("alerts/", cases.alert_list, name="alert_list"),
    path("callbacks/", branch.callback_queue, name="callback_queue"),
    path("callbacks/<int:pk>/record/", branch.callback_record, name="callback_record"),
    path("dashboard/", dashboard_views.dashboard, name="dashboard"),
]
