from django.urls import path
from django.views.generic import TemplateView

from churn import views

app_name = "churn"

_pending = TemplateView.as_view(template_name="pending.html")

urlpatterns = [
    path("models/", views.model_list, name="model_list"),
    path("models/<int:pk>/", _pending, name="model_detail"),
    path("import/", _pending, name="data_import"),
]
