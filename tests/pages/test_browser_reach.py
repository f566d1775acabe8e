"""The RM reaches a customer in a real browser (Playwright driving Debian's chromium against the
live server), once with a Chinese and once with an English browser: on today's list the RM
reveals the customer's number, sees it as a tel: link, logs the call right there and sees the
call task complete; the customer 360 then shows the task done and the call on its timeline.
Screenshots of the 360 at 1366x768 and on an upright tablet (768x1024) go to $SCREENSHOT_DIR,
by default var/screenshots/, named page-language.

Skipped when /usr/bin/chromium is missing, except under REQUIRE_REAL_SERVICES=1 (CI).
"""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from audit.models import AuditAction, AuditEvent
from retention.models import Case, TaskStatus
from tests.pages.test_browser import browser, lang, log_in, page, rm_day, shot

pytestmark = pytest.mark.django_db(transaction=True)

# The staff browser tests' fixtures (one chromium per module, the page with its script-error
# check, both languages, the RM's day after a real night), named here so that pytest finds them.
SHARED_FIXTURES = (browser, lang, page, rm_day)
TABLET = {"width": 768, "height": 1024}
DESKTOP = {"width": 1366, "height": 768}
SHOW_NUMBER = re.compile("^(显示号码|Show number)$")
LOG_CALL = re.compile("^(记录通话|Log the call)$")


def test_rm_reveals_a_number_calls_logs_it_and_sees_the_task_complete(page, rm_day):
    bank = rm_day
    customer = bank.customer
    case = Case.objects.get(customer=customer)
    call_task = case.tasks.filter(channel="call", owner=bank.owner).order_by("due_on", "order", "pk").first()
    assert call_task is not None and call_task.status == TaskStatus.OPEN
    log_in(page, bank.owner)
    assert page.url.endswith("/cases/")

    # Today's list: the number is masked, with a control to show it in the customer's row.
    row = page.locator(f"#row-{case.pk}")
    assert customer.phone not in row.inner_text() and customer.phone[-4:] in row.inner_text()
    row.get_by_role("button", name=SHOW_NUMBER).click()
    tel = row.locator("a.tel")
    tel.wait_for()
    assert tel.get_attribute("href") == f"tel:{customer.phone}"
    assert AuditEvent.objects.filter(action=AuditAction.REVEAL, actor=bank.owner, customer=customer).count() == 1
    shot(page, "rm-list-revealed")

    # After the call: the result and a note, logged from the row; the call task is done by it.
    form = row.locator("form.log-call")
    form.locator("select[name=result]").select_option("reached")
    form.locator("input[name=note]").fill("客户下周来行续存")
    form.get_by_role("button", name=LOG_CALL).click()
    logged = row.locator(".call-logged")
    logged.wait_for()
    assert call_task.text in logged.inner_text() or call_task.text_en in logged.inner_text() \
        or call_task.text_zh in logged.inner_text()
    call_task.refresh_from_db()
    assert call_task.status == TaskStatus.DONE and call_task.contact.note == "客户下周来行续存"

    # The 360: the call task ticked on the case card, the call on the contact log and the timeline.
    logged.get_by_role("link").click()
    page.wait_for_load_state("networkidle")
    page.locator("canvas[data-chart=aum][data-drawn='1']").wait_for()
    card = page.locator(f"#case-{case.pk}")
    done = card.locator("ul.checklist li.done")
    assert done.count() == 1 and ("☑" in done.first.inner_text())
    assert "客户下周来行续存" in page.locator("#contacts").inner_text()
    timeline = page.locator("#timeline ol").inner_text()
    assert "客户下周来行续存" in timeline
    assert ("Revealed" if page.lang == "en" else "查看了完整信息") in timeline

    # The number revealed on the 360 too, with the call log on the open case offered beside it.
    head = page.locator(".reach-line")
    head.get_by_role("button", name=SHOW_NUMBER).click()
    head.locator("a.tel").wait_for()
    assert head.locator("form.log-call").count() == 1
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, "customer-360-reach")

    # On an upright tablet the work comes first: the open case above the profile and the
    # charts, and nothing sticks out sideways.
    page.set_viewport_size(TABLET)
    page.goto(page.base_url + reverse("customers:detail", args=[customer.pk]))
    page.wait_for_load_state("networkidle")
    assert page.evaluate("document.documentElement.scrollWidth") <= TABLET["width"]
    case_top = page.locator(f"#case-{case.pk}").bounding_box()["y"]
    assert case_top < page.locator("dl.facts").first.bounding_box()["y"]
    assert case_top < page.locator("canvas[data-chart=aum]").bounding_box()["y"]
    assert case_top < TABLET["height"]  # on the first screen
    shot(page, "tablet-customer-360-reach")
    page.set_viewport_size(DESKTOP)
