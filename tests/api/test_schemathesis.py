"""Schemathesis against the OpenAPI schema, as every role: no 5xx, and every response
(status, content type, body) conforms to the schema.

The schema is generated in-process (drf-spectacular), the requests go to Django's WSGI
application in this process, so they see the test database. Examples are few per
operation and role, to keep the run under a couple of minutes on a shared machine.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.conftest import ROLES

pytestmark = pytest.mark.django_db

MAX_EXAMPLES = 4
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))
schema.app = get_wsgi_application()
CASES_RUN: list[str] = []


@pytest.mark.parametrize("role", ROLES)
@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_api_conforms_to_its_schema(world, role, case):
    # The schema's own documentation endpoints are HTML, not part of the contract.
    case.call_and_validate(headers=world.token_headers(role), checks=CHECKS)
    CASES_RUN.append(f"{role} {case.method} {case.path}")
