"""Schemathesis against the OpenAPI schema, as every role: no 5xx, and every response
(status, content type, body) conforms to the schema. Every operation is called on its own
(below, per role), and in sequences along the schema's links (the stateful test at the end:
a case from the list is read, started, snoozed, dismissed, its tasks done...), so that the calls reach
objects that exist instead of ids that 404.

The schema is generated in-process (drf-spectacular), the requests go to Django's WSGI
application in this process, so they see the test database. Examples are few per
operation and role, to keep the run under a couple of minutes on a shared machine.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.conftest import ROLES

pytestmark = pytest.mark.django_db

MAX_EXAMPLES = 3
# Schemathesis' coverage phase (boundary values for every parameter, run before the random
# examples) is thorough and slow: it runs for the administrator, who reaches every object
# and so every code path; the other roles get random examples only.
COVERAGE_ROLE = "admin"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))
schema.app = get_wsgi_application()


CASES: dict[str, int] = {}
STATEFUL_STEPS: dict[str, int] = {}


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Django's WSGI handler closes the database connection around each request when it
    is not in autocommit mode, which inside a test transaction is always: on PostgreSQL
    that would close the test's own connection. The test client avoids it the same way."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)




def case_count_summary() -> str:
    """Printed at the end of the run by tests/api/conftest.py (pytest_terminal_summary)."""
    lines = []
    if CASES:
        lines.append(f"schemathesis: {sum(CASES.values())} requests over {len({k.split(' ', 1)[1] for k in CASES})} "
                     f"operations as {len({k.split(' ', 1)[0] for k in CASES})} roles")
    if STATEFUL_STEPS:
        lines.append(f"schemathesis stateful: {sum(STATEFUL_STEPS.values())} linked calls over "
                     f"{len({k.split(' ', 1)[1] for k in STATEFUL_STEPS})} operations as "
                     f"{len({k.split(' ', 1)[0] for k in STATEFUL_STEPS})} roles")
    return "\n".join(lines)


def _call(world, role: str, case) -> None:
    case.call_and_validate(headers=world.token_headers(role), checks=CHECKS)
    key = f"{role} {case.operation.label}"
    CASES[key] = CASES.get(key, 0) + 1


SUPPRESS = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much]


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, suppress_health_check=SUPPRESS,
          phases=[Phase.explicit, Phase.generate])
def test_api_conforms_to_its_schema_as_admin_with_coverage(world, case):
    _call(world, COVERAGE_ROLE, case)


@pytest.mark.parametrize("role", [role for role in ROLES if role != COVERAGE_ROLE])
@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, suppress_health_check=SUPPRESS,
          phases=[Phase.generate])
def test_api_conforms_to_its_schema(world, role, case):
    _call(world, role, case)


# --- stateful: sequences along the links --------------------------------------------------------

STATEFUL_ROLES = ["admin", "rm_owner", "head"]
STATEFUL_EXAMPLES = 8
STATEFUL_STEP_COUNT = 6


def test_every_operation_with_a_path_parameter_is_reached_by_a_link():
    """The links (inferred by schemathesis from the response schemas and path parameters) lead
    to every operation that names an object, so the stateful test below reaches each of them
    with ids that exist; the operations without one start the sequences."""
    from schemathesis.specs.openapi.stateful import collect_transitions

    schema.as_state_machine()  # infers the links and adds them to the schema
    operations = [result.ok() for result in schema.get_all_operations()]
    transitions = collect_transitions(operations)
    linked = {label for label, entry in transitions.operations.items() if entry.incoming}
    naming_an_object = {operation.label for operation in operations if "{" in operation.path}
    assert naming_an_object and naming_an_object <= linked, sorted(naming_an_object - linked)


@pytest.mark.parametrize("role", STATEFUL_ROLES)
def test_linked_sequences_conform_to_the_schema(world, role):
    headers = world.token_headers(role)

    class Machine(schema.as_state_machine()):
        def get_call_kwargs(self, case):
            return {"headers": headers}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            key = f"{role} {case.operation.label}"
            STATEFUL_STEPS[key] = STATEFUL_STEPS.get(key, 0) + 1
            case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs or None)

    Machine.run(settings=settings(max_examples=STATEFUL_EXAMPLES, stateful_step_count=STATEFUL_STEP_COUNT,
                                  deadline=None, derandomize=True, suppress_health_check=SUPPRESS,
                                  phases=[Phase.generate]))
