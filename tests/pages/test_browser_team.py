"""The team's day in a real browser (Playwright driving Debian's chromium against the live
server), once with a Chinese and once with an English browser: the branch head reassigns two
cases in one action from the case list and completes a callback; the RM's digest lists exactly
the tasks due today. Screenshots at 1366x768 and on an upright tablet (768x1024) go to
$SCREENSHOT_DIR, by default var/screenshots/, named page-language.

Skipped when /usr/bin/chromium is missing, except under REQUIRE_REAL_SERVICES=1 (CI).
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine

from retention.models import Case, CaseEvent, Task
from retention.selectors import tasks_due_for_user
from tests.pages.branch_world import TODAY, branch_world, callback_task, night, satisfaction_fell
from tests.pages.test_browser import browser, lang, page, shot
from tests.pages.test_browser_branch import goto, log_in, on_a_tablet
from tests.retention.factories import CaseFactory, CustomerFactory, TaskFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

# The staff browser tests' fixtures, named here so that pytest finds them in this module.
SHARED_FIXTURES = (browser, lang, page)


@pytest.fixture
def world(settings, live_server):
    settings.RETENTION_CONTROL_SHARE = 0.0
    with time_machine.travel(dt.datetime.combine(TODAY, dt.time(9), tzinfo=ZoneInfo("Asia/Shanghai")), tick=False):
        world = branch_world()
        satisfaction_fell(world.customer, comment="排队太久")
        night()
        # Two more customers of the owner, each with the RM's call due today (one with a second
        # step due tomorrow and one overdue since yesterday).
        world.extra = []
        for number, (name, priority) in enumerate((("李娜", 42_000.0), ("张伟", 18_500.0)), start=1):
            customer = CustomerFactory(customer_id=f"C90000{number}", name=name, branch=world.branch, rm=world.owner)
            case = CaseFactory(customer=customer, opened_on=TODAY, priority=priority)
            TaskFactory(case=case, due_on=TODAY, text_zh=f"致电{name}，确认到期资金去向",
                        text_en=f"Call {name} about the maturing funds")
            world.extra.append(case)
        TaskFactory(case=world.extra[0], due_on=TODAY + dt.timedelta(days=1), text_zh="寄送产品说明书",
                    text_en="Post the product sheet")
        TaskFactory(case=world.extra[1], due_on=TODAY - dt.timedelta(days=1), text_zh="回访转账意向",
                    text_en="Follow up on the transfer")
        yield world


def test_branch_head_reassigns_two_cases_in_one_action_and_completes_a_callback(page, world):
    zh = page.lang == "zh-hans"
    first, second = world.extra

    log_in(page, world.head)
    goto(page, "/cases/")
    page.locator("#reassign").wait_for()
    shot(page, "head-case-list-reassign")
    page.locator(f"#row-{first.pk} input[type=checkbox][name=case]").check()
    page.locator(f"#row-{second.pk} input[type=checkbox][name=case]").check()
    page.select_option("#reassign select[name=to]", str(world.colleague.pk))
    with page.expect_navigation():
        page.get_by_role("button", name=re.compile("转派已勾选的案例|Reassign the ticked cases")).click()
    message = page.locator("ul.messages li.success").inner_text()
    assert (f"已将 2 个案例及其 4 个未完成任务转派给 {world.colleague}" if zh
            else f"2 cases and their 4 open tasks reassigned to {world.colleague}.") in message
    shot(page, "head-case-list-reassigned")

    for case in (first, second):
        case.refresh_from_db()
        assert case.owner == world.colleague and case.customer.rm == world.colleague
        assert set(case.tasks.values_list("owner", flat=True)) == {world.colleague.pk}
        assert case.events.get(action=CaseEvent.Action.REASSIGNED).actor == world.head
    # The owner's own case (the satisfaction drop) stayed.
    assert Case.objects.get(customer=world.customer).owner == world.owner
    on_a_tablet(page, "head-case-list", ["/cases/"])

    # The callback of the same morning, from the queue.
    task = callback_task(world.customer)
    goto(page, "/callbacks/")
    card = page.locator(f"#callback-{task.pk}")
    card.locator("input[name=outcome][value=reason_learnt]").check()
    card.locator("textarea[name=note]").fill("周末排队太久，已致歉并安排专属窗口")
    card.get_by_role("button", name=re.compile("保存回访|Save call")).click()
    # The whole card is swapped (the check-back call that follows shows under the one just done).
    page.locator(f"article[data-case='{task.case_id}'] .callback-done .flash").wait_for()
    task = Task.objects.get(pk=task.pk)
    assert task.status == "done" and task.outcome == "reason_learnt" and task.done_by == world.head
    shot(page, "head-callback-after-reassign")


def test_the_rms_digest_lists_exactly_the_tasks_due_today(page, world):
    zh = page.lang == "zh-hans"
    due = set(tasks_due_for_user(user=world.owner, today=TODAY, due="today").values_list("pk", flat=True))
    assert len(due) >= 2

    log_in(page, world.owner)
    goto(page, "/cases/")
    page.get_by_role("link", name=re.compile("今日摘要|Digest")).first.click()
    page.wait_for_load_state("networkidle")
    section = page.locator("#digest-due-today")
    listed = {int(pk) for pk in section.locator("li[data-task]").evaluate_all(
        "items => items.map(item => item.dataset.task)")}
    assert listed == due
    assert page.locator("#count-due-today").inner_text() == str(len(due))
    assert ("致电李娜，确认到期资金去向" if zh else "Call 李娜 about the maturing funds") in section.inner_text()
    assert ("寄送产品说明书" if zh else "Post the product sheet") not in section.inner_text()  # tomorrow's
    overdue = page.locator("#digest-overdue").inner_text()
    assert ("回访转账意向" if zh else "Follow up on the transfer") in overdue
    assert ("李娜" in page.locator("#digest-new-cases").inner_text())
    shot(page, "rm-digest")

    # The tile leads to the list filtered the same way: the same count.
    with page.expect_navigation():
        page.locator("a.digest-tile").first.click()
    assert page.locator("#due-count strong").inner_text() == str(len(due))
    shot(page, "rm-case-list-due-today")
    on_a_tablet(page, "rm-digest", ["/digest/", "/cases/?due=today"])
