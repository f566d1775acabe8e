from django.urls import path

from web.views import branch
from web.views import dashboard as dashboard_views
from web.views import retention as views

app_name = "retention"

urlpatterns = [
    path("alerts/", views.alert_list, name="alert_list"),
    path("alerts/export.<str:fmt>", views.alert_export, name="alert_export"),
    path("alerts/<int:pk>/snooze/", views.alert_snooze, name="alert_snooze"),
    path("alerts/<int:pk>/dismiss/", views.alert_dismiss, name="alert_dismiss"),
    path("alerts/<int:pk>/outcome/", views.alert_outcome, name="alert_outcome"),
    path("alerts/<int:pk>/contact/", views.alert_contact, name="alert_contact"),
    path("alerts/<int:pk>/steps/<int:step_id>/tick/", views.alert_step_tick, name="alert_step_tick"),
    path("callbacks/", branch.callback_queue, name="callback_queue"),
    path("callbacks/<int:pk>/record/", branch.callback_record, name="callback_record"),
    path("dashboard/", dashboard_views.dashboard, name="dashboard"),
]
