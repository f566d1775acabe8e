"""The rough edges a branch user met, in a real browser, in both languages: the RM's list on an
upright tablet (768x1024) is a column of cards, nothing cut off and no sideways scroll; the
head's call form refuses an empty or wordless record by the field concerned, and once saved
the card says what became of the call and of the case. Screenshots at 1366x768 and 768x1024
(``edges-*``) go where the other browser tests put theirs."""

from __future__ import annotations

import re

import pytest

from customers.models import ContactLog
from retention.models import Task
from tests.pages.branch_world import PASSWORD, callback_task, night, satisfaction_fell
from tests.pages.test_browser import OTHERS, browser, lang, log_in, page, rm_day, shot
from tests.pages.test_browser_branch import world

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

# The staff and branch browser tests' fixtures, named here so that pytest finds them.
SHARED_FIXTURES = (browser, lang, page, rm_day, world)
TABLET = {"width": 768, "height": 1024}
DESKTOP = {"width": 1366, "height": 768}


def _no_sideways_scroll(page) -> None:
    assert page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth"), page.url
    # Nor inside a frame of its own: the list's wrapper does not scroll either.
    assert page.evaluate("[...document.querySelectorAll('.table-wrap')].every(w => w.scrollWidth <= w.clientWidth)")


def test_the_rm_list_on_a_tablet_is_a_column_of_cards_with_nothing_cut_off(page, rm_day):
    log_in(page, rm_day.owner)
    page.set_viewport_size(TABLET)
    page.goto(page.base_url + "/cases/")
    page.wait_for_load_state("networkidle")
    rows = page.locator("table.case-list tbody tr")
    assert rows.count() == len(OTHERS) + 1
    _no_sideways_scroll(page)
    width = page.evaluate("window.innerWidth")
    for i in range(rows.count()):
        row = rows.nth(i)
        assert row.evaluate("r => getComputedStyle(r).display") == "grid"
        name = row.locator("td.cell-customer a").bounding_box()
        # A name on one line, not one character per line.
        assert name["height"] < 30 and name["width"] > 30, name
        for cell in ("td.cell-status", "td.cell-task"):
            box = row.locator(cell).bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= width, (cell, box)
        # Each figure carries its column's name, as the table's header would.
        label = row.locator("td.cell-task").evaluate("td => getComputedStyle(td, '::before').content")
        assert ("下一项任务" if page.lang == "zh-hans" else "Next task") in label, label
    shot(page, "edges-tablet-rm-list")
    page.set_viewport_size(DESKTOP)
    page.goto(page.base_url + "/cases/")
    assert rows.first.evaluate("r => getComputedStyle(r).display") == "table-row"
    _no_sideways_scroll(page)
    shot(page, "edges-rm-list")


def _branch_log_in(page, user) -> None:
    page.goto(page.base_url + "/login/")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


@pytest.mark.parametrize("viewport", [DESKTOP, TABLET], ids=["desktop", "tablet"])
def test_the_call_form_refuses_by_the_field_and_the_saved_card_shows_the_new_status(page, world, viewport):
    satisfaction_fell(world.customer, comment="排队太久")
    night()
    task = callback_task(world.customer)
    zh = page.lang == "zh-hans"
    suffix = "" if viewport is DESKTOP else "-tablet"
    page.set_viewport_size(viewport)
    _branch_log_in(page, world.head)
    page.goto(page.base_url + "/callbacks/")
    page.wait_for_load_state("networkidle")
    card = page.locator(f"#callback-{task.pk}")
    assert card.locator("legend").inner_text() == ("是否联系上客户？" if zh else "Did you reach the customer?")
    assert card.locator("input[name=outcome]:checked").count() == 0
    save = re.compile("保存回访|Save call")

    # Nothing chosen: the message stands in the question's own box, which points to it.
    card.get_by_role("button", name=save).click()
    error = page.locator(f"#callback-{task.pk} fieldset .field-error")
    error.wait_for()
    assert ("请选择回访结果" if zh else "Choose how the call went.") in error.inner_text()
    assert page.locator(f"#callback-{task.pk} fieldset").get_attribute("aria-invalid") == "true"

    # Reached, but nothing said: refused by the note, the choice kept.
    page.locator(f"#callback-{task.pk} input[name=outcome][value=reached]").check()
    page.locator(f"#callback-{task.pk}").get_by_role("button", name=save).click()
    note_error = page.locator(f"#callback-{task.pk}-note-error")
    note_error.wait_for()
    assert ("请记下客户说了什么" if zh else "Write down what the customer said.") in note_error.inner_text()
    assert page.locator(f"#callback-{task.pk} input[name=outcome][value=reached]").is_checked()
    _no_sideways_scroll(page)
    shot(page, f"edges-callback-refused{suffix}")
    assert not ContactLog.objects.exists()

    page.locator(f"#callback-{task.pk} textarea[name=note]").fill("已致歉，客户表示会继续在本行办理")
    page.locator(f"#callback-{task.pk}").get_by_role("button", name=save).click()
    saved = page.locator(f"article[data-case='{task.case_id}'] .callback-done .flash")
    saved.wait_for()
    card = page.locator(f"article[data-case='{task.case_id}']")
    text = card.inner_text()
    # The badges say what became of the call and of the case: not "open" any more.
    assert ("已完成" if zh else "Done") in text
    assert ("处理中" if zh else "In progress") in card.locator("span.badge").all_inner_texts()
    assert ("未处理" if zh else "Open") not in card.locator("span.badge").all_inner_texts()
    _no_sideways_scroll(page)
    shot(page, f"edges-callback-saved{suffix}")
    assert Task.objects.get(pk=task.pk).status == "done"
