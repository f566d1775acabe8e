"""axe-core over every page of every role, in a real browser (Playwright driving Debian's chromium
against the live server), with a Chinese and with an English browser, at 1366x768 and on an
upright tablet (768x1024): any serious or critical violation fails, with its rule, its help and
the first elements' selectors. The pages carry data (a case with its tasks, contacts and
holdings, an interception, a callback, a monitored model), and some are checked again after an
htmx interaction (a revealed phone number, an opened form, a refused save with its message).
Screenshots go to $SCREENSHOT_DIR (by default var/screenshots/), named
``axe-<page>[-tablet]-<language>.png``.

To add a page: append a ``Visit`` to ``PAGES`` below, with

- ``name``: a short name (the failure message and the screenshot use it);
- ``role``: who is signed in, a field of ``World`` (``owner``, ``lobby``, ``head``, ``analyst``,
  ``admin``), or ``None`` for a visitor who is not;
- ``path``: the address, or a function of the ``World`` giving it (``lambda w: f"/x/{w.case.pk}/"``);
  put the data the page needs in the ``world`` fixture;
- ``then`` (optional): a function ``(page, world)`` doing an htmx interaction on the loaded page
  and waiting for its answer; the page is checked once as loaded and once after it.

A new role's pages run in a test of their own (the tests are made per role from ``PAGES``).
Skipped when chromium is missing, except under REQUIRE_REAL_SERVICES=1 (CI), where a missing
browser or a missing axe-core fails.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType

from churn.models import ModelVersion
from customers.models import Customer, Role, User
from retention.models import Case, Task
from retention.raising import cases_raise_for_date
from tests.pages.axe import axe_violations, blocking, describe
from tests.pages.conftest import REASONS_BY_KIND, TODAY, Bank, add_history, make_user, score
from tests.pages.test_browser import BROWSER_LOCALES, _refused_form, browser, lang, log_in, shot
from tests.pages.test_model_monitoring import watched_version
from tests.retention.factories import (
    AppointmentFactory,
    ContactLogFactory,
    CustomerFactory,
    HoldingFactory,
    ProductFactory,
    SurveyFactory,
)

pytestmark = pytest.mark.django_db(transaction=True)

# The staff browser tests' fixtures (one chromium per module, both languages), named here so that
# pytest finds them.
SHARED_FIXTURES = (browser, lang)
VIEWPORTS = {"desktop": {"width": 1366, "height": 768}, "tablet": {"width": 768, "height": 1024}}


@pytest.fixture
def page(browser, live_server, lang):
    """The staff browser tests' page (no script error, no Content-Security-Policy violation), which
    also lets through the browser's console line for the error page a visit expects (``status``)."""
    context = browser.new_context(viewport=VIEWPORTS["desktop"], locale=BROWSER_LOCALES[lang])
    page = context.new_page()
    # axe over a long page takes seconds on a busy machine: more time than the staff tests give a step.
    page.set_default_timeout(30_000)
    page.expected_status = 200
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"{page.url}: {exc}"))
    page.on("console", lambda msg: errors.append(f"{page.url}: {msg.text}") if msg.type == "error" and not (
        _refused_form(msg.text) or _expected_error_page(msg.text, page.expected_status)) else None)
    page.base_url = live_server.url
    page.lang = lang
    yield page
    context.close()
    assert errors == []


def _expected_error_page(text: str, status: int) -> bool:
    return status != 200 and text.startswith("Failed to load resource") and f"status of {status}" in text


@dataclass
class World:
    """The bank of tests/pages/conftest.py after a night: the owner's customer with a model-risk
    case, another with a large withdrawal booked today (the lobby's interception), a third whose
    satisfaction fell (the head's callback), and an active model with its monitoring."""

    bank: Bank
    owner: User
    lobby: User
    head: User
    analyst: User
    admin: User
    customer: Customer
    case: Case
    interception: Task
    callback: Task
    version: ModelVersion


