"""The branch's own work in a real browser (Playwright driving Debian's chromium against the live
server), once with a Chinese and once with an English browser: the lobby manager sees a flagged
walk-in and records an interception from the interception list; the branch head completes a
callback task from the queue. Screenshots at 1366x768 and on an upright tablet (768x1024) go to
$SCREENSHOT_DIR, by default var/screenshots/, named page-language.

Skipped when /usr/bin/chromium is missing, except under REQUIRE_REAL_SERVICES=1 (CI).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from retention.models import Case, Task
from tests.pages.branch_world import (
    PASSWORD,
    TODAY,
    book_withdrawal,
    branch_world,
    callback_task,
    interception_task,
    night,
    satisfaction_fell,
)
from tests.pages.test_browser import browser, lang, page, shot

# serialized_rollback: a transactional test empties every table afterwards; this puts back what the
# migrations wrote (the playbooks) for the next one.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

# The staff browser tests' fixtures (one chromium per module, the page with its script-error
# check, both languages), named here so that pytest finds them in this module.
SHARED_FIXTURES = (browser, lang, page)
TABLET = {"width": 768, "height": 1024}
DESKTOP = {"width": 1366, "height": 768}


@pytest.fixture
def world(settings, live_server):
    settings.RETENTION_CONTROL_SHARE = 0.0
    with time_machine.travel(dt.datetime.combine(TODAY, dt.time(9), tzinfo=ZoneInfo("Asia/Shanghai")), tick=False):
        yield branch_world()


def log_in(page, user) -> None:
    # The branch world's own password (tests.pages.branch_world), not the staff pages'.
    page.goto(page.base_url + "/login/")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def goto(page, path: str) -> None:
    page.goto(page.base_url + path)
    page.wait_for_load_state("networkidle")
    # The browser's language decides the page's.
    assert page.locator("html").get_attribute("lang") == page.lang


def on_a_tablet(page, name: str, paths: list[str]) -> None:
    """Held upright, each page reflows: nothing sticks out sideways."""
    page.set_viewport_size(TABLET)
    for index, path in enumerate(paths):
        goto(page, path)
        assert page.evaluate("document.documentElement.scrollWidth") <= TABLET["width"], path
        shot(page, f"tablet-{name}" + (f"-{index + 1}" if index else ""))
    page.set_viewport_size(DESKTOP)


def test_lobby_manager_sees_the_flag_and_records_an_interception(page, world):
    book_withdrawal(world.customer, amount="1160000.00")
    night()
    task = interception_task(world.customer)
    zh = page.lang == "zh-hans"

    log_in(page, world.lobby)
    # The walk-in lookup flags the customer, with the booked withdrawal in plain words.
    goto(page, "/lookup/")
    page.type("input[name=q]", "王小", delay=50)
    match = page.locator("#lookup-results .match.flagged", has_text="王小明").first
    match.wait_for()
    flag = match.inner_text()
    assert ("流失风险：请挽留" if zh else "At risk: keep this customer") in flag
    assert ("预约大额取现或转账" if zh else "Large withdrawal or transfer booked") in flag and "1,160,000" in flag
    shot(page, "lobby-lookup-flagged")

    # The flag links to the interception list, where the visit is recorded.
    with page.expect_navigation():
        match.get_by_role("link", name=re.compile("大额拦截名单|interception list")).click()
    page.wait_for_load_state("networkidle")
    assert page.url.endswith(f"/interceptions/#interception-{task.pk}")
    card = page.locator(f"#interception-{task.pk}")
    card.wait_for()
    assert "1,160,000" in card.inner_text()
    shot(page, "lobby-interceptions")

    # Saving with nothing chosen is refused with its reason in the card (a 422 that htmx swaps in).
    card.get_by_role("button", name=re.compile("^(保存|Save)$")).click()
    page.locator(f"#interception-{task.pk} p.error").wait_for()
    assert ("请说明客户是否到店" if zh else "Say whether the customer came in") in \
        page.locator(f"#interception-{task.pk} p.error").inner_text()

    card = page.locator(f"#interception-{task.pk}")
    card.locator("input[name=outcome][value=funds_kept]").check()
    card.locator("input[name=amount_kept]").fill("800000")
    card.locator("input[name=note]").fill("转存三个月理财")
    card.get_by_role("button", name=re.compile("^(保存|Save)$")).click()
    page.locator(f"#interception-{task.pk} .flash").wait_for()
    done = page.locator(f"#interception-{task.pk}").inner_text()
    assert ("已到店：资金留存" if zh else "Came in: funds kept") in done and "800,000" in done
    shot(page, "lobby-interception-recorded")

    task.refresh_from_db()
    assert task.status == "done" and task.outcome == "funds_kept" and task.amount_kept == Decimal("800000")
    assert task.done_by == world.lobby and task.contact.note == "转存三个月理财"
    assert Case.objects.get(pk=task.case_id).worked_at is not None

    # After a reload the list still shows it done, with its outcome.
    goto(page, "/interceptions/")
    kept = "已到店：资金留存" if zh else "Came in: funds kept"
    assert kept in page.locator(f"#interception-{task.pk}").inner_text()
    on_a_tablet(page, "lobby-interceptions", ["/interceptions/", "/lookup/"])


def test_branch_head_completes_a_callback_task(page, world):
    satisfaction_fell(world.customer, comment="排队太久")
    night()
    task = callback_task(world.customer)
    zh = page.lang == "zh-hans"

    log_in(page, world.head)
    goto(page, "/callbacks/")
    card = page.locator(f"#callback-{task.pk}")
    card.wait_for()
    assert "排队太久" in card.inner_text()
    assert ("满意度评分从9降至3" if zh else "Satisfaction score fell from 9 to 3") in card.inner_text()
    shot(page, "head-callbacks")

    # An empty form is refused with its message.
    card.get_by_role("button", name=re.compile("保存回访|Save call")).click()
    page.locator(f"#callback-{task.pk} p.error").wait_for()
    assert ("请选择回访结果" if zh else "Choose how the call went.") in \
        page.locator(f"#callback-{task.pk} p.error").inner_text()
    # The reason is what a callback is for: "reason learnt" without it is refused too.
    card.locator("input[name=outcome][value=reason_learnt]").check()
    card.get_by_role("button", name=re.compile("保存回访|Save call")).click()
    page.locator(f"#callback-{task.pk} p.error", has_text=re.compile("请记下客户说明的原因|Write down the reason")
                 ).wait_for()
    shot(page, "head-callback-refused")

    card.locator("input[name=outcome][value=reason_learnt]").check()
    card.locator("textarea[name=note]").fill("周末排队太久，已致歉并安排专属窗口")
    card.get_by_role("button", name=re.compile("保存回访|Save call")).click()
    # The whole card is swapped: the check-back call that follows shows under the one just done.
    page.locator(f"article[data-case='{task.case_id}'] .callback-done .flash").wait_for()
    done = page.locator(f"article[data-case='{task.case_id}'] .callback-done").first.inner_text()
    assert ("已完成" if zh else "Done") in done and ("已联系：了解到原因" if zh else "Reached: reason learnt") in done
    shot(page, "head-callback-done")

    task = Task.objects.get(pk=task.pk)
    assert task.status == "done" and task.outcome == "reason_learnt" and task.done_by == world.head
    assert task.outcome_note == "周末排队太久，已致歉并安排专属窗口"
    assert world.customer.contacts.get().channel == "call"

    # Reloaded, the customer's one card shows the call done today above the check-back call to make later.
    goto(page, "/callbacks/")
    card = page.locator(f"article[data-case='{task.case_id}']")
    assert card.count() == 1
    assert ("已完成" if zh else "Done") in card.inner_text() and "周末排队太久" in card.inner_text()
    assert card.locator("form.callback-form").count() == 1 and f"callback-{task.pk}" != card.get_attribute("id")
    shot(page, "head-callbacks-after")
    on_a_tablet(page, "head-callbacks", ["/callbacks/"])
