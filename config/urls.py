"""Root URLs. The language follows the browser (LocaleMiddleware) and the
switch in the page header posts to Django's ``set_language`` view."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from web.views import customers as customer_views

urlpatterns = [
    path("healthz", customer_views.healthz, name="healthz"),
    # Browsers ask for /favicon.ico on pages that name no icon (the admin's).
    path("favicon.ico", customer_views.favicon, name="favicon"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("api.urls")),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", customer_views.home, name="home"),
    path("", include("web.urls.customers")),
    path("", include("web.urls.retention")),
    path("analyst/", include("web.urls.analyst")),
]

# JSON for API clients, our own templates (templates/404.html, 500.html) for people.
handler400 = "api.errors.bad_request"
handler404 = "api.errors.page_not_found"
handler500 = "api.errors.server_error"