@pytest.fixture
def world(bank, live_server) -> World:
    add_history(bank.customer)
    version = watched_version(bank.branch)
    score(bank.customer, probability=0.7, model=version, reasons=REASONS_BY_KIND["model_risk"])
    ours = ProductFactory(name="稳盈90天", kind="wealth")
    rival = ProductFactory(name="Rival Wealth 90", provider="Rival Bank", is_ours=False)
    HoldingFactory(customer=bank.customer, product=ours, amount=Decimal("150000"))
    HoldingFactory(customer=bank.customer, product=rival, amount=Decimal("300000"),
                   maturity_on=TODAY + dt.timedelta(days=6))
    SurveyFactory(customer=bank.customer, surveyed_on=TODAY - dt.timedelta(days=40), score=9)
    SurveyFactory(customer=bank.customer, surveyed_on=TODAY - dt.timedelta(days=12), score=4, comment="手续费太高")
    ContactLogFactory(customer=bank.customer, result="complaint",
                      note="客户抱怨理财收益低于他行，要求比较两款产品的收益")
    walk_in = CustomerFactory(customer_id="C000010", name="李娜", branch=bank.branch, rm=bank.owner, tier="gold",
                              latest_aum=Decimal("1200000"))
    add_history(walk_in)
    AppointmentFactory(customer=walk_in, scheduled_on=TODAY, amount=Decimal("1160000"))
    unhappy = CustomerFactory(customer_id="C000011", name="张伟", branch=bank.branch, rm=bank.colleague,
                              tier="platinum", latest_aum=Decimal("600000"))
    add_history(unhappy)
    SurveyFactory(customer=unhappy, surveyed_on=TODAY.replace(day=1), score=9)
    SurveyFactory(customer=unhappy, surveyed_on=TODAY.replace(day=10), score=3, comment="排队太久")
    cases_raise_for_date(run_date=TODAY)
    # The permission comes from a data migration (api 0002), which a transactional test's flush removes.
    reveal, _ = Permission.objects.get_or_create(
        content_type=ContentType.objects.get_for_model(Customer), codename="reveal_personal_data",
        defaults={"name": "Can reveal personal data (ID number, phone)"})
    bank.owner.user_permissions.add(reveal)
    admin = make_user("admin", None, Role.ADMIN)
    admin.is_staff = admin.is_superuser = True
    admin.save()
    return World(
        bank=bank, owner=bank.owner, lobby=bank.lobby, head=bank.head, analyst=bank.analyst, admin=admin,
        customer=bank.customer, case=Case.objects.get(customer=bank.customer),
        interception=Task.objects.get(case__customer=walk_in, owner_role="lobby", signal__kind="large_withdrawal"),
        callback=Task.objects.filter(case__customer=unhappy, owner_role="head",
                                     signal__kind="satisfaction_drop").order_by("due_on").first(),
        version=version,
    )


# --- the htmx interactions checked after a page has loaded ------------------------------------------


def expand_first_reasons(page, world: World) -> None:
    page.locator("table.case-list tbody tr details.why summary").first.click()
    page.locator("table.case-list .ev-parts").first.wait_for()


def reveal_phone(page, world: World) -> None:
    page.locator("form[action$='/reveal/phone/'] button").click()
    page.locator("form[action$='/reveal/phone/']").wait_for(state="detached")


def open_contact_form(page, world: World) -> None:
    card = page.locator(f"#case-{world.case.pk}")
    card.locator("summary", has_text=re.compile("^(记录联系|Log contact)$")).click()
    card.locator("select[name=channel]").wait_for()


def refused_snooze(page, world: World) -> None:
    card = page.locator(f"#case-{world.case.pk}")
    card.locator("summary", has_text=re.compile("^(暂缓|Snooze)$")).click()
    card.locator("input[name=until]").evaluate("node => node.removeAttribute('max')")
    card.locator("input[name=until]").fill((TODAY + dt.timedelta(days=90)).isoformat())
    card.get_by_role("button", name=re.compile("^(暂缓|Snooze)$")).click()
    page.locator(f"#case-{world.case.pk} p.error").wait_for()


def look_up_walk_in(page, world: World) -> None:
    page.type("input[name=q]", "李娜", delay=50)
    page.locator("#lookup-results .match", has_text="李娜").first.wait_for()
    page.wait_for_load_state("networkidle")


def refused_interception(page, world: World) -> None:
    card = page.locator(f"#interception-{world.interception.pk}")
    card.get_by_role("button", name=re.compile("^(保存|Save)$")).click()
    page.locator(f"#interception-{world.interception.pk} p.error").wait_for()


def recorded_interception(page, world: World) -> None:
    card = page.locator(f"#interception-{world.interception.pk}")
    card.locator("input[name=outcome][value=funds_kept]").check()
    card.locator("input[name=amount_kept]").fill("800000")
    card.get_by_role("button", name=re.compile("^(保存|Save)$")).click()
    page.locator(f"#interception-{world.interception.pk} .flash").wait_for()


def refused_callback(page, world: World) -> None:
    page.locator(f"#callback-{world.callback.pk}").get_by_role("button", name=re.compile("保存回访|Save call")).click()
    page.locator(f"#callback-{world.callback.pk} p.error").wait_for()


def refused_csrf(page, world: World) -> None:
    # A login form posted without its CSRF token: the 403 page.
    page.locator("#main input[name=csrfmiddlewaretoken]").evaluate("node => node.remove()")
    page.fill("input[name=username]", world.owner.username)
    page.fill("input[name=password]", "not-the-password")
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert page.locator("h1").count() == 1


