from django.urls import path

from web.views import analyst as views

app_name = "churn"

urlpatterns = [
    path("models/", views.model_list, name="model_list"),
    path("models/<int:pk>/", views.model_detail, name="model_detail"),
    path("models/<int:pk>/card/", views.model_card, name="model_card"),
    path("training/start/", views.training_run_create, name="training_run_create"),
    path("training/<int:pk>/status/", views.training_run_status, name="training_run_status"),
    path("runs/start/", views.nightly_run_start, name="nightly_run_start"),
    path("runs/<str:run_date>/status/", views.nightly_run_status, name="nightly_run_status"),
    path("import/", views.data_import, name="data_import"),
]
