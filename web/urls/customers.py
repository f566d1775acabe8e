from django.urls import path

from web.views import customers as views

app_name = "customers"

urlpatterns = [
    path("customers/<int:pk>/", views.customer_detail, name="detail"),
    path("customers/<int:pk>/reveal/<str:field>/", views.customer_reveal, name="reveal"),
    path("customers/<int:pk>/segment/", views.customer_segment, name="segment"),
    path("customers/<int:pk>/handover/", views.customer_handover, name="handover"),
    path("lookup/", views.walkin, name="walkin"),
    path("lookup/results/", views.walkin_results, name="walkin_results"),
    path("interceptions/", views.interceptions, name="interceptions"),
    path("competitors/", views.competitors, name="competitors"),
]