@dataclass(frozen=True)
class Visit:
    name: str
    role: str | None
    path: str | Callable[[World], str]
    then: Callable | None = None
    # The page's status as it is checked: an error page (403, 404) answers with its own.
    status: int = 200


def customer_360(world: World) -> str:
    return f"/customers/{world.customer.pk}/"


PAGES: list[Visit] = [
    # Nobody signed in.
    Visit("login", None, "/login/"),
    Visit("not-found-anonymous", None, "/no-such-page/", status=404),
    Visit("forbidden", None, "/login/", then=refused_csrf, status=403),
    # The relationship manager.
    Visit("rm-cases", "owner", "/cases/", then=expand_first_reasons),
    Visit("rm-cases-filtered", "owner", "/cases/?status=open&kind=model_risk"),
    Visit("rm-customer-360", "owner", customer_360, then=reveal_phone),
    Visit("rm-customer-360-contact", "owner", customer_360, then=open_contact_form),
    Visit("rm-customer-360-snooze-refused", "owner", customer_360, then=refused_snooze),
    Visit("rm-digest", "owner", "/digest/"),
    Visit("rm-cases-due-today", "owner", "/cases/?due=today"),
    Visit("rm-not-found", "owner", lambda w: f"/customers/{w.bank.outsider_customer.pk}/", status=404),
    # The lobby manager.
    Visit("lobby-lookup", "lobby", "/lookup/", then=look_up_walk_in),
    Visit("lobby-digest", "lobby", "/digest/"),
    Visit("lobby-interceptions", "lobby", "/interceptions/", then=refused_interception),
    Visit("lobby-interception-recorded", "lobby", "/interceptions/", then=recorded_interception),
    # The branch head.
    Visit("head-callbacks", "head", "/callbacks/", then=refused_callback),
    Visit("head-cases", "head", "/cases/", then=expand_first_reasons),
    Visit("head-customer-360", "head", customer_360),
    Visit("head-dashboard", "head", "/dashboard/"),
    Visit("head-digest", "head", "/digest/"),
    Visit("head-cases-escalated", "head", "/cases/?due=escalated"),
    Visit("head-competitors", "head", "/competitors/"),
    # The analyst.
    Visit("analyst-models", "analyst", "/analyst/models/"),
    Visit("analyst-model-monitoring", "analyst", lambda w: f"/analyst/models/{w.version.pk}/"),
    Visit("analyst-model-card", "analyst", lambda w: f"/analyst/models/{w.version.pk}/card/"),
    Visit("analyst-import", "analyst", "/analyst/import/"),
    Visit("analyst-dashboard", "analyst", "/dashboard/"),
    # The administrator: the whole bank's dashboard and the admin.
    Visit("admin-dashboard", "admin", "/dashboard/"),
    Visit("admin-index", "admin", "/admin/"),
    Visit("admin-customers", "admin", "/admin/customers/customer/"),
    Visit("admin-users", "admin", "/admin/customers/user/"),
    Visit("admin-cases", "admin", "/admin/retention/case/"),
    Visit("admin-tasks", "admin", "/admin/retention/task/"),
    Visit("admin-audit", "admin", "/admin/audit/auditevent/"),
    Visit("admin-login-lockouts", "admin", "/admin/axes/accessattempt/"),
]

ROLES = list(dict.fromkeys(visit.role for visit in PAGES))


def _check(page, label: str, problems: list[str]) -> None:
    found = blocking(axe_violations(page))
    if found:
        problems.append(f"{label} ({page.url}):\n{describe(found)}")


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
@pytest.mark.parametrize("role", ROLES, ids=lambda role: role or "anonymous")
def test_no_page_of_the_role_has_a_serious_accessibility_violation(page, world, role, viewport):
    page.set_viewport_size(VIEWPORTS[viewport])
    if role is not None:
        log_in(page, getattr(world, role))
    problems: list[str] = []
    for visit in (visit for visit in PAGES if visit.role == role):
        path = visit.path(world) if callable(visit.path) else visit.path
        page.expected_status = visit.status
        response = page.goto(page.base_url + path)
        page.wait_for_load_state("networkidle")
        assert response.status == (visit.status if visit.then is None else 200), path
        assert page.locator("html").get_attribute("lang") == page.lang, path
        suffix = "" if viewport == "desktop" else "-tablet"
        if visit.then is None:
            _check(page, visit.name, problems)
        else:
            _check(page, visit.name, problems)
            visit.then(page, world)
            _check(page, f"{visit.name}, after {visit.then.__name__}", problems)
        shot(page, f"axe-{visit.name}{suffix}")
    assert not problems, "\n".join(problems)
