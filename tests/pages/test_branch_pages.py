"""The branch's pages through the test client: the walk-in lookup's flags and hand-over, the
lobby's interception list and its record form, the head's callback queue and call form. Each
action is tried by the one who may (the branch's lobby manager or head), by a colleague and by
an outsider (another branch): a refusal is a 404, audited."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from audit.models import AuditAction, AuditEvent
from customers.models import ContactLog, Customer
from retention.models import Task
from tests.pages.branch_world import (
    TODAY,
    book_withdrawal,
    branch_world,
    callback_task,
    interception_task,
    night,
    open_case,
    satisfaction_fell,
)
from tests.retention.branch_factories import win_back_case
from tests.retention.factories import CustomerFactory

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


@pytest.fixture
def world(settings):
    settings.RETENTION_CONTROL_SHARE = 0.0
    with time_machine.travel(dt.datetime.combine(TODAY, dt.time(9), tzinfo=ZoneInfo("Asia/Shanghai")), tick=False):
        yield branch_world()


def _as(client, user, language="en"):
    client.force_login(user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = language
    return client


def _lookup(client, user, query, language="en") -> str:
    response = _as(client, user, language).post(reverse("customers:walkin_results"), {"q": query}, headers=HTMX)
    assert response.status_code == 200
    return response.content.decode()


# --- walk-in lookup -----------------------------------------------------------------------------


def test_a_walk_in_with_an_open_case_is_flagged_with_its_reasons_and_talking_points(client, world):
    book_withdrawal(world.customer, amount="1160000.00")
    night()

    page = _lookup(client, world.lobby, "王小")

    assert "match flagged" in page and "At risk: keep this customer" in page
    assert "Large withdrawal or transfer booked" in page
    # What to say starts from the booking itself, with its day and how far off it is.
    assert "Large cash withdrawal of 1,160,000 CNY booked for" in page
    assert "seat them in the wealth area and call the RM" in page
    task = interception_task(world.customer)
    assert f'href="/interceptions/#interception-{task.pk}"' in page
    # ... and the visit is recorded right there.
    assert f'id="walkin-interception-{task.pk}"' in page and 'name="shown_in" value="walkin"' in page


def test_a_walk_in_whose_satisfaction_fell_gets_the_lobbys_step_as_a_talking_point(client, world):
    world.customer.tier = "gold"  # not core: the lobby's attentive service on the next visit
    world.customer.save()
    satisfaction_fell(world.customer)
    night()

    page = _lookup(client, world.lobby, "王小")

    assert "What to say and do" in page
    assert "On the customer&#x27;s next visit, lobby staff give them attentive service." in page


def test_a_held_out_customer_looks_like_any_customer_without_a_case(client, world, settings):
    settings.RETENTION_CONTROL_SHARE = 1.0
    book_withdrawal(world.customer)
    night()
    assert open_case(world.customer).is_control
    unflagged = CustomerFactory(name="王无事", branch=world.branch, rm=world.owner)

    page = _lookup(client, world.lobby, "王")

    assert "flagged" not in page and "At risk" not in page and "What to say and do" not in page
    assert page.count("No risk flag") == 2
    assert unflagged.name in page and world.customer.name in page


@pytest.mark.parametrize("language,flag,month,lost", [
    ("zh-hans", "已流失（按定义）", "2024年3月", "880,000"),
    ("en", "Already left (by the churn definition)", "March 2024", "AUM lost 880,000 CNY"),
])
def test_a_win_back_customer_is_flagged_as_left_with_the_month_and_the_aum_lost(client, world, language, flag,
                                                                               month, lost):
    win_back_case(world.customer, lost_month=dt.date(2024, 3, 1), aum_lost="880000.00")

    page = _lookup(client, world.lobby, "王小", language)

    assert flag in page and month in page and lost in page
    assert "match flagged win-back" in page


def test_the_lookup_flags_only_what_the_user_may_see(client, world):
    book_withdrawal(world.customer)
    book_withdrawal(world.outsider_customer)
    night()
    page = _lookup(client, world.lobby, "王")
    assert world.customer.name in page and world.outsider_customer.name not in page
    assert world.customer.name not in _lookup(client, world.other_lobby, "王")


def test_the_hand_over_lands_on_the_rms_task_and_is_for_the_branch_lobby(client, world):
    satisfaction_fell(world.customer)
    night()
    url = reverse("customers:handover", args=[world.customer.pk])
    for user in (world.other_lobby, world.owner, world.colleague):
        assert _as(client, user).post(url, {"note": "loan"}, headers=HTMX).status_code == 404, user
    assert not ContactLog.objects.exists()

    response = _as(client, world.lobby).post(url, {"note": "wants a loan"}, headers=HTMX)

    assert response.status_code == 200
    page = response.content.decode()
    assert "Handed over to Rm Owner: it is on their list for today." in page
    rm_task = Task.objects.get(case__customer=world.customer, owner=world.owner, status="open", due_on=TODAY)
    assert f"Due today: {rm_task.text_en}" in page
    contact = ContactLog.objects.get(customer=world.customer)
    assert "wants a loan" in contact.note and contact.next_step_on == TODAY and contact.staff == world.lobby


# --- the interception list --------------------------------------------------------------------


def test_the_interception_list_is_the_branch_lobbys(client, world):
    book_withdrawal(world.customer, amount="500000.00", kind="transfer")
    book_withdrawal(world.outsider_customer, on=TODAY + dt.timedelta(days=1))
    night()
    url = reverse("customers:interceptions")
    task = interception_task(world.customer)

    page = _as(client, world.lobby).get(url).content.decode()

    assert world.customer.name in page and world.outsider_customer.name not in page
    assert "Large transfer" in page and "500,000" in page
    assert f'id="interception-{task.pk}"' in page and "Record the visit" in page
    assert world.customer.name not in _as(client, world.other_lobby).get(url).content.decode()
    assert world.customer.name not in _as(client, world.colleague).get(url).content.decode()
    # The customer's RM sees the interception coming, without the lobby's form.
    rm_page = _as(client, world.owner).get(url).content.decode()
    assert world.customer.name in rm_page and "Record the visit" not in rm_page


def test_recording_an_interception_completes_the_lobbys_task(client, world):
    book_withdrawal(world.customer)
    night()
    task = interception_task(world.customer)
    url = reverse("customers:interception_record", args=[task.pk])

    response = _as(client, world.lobby).post(url, {"outcome": "funds_kept", "amount_kept": "350000",
                                                   "note": "3-month product"}, headers=HTMX)

    assert response.status_code == 200
    page = response.content.decode()
    assert "Interception recorded." in page and "Came in: funds kept" in page and "350,000 CNY kept" in page
    task.refresh_from_db()
    assert task.status == "done" and task.amount_kept == Decimal("350000") and task.done_by == world.lobby
    # Reloaded, the list shows it done with its outcome.
    listed = _as(client, world.lobby).get(reverse("customers:interceptions")).content.decode()
    assert "Came in: funds kept" in listed and "Record the visit" not in listed


@pytest.mark.parametrize("language,data,message", [
    ("en", {}, "Say whether the customer came in and what became of the funds."),
    ("en", {"outcome": "funds_kept"}, "Enter the amount the customer kept with us."),
    ("en", {"outcome": "funds_kept", "amount_kept": "9000000"}, "At most the booked 500,000.00 CNY can be kept."),
    ("en", {"outcome": "funds_kept", "amount_kept": "lots"}, "Enter a number."),
    ("zh-hans", {}, "请说明客户是否到店以及资金的去向。"),
])
def test_an_incomplete_interception_is_answered_with_its_message(client, world, language, data, message):
    book_withdrawal(world.customer)
    night()
    task = interception_task(world.customer)

    response = _as(client, world.lobby, language).post(reverse("customers:interception_record", args=[task.pk]),
                                                       data, headers=HTMX)

    assert response.status_code == 422
    assert message in response.content.decode()
    assert Task.objects.get(pk=task.pk).status == "open"


def test_an_interception_is_recorded_by_the_branch_lobby_only(client, world):
    book_withdrawal(world.customer)
    satisfaction_fell(world.customer)
    night()
    task = interception_task(world.customer)
    url = reverse("customers:interception_record", args=[task.pk])
    data = {"outcome": "did_not_come"}
    for user in (world.owner, world.colleague, world.other_lobby, world.outsider):
        assert _as(client, user).post(url, data, headers=HTMX).status_code == 404, user
    # The head's callback is no interception.
    not_an_interception = reverse("customers:interception_record", args=[callback_task(world.customer).pk])
    assert _as(client, world.lobby).post(not_an_interception, data, headers=HTMX).status_code == 404
    assert Task.objects.get(pk=task.pk).status == "open"
    assert AuditEvent.objects.filter(action=AuditAction.DENIED).count() == 5


# --- the callback queue ---------------------------------------------------------------------------


def test_the_callback_queue_is_the_branch_heads(client, world):
    satisfaction_fell(world.customer, comment="waited an hour")
    satisfaction_fell(world.outsider_customer)
    night()
    url = reverse("retention:callback_queue")
    task = callback_task(world.customer)

    page = _as(client, world.head).get(url).content.decode()

    assert f'id="callback-{task.pk}"' in page and "waited an hour" in page and "Record the call" in page
    assert "Satisfaction score fell from 9 to 3" in page
    assert world.outsider_customer.name not in page
    assert world.customer.name not in _as(client, world.other_head).get(url).content.decode()
    lobby_page = _as(client, world.lobby).get(url).content.decode()
    assert world.customer.name in lobby_page and "Record the call" not in lobby_page


@pytest.mark.parametrize("language,data,message", [
    ("en", {}, "Choose how the call went."),
    ("en", {"note": "said it was fine"}, "Choose how the call went."),
    ("en", {"outcome": "reason_learnt"}, "Write down the reason the customer gave."),
    ("zh-hans", {}, "请选择回访结果。"),
    ("zh-hans", {"outcome": "reason_learnt", "note": " "}, "请记下客户说明的原因。"),
    ("en", {"outcome": "reached"}, "Write down what the customer said."),
    ("zh-hans", {"outcome": "reached", "note": ""}, "请记下客户说了什么。"),
])
def test_an_empty_callback_form_is_refused_with_its_message(client, world, language, data, message):
    satisfaction_fell(world.customer)
    night()
    task = callback_task(world.customer)

    response = _as(client, world.head, language).post(reverse("retention:callback_record", args=[task.pk]), data,
                                                      headers=HTMX)

    assert response.status_code == 422
    page = response.content.decode()
    assert message in page
    assert Task.objects.get(pk=task.pk).status == "open" and not ContactLog.objects.exists()
    # The message stands by the field it is about, which points to it; what was typed stays.
    field = "outcome" if "outcome" not in data else "note"
    error_id = f"callback-{task.pk}-{field}-error"
    assert f'id="{error_id}"' in page and f'aria-describedby="{error_id}"' in page.replace(
        f"callback-{task.pk}-note-help ", "")
    assert page.index(f'id="{error_id}"') > page.index('name="outcome"' if field == "outcome" else 'name="note"')
    assert 'value="reason_learnt" checked' in page if data.get("outcome") == "reason_learnt" else True
    # The whole card comes back, to swap in place of the one on the queue.
    assert page.lstrip().startswith("<article") and f'id="callback-{task.pk}"' in page


@pytest.mark.parametrize("language,reached,said", [
    ("en", "Did you reach the customer?", "What did the customer say?"),
    ("zh-hans", "是否联系上客户？", "客户怎么说？"),
])
def test_the_call_form_asks_two_distinct_questions_and_chooses_nothing_beforehand(client, world, language,
                                                                                  reached, said):
    satisfaction_fell(world.customer)
    night()

    page = _as(client, world.head, language).get(reverse("retention:callback_queue")).content.decode()

    form = page[page.index('class="callback-form"'):]
    form = form[:form.index("</form>")]
    assert f"<legend>{reached}</legend>" in form and said in form
    assert "回访结果" not in form and ">结果<" not in form and "How did the call go?" not in form
    assert "checked" not in form


def test_a_saved_call_swaps_the_whole_card_with_its_new_status(client, world):
    satisfaction_fell(world.customer)
    night()
    task = callback_task(world.customer)
    queue = _as(client, world.head).get(reverse("retention:callback_queue")).content.decode()
    card = queue[queue.index(f'id="callback-{task.pk}"'):]
    assert ">Open</span>" in card[:card.index("</article>")]
    assert f'hx-target="#callback-{task.pk}"' in card

    response = _as(client, world.head).post(reverse("retention:callback_record", args=[task.pk]),
                                            {"outcome": "reached", "note": "apologised; will stay"}, headers=HTMX)

    page = response.content.decode()
    assert response.status_code == 200 and page.lstrip().startswith("<article")
    # The case is being worked now, and the call just made shows done (not still to do).
    assert ">In progress</span>" in page and ">Open</span>" not in page
    assert "Call recorded." in page and '<span class="badge ok">Done</span>' in page
    assert "apologised; will stay" in page


def test_a_saved_call_posted_without_script_returns_to_the_queue(client, world):
    satisfaction_fell(world.customer)
    night()
    task = callback_task(world.customer)

    response = _as(client, world.head).post(reverse("retention:callback_record", args=[task.pk]),
                                            {"outcome": "reason_learnt", "note": "the queue was too long"})

    assert response.status_code == 302
    assert response["Location"] == reverse("retention:callback_queue") + f"#callback-{task.pk}"
    assert Task.objects.get(pk=task.pk).status == "done"


def test_an_untouched_contact_form_on_a_case_logs_nothing(client, world):
    satisfaction_fell(world.customer)
    night()
    case = callback_task(world.customer).case

    response = _as(client, world.owner).post(reverse("retention:case_contact", args=[case.pk]),
                                             {"channel": "call", "note": ""}, headers=HTMX)

    assert "Choose the result of the contact." in response.content.decode()
    assert not ContactLog.objects.exists()
    card = _as(client, world.owner, "zh-hans").get(reverse("customers:detail", args=[world.customer.pk]))
    body = card.content.decode()
    assert "联系结果" in body and '<option value="" selected>—</option>' in body


def test_a_recorded_callback_shows_done_and_stays_done_after_a_reload(client, world):
    satisfaction_fell(world.customer)
    night()
    task = callback_task(world.customer)

    response = _as(client, world.head).post(reverse("retention:callback_record", args=[task.pk]),
                                            {"outcome": "reason_learnt", "note": "the queue was too long"},
                                            headers=HTMX)

    assert response.status_code == 200
    page = response.content.decode()
    assert "Call recorded." in page and "Done" in page and "Reached: reason learnt" in page
    assert Task.objects.get(pk=task.pk).status == "done"
    # Reloaded, the customer's card shows the call done today, above the check-back call still to make.
    reloaded = _as(client, world.head).get(reverse("retention:callback_queue")).content.decode()
    assert reloaded.count(f'data-case="{task.case_id}"') == 1
    card = reloaded[reloaded.index(f'data-case="{task.case_id}"'):]
    card = card[:card.index("</article>")]
    assert "Done" in card and "Reached: reason learnt" in card and "the queue was too long" in card
    check_back = Task.objects.get(case_id=task.case_id, owner_role="head", status="open")
    assert check_back != task and f'id="callback-{check_back.pk}"' in reloaded
    assert card.index("the queue was too long") < card.index("Record the call")


def test_a_callback_not_reached_stays_on_the_queue_for_tomorrow(client, world):
    satisfaction_fell(world.customer)
    night()
    task = callback_task(world.customer)
    Task.objects.filter(pk=task.pk).update(due_on=TODAY)

    response = _as(client, world.head).post(reverse("retention:callback_record", args=[task.pk]),
                                            {"outcome": "not_reached"}, headers=HTMX)

    assert response.status_code == 200
    assert "Not reached: the call is on your list again for" in response.content.decode()
    assert "Record the call" in response.content.decode()
    assert Task.objects.get(pk=task.pk).due_on == TODAY + dt.timedelta(days=1)


def test_a_callback_is_recorded_by_the_branch_head_only(client, world):
    satisfaction_fell(world.customer)
    book_withdrawal(world.customer)
    night()
    task = callback_task(world.customer)
    url = reverse("retention:callback_record", args=[task.pk])
    data = {"outcome": "reached"}
    for user in (world.lobby, world.owner, world.colleague, world.other_head, world.outsider):
        assert _as(client, user).post(url, data, headers=HTMX).status_code == 404, user
    interception = reverse("retention:callback_record", args=[interception_task(world.customer).pk])
    assert _as(client, world.head).post(interception, data, headers=HTMX).status_code == 404
    assert _as(client, world.head).post(reverse("retention:callback_record", args=[10**9]), data,
                                        headers=HTMX).status_code == 404
    assert Task.objects.get(pk=task.pk).status == "open"
    assert AuditEvent.objects.filter(action=AuditAction.DENIED).count() == 7


# --- a fixed number of queries, however many rows ------------------------------------------------


def _queries(client, user, method, url, data=None) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _as(client, user)
    with CaptureQueriesContext(connection) as queries:
        response = getattr(client, method)(url, data or {}, headers=HTMX)
    assert response.status_code == 200
    return len(queries)


def test_the_branch_pages_take_as_many_queries_for_three_rows_as_for_one(client, world):
    def bank_of(n: int) -> None:
        for _ in range(n):
            i = Customer.objects.count()
            customer = CustomerFactory(customer_id=f"Q{i:06d}", name=f"王客{i}", branch=world.branch, rm=world.owner,
                                       tier="platinum", latest_aum=Decimal("800000"))
            book_withdrawal(customer)
            satisfaction_fell(customer)

    def counts() -> tuple[int, int, int]:
        night()
        return (_queries(client, world.lobby, "post", reverse("customers:walkin_results"), {"q": "王客"}),
                _queries(client, world.lobby, "get", reverse("customers:interceptions")),
                _queries(client, world.head, "get", reverse("retention:callback_queue")))

    bank_of(1)
    one = counts()
    bank_of(2)
    three = counts()
    assert one == three, (one, three)
