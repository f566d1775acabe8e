"""End-to-end tests in a real browser: Playwright driving Debian's chromium against
pytest-django's live server. Each role's main task runs once with a Chinese browser
and once with an English one (the app follows the browser's language). Screenshots
(1366x768, and 768x1024 for the tablet) go to $SCREENSHOT_DIR, by default
var/screenshots/, named page-language.

Skipped when /usr/bin/chromium is missing, except under REQUIRE_REAL_SERVICES=1 (CI),
where a missing browser is a failure rather than a silent skip.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from churn.models import TrainingRun
from retention.models import Case, CaseStatus, TaskStatus
from retention.raising import cases_raise_for_date
from tests.pages.conftest import PASSWORD, REASONS_BY_KIND, TODAY, add_history, score
from tests.pages.test_model_monitoring import watched_version
from tests.retention.factories import AppointmentFactory, ChurnScoreFactory, CustomerFactory, ModelVersionFactory

pytestmark = pytest.mark.django_db(transaction=True)

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(os.environ.get("SCREENSHOT_DIR", settings.BASE_DIR / "var" / "screenshots"))
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

if not CHROMIUM.exists():
    if os.environ.get("REQUIRE_REAL_SERVICES") == "1":
        pytest.fail("browser tests need /usr/bin/chromium (apt-get install chromium)", pytrace=False)
    pytest.skip("needs /usr/bin/chromium", allow_module_level=True)

sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def browser():
    # Playwright's sync API runs an event loop in this thread; Django's ORM calls from the
    # test body are still synchronous, so its async-safety check is switched off here.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


# The page language -> the browser's locale that asks for it.
BROWSER_LOCALES = {"zh-hans": "zh-CN", "en": "en-US"}


@pytest.fixture(params=list(BROWSER_LOCALES))
def lang(request) -> str:
    return request.param


@pytest.fixture
def page(browser, live_server, lang):
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale=BROWSER_LOCALES[lang])
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" and not _refused_form(msg.text)
            else None)
    page.base_url = live_server.url
    page.lang = lang
    yield page
    context.close()
    # No script errors and no Content-Security-Policy violations on any page we opened.
    assert errors == []


def _refused_form(text: str) -> bool:
    # The browser logs every 4xx answer; a 422 is a form answered with its message, as designed.
    return text.startswith("Failed to load resource") and "422" in text


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    language = page.locator("html").get_attribute("lang")
    page.screenshot(path=str(SCREENSHOTS / f"{name}-{language}.png"), full_page=False)


def log_in(page, user) -> None:
    page.goto(page.base_url + "/login/")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    # The browser's language decides the page's.
    assert page.locator("html").get_attribute("lang") == page.lang


def switch_language(page, code: str) -> None:
    with page.expect_navigation():
        page.select_option("select[name=language]", code)
    assert page.locator("html").get_attribute("lang") == code


@pytest.fixture
def e2e_bank(bank, case, live_server):
    add_history(bank.customer)
    return bank


# The RM's other customers: a list of several rows, the budget cutting through it.
# (name, churn probability, AUM, a large withdrawal booked for tomorrow)
OTHERS = [("李娜", 0.55, 200_000, False), ("张伟", 0.35, 180_000, False), ("刘洋", 0.12, 90_000, True),
          ("陈静", 0.30, 60_000, False), ("杨帆", 0.18, 40_000, False)]


@pytest.fixture
def rm_day(bank, live_server, settings):
    """The RM's day after a real night: scores and a booking turned into cases, tasks and
    ranks by the nightly job (``retention.raising``)."""
    settings.RETENTION_DAILY_BUDGET = 4
    add_history(bank.customer)
    model = ModelVersionFactory()
    score(bank.customer, probability=0.7, model=model, reasons=REASONS_BY_KIND["model_risk"])
    for i, (name, probability, aum, booked) in enumerate(OTHERS):
        customer = CustomerFactory(customer_id=f"C10000{i}", name=name, branch=bank.branch, rm=bank.owner,
                                   tier="gold", latest_aum=aum)
        ChurnScoreFactory(customer=customer, scored_on=TODAY, model_version=model, probability=probability,
                          risk_band="high" if probability >= 0.3 else "medium", aum=aum,
                          reasons=REASONS_BY_KIND["model_risk"][:1])
        if booked:
            AppointmentFactory(customer=customer, scheduled_on=TODAY + dt.timedelta(days=1), amount=600_000)
    cases_raise_for_date(run_date=TODAY)
    return bank


def test_rm_works_a_case_to_retained_and_the_360_timeline_shows_it(page, rm_day):
    bank = rm_day
    case = Case.objects.get(customer=bank.customer)
    ranked = list(Case.objects.filter(owner=bank.owner).order_by("rank").values_list("customer__name", flat=True))
    log_in(page, bank.owner)
    # The RM lands on today's list: one row per customer, in the night's order (the booked
    # withdrawal first, then by expected value), ranks 1..6 with no gap, the budget (4)
    # marked, the expected value on every row, and the progress line.
    assert page.url.endswith("/cases/")
    rows = page.locator("table.case-list tbody tr")
    assert rows.count() == 1 + len(OTHERS)
    assert [rows.nth(i).locator("td").first.inner_text().strip() for i in range(rows.count())] == [
        str(rank) for rank in range(1, rows.count() + 1)]
    assert [rows.nth(i).locator("td").nth(1).locator("a").inner_text() for i in range(rows.count())] == ranked
    assert ranked[0] == "刘洋" and ranked[1] == bank.customer.name
    assert page.locator("table.case-list tbody tr.budget").count() == 4
    first = rows.nth(1)
    assert "31,450" in first.inner_text()
    assert re.search(r"0\D+4", page.locator("#progress").inner_text())
    # Expanding the row shows how the expected value is made and every reason.
    first.locator("details.why summary").click()
    assert "31,450" in first.locator(".ev-parts").inner_text() and "×" in first.locator(".ev-parts").inner_text()
    shot(page, "rm-list")

    first.get_by_role("link", name=bank.customer.name).click()
    page.wait_for_load_state("networkidle")
    # Customer 360: the AUM chart is drawn on its canvas (Chart.js marks it).
    canvas = page.locator("canvas[data-chart=aum]")
    canvas.wait_for()
    # Locators only: wait_for_function would evaluate a string, which the strict CSP forbids.
    page.locator("canvas[data-chart=aum][data-drawn='1']").wait_for()
    assert canvas.bounding_box()["height"] > 100
    shot(page, "customer-360")

    card = page.locator(f"#case-{case.pk}")
    # Tick the first task (htmx swaps the card in place).
    card.locator("form.tick button").first.click()
    page.locator(f"#case-{case.pk} .flash").wait_for()
    first_task = case.tasks.order_by("due_on", "order", "pk").first()
    first_task.refresh_from_db()
    assert first_task.status == TaskStatus.DONE
    # Log a visit: it completes the open visit task.
    card = page.locator(f"#case-{case.pk}")
    card.locator("summary", has_text=re.compile("^(记录联系|Log contact)$")).click()
    card.locator("select[name=channel]").select_option("visit")
    card.locator("select[name=result]").select_option("agreed")
    card.locator("textarea[name=note]").fill("客户同意续存")
    card.get_by_role("button", name=re.compile("^(记录联系|Log contact)$")).click()
    page.locator(f"#case-{case.pk} .flash", has_text=re.compile("联系已记录|Contact logged")).wait_for()
    assert case.tasks.get(channel="visit").status == TaskStatus.DONE
    # A snooze past the horizon is refused with its reason in the card (a 422 that htmx swaps in).
    card = page.locator(f"#case-{case.pk}")
    card.locator("summary", has_text=re.compile("^(暂缓|Snooze)$")).click()
    card.locator("input[name=until]").evaluate("node => node.removeAttribute('max')")
    card.locator("input[name=until]").fill((TODAY + dt.timedelta(days=90)).isoformat())
    card.get_by_role("button", name=re.compile("^(暂缓|Snooze)$")).click()
    page.locator(f"#case-{case.pk} p.error").wait_for()
    assert "30" in page.locator(f"#case-{case.pk} p.error").inner_text()
    # Close the case as retained, saying why.
    card = page.locator(f"#case-{case.pk}")
    card.locator("summary", has_text=re.compile("^(关闭案例|Close case)$")).click()
    closing = card.locator("form[action$='/close/']")
    closing.locator("input[name=outcome][value=retained]").check()
    closing.locator("input[name=reason]").fill("续存三年定期")
    card.get_by_role("button", name=re.compile("^(关闭案例|Close case)$")).click()
    page.locator(f"#case-{case.pk} .badge.closed_retained").first.wait_for()
    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED_RETAINED and case.worked_at is not None
    assert bank.customer.contacts.filter(note="客户同意续存").exists()

    # After a reload the 360 still says so: the case is under past cases, its history shows
    # the tasks done, the contact and the closing, with the reason.
    page.reload()
    page.wait_for_load_state("networkidle")
    past = page.locator(f"#past-cases #case-{case.pk}")
    past.wait_for()
    timeline = past.locator("ol.timeline").inner_text()
    closed_label = "Closed: retained" if page.lang == "en" else "已关闭：已挽留"
    assert closed_label in timeline and "续存三年定期" in timeline and "客户同意续存" in timeline
    assert ("Task done" if page.lang == "en" else "任务完成") in timeline
    assert page.locator("#cases .empty").first.is_visible()  # no open case any more
    past.scroll_into_view_if_needed()
    shot(page, "customer-360-closed")

    # Back on the list: one case fewer, ranks still 1..5 (the night's ranks now have a gap),
    # and the progress line counts it.
    page.goto(page.base_url + "/cases/")
    rows = page.locator("table.case-list tbody tr")
    assert [rows.nth(i).locator("td").first.inner_text().strip() for i in range(rows.count())] == [
        str(rank) for rank in range(1, len(OTHERS) + 1)]
    assert re.search(r"1\D+4", page.locator("#progress").inner_text())

    # On a tablet held upright the page reflows: nothing sticks out sideways (wide tables
    # scroll inside their own frame).
    customer_url = page.base_url + reverse("customers:detail", args=[bank.customer.pk])
    page.set_viewport_size({"width": 768, "height": 1024})
    for url, name in ((page.base_url + "/cases/", "rm-list"), (customer_url, "customer-360")):
        page.goto(url)
        page.wait_for_load_state("networkidle")
        assert page.evaluate("document.documentElement.scrollWidth") <= 768, url
        shot(page, "tablet-" + name)
    page.set_viewport_size({"width": 1366, "height": 768})

    # The switch on the page overrides the browser's language.
    page.goto(customer_url)
    other = "en" if page.lang == "zh-hans" else "zh-hans"
    switch_language(page, other)
    assert page.get_by_text("Holdings" if other == "en" else "持仓").first.is_visible()
    switch_language(page, page.lang)


def test_lobby_manager_looks_up_a_walk_in_and_hands_over(page, e2e_bank):
    log_in(page, e2e_bank.lobby)
    assert page.url.endswith("/lookup/")
    # The query goes in a POST body (with the CSRF token), never in the URL: names stay out of access logs.
    with page.expect_request(lambda request: "/lookup/results/" in request.url) as lookup:
        page.type("input[name=q]", "1234", delay=30)  # the last four digits of the ID number; keyup answers
    assert lookup.value.method == "POST" and "1234" not in lookup.value.url
    assert "q=1234" in (lookup.value.post_data or "")
    page.locator("#lookup-results .match").first.wait_for()
    assert e2e_bank.customer.name in page.locator("#lookup-results").inner_text()
    page.fill("input[name=q]", "")
    page.type("input[name=q]", "王小", delay=50)
    # Let the last keystroke's answer arrive before typing into the result (it replaces the list).
    page.wait_for_timeout(400)
    page.wait_for_load_state("networkidle")
    match = page.locator("#lookup-results .match", has_text="王小明").first
    match.wait_for()
    assert "王小明" in match.inner_text()
    # The other branch's 王大力 is never shown.
    assert "王大力" not in page.locator("#lookup-results").inner_text()
    shot(page, "lobby-lookup")
    # Under load a late answer to an earlier keystroke can still replace the list: wait until
    # the network is quiet, then make sure the note is in the form that is clicked.
    page.wait_for_load_state("networkidle")
    note = match.locator("input[name=note]")
    note.fill("想了解贷款产品")
    assert note.input_value() == "想了解贷款产品"
    match.get_by_role("button").click()
    page.locator("#lookup-results .flash").wait_for()
    assert e2e_bank.customer.contacts.filter(note__contains="想了解贷款产品").exists()
    shot(page, "lobby-handed-over")

    page.goto(page.base_url + reverse("customers:interceptions"))
    page.wait_for_load_state("networkidle")
    shot(page, "lobby-interceptions")


def test_analyst_sees_the_model_page_with_its_charts(page, e2e_bank):
    version = ModelVersionFactory(
        is_active=True,
        metrics={"n": 1000, "base_rate": 0.1, "roc_auc": 0.8, "pr_auc": 0.45, "brier": 0.07, "lift_top10": 4.2,
                 "lift_curve": [{"share": s / 20, "precision": 0.5, "recall": s / 20, "lift": 5 - s / 5}
                                for s in range(1, 21)],
                 "calibration": [{"predicted": p / 10, "observed": p / 11, "count": 100} for p in range(10)]},
    )
    log_in(page, e2e_bank.analyst)
    assert "/analyst/models/" in page.url
    page.get_by_role("link", name=f"#{version.pk}").click()
    page.locator("canvas[data-chart=lift][data-drawn='1']").wait_for()
    page.locator("canvas[data-chart=calibration][data-drawn='1']").wait_for()
    assert page.get_by_text("Calibration" if page.lang == "en" else "校准").first.is_visible()
    shot(page, "analyst-model")


def test_analyst_sees_drift_realised_performance_and_the_model_card(page, e2e_bank):
    version = watched_version(e2e_bank.branch)
    log_in(page, e2e_bank.analyst)
    page.goto(page.base_url + reverse("churn:model_detail", args=[version.pk]))
    page.locator("canvas[data-chart=lines][data-source=drift-data][data-drawn='1']").wait_for()
    page.locator("canvas[data-chart=lines][data-source=performance-data][data-drawn='1']").wait_for()
    page.locator("#model-warnings").wait_for()
    shot(page, "analyst-model-monitoring")
    page.get_by_role("link", name="Model card" if page.lang == "en" else "模型卡").click()
    assert page.get_by_text("Known limits" if page.lang == "en" else "已知局限").first.is_visible()
    shot(page, "analyst-model-card")


def test_analyst_retrains_the_model_and_watches_its_progress(page, e2e_bank, settings, tmp_path):
    # No worker in this test: the task runs on a background thread of the live server, as in
    # the demo without a broker (config.celery.enqueue), and trains on a small generated bank.
    from config.celery import app
    from tests.churn.helpers import load_bank, small_bank

    settings.VAR_DIR = tmp_path
    settings.CELERY_EAGER_BACKGROUND = True
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        load_bank(small_bank(customers=300))
        log_in(page, e2e_bank.analyst)
        page.get_by_role("button", name=re.compile("Retrain the model|重新训练模型")).click()
        page.wait_for_load_state("networkidle")
        page.locator("#training progress").first.wait_for()
        shot(page, "analyst-retraining")
        # htmx polls every 2 s until the run ends, then reloads the page once: the new version
        # is linked from the card and listed in the table, and the button is enabled again.
        page.locator("#training a[href*='/analyst/models/']").wait_for(timeout=180_000)
        page.wait_for_load_state("networkidle")
        page.get_by_role("button", name=re.compile("Retrain the model|重新训练模型")).and_(
            page.locator("button:enabled")).wait_for()
    finally:
        app.conf.task_always_eager = eager
    run = TrainingRun.objects.get()
    assert run.status == TrainingRun.Status.DONE and run.model_version is not None
    assert page.locator(f"table a[href$='/analyst/models/{run.model_version.pk}/']").count() == 1
    shot(page, "analyst-retrained")
