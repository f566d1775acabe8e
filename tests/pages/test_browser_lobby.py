"""The lobby manager's desk in a real browser (Playwright driving Debian's chromium against the
live server), once with a Chinese and once with an English browser: a flagged walk-in is looked
up, the talking points say the customer's own signals (the competitor's product maturing, with
our replacement; the booked withdrawal) before the segment's lines, and the visit is recorded
from the lookup itself, a wrong amount refused with its reason first. Screenshots at 1366x768
and on an upright tablet (768x1024) go to $SCREENSHOT_DIR, by default var/screenshots/.

Skipped when /usr/bin/chromium is missing, except under REQUIRE_REAL_SERVICES=1 (CI).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest

from tests.pages.branch_world import TODAY, book_withdrawal, interception_task, night
from tests.pages.test_browser import browser, lang, page, shot
from tests.pages.test_browser_branch import DESKTOP, TABLET, goto, log_in, world
from tests.pages.test_lobby_pages import competitor_matures

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

# The staff browser tests' fixtures and the branch world, named here so that pytest finds them.
SHARED_FIXTURES = (browser, lang, page, world)
SAVE = re.compile("^(保存|Save)$")


def _look_up(page, query: str):
    """The name as a Chinese input method commits it: one input event, one search (typed a
    character at a time, a later answer could replace the results under the form being filled)."""
    goto(page, "/lookup/")
    page.fill("input[name=q]", query)
    match = page.locator("#lookup-results .match.flagged").first
    match.wait_for()
    page.wait_for_function("document.querySelector('.htmx-request') === null")
    return match


def test_lobby_manager_reads_the_customers_own_signals_and_records_the_visit_from_the_lookup(page, world):
    competitor_matures(world.customer, on=TODAY + dt.timedelta(days=4))
    book_withdrawal(world.customer, amount="1160000.00")
    night()
    task = interception_task(world.customer)
    zh = page.lang == "zh-hans"

    log_in(page, world.lobby)
    match = _look_up(page, "王小")
    points = match.locator("ul.talking-points li")
    texts = points.all_inner_texts()
    # The customer's own signals first, in plain words with the day and how far off it is ...
    assert texts[0].startswith("已预约" if zh else "Large cash withdrawal of 1,160,000 CNY booked for")
    assert ("（今天）" if zh else "(today)") in texts[0]
    competitor = next(text for text in texts if ("他行理财" if zh else "Competitor wealth product") in text)
    assert ("（4天后）" if zh else "(in 4 days)") in competitor
    assert ("备好本行稳盈90天（年化3.10%）" if zh else "have our 稳盈90天 (3.10%) ready") in competitor
    # ... then the segment's lines; a platinum customer far above the floor hears nothing of tiers.
    assert match.locator("ul.talking-points li.point-segment").count() >= 1
    assert not any(("降级" if zh else "downgrade") in text for text in texts)
    shot(page, "lobby-walkin-talking-points")

    # The visit is recorded right in the lookup: an amount over the booking is refused with its reason.
    block = page.locator(f"#walkin-interception-{task.pk}")
    block.locator("summary").click()
    block.locator("input[name=outcome][value=funds_kept]").check()
    block.locator("input[name=amount_kept]").fill("2000000")
    block.get_by_role("button", name=SAVE).click()
    error = page.locator(f"#walkin-interception-{task.pk} .error")
    error.wait_for()
    assert ("不能超过预约的 1,160,000.00 元" if zh else "At most the booked 1,160,000.00 CNY can be kept.") in \
        error.inner_text()
    shot(page, "lobby-walkin-interception-refused")

    block = page.locator(f"#walkin-interception-{task.pk}")
    block.locator("input[name=outcome][value=funds_kept]").check()
    block.locator("input[name=amount_kept]").fill("900000")
    block.locator("input[name=note]").fill("转存稳盈90天")
    block.get_by_role("button", name=SAVE).click()
    page.locator(f"#walkin-interception-{task.pk} .flash").wait_for()
    done = page.locator(f"#walkin-interception-{task.pk}").inner_text()
    assert ("已到店：资金留存" if zh else "Came in: funds kept") in done and "900,000" in done
    shot(page, "lobby-walkin-interception-recorded")

    task.refresh_from_db()
    assert task.status == "done" and task.outcome == "funds_kept" and task.amount_kept == Decimal("900000")
    assert task.done_by == world.lobby
    # Looked up again, the booking is said by its record, no longer as something to do.
    match = _look_up(page, "王小")
    assert not any(("大额取现" if zh else "Large cash withdrawal of") in text
                   for text in match.locator("ul.talking-points li").all_inner_texts())
    assert ("已到店：资金留存" if zh else "Came in: funds kept") in match.inner_text()

    # The interception list says the same: done, with the amount kept.
    goto(page, "/interceptions/")
    card = page.locator(f"#interception-{task.pk}").inner_text()
    assert ("已到店：资金留存" if zh else "Came in: funds kept") in card and "900,000" in card

    # On an upright tablet the lookup reflows: nothing sticks out sideways.
    page.set_viewport_size(TABLET)
    match = _look_up(page, "王小")
    assert page.evaluate("document.documentElement.scrollWidth") <= TABLET["width"]
    shot(page, "tablet-lobby-walkin-talking-points")
    page.set_viewport_size(DESKTOP)
