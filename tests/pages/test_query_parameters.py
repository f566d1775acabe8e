"""Whatever a user (or a scanner) puts in the query string or the lookup box, the list
pages answer with a page or a form error, never a 500: hypothesis generates the inputs.

Each page gets its own parameters (the case list's filters, the dashboard's month, the
lookup's query, the pager of the interception and callback lists), drawn from their
valid values, values near them and arbitrary text."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api import conftest as api_world

pytestmark = pytest.mark.django_db

# The API tests' small bank (tests/api/conftest.py), with its settings and frozen day.
world = api_world.world
frozen_day = api_world.frozen_day
_test_settings = api_world._test_settings

EXAMPLES = 60
CASES: dict[str, int] = {}
HYPOTHESIS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                      suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

# Arbitrary text, NUL and control characters included; lone surrogates cannot be encoded in a
# request at all, so they are left out.
ANY_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=300)
NUMBERISH = st.one_of(st.integers(min_value=-(10**30), max_value=10**30).map(str),
                      st.sampled_from(["", "0", "-1", "1e9", "NaN", "inf", "1.5", "last", "０１"]))


def months():
    return st.one_of(
        st.builds(lambda y, m: f"{y:04d}-{m:02d}", st.integers(0, 9999), st.integers(0, 13)),
        st.builds(lambda y, m: f"{y}-{m}", st.integers(-99999, 99999), st.integers(-5, 99)),
        st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31)).map(lambda d: d.strftime("%Y-%m")),
        ANY_TEXT,
    )


# The list's own filters with their valid values, values near them and arbitrary text, plus
# parameters the page does not know.
CASE_FILTERS = st.dictionaries(
    st.sampled_from(["signal", "kind", "segment", "band", "status", "page", "q", "x"]),
    st.one_of(st.sampled_from(["", "model_risk", "large_withdrawal", "satisfaction_drop", "already_lost",
                               "retention", "win_back", "product", "service", "high", "medium", "open",
                               "in_progress", "snoozed", "cleared", "closed_retained", "1", "-1", "999999"]),
              NUMBERISH, ANY_TEXT),
    max_size=5,
)


def _get(world, role, path, params, name):
    with transaction.atomic():
        response = world.client(role).get(path, params)
        transaction.set_rollback(True)
    CASES[name] = CASES.get(name, 0) + 1
    return response


def _post(world, role, path, data, name):
    with transaction.atomic():
        response = world.client(role).post(path, data)
        transaction.set_rollback(True)
    CASES[name] = CASES.get(name, 0) + 1
    return response


def _answered(response) -> bool:
    return response.status_code < 500


@HYPOTHESIS
@given(params=CASE_FILTERS)
def test_the_case_list_answers_any_filters(world, params):
    assert _answered(_get(world, "rm_owner", "/cases/", params, "case list"))


@HYPOTHESIS
@given(params=CASE_FILTERS)
def test_the_case_export_answers_any_filters(world, params):
    assert _answered(_get(world, "rm_owner", "/cases/export.csv", params, "case export"))


@HYPOTHESIS
@given(month=months(), extra=st.dictionaries(st.sampled_from(["page", "x"]), ANY_TEXT, max_size=2))
def test_the_dashboard_answers_any_month(world, month, extra):
    response = _get(world, "head", "/dashboard/", {"month": month, **extra}, "dashboard")
    assert response.status_code == 200


@HYPOTHESIS
@given(query=st.one_of(ANY_TEXT, st.from_regex(r"\A[0-9]{3}[0-9Xx]\Z"),
                       st.sampled_from(["王", "王小", "1234", "5678"])))
def test_the_lookup_answers_any_query(world, query):
    assert _post(world, "lobby", "/lookup/results/", {"q": query}, "lookup").status_code == 200


@HYPOTHESIS
@given(page=NUMBERISH, extra=st.dictionaries(ANY_TEXT, ANY_TEXT, max_size=3))
def test_the_interception_list_answers_any_page(world, page, extra):
    assert _get(world, "lobby", "/interceptions/", {**extra, "page": page}, "interceptions").status_code == 200


@HYPOTHESIS
@given(page=NUMBERISH, extra=st.dictionaries(ANY_TEXT, ANY_TEXT, max_size=3))
def test_the_callback_queue_answers_any_page(world, page, extra):
    assert _get(world, "head", "/callbacks/", {**extra, "page": page}, "callbacks").status_code == 200


def case_count_summary() -> str:
    """Printed at the end of the run (tests/pages/conftest.py)."""
    if not CASES:
        return ""
    return "hypothesis list pages: " + ", ".join(f"{name} {n}" for name, n in CASES.items()) + \
        f" ({sum(CASES.values())} requests)"
