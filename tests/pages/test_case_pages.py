"""The RM's list of cases and the customer 360's cases, as the RM reads them: one row per
customer, ranks 1..n, the budget marked on the first rows, the expected value and its
parts on each row, every signal's reason, the day's progress; on the 360 the open case,
the past ones with their history, and "already left" for a win-back case."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from retention.case_services import case_close, task_done
from retention.models import Case, CaseEvent
from tests.pages.conftest import TODAY, open_case, score
from tests.retention.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def page_of(client, user, url, language="en", **params) -> str:
    client.force_login(user)
    response = client.get(url, params, headers={"Accept-Language": language})
    assert response.status_code == 200
    return response.content.decode()


def ranks_of(html: str) -> list[int]:
    cells = re.findall(r'<tr class="(?:budget)?" id="row-\d+">\s*<td class="num"[^>]*>(.*?)</td>', html, re.S)
    return [int(re.sub(r"<[^>]+>", "", cell).strip()) for cell in cells]


@pytest.fixture
def rm_list(bank, settings):
    settings.RETENTION_DAILY_BUDGET = 3
    cases = [open_case(bank.customer, signals=("model_risk", "tier_downgrade", "aum_drop"), priority=31_450.0)]
    for i in range(4):
        customer = CustomerFactory(customer_id=f"L{i:05d}", branch=bank.branch, rm=bank.owner, name=f"客户{i}")
        cases.append(open_case(customer, priority=1_000.0 * (4 - i)))
    return cases


def test_one_row_per_customer_with_contiguous_ranks_and_the_budget_marked(client, bank, rm_list):
    html = page_of(client, bank.owner, reverse("retention:case_list"))

    assert ranks_of(html) == [1, 2, 3, 4, 5]
    assert html.count(bank.customer.name) == 1  # three signals, one row
    assert html.count('<tr class="budget"') == 3
    assert "The first 3 rows are today&#x27;s budget" in html or "The first 3 rows are today's budget" in html
    assert "0 of 3 done today" in html


def test_each_row_shows_its_expected_value_its_parts_and_every_signals_reasons(client, bank, rm_list):
    html = page_of(client, bank.owner, reverse("retention:case_list"))
    row = html.split(f'id="row-{rm_list[0].pk}"', 1)[1].split("</tr>", 1)[0]

    assert "<strong>31,450</strong>" in row
    assert "churn probability 70% × AUM at risk 300,000 × save rate 15% − contact cost 50" in row
    for label in ("Churn risk (model)", "Tier downgrade ahead", "Sharp AUM drop"):
        assert label in row
    for reason in ("AUM down 32% over 3 months", "Satisfaction score fell from 9 to 4",
                   "AUM only 6% above the gold tier floor of 50,000 CNY", "AUM down 35% in the last month"):
        assert reason in row, reason


def test_time_critical_cases_come_first_whatever_their_value(client, bank, rm_list):
    customer = CustomerFactory(customer_id="U00001", branch=bank.branch, rm=bank.owner, name="急客户")
    urgent = open_case(customer, priority=5.0, signals=("large_withdrawal",), urgent=True,
                       event_on=TODAY + dt.timedelta(days=1))
    html = page_of(client, bank.owner, reverse("retention:case_list"))
    assert html.index(f'id="row-{urgent.pk}"') < html.index(f'id="row-{rm_list[0].pk}"')
    assert ranks_of(html) == [1, 2, 3, 4, 5, 6]


def test_the_progress_line_counts_todays_work(client, bank, rm_list, frozen_day):
    task_done(task=rm_list[1].tasks.first(), user=bank.owner)
    case_close(case=rm_list[2], user=bank.owner, outcome="retained", reason="kept")
    html = page_of(client, bank.owner, reverse("retention:case_list"))
    assert "2 of 3 done today" in html and "1 task done" in html
    assert ranks_of(html) == [1, 2, 3, 4]
    chinese = page_of(client, bank.owner, reverse("retention:case_list"), language="zh-hans")
    assert "今日已处理 2 / 3" in chinese


def test_a_filtered_list_marks_no_budget_and_ranks_what_it_shows(client, bank, rm_list):
    html = page_of(client, bank.owner, reverse("retention:case_list"), signal="aum_drop")
    assert ranks_of(html) == [1]
    assert '<tr class="budget"' not in html


def test_the_360_shows_a_win_back_case_as_already_left_with_month_and_aum_lost(client, bank):
    score(bank.customer, band="low", probability=0.05)
    open_case(bank.customer, signals=("already_lost",), playbook="win_back", kind="win_back",
              lost_month=dt.date(2024, 4, 1), aum_lost=Decimal("1160000"))

    html = page_of(client, bank.owner, reverse("customers:detail", args=[bank.customer.pk]), language="zh-hans")

    header = html.split('id="already-lost"', 1)[1].split("</span>", 1)[0]
    assert "已流失（按定义）" in header and "2024年4月" in header and "1,160,000" in header
    assert "低风险" not in html.split("<div class=\"cols\">", 1)[0]  # not "low risk" in the header
    assert "赢回案例" in html


def test_a_case_closed_as_retained_is_on_the_360_after_a_reload_with_its_history(client, bank, case, frozen_day):
    task_done(task=case.tasks.first(), user=bank.owner)
    case_close(case=case, user=bank.owner, outcome="retained", reason="renewed for three years")

    html = page_of(client, bank.owner, reverse("customers:detail", args=[bank.customer.pk]))

    past = html.split('id="past-cases"', 1)[1]
    assert f'id="case-{case.pk}"' in past
    assert "Closed: retained" in past and "renewed for three years" in past and "Task done" in past
    assert "No open case for this customer" in html
    assert CaseEvent.objects.filter(case=case).count() == 2


def test_the_360_lists_past_cases_newest_first_and_never_a_held_out_one(client, bank):
    older = open_case(bank.customer, status="closed_lost", opened_on=dt.date(2023, 3, 1), close_reason="moved away")
    newer = open_case(bank.customer, status="cleared", opened_on=dt.date(2024, 1, 10))
    held_out = open_case(bank.customer, is_control=True)

    html = page_of(client, bank.owner, reverse("customers:detail", args=[bank.customer.pk]))

    assert html.index(f'id="case-{newer.pk}"') < html.index(f'id="case-{older.pk}"')
    assert f'id="case-{held_out.pk}"' not in html
    assert Case.objects.filter(customer=bank.customer).count() == 3


def test_without_script_a_refused_snooze_says_why_on_the_customer_page(client, bank, case):
    client.force_login(bank.owner)
    response = client.post(reverse("retention:case_snooze", args=[case.pk]), {"until": "2024-05-10"},
                           headers={"Accept-Language": "en"}, follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("customers:detail", args=[bank.customer.pk]))
    assert "Snooze until a later date." in response.content.decode()
    assert Case.objects.get(pk=case.pk).status == "open"


def test_the_lobby_manager_logging_a_visit_in_branch_completes_the_lobbys_task(client, bank):
    case = open_case(bank.customer, signals=("large_withdrawal",), event_on=TODAY + dt.timedelta(days=1))
    lobby_task = case.tasks.get(owner_role="lobby")
    client.force_login(bank.lobby)
    response = client.post(reverse("retention:case_contact", args=[case.pk]),
                           {"channel": lobby_task.channel, "result": "reached", "note": "seated in the wealth area"},
                           headers={"HX-Request": "true", "Accept-Language": "en"})
    assert response.status_code == 200
    lobby_task.refresh_from_db()
    assert lobby_task.status == "done" and lobby_task.done_by == bank.lobby and lobby_task.contact is not None
    assert "by a logged contact" in response.content.decode()
    # The RM's tasks are theirs to do.
    assert case.tasks.filter(owner_role="rm", status="open").exists()
