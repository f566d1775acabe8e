from django.urls import path
from django.views.generic import TemplateView

from churn import views

app_name = "churn"

_pending = TemplateView.as_view(template_name="pending.html")

urlpatterns = [
    path("models/", views.model_list, name="model_list"),
    path("models/<int:pk>/", views.model_detail, name="model_detail"),
    path("runs/start/", views.nightly_run_start, name="nightly_run_start"),
    path("runs/<str:run_date>/status/", views.nightly_run_status, name="nightly_run_status"),
    path("import/", _pending, name="data_import"),
]
