from django.urls import path

from web.views import branch
from web.views import customers as views

app_name = "customers"

urlpatterns = [
    path("customers/<int:pk>/", views.customer_detail, name="detail"),
    path("customers/<int:pk>/reveal/<str:field>/", views.customer_reveal, name="reveal"),
    path("customers/<int:pk>/segment/", views.customer_segment, name="segment"),
    path("customers/<int:pk>/consent/", views.customer_consent, name="consent"),
    path("customers/<int:pk>/handover/", branch.customer_handover, name="handover"),
    path("lookup/", branch.walkin, name="walkin"),
    path("lookup/results/", branch.walkin_results, name="walkin_results"),
    path("interceptions/", branch.interceptions, name="interceptions"),
    path("interceptions/<int:pk>/record/", branch.interception_record, name="interception_record"),
    path("competitors/", views.competitors, name="competitors"),
]
