"""A customer's wishes in a real browser (Playwright driving Debian's chromium against the
live server), once with a Chinese and once with an English browser: the RM records on the
customer 360 that the customer wants no more calls; the case, whose every task is a call,
then shows why it cannot be called instead of the contact form, on the 360 and at the end
of today's list; clearing the request brings the form back. Screenshots at 1366x768 and on
an upright tablet (768x1024) go to $SCREENSHOT_DIR, by default var/screenshots/.

Skipped when /usr/bin/chromium is missing, except under REQUIRE_REAL_SERVICES=1 (CI).
"""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from customers.models import ContactConsent
from tests.pages.conftest import add_history, open_case, score
from tests.pages.test_browser import browser, lang, log_in, page, shot
from tests.retention.factories import CustomerFactory

pytestmark = pytest.mark.django_db(transaction=True)

# The staff browser tests' fixtures (one chromium per module, the page with its script-error
# check, both languages), named here so that pytest finds them in this module.
SHARED_FIXTURES = (browser, lang, page)
TABLET = {"width": 768, "height": 1024}
DESKTOP = {"width": 1366, "height": 768}

REASON = {
    "zh-hans": "客户要求不接受电话联系（2024-05-15，本人致电）",
    "en": "The customer asked not to be contacted: phone call (2024-05-15, 本人致电)",
}
LOG_CONTACT = re.compile("^(记录联系|Log contact)$")


@pytest.fixture
def calls_only(bank, live_server, settings):
    """The owner's customer with a case whose every task is a call (the tier-downgrade
    playbook), the most valuable on the list, and two other cases."""
    settings.RETENTION_DAILY_BUDGET = 2
    add_history(bank.customer)
    score(bank.customer)
    case = open_case(bank.customer, signals=("tier_downgrade",), priority=50_000.0)
    for i, name in enumerate(("李娜", "张伟")):
        open_case(CustomerFactory(customer_id=f"C20000{i}", name=name, branch=bank.branch, rm=bank.owner),
                  priority=2_000.0 - i)
    return case


def on_a_tablet(page, name: str, path: str) -> None:
    page.set_viewport_size(TABLET)
    page.goto(page.base_url + path)
    page.wait_for_load_state("networkidle")
    assert page.evaluate("document.documentElement.scrollWidth") <= TABLET["width"], path
    shot(page, f"tablet-{name}")
    page.set_viewport_size(DESKTOP)


def test_a_do_not_contact_customers_case_shows_why_it_cannot_be_called(page, bank, calls_only):
    case = calls_only
    customer_url = reverse("customers:detail", args=[bank.customer.pk])
    # A slow machine (a shared CI runner) must not fail a page that answers in 300 ms at rest.
    page.set_default_timeout(45_000)
    log_in(page, bank.owner)
    page.goto(page.base_url + customer_url)
    page.wait_for_load_state("networkidle")
    card = page.locator(f"#case-{case.pk}")
    assert card.locator("summary", has_text=LOG_CONTACT).is_visible()

    # The customer called: no more phone calls. The RM records it on the 360.
    consents = page.locator("#consents")
    consents.locator("summary").click()
    consents.locator("select[name=consent-channel]").select_option("call")
    consents.locator("input[name=consent-reason]").fill("本人致电")
    consents.get_by_role("button", name=re.compile("^(保存|Save)$")).click()
    page.locator("#consents .flash").wait_for()
    assert ContactConsent.objects.get(customer=bank.customer).do_not_contact

    # The card says so, and the case (out of band) shows why instead of the contact form.
    assert "本人致电" in page.locator("#consents .consent-list").inner_text()
    blocked = page.locator(f"#case-{case.pk} .contact-blocked")
    blocked.wait_for()
    assert REASON[page.lang] in blocked.inner_text()
    assert page.locator(f"#case-{case.pk} summary", has_text=LOG_CONTACT).count() == 0
    blocked.scroll_into_view_if_needed()
    shot(page, "consent-360")

    # Today's list: the most valuable case comes last, out of the budget, with the reason.
    page.goto(page.base_url + reverse("retention:case_list"))
    page.wait_for_load_state("networkidle")
    rows = page.locator("table.case-list tbody tr")
    assert rows.count() == 3
    last = rows.nth(2)
    assert bank.customer.name in last.inner_text() and REASON[page.lang] in last.inner_text()
    assert "budget" not in (last.get_attribute("class") or "")
    assert page.locator("table.case-list tbody tr.budget").count() == 2
    shot(page, "consent-list")
    on_a_tablet(page, "consent-list", reverse("retention:case_list"))
    on_a_tablet(page, "consent-360", customer_url)

    # The customer changed their mind: clearing the request brings the contact form back.
    page.goto(page.base_url + customer_url)
    page.wait_for_load_state("networkidle")
    page.locator("#consents .consent-list button").click()
    page.locator("#consents .flash").wait_for()
    page.locator(f"#case-{case.pk} summary", has_text=LOG_CONTACT).wait_for()
    assert page.locator(f"#case-{case.pk} .contact-blocked").count() == 0
    assert not ContactConsent.objects.get(customer=bank.customer).do_not_contact
