"""The team's pages: the digest (/digest/) of each role, the list's digest filters, and the
head's bulk reassign from the case list (owner, colleague, outsider, head of another branch)."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from audit.models import AuditAction, AuditEvent
from customers.models import Role
from retention.digest import digest_for_user
from retention.escalation import tasks_escalate
from retention.models import Case, CaseEvent, Task
from tests.pages.branch_world import PASSWORD, TODAY, branch_world
from tests.retention.factories import CaseFactory, CustomerFactory, TaskFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(settings):
    settings.RETENTION_CONTROL_SHARE = 0.0
    with time_machine.travel(dt.datetime.combine(TODAY, dt.time(9), tzinfo=ZoneInfo("Asia/Shanghai")), tick=False):
        yield branch_world()


def _client(client, user, language="en"):
    client.login(username=user.username, password=PASSWORD)
    client.cookies["django_language"] = language
    return client


def _case(world, rm, *, name, branch=None, **kwargs) -> Case:
    number = Case.objects.count() + 100
    customer = CustomerFactory(customer_id=f"T{number:06d}", branch=branch or world.branch, rm=rm, name=name)
    return CaseFactory(customer=customer, **kwargs)


def test_the_rms_digest_lists_exactly_the_tasks_due_as_the_list_shows_them(client, world):
    first = _case(world, world.owner, name="李娜")
    second = _case(world, world.owner, name="张伟")
    TaskFactory(case=first, due_on=TODAY, text_en="Call about the maturing deposit")
    TaskFactory(case=first, due_on=TODAY, text_en="Send the rate sheet")
    TaskFactory(case=second, due_on=TODAY, text_en="Invite to the branch event")
    TaskFactory(case=second, due_on=TODAY - dt.timedelta(days=1), text_en="Follow up on the transfer")
    TaskFactory(case=_case(world, world.colleague, name="刘洋"), due_on=TODAY, text_en="The colleague's call")
    _client(client, world.owner)

    page = client.get(reverse("retention:digest")).content.decode()
    listed = client.get(reverse("retention:case_list") + "?due=today").content.decode()

    due_section = page.split('id="digest-due-today"')[1].split("</section>")[0]
    assert due_section.count("<li data-task=") == 3
    for text in ("Call about the maturing deposit", "Send the rate sheet", "Invite to the branch event"):
        assert text in due_section
    assert "The colleague's call" not in page and "Follow up on the transfer" not in due_section
    shown = int(re.search(r'id="count-due-today">(\d+)<', page).group(1))
    on_the_list = int(re.search(r'id="due-count"><strong>(\d+)</strong>', listed).group(1))
    assert shown == on_the_list == digest_for_user(user=world.owner, day=TODAY).due_today.count == 3
    # One row per case on the list, the second task of the first case counted beside it.
    assert listed.count('<tr class="') == 2 and "+1 more task" in listed


def test_the_digest_page_is_in_chinese_for_a_chinese_browser(client, world):
    TaskFactory(case=_case(world, world.owner, name="李娜"), due_on=TODAY, text_zh="致电客户")
    _client(client, world.owner, language="zh-hans")

    page = client.get(reverse("retention:digest")).content.decode()

    assert "今日摘要" in page and "今日截止" in page and "致电客户" in page


def test_the_heads_digest_and_list_show_the_escalated_tasks(client, world, settings):
    settings.RETENTION_ESCALATE_AFTER_DAYS = 2
    stuck = TaskFactory(case=_case(world, world.colleague, name="陈静"), due_on=TODAY - dt.timedelta(days=3),
                        text_en="Call before the funds leave")
    tasks_escalate(today=TODAY)
    _client(client, world.head)

    page = client.get(reverse("retention:digest")).content.decode()
    listed = client.get(reverse("retention:case_list") + "?due=escalated").content.decode()

    escalated = page.split('id="digest-escalated"')[1].split("</section>")[0]
    assert "Call before the funds leave" in escalated and str(world.colleague) in escalated
    assert f'id="row-{stuck.case_id}"' in listed and "escalated" in listed
    # The RM's digest has no escalated part; the RM sees their late task as overdue.
    _client(client, world.colleague)
    rm_page = client.get(reverse("retention:digest")).content.decode()
    assert 'id="digest-escalated"' not in rm_page and "Call before the funds leave" in rm_page


def test_an_analyst_has_no_digest_and_no_link_to_one(client, world):
    analyst = UserFactory(username="analyst", role=Role.ANALYST, branch=None)
    analyst.set_password(PASSWORD)
    analyst.save()
    _client(client, analyst)

    assert client.get(reverse("retention:digest")).status_code == 404
    _client(client, world.lobby)
    assert reverse("retention:digest") in client.get(reverse("customers:walkin")).content.decode()


# --- bulk reassign -------------------------------------------------------------------------------


def test_the_heads_list_has_the_reassign_bar_and_an_rms_has_none(client, world):
    _case(world, world.owner, name="李娜")
    _client(client, world.head)
    head_list = client.get(reverse("retention:case_list")).content.decode()
    assert 'id="reassign"' in head_list and 'name="case"' in head_list
    assert f'<option value="{world.colleague.pk}">' in head_list
    assert f'<option value="{world.outsider.pk}">' not in head_list  # an RM of another branch

    _client(client, world.owner)
    assert 'id="reassign"' not in client.get(reverse("retention:case_list")).content.decode()


def test_the_head_reassigns_two_cases_in_one_action(client, world):
    first, second = _case(world, world.owner, name="李娜"), _case(world, world.owner, name="张伟")
    for case in (first, second):
        TaskFactory(case=case)
    _client(client, world.head)

    response = client.post(reverse("retention:case_reassign"),
                           {"case": [first.pk, second.pk], "to": world.colleague.pk, "next": "/cases/?kind="},
                           follow=True)

    assert response.redirect_chain[-1][0] == "/cases/?kind="
    assert "2 cases and their 2 open tasks reassigned to Rm Colleague." in response.content.decode()
    assert set(Case.objects.filter(pk__in=[first.pk, second.pk]).values_list("owner", flat=True)) == {
        world.colleague.pk}
    assert set(Task.objects.filter(case__in=[first, second]).values_list("owner", flat=True)) == {world.colleague.pk}
    assert CaseEvent.objects.filter(action="reassigned", actor=world.head).count() == 2


def test_a_reassign_to_an_rm_of_another_branch_is_refused_with_the_message(client, world):
    case = _case(world, world.owner, name="李娜")
    _client(client, world.head)

    response = client.post(reverse("retention:case_reassign"), {"case": [case.pk], "to": world.outsider.pk},
                           follow=True)

    assert "Cases go to a relationship manager of the branch." in response.content.decode()
    case.refresh_from_db()
    assert case.owner == world.owner


@pytest.mark.parametrize("who", ["owner", "colleague", "outsider", "lobby"])
def test_an_rm_or_the_lobby_posting_a_reassign_gets_a_404_and_is_audited(client, world, who):
    case = _case(world, world.owner, name="李娜")
    user = getattr(world, who)
    _client(client, user)

    response = client.post(reverse("retention:case_reassign"), {"case": [case.pk], "to": world.colleague.pk})

    assert response.status_code == 404
    assert AuditEvent.objects.filter(action=AuditAction.DENIED, actor=user, detail__reason="reassign").exists()
    case.refresh_from_db()
    assert case.owner == world.owner


def test_the_head_of_another_branch_gets_a_404_for_this_branchs_case(client, world):
    case = _case(world, world.owner, name="李娜")
    _client(client, world.other_head)

    response = client.post(reverse("retention:case_reassign"), {"case": [case.pk], "to": world.outsider.pk})

    assert response.status_code == 404
    case.refresh_from_db()
    assert case.owner == world.owner
