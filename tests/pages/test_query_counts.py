"""Every list page issues the same number of SQL queries for 3 rows as for 30: no query
per row (the benchmark has a million customers and tens of thousands of open cases).

The counts include the request's own work: session read and save, the user, and the
audit event where a page writes one."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from churn.models import TrainingRun
from customers.models import Role
from retention.models import CaseEvent
from retention.summary import dashboard_summary_refresh
from tests.pages.conftest import TODAY, add_history, make_user, open_case, score
from tests.retention.factories import (
    AppointmentFactory,
    ContactLogFactory,
    CustomerFactory,
    HoldingFactory,
    ModelVersionFactory,
    ProductFactory,
    ProductYieldFactory,
    SurveyFactory,
)

pytestmark = pytest.mark.django_db

SIZES = [3, 30]


def customers_of(bank, n: int, **kwargs):
    return [
        CustomerFactory(customer_id=f"Q{i:05d}", branch=bank.branch, rm=bank.owner, name=f"王{i:02d}", tier="platinum",
                        phone=f"1380000{i:04d}", **kwargs)
        for i in range(n)
    ]


def fetch(client, user, url, django_assert_num_queries, expected, method="get", **params):
    client.force_login(user)
    with django_assert_num_queries(expected):
        response = getattr(client, method)(url, params)
    assert response.status_code == 200
    return response


def cases_of(bank, n: int) -> None:
    model = ModelVersionFactory()
    for i, customer in enumerate(customers_of(bank, n)):
        score(customer, model=model)
        open_case(customer, signals=("model_risk", "tier_downgrade"), priority=float(1000 + i), urgent=i % 7 == 0)


@pytest.mark.parametrize("n", SIZES)
def test_rm_list(client, bank, n, django_assert_num_queries):
    cases_of(bank, n)
    # 18: the page's 15 and the cases' contactability (their open tasks, the customers' do-not-contact
    # flags, their contacts within the cap's window).
    response = fetch(client, bank.owner, reverse("retention:case_list"), django_assert_num_queries, 18)
    assert len(response.context["page"].object_list) == min(n, 25)


@pytest.mark.parametrize("n", SIZES)
def test_rm_list_with_filters(client, bank, n, django_assert_num_queries):
    cases_of(bank, n)
    fetch(client, bank.owner, reverse("retention:case_list"), django_assert_num_queries, 18,
          signal="model_risk", kind="retention", segment="product", band="high", status="open")


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("n", SIZES)
def test_export(client, bank, n, fmt, django_assert_num_queries):
    cases_of(bank, n)
    fetch(client, bank.owner, reverse("retention:case_export", args=[fmt]), django_assert_num_queries, 12)


@pytest.mark.parametrize("n", SIZES)
def test_walk_in_lookup(client, bank, n, django_assert_num_queries):
    cases_of(bank, n)
    response = fetch(client, bank.lobby, reverse("customers:walkin_results"), django_assert_num_queries, 10,
                     method="post", q="王")
    assert len(response.context["matches"]) == min(n + 1, 12)  # and the bank fixture's 王小明


@pytest.mark.parametrize("n", SIZES)
def test_interception_list(client, bank, n, django_assert_num_queries):
    for customer in customers_of(bank, n):
        AppointmentFactory(customer=customer, scheduled_on=TODAY + dt.timedelta(days=1), amount=Decimal(600_000))
        open_case(customer, signals=("large_withdrawal",), event_on=TODAY + dt.timedelta(days=1), urgent=True)
    # 8 (no count: the list pages by keyset), and 3 for the customers' talking points (their
    # cases, active signals, lobby tasks).
    response = fetch(client, bank.lobby, reverse("customers:interceptions"), django_assert_num_queries, 11)
    assert len(response.context["page"].object_list) == min(n, 25)


@pytest.mark.parametrize("n", SIZES)
def test_callback_queue(client, bank, n, django_assert_num_queries):
    for customer in customers_of(bank, n):
        SurveyFactory(customer=customer, surveyed_on=TODAY.replace(day=1), score=9)
        SurveyFactory(customer=customer, surveyed_on=TODAY.replace(day=10), score=2)
        open_case(customer, signals=("satisfaction_drop",), event_on=TODAY.replace(day=10))
    response = fetch(client, bank.head, reverse("retention:callback_queue"), django_assert_num_queries, 10)
    assert len(response.context["page"].object_list) == min(n, 15)


@pytest.mark.parametrize("n", SIZES)
def test_competitor_table(client, bank, n, django_assert_num_queries):
    for i in range(n):
        product = ProductFactory(is_ours=i % 3 == 0, provider="Demo Bank" if i % 3 == 0 else "Other Bank")
        for month in (1, 2, 3):
            ProductYieldFactory(product=product, month=dt.date(2024, month, 1))
    fetch(client, bank.owner, reverse("customers:competitors"), django_assert_num_queries, 8)


@pytest.mark.parametrize("n", SIZES)
def test_dashboard(client, bank, n, django_assert_num_queries):
    model = ModelVersionFactory()
    rms = [make_user(f"rm_{i}", bank.branch, Role.RM) for i in range(min(n, 5))]
    for i, customer in enumerate(customers_of(bank, n)):
        customer.rm = rms[i % len(rms)]
        customer.save()
        score(customer, model=model)
        open_case(customer)
    dashboard_summary_refresh(today=TODAY)
    # The summaries' rows (owners' months, the report's months, the bands' night and rows), the
    # month under way's windows and report read live, the owners, the report's labels.
    fetch(client, bank.head, reverse("retention:dashboard"), django_assert_num_queries, 14)


@pytest.mark.parametrize("n", SIZES)
def test_customer_360(client, bank, n, django_assert_num_queries):
    customer = bank.customer
    add_history(customer, months=min(n, 24))
    for i in range(n):
        HoldingFactory(customer=customer, start_on=dt.date(2023, 1, 1) + dt.timedelta(days=i),
                       maturity_on=TODAY + dt.timedelta(days=i))
        SurveyFactory(customer=customer, surveyed_on=TODAY - dt.timedelta(days=i), score=5 + i % 5)
        ContactLogFactory(customer=customer, staff=bank.owner)
    score(customer)
    # Past cases, each with its signals, tasks and history, and the open one.
    for i in range(min(n, 10)):
        past = open_case(customer, opened_on=TODAY - dt.timedelta(days=200 + 30 * i), status="closed_lost")
        CaseEvent.objects.create(case=past, action=CaseEvent.Action.CLOSED, actor=bank.owner, to_status="closed_lost")
    open_case(customer, signals=("model_risk", "aum_drop"))
    # 29: 19, the contact preferences and the open case's contactability (4), and six for the
    # timeline (cases, tasks created, tasks done, contacts, surveys, reveals).
    fetch(client, bank.owner, reverse("customers:detail", args=[customer.pk]), django_assert_num_queries, 29)


@pytest.mark.parametrize("n", SIZES)
def test_model_list(client, bank, n, django_assert_num_queries):
    for _ in range(n):
        version = ModelVersionFactory()
        TrainingRun.objects.create(status=TrainingRun.Status.DONE, model_version=version, requested_by=bank.analyst)
    # versions, runs, the latest retraining (with its version and requester), the active version's
    # warnings, and the page's frame
    fetch(client, bank.analyst, reverse("churn:model_list"), django_assert_num_queries, 9)


# --- every other page and API list, for each role: as many queries for 30 rows as for 3 ----------


def busy_branch(bank, n: int, start: int = 0) -> None:
    """``n`` more customers of the branch, each with a case as a night leaves it: the RM's,
    the lobby's interception of a booked withdrawal, the head's callback; scores; summaries."""
    model = ModelVersionFactory()
    for i in range(start, start + n):
        customer = CustomerFactory(customer_id=f"B{i:05d}", branch=bank.branch, rm=bank.owner, name=f"李{i:02d}",
                                   phone=f"1390000{i:04d}")
        score(customer, model=model)
        kind = ("model_risk", "large_withdrawal", "satisfaction_drop")[i % 3]
        if kind == "large_withdrawal":
            AppointmentFactory(customer=customer, scheduled_on=TODAY + dt.timedelta(days=1), amount=Decimal(600_000))
        if kind == "satisfaction_drop":
            SurveyFactory(customer=customer, surveyed_on=TODAY.replace(day=1), score=9)
            SurveyFactory(customer=customer, surveyed_on=TODAY, score=2)
        open_case(customer, signals=(kind, "tier_downgrade"), event_on=TODAY + dt.timedelta(days=1),
                  priority=float(2000 + i), urgent=i % 5 == 0)
    dashboard_summary_refresh(today=TODAY)


def queries_of(client, user, url: str) -> int:
    client.force_login(user)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(captured)


EVERY_LIST = [
    ("head", "retention:case_list"), ("lobby", "retention:case_list"), ("head", "retention:callback_queue"),
    ("lobby", "customers:interceptions"), ("lobby", "customers:walkin"), ("head", "retention:dashboard"),
    ("analyst", "retention:dashboard"), ("owner", "api:case_list"), ("head", "api:case_list"),
    ("owner", "api:task_list"), ("head", "api:task_list"), ("lobby", "api:interception_list"),
    ("head", "api:callback_list"), ("head", "api:dashboard"), ("analyst", "api:dashboard"),
    ("head", "api:customer_list"), ("lobby", "api:appointment_list"), ("analyst", "api:retention_report"),
    ("analyst", "api:model_version_list"), ("analyst", "api:nightly_run_list"), ("owner", "api:case_export"),
]


@pytest.mark.parametrize(("role", "name"), EVERY_LIST)
def test_every_page_and_api_list_takes_as_many_queries_for_30_rows_as_for_3(client, bank, role, name):
    user = getattr(bank, role)
    url = reverse(name)
    busy_branch(bank, 3)
    few = queries_of(client, user, url)
    busy_branch(bank, 27, start=3)
    assert queries_of(client, user, url) == few


@pytest.mark.parametrize("role", ["head", "lobby"])
def test_the_branch_wide_list_pages_by_keyset_in_a_fixed_number_of_queries(client, bank, role,
                                                                            django_assert_num_queries):
    busy_branch(bank, 30)
    user = getattr(bank, role)
    # 15, 3 for the page's cases' contactability (retention.contactability), and for the head
    # the RMs of the branch to reassign cases to.
    expected = {"head": 19, "lobby": 18}[role]
    first = fetch(client, user, reverse("retention:case_list"), django_assert_num_queries, expected)
    page = first.context["page"]
    assert len(page.object_list) == 25 and page.has_next and page.is_first
    second = fetch(client, user, reverse("retention:case_list"), django_assert_num_queries, expected,
                   after=page.next_cursor)
    rest = second.context["page"]
    assert not rest.has_next and not rest.is_first
    shown = [c.pk for c in page.object_list] + [c.pk for c in rest.object_list]
    assert len(shown) == len(set(shown)) == 30
