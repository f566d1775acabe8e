"""The OpenAPI schema and its documentation pages, served from our own static files
(drf-spectacular-sidecar): nothing from a CDN, and no inline script, so the site-wide
Content-Security-Policy holds. Redoc alone needs inline styles (its CSS-in-JS) and a
blob: worker for its search; only its page allows them, and still no inline script."""

from __future__ import annotations

from csp.constants import SELF, UNSAFE_INLINE
from csp.decorators import csp_update
from django.utils.decorators import method_decorator
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView


class SchemaApi(SpectacularAPIView):
    pass


class SwaggerDocs(SpectacularSwaggerSplitView):
    template_name = "api/swagger_ui.html"
    url_name = "api:schema"


REDOC_CSP = {"style-src": [SELF, UNSAFE_INLINE], "worker-src": [SELF, "blob:"], "img-src": [SELF, "data:"]}


class RedocDocs(SpectacularRedocView):
    template_name = "api/redoc.html"
    url_name = "api:schema"

    @extend_schema(exclude=True)
    @method_decorator(csp_update(REDOC_CSP))
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)
